"""Application: apply each event to every read model it changes, exactly once in effect."""
