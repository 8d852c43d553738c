"""Every resource module, in apply order derived from what each one must come after.

A resource module declares `RESOURCE` (the `Change.resource` it owns) and `AFTER` (the
resources whose creates must run before its own; deletes run in the reverse order), and, when
it plans from a desired state, `plan(ctx) -> list[Change]`. The core loops over `ORDER` and
`PLANNERS`; it names no resource, so adding one is its module plus a line in `MODULES`.

Ties between resources that do not depend on each other keep the order of `MODULES`, so the
apply order (and so every printed plan) is stable.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any

from vnettool.engine import dvportgroup, dvs, lag, migrate, portgroup, pvlan, relocate, vmknic, vss
from vnettool.engine.common import Context
from vnettool.models.plan import Change

MODULES: tuple[Any, ...] = (
    vss,
    portgroup,
    dvs,
    lag,
    pvlan,
    dvportgroup,
    vmknic,
    migrate,
    migrate.vm_nics,
    relocate,
)


def apply_order(modules: Sequence[Any]) -> list[Any]:
    """The modules sorted so each comes after everything in its `AFTER` (Kahn's algorithm,
    ties by position in `modules`); a cycle or an unknown name is a programming error."""
    index = {m.RESOURCE: i for i, m in enumerate(modules)}
    waiting = {m.RESOURCE: set(m.AFTER) for m in modules}
    for name, after in waiting.items():
        unknown = after - set(index)
        if unknown:
            raise ValueError(f"{name} comes after unregistered resources {sorted(unknown)}")
    ready = [i for i, m in enumerate(modules) if not waiting[m.RESOURCE]]
    heapq.heapify(ready)
    out: list[Any] = []
    while ready:
        m = modules[heapq.heappop(ready)]
        out.append(m)
        for other, after in waiting.items():
            if m.RESOURCE in after:
                after.discard(m.RESOURCE)
                if not after:
                    heapq.heappush(ready, index[other])
    if len(out) != len(modules):
        stuck = sorted(n for n, a in waiting.items() if a)
        raise ValueError(f"resources that depend on each other in a cycle: {stuck}")
    return out


ORDER: list[Any] = apply_order(MODULES)
PLANNERS: list[Callable[[Context], list[Change]]] = [
    m.plan for m in ORDER if callable(getattr(m, "plan", None))
]
