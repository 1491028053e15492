"""In-memory adapters of the QueryService ports (query_service.queries.ports), for unit
tests: each keeps the contract the real adapter keeps (tests/support/query_contracts
runs both through the same tests)."""
