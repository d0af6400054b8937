"""The ``shequn`` command line (Typer)."""
