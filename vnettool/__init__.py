"""vnettool: network-aware vSphere management and automation."""

__version__ = "0.1.0"
