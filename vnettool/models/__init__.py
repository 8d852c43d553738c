"""Pydantic models with no I/O: inventory objects, desired state, plans, findings, samples."""
