"""vnettool.engine."""
