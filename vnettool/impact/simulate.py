"""Building blocks of the resources' `simulate` hooks (engine/resource.py): a change laid
onto an inventory as the connectivity model (impact/paths.py) will read it.

Every change carries its before and after objects, so simulating it is mostly replacing one
object in one list; what vCenter or the host would work out on its own (a vSS port group's
effective policy, a new LAG's port names, the key of a port group created in the same plan)
is filled in here the same way for every resource. Pure functions over models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from vnettool.models.base import Model
from vnettool.models.inventory import Inventory
from vnettool.models.plan import Change, Placement
from vnettool.models.policy import merge_policy

M = TypeVar("M", bound=Model)


def replace(items: list[Any], match: Callable[[Any], bool], new: Any | None) -> list[Any]:
    """`items` without the ones `match` picks, and `new` at the end unless None (a delete)."""
    out = [x for x in items if not match(x)]
    return out if new is None else [*out, new]


def after_state(change: Change, cls: type[M]) -> M | None:
    """The change's after-state as `cls` (None for a delete)."""
    data = change.after
    if data is None or change.kind == "delete":
        return None
    return data if isinstance(data, cls) else cls.model_validate(data.model_dump())


def recompute_effective(inv: Inventory, host: str, switch: str, pg: str | None = None) -> Inventory:
    """A vSS port group's effective policy is the switch's with its overrides laid over; only
    the port groups of the changed switch (or the one changed port group) are recomputed."""
    sw = next((s for s in inv.standard_switches if (s.host, s.name) == (host, switch)), None)
    if sw is None:
        return inv
    pgs = [
        p.model_copy(update={"effective": merge_policy(sw.policy, p.policy)})
        if p.host == host and p.switch == switch and (pg is None or p.name == pg)
        else p
        for p in inv.standard_port_groups
    ]
    return inv.model_copy(update={"standard_port_groups": pgs})


def dv_target(inv: Inventory, to: Placement | None) -> dict[str, Any]:
    """Where a migration lands: a DV port group (found by name if created in this plan), or
    a standard port group by name; as the NIC / vmknic fields that say it."""
    to = to or Placement()
    if not to.switch:
        return {"network": to.portgroup, "dvs_uuid": None, "dv_portgroup_key": None}
    key = to.key or next(
        (p.key for p in inv.distributed_port_groups if p.name == to.portgroup), None
    )
    return {"network": to.portgroup, "dvs_uuid": to.uuid, "dv_portgroup_key": key}
