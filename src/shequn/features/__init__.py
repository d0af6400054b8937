"""One package per operator capability; each keeps its decisions pure (logic) and its I/O apart."""
