"""Every engine resource, in apply order derived from what each one must come after.

A resource (engine/resource.py) declares its `name` (the `Change.resource` it owns) and
`after` (the resources whose creates must run before its own; deletes run in the reverse
order). The core loops over `ORDER`; it names no resource, so adding one is its module plus a
line in `RESOURCES`.

Ties between resources that do not depend on each other keep the order of `RESOURCES`, so
the apply order (and so every printed plan) is stable.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

from vnettool.engine import (
    appliance,
    dvportgroup,
    dvs,
    healthcheck,
    host_settings,
    hostuplinks,
    lag,
    migrate,
    mirror,
    netflow,
    niocpool,
    portgroup,
    pvlan,
    relocate,
    traffic,
    vm_settings,
    vmknic,
    vss,
)
from vnettool.engine.resource import Resource

RESOURCES: tuple[Resource[Any], ...] = (
    vss.resource,
    portgroup.resource,
    dvs.resource,
    lag.resource,
    hostuplinks.resource,
    pvlan.resource,
    netflow.resource,
    niocpool.resource,
    dvportgroup.resource,
    mirror.resource,
    healthcheck.resource,
    traffic.resource,
    vmknic.resource,
    migrate.resource,
    migrate.vm_nics,
    relocate.resource,
    host_settings.resource,
    vm_settings.resource,
    appliance.resource,
    appliance.nics,
)


def apply_order(resources: Sequence[Resource[Any]]) -> list[Resource[Any]]:
    """The resources sorted so each comes after everything in its `after` (Kahn's
    algorithm, ties by position); a cycle or an unknown name is a programming error."""
    index = {r.name: i for i, r in enumerate(resources)}
    waiting = {r.name: set(r.after) for r in resources}
    for name, after in waiting.items():
        unknown = after - set(index)
        if unknown:
            raise ValueError(f"{name} comes after unregistered resources {sorted(unknown)}")
    ready = [i for i, r in enumerate(resources) if not waiting[r.name]]
    heapq.heapify(ready)
    out: list[Resource[Any]] = []
    while ready:
        r = resources[heapq.heappop(ready)]
        out.append(r)
        for other, after in waiting.items():
            if r.name in after:
                after.discard(r.name)
                if not after:
                    heapq.heappush(ready, index[other])
    if len(out) != len(resources):
        stuck = sorted(n for n, a in waiting.items() if a)
        raise ValueError(f"resources that depend on each other in a cycle: {stuck}")
    return out


ORDER: list[Resource[Any]] = apply_order(RESOURCES)
BY_NAME: dict[str, Resource[Any]] = {r.name: r for r in ORDER}
