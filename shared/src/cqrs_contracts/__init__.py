"""cqrs_contracts."""
