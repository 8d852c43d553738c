"""The configuration engine: desired state -> plan -> apply -> verify, per resource module.

`plan(desired, inventory)` is pure; `apply(plan, session)` returns one `Result` per change.
This is the contract the playbook `configure` step binds to (see docs/engine.md).
"""

from vnettool.engine.common import PlanError
from vnettool.engine.core import (
    DEFAULT_WORKERS,
    UnsafePlan,
    apply,
    plan,
    rollback_plan,
    verify,
)

__all__ = [
    "DEFAULT_WORKERS",
    "PlanError",
    "UnsafePlan",
    "apply",
    "plan",
    "rollback_plan",
    "verify",
]
