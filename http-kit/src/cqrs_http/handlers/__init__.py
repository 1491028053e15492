"""Handler types declared at run time, shared by the services that accept them: the
store port and its row (`store`), an in-memory store (`memory`), the registry each
replica keeps (`registry`) and the admin controller on it (`routes`)."""
