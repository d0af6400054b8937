"""Benchmarks run by ``shequn bench NAME``; each ends with one JSON line holding ``ratio``."""
