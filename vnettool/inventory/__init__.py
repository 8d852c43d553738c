"""vnettool.inventory."""
