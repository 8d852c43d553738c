"""vnettool.appliances."""
