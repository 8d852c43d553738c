"""Enhanced LACP link aggregation groups (LAGs) of distributed switches.

A LAG is named by the switch's `lags` list (name, ports, mode, load-balancing hash) and
created or edited with `UpdateDVSLacpGroupConfig_Task`; `absent.lags` ("switch/lag") removes
one. A port group may name a LAG among its teaming's active uplinks: the LAG is created before
the port group is changed, and removed only after the port groups that used it left it — a
removal that would leave a port group pointing at a missing LAG is refused while planning.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import CannotRestore, Context
from vnettool.engine.dvcommon import diffs, dv_change, switch_part_depends
from vnettool.models.inventory import Inventory, LacpGroup
from vnettool.models.plan import Change
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session

RESOURCE = "lag"
# created after these resources (deleted before them): engine/registry.py orders by it
AFTER: tuple[str, ...] = ("distributed_switch",)
FIELDS = ("mode", "uplink_count", "load_balance")


def _teaming_users(ctx: Context, switch: str, lag: str) -> list[str]:
    """Port groups whose teaming names the LAG once this plan has run."""
    want = {s.name: s for s in ctx.desired.distributed_port_groups if s.switch == switch}
    gone = set(ctx.desired.absent.distributed_port_groups)
    users = []
    for p in ctx.inventory.dv_portgroups_of(switch):
        if p.name in gone:
            continue
        cur = p.setting.teaming
        names = [*(cur.active_uplinks or []), *(cur.standby_uplinks or [])]
        spec = want.get(p.name)
        if (
            spec is not None
            and spec.teaming is not None
            and (spec.teaming.active is not None or spec.teaming.standby is not None)
        ):
            names = [*(spec.teaming.active or []), *(spec.teaming.standby or [])]
        if lag in names:
            users.append(p.name)
    for name, spec in want.items():
        if name in {p.name for p in ctx.inventory.dv_portgroups_of(switch)}:
            continue
        t = spec.teaming
        if t is not None and lag in [*(t.active or []), *(t.standby or [])]:
            users.append(name)
    return sorted(users)


def plan(ctx: Context) -> list[Change]:
    inv, desired = ctx.inventory, ctx.desired
    changes: list[Change] = []
    gone = {tuple(x.split("/", 1)) for x in desired.absent.lags if "/" in x}
    for bad in (x for x in desired.absent.lags if "/" not in x):
        ctx.problems.append(f"absent.lags: {bad!r} must be 'switch/lag'")
    for spec in desired.distributed_switches:
        sw = inv.dvs_by_name.get(spec.name)
        current = {g.name: g for g in (sw.lags if sw else [])}
        for lag in spec.lags or []:
            if (spec.name, lag.name) in gone:
                ctx.problems.append(f"LAG {spec.name}/{lag.name} is both desired and absent")
                continue
            before = current.get(lag.name)
            base = before or LacpGroup(dvs=spec.name, name=lag.name, mode="passive", uplink_count=2)
            after = base.model_copy(
                update={
                    "mode": lag.mode or base.mode,
                    "uplink_count": lag.ports or base.uplink_count,
                    "load_balance": lag.load_balancing
                    or base.load_balance
                    or "srcDestIpTcpUdpPortVlan",
                }
            )
            d = diffs(before, after, FIELDS)
            if before is not None and not d:
                continue
            changes.append(
                dv_change(
                    RESOURCE,
                    "create" if before is None else "update",
                    f"{spec.name}/{lag.name}",
                    f"dvs:{spec.name}",
                    before,
                    after,
                    d,
                    switch=spec.name,
                    dvs_moref=sw.moref if sw else None,
                )
            )
    for switch, name in sorted(gone):
        sw = inv.dvs_by_name.get(switch)
        before = next((g for g in (sw.lags if sw else []) if g.name == name), None)
        if sw is None or before is None:
            continue
        users = _teaming_users(ctx, switch, name)
        if users:
            ctx.problems.append(
                f"cannot remove LAG {switch}/{name}: port group {', '.join(users)} still uses "
                "it in its teaming (change the teaming in the same document)"
            )
            continue
        changes.append(
            dv_change(
                RESOURCE,
                "delete",
                f"{switch}/{name}",
                f"dvs:{switch}",
                before,
                None,
                diffs(before, None, FIELDS),
                switch=switch,
                dvs_moref=sw.moref,
            )
        )
    return changes


# Adds after the switch exists; removals after the port groups that leave them.
depends = switch_part_depends


def apply(change: Change, session: Session, facts: dict[str, Any]) -> None:
    moref = change.spec.get("dvs_moref") or api.find_switch(session, change.spec["switch"])
    sw = api.read_switch(session, moref)
    if change.kind == "delete":
        g = LacpGroup.model_validate(change.spec["before"])
        cur = next((x for x in sw.lags if x.name == g.name), None)
        if cur is None:
            return
        api.update_lags(session, sw, [api.lag_spec("remove", cur)])
        return
    after = LacpGroup.model_validate(change.spec["after"])
    cur = next((x for x in sw.lags if x.name == after.name), None)
    if cur is None:
        api.update_lags(session, sw, [api.lag_spec("add", after.model_copy(update={"key": None}))])
    else:
        api.update_lags(
            session, sw, [api.lag_spec("edit", after.model_copy(update={"key": cur.key}))]
        )
    facts["key"] = next(
        (x.key for x in api.read_switch(session, moref).lags if x.name == after.name), None
    )


def restore(change: Change, facts: dict[str, Any], inv: Inventory) -> Change | None:
    switch = change.spec.get("switch", "")
    sw = inv.dvs_by_name.get(switch)
    if sw is None:
        if change.spec.get("before"):
            raise CannotRestore(f"its switch {switch} no longer exists")
        return None
    name = change.name.split("/", 1)[1]
    current = next((g for g in sw.lags if g.name == name), None)
    before = change.spec.get("before")
    want = LacpGroup.model_validate(before) if before else None
    extra = {"switch": switch, "dvs_moref": sw.moref}
    if want is None and current is not None:
        return dv_change(
            RESOURCE, "delete", change.name, f"dvs:{switch}", current, None, [], **extra
        )
    if want is not None:
        d = diffs(current, want, FIELDS)
        if current is not None and not d:
            return None
        return dv_change(
            RESOURCE,
            "create" if current is None else "update",
            change.name,
            f"dvs:{switch}",
            current,
            want,
            d,
            **extra,
        )
    return None
