"""What every adapter of a QueryService port does (query_service.queries.ports), written
once (the `eventsourcing` library's recorder tests): a test class per adapter subclasses
the contract and gives its fixtures. The in-memory adapters run them in tests/unit, the
real ones against the running read store and Redis in tests/integration/query_service.
Ids, prefixes and streams are random, so a store shared with other tests passes too."""
