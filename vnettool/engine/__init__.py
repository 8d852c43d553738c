"""The configuration engine: desired state -> plan -> apply -> verify, per resource module.

`plan(desired, inventory)` is pure; `apply(plan, session)` returns one `Result` per change.
This is the contract the playbook `configure` step binds to (see docs/engine.md).
"""

from vnettool.engine.common import CannotRestore, PlanError
from vnettool.engine.core import (
    DEFAULT_WORKERS,
    Rollback,
    UnsafePlan,
    apply,
    plan,
    rollback,
    rollback_plan,
    verify,
)

__all__ = [
    "DEFAULT_WORKERS",
    "CannotRestore",
    "PlanError",
    "Rollback",
    "UnsafePlan",
    "apply",
    "plan",
    "rollback",
    "rollback_plan",
    "verify",
]
