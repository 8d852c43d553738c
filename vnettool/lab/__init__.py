"""vnettool.lab."""
