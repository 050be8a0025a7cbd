"""citybridge: knowledge exchange for urban sustainability."""

__version__ = "0.1.0"

