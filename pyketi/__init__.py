"""pyketi: a wire-compatible replacement for heketi."""

__version__ = "0.1.0"
