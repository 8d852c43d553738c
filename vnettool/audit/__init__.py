"""vnettool.audit."""
