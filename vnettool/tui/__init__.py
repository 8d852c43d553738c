"""vnettool.tui."""
