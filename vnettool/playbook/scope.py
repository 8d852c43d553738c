"""Which hosts a step may touch: the playbook's target, narrowed by the step's scope and loop.

Shared by the runner, the step kinds, validation (a scope outside the target is an error
before anything runs) and the CLI/TUI appliance and plan screens, so all of them agree.
"""

from __future__ import annotations

import fnmatch

from vnettool.models.inventory import Host, Inventory
from vnettool.playbook.steps import Scope


def merge_scope(target: Scope | None, scope: Scope | None) -> Scope:
    """A step's scope refines the playbook target field by field."""
    base = target.model_dump() if target else {}
    base.update({k: v for k, v in (scope.model_dump() if scope else {}).items() if v is not None})
    return Scope(**base)


def hosts_in_scope(inv: Inventory, scope: Scope) -> list[Host]:
    def ok(pattern: str | None, value: str | None) -> bool:
        return pattern is None or (value is not None and fnmatch.fnmatchcase(value, pattern))

    return [
        h
        for h in inv.hosts
        if ok(scope.datacenter, h.datacenter)
        and ok(scope.cluster, h.cluster)
        and ok(scope.hosts, h.name)
    ]


def step_hosts(
    inv: Inventory, target: Scope | None, scope: Scope | None, host: str | None = None
) -> list[Host]:
    """The hosts a step may touch: in the playbook's target AND the step's scope (AND the
    loop's host). A scope narrows the target; it can never reach a host outside it."""
    allowed = {h.name for h in hosts_in_scope(inv, merge_scope(target, None))}
    hosts = hosts_in_scope(inv, merge_scope(None, scope))
    return [h for h in hosts if h.name in allowed and (host is None or h.name == host)]
