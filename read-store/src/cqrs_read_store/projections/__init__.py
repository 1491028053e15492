"""Pure projections: read model + event -> read model. No I/O."""
