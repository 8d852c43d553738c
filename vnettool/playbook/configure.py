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

import fnmatch
import glob
import importlib
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from vnettool.errors import ConfigError
from vnettool.models.inventory import Host, Inventory
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


def _in_target(host: Host, target: Any) -> bool:
    def ok(value: str | None, patterns: str | list[str] | None) -> bool:
        if patterns is None:
            return True
        pats = [patterns] if isinstance(patterns, str) else patterns
        return any(fnmatch.fnmatchcase(value or "", p) for p in pats)

    return (
        ok(host.datacenter, target.datacenter)
        and ok(host.cluster, target.cluster)
        and ok(host.name, target.hosts)
    )


def _describe(target: Any) -> str:
    parts = [
        f"{k}={v if isinstance(v, str) else ','.join(v)}"
        for k in ("datacenter", "cluster", "hosts")
        if (v := getattr(target, k, None))
    ]
    return ", ".join(parts) or "every host"


def scoped_desired(body: dict[str, Any], inventory: Inventory, within: Sequence[Host]) -> Any:
    """The body as a desired state whose target is exactly its hosts inside `within`.

    The engine knows one target per document, so a playbook's target (and a loop's host) would
    otherwise be lost: the body's own `target:` is the step's scope and may only narrow the
    playbook's, never reach past it. The hosts are named exactly (glob-escaped) so the engine's
    `{index}` order and every per-host resource see the same, already intersected, list.
    """
    model = desired_model()
    if model is None:
        raise RuntimeError(contract_gap() or "configuration engine unavailable")
    desired = model.model_validate(body)
    own = desired.target  # type: ignore[attr-defined]
    allowed = {h.name for h in within}
    hosts = [h for h in inventory.hosts if h.name in allowed and _in_target(h, own)]
    if not hosts:
        raise ConfigError(
            f"the step's target ({_describe(own)}) matches no host within the playbook's "
            f"target ({len(allowed)} host(s)); nothing was changed"
        )
    names = sorted(glob.escape(h.name) for h in hosts)
    return desired.model_copy(update={"target": own.model_copy(update={"hosts": names})})


def plan_and_apply(
    body: dict[str, Any],
    inventory: Inventory,
    session: Any,
    *,
    check: bool,
    within: Sequence[Host],
    approve: Callable[[Plan], bool] | None = None,
    journal: Any = None,
) -> tuple[Plan, list[Result] | None]:
    """Plan the body on the hosts of `within` it targets; apply unless `check` (then no
    results) or `approve` declines the plan (then results None)."""
    plan_fn: Callable[..., Plan] | None = _attr(ENGINE_MODULE, "plan")
    apply_fn: Callable[..., list[Result]] | None = _attr(ENGINE_MODULE, "apply")
    if plan_fn is None or apply_fn is None:
        raise RuntimeError(contract_gap() or "configuration engine unavailable")
    desired = scoped_desired(body, inventory, within)
    plan = plan_fn(desired, inventory)
    if check or plan.empty:
        return plan, []
    if approve is not None and not approve(plan):
        return plan, None
    return plan, list(apply_fn(plan, session, journal=journal))
