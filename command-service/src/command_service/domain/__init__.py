"""Pure domain: aggregates, decisions, domain errors. No I/O."""
