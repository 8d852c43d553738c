"""vnettool.latency."""
