"""Edges that turn outside data into Events: live platform adapters and history importers.

Adapters import ``core`` only, and never each other.
"""
