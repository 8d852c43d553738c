"""The configure step's binding to the engine: a desired-state block scoped to the hosts the
step may touch, planned with `engine.plan` and applied with `engine.apply`.

Also used by the TUI's Plan screen, so a playbook opened there plans exactly what
`vnettool run` would.
"""

from __future__ import annotations

import fnmatch
import glob
from collections.abc import Callable, Sequence
from typing import Any

from vnettool import engine
from vnettool.errors import ConfigError
from vnettool.models.desired import DesiredState, Target
from vnettool.models.inventory import Host, Inventory
from vnettool.models.plan import Plan, Result


def _in_target(host: Host, target: Target) -> bool:
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


def _describe(target: Target) -> str:
    parts = [
        f"{k}={v if isinstance(v, str) else ','.join(v)}"
        for k in ("datacenter", "cluster", "hosts")
        if (v := getattr(target, k, None))
    ]
    return ", ".join(parts) or "every host"


def scoped_desired(
    body: dict[str, Any], inventory: Inventory, within: Sequence[Host]
) -> DesiredState:
    """The body as a desired state whose target is exactly its hosts inside `within`.

    The engine knows one target per document, so a playbook's target (and a loop's host) would
    otherwise be lost: the body's own `target:` is the step's scope and may only narrow the
    playbook's, never reach past it. The hosts are named exactly (glob-escaped) so the engine's
    `{index}` order and every per-host resource see the same, already intersected, list.
    """
    desired = DesiredState.model_validate(body)
    own = desired.target
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
    desired = scoped_desired(body, inventory, within)
    plan = engine.plan(desired, inventory)
    if check or plan.empty:
        return plan, []
    if approve is not None and not approve(plan):
        return plan, None
    return plan, list(engine.apply(plan, session, journal=journal))
