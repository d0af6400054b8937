"""The audit log: record every operator's change, and read it back filtered."""
