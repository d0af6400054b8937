"""History importers: the exports operators already have, turned into Events."""
