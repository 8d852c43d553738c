"""The configure step: a desired-state block planned (and applied) by the engine.

The engine (issue 5) is written in parallel; this module binds to it by the contract of
docs/design.md, looked up at run time so the playbook package builds without it:

- ``vnettool.models.desired.DesiredState`` — the pydantic model of a desired-state document;
- ``vnettool.engine.plan(desired, inventory) -> Plan`` — pure;
- ``vnettool.engine.apply(plan, session) -> list[Result]`` — applies, reports per change.

Until all three exist, `contract_gap()` says what is missing and validation rejects configure
steps with that reason ("step kind 'configure' is not available yet"), never skips them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from vnettool.models.plan import Plan, Result

DESIRED_MODULE, DESIRED_CLASS = "vnettool.models.desired", "DesiredState"
ENGINE_MODULE = "vnettool.engine"


def _attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def desired_model() -> type[BaseModel] | None:
    """The engine's desired-state model, when this build has it."""
    model = _attr(DESIRED_MODULE, DESIRED_CLASS)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def contract_gap() -> str | None:
    """None when configure can run; otherwise which part of the contract is missing."""
    missing = []
    if desired_model() is None:
        missing.append(f"{DESIRED_MODULE}.{DESIRED_CLASS}")
    for fn in ("plan", "apply"):
        if not callable(_attr(ENGINE_MODULE, fn)):
            missing.append(f"{ENGINE_MODULE}.{fn}()")
    if not missing:
        return None
    return (
        "the configuration engine (issue 5) is not part of this build "
        f"(missing {', '.join(missing)})"
    )


def plan_and_apply(
    body: dict[str, Any], inventory: Any, session: Any, *, check: bool
) -> tuple[Plan, list[Result]]:
    """Plan the body against the inventory; apply unless `check`. Results empty under check."""
    model = desired_model()
    plan_fn: Callable[..., Plan] | None = _attr(ENGINE_MODULE, "plan")
    apply_fn: Callable[..., list[Result]] | None = _attr(ENGINE_MODULE, "apply")
    if model is None or plan_fn is None or apply_fn is None:
        raise RuntimeError(contract_gap() or "configuration engine unavailable")
    desired = model.model_validate(body)
    plan = plan_fn(desired, inventory)
    if check or plan.empty:
        return plan, []
    return plan, list(apply_fn(plan, session))
