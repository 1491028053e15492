"""Query handlers: typed query in, read-model data out; no domain here."""
