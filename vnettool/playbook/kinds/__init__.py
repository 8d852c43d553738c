"""Every step kind, one module each; importing this package fills `STEPS`.

The imports are plain (no probing): a kind whose domain package is missing is a broken build,
not a step to skip. `test_every_step_kind_is_registered` ties the registry to the language
(`steps.STEP_KINDS`), so neither can grow without the other.
"""

from __future__ import annotations

from vnettool.playbook.kinds import (
    appliance,
    assert_,
    audit,
    configure,
    latency,
    snapshot,
)
from vnettool.playbook.step import STEPS

__all__ = ["STEPS", "unavailable_reason"]

# the kind modules register on import; the names keep them from looking unused
_KINDS = (appliance, assert_, audit, configure, latency, snapshot)


def unavailable_reason(kind: str) -> str | None:
    """None when the step kind is registered; otherwise why it cannot run (validation reports
    it at the step, so a playbook never half-runs)."""
    return None if kind in STEPS else f"no implementation for {kind!r}"
