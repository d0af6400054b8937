"""shequn: one place to run many chat groups — events in, actions out."""

__version__ = "0.1.0"
