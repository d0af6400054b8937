"""Tiny pure helpers shared by every layer: clock, errors, time zones, ids."""
