"""Impact analysis: what a failure or a change cuts off, before it happens.

Pure functions over the inventory models (no I/O): `analyze` traces every VM NIC and VMkernel
adapter to the physical network, `whatif` applies a failure to a copy of the inventory and
compares, `blast_radius` does the same for each change of a plan.
"""

from vnettool.impact.paths import analyze

__all__ = ["analyze"]
