"""Application layer: command handling (load, decide, save) over ports."""
