"""mailroom: the intelligent mail intake for German town halls (core package)."""

__version__ = "0.1.0"
