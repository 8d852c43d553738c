"""vnettool.cli."""
