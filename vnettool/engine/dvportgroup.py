"""DV port groups: VLAN / trunk / PVLAN, binding, ports, security, shaping, teaming, delete.

A DV port group is a vCenter object (one per switch, not per host). Its plan compares the read
port group with the desired fields laid over it; apply sends `ReconfigureDVPortgroup_Task`
with only the changed properties and the port group's `configVersion` (see vsphere/dvs.py
for the re-read on `ConcurrentAccess`). A new port group starts from its switch's default
port config, which is what vCenter gives it.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import CannotRestore, Context
from vnettool.engine.dvcommon import apply_setting, binding, diffs, dv_change, unset_description
from vnettool.models.desired import DistributedPortGroupSpec, DistributedSwitchSpec
from vnettool.models.inventory import DistributedPortGroup, DistributedSwitch, Inventory
from vnettool.models.plan import Change, FieldDiff
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session

RESOURCE = "distributed_port_group"
# created after these resources (deleted before them): engine/registry.py orders by it
AFTER: tuple[str, ...] = ("distributed_switch", "lag", "pvlan")
# Every optional field of a DistributedPortGroupSpec unset: the port group vCenter would create.
_BLANK = {k: None for k in DistributedPortGroupSpec.model_fields if k not in ("name", "switch")}
FIELDS = ("binding", "num_ports", "auto_expand", "description", "setting", "override_allowed")


def lane(switch: str) -> str:
    return f"dvs:{switch}"


def target(
    before: DistributedPortGroup | None,
    spec: DistributedPortGroupSpec,
    switch: DistributedSwitch | None,
) -> DistributedPortGroup:
    base = before or DistributedPortGroup(
        moref="",
        key="",
        name=spec.name,
        dvs=spec.switch,
        dvs_uuid=switch.uuid if switch else None,
        setting=switch.default_port if switch else api_default_setting(),
    )
    allowed = dict(base.override_allowed)
    if spec.overrides is not None:
        for k, v in spec.overrides.model_dump(exclude_none=True).items():
            allowed[api.OVERRIDE_KEYS[k]] = v
    return base.model_copy(
        update={
            "binding": binding(spec) or base.binding,
            "num_ports": spec.ports if spec.ports is not None else base.num_ports,
            "auto_expand": spec.auto_expand if spec.auto_expand is not None else base.auto_expand,
            "description": spec.description if spec.description is not None else base.description,
            "setting": apply_setting(base.setting, spec),
            "override_allowed": allowed,
        }
    )


def api_default_setting() -> Any:
    from vnettool.models.inventory import DvPortSetting

    return DvPortSetting()


def _uplink_names(
    sw: DistributedSwitch | None, want: DistributedSwitchSpec | None, gone_lags: set[str]
) -> set[str]:
    names = set(sw.uplink_names if sw else [])
    lags = {g.name for g in (sw.lags if sw else [])} - gone_lags
    if want is not None:
        if want.uplinks is not None:
            names = set(want.uplinks)
        lags |= {g.name for g in want.lags or []}
    return names | lags


def final_pvlans(ctx: Context) -> dict[str, dict[int, tuple[int, str]]]:
    """switch -> secondary -> (primary, type) once this plan has run (for validation)."""
    inv, desired = ctx.inventory, ctx.desired
    out: dict[str, dict[int, tuple[int, str]]] = {}
    for d in inv.distributed_switches:
        out[d.name] = {e.secondary_id: (e.primary_id, e.type) for e in d.pvlans}
    for a in desired.absent.pvlans:
        m = out.setdefault(a.switch, {})
        for sec, (prim, _) in list(m.items()):
            if sec == a.secondary or prim == a.primary:
                m.pop(sec)
    for p in desired.pvlans:
        for prim, sec, typ in p.entries():
            out.setdefault(p.switch, {})[sec] = (prim, typ)
    return out


def in_use(inv: Inventory, pg: DistributedPortGroup) -> str | None:
    """Why deleting this port group would cut traffic (powered-on VMs, vmknics), or None."""
    vms = sorted(
        vm.name
        for vm in inv.vms
        if vm.power_state == "poweredOn" and any(n.dv_portgroup_key == pg.key for n in vm.nics)
    )
    reasons = []
    if vms:
        shown = ", ".join(vms[:5]) + (f" and {len(vms) - 5} more" if len(vms) > 5 else "")
        reasons.append(f"powered-on VMs are attached: {shown}")
    vmk = sorted(
        f"{v.host}/{v.device}" for v in inv.vmkernel_adapters if v.dv_portgroup_key == pg.key
    )
    if vmk:
        reasons.append(f"VMkernel adapters are on it: {', '.join(vmk[:5])}")
    return "; ".join(reasons) or None


def plan(ctx: Context) -> list[Change]:
    inv, desired = ctx.inventory, ctx.desired
    switches = inv.dvs_by_name
    want_sw = {s.name: s for s in desired.distributed_switches}
    existing = {(p.dvs, p.name): p for p in inv.distributed_port_groups}
    by_name: dict[str, list[DistributedPortGroup]] = {}
    for p in inv.distributed_port_groups:
        by_name.setdefault(p.name, []).append(p)
    absent = set(desired.absent.distributed_port_groups)
    gone_sw = set(desired.absent.distributed_switches)
    gone_lags = set(desired.absent.lags)
    pvlans = final_pvlans(ctx)
    changes: list[Change] = []
    for spec in desired.distributed_port_groups:
        where = f"DV port group {spec.name}"
        if spec.name in absent:
            ctx.problems.append(f"{where} is both desired and absent")
            continue
        if spec.switch in gone_sw:
            ctx.problems.append(f"{where} is on {spec.switch}, which is listed as absent")
            continue
        sw = switches.get(spec.switch)
        if sw is None and spec.switch not in want_sw:
            ctx.problems.append(
                f"{where}: no distributed switch {spec.switch} (neither in vCenter nor in "
                "distributed_switches)"
            )
            continue
        before = existing.get((spec.switch, spec.name))
        if before is None and by_name.get(spec.name):
            other = by_name[spec.name][0]
            ctx.problems.append(
                f"{where} exists on {other.dvs}, not {spec.switch}; a port group cannot move "
                "between switches (create a new one and list the old one under absent)"
            )
            continue
        if before is not None and before.uplink:
            ctx.problems.append(f"{where} is the uplink port group of {spec.switch}")
            continue
        if spec.pvlan is not None:
            entry = pvlans.get(spec.switch, {}).get(spec.pvlan)
            if entry is None:
                ctx.problems.append(
                    f"{where}: PVLAN {spec.pvlan} is not a secondary id in the PVLAN map of "
                    f"{spec.switch} (add it under pvlans)"
                )
                continue
        t = spec.teaming
        if t is not None and (t.active or t.standby):
            allowed = _uplink_names(sw, want_sw.get(spec.switch), gone_lags)
            stray = [u for u in [*(t.active or []), *(t.standby or [])] if u not in allowed]
            if stray:
                ctx.problems.append(
                    f"{where}: {', '.join(stray)} not an uplink or LAG of {spec.switch} "
                    f"({', '.join(sorted(allowed)) or 'none'})"
                )
                continue
        after = target(before, spec, sw)
        if before is None:  # show what the document sets, not every inherited default
            d = diffs(target(None, spec.model_copy(update=_BLANK), sw), after, FIELDS)
            d = d or [FieldDiff(field="switch", after=spec.switch)]
        else:
            d = diffs(before, after, FIELDS)
        if before is not None and not d:
            continue
        changes.append(
            dv_change(
                RESOURCE,
                "create" if before is None else "update",
                spec.name,
                f"dvpg:{spec.switch}/{spec.name}",
                before,
                after,
                d,
                switch=spec.switch,
                dvs_moref=sw.moref if sw else None,
                pg_moref=before.moref if before else None,
            )
        )
    for name in sorted(absent):
        for before in by_name.get(name, []):
            if before.uplink:
                ctx.problems.append(f"DV port group {name} is an uplink port group")
                continue
            ch = dv_change(
                RESOURCE,
                "delete",
                name,
                f"dvpg:{before.dvs}/{name}",
                before,
                None,
                diffs(before, None, ("binding", "num_ports")),
                switch=before.dvs,
                dvs_moref=switches[before.dvs].moref if before.dvs in switches else None,
                pg_moref=before.moref,
            )
            reason = in_use(inv, before)
            if reason:
                ch.spec["unsafe"] = f"deletes {name}: {reason}"
            changes.append(ch)
    return changes


def depends(change: Change, same_host: list[Change]) -> list[str]:
    """After its switch and the PVLAN entries it uses; deletes before the switch goes."""
    switch = change.spec.get("switch")
    if change.kind == "delete":
        return []
    return [
        c.id
        for c in same_host
        if c.spec.get("switch") == switch
        and c.resource in ("distributed_switch", "pvlan", "lag")
        and c.kind != "delete"
    ]


def _conflict(before: DistributedPortGroup, after: DistributedPortGroup) -> Any:
    """Someone else changed one of the fields this change sets, since the plan?"""
    planned = diffs(before, after, FIELDS)

    def check(fresh: DistributedPortGroup) -> str | None:
        mine = {d.field for d in planned}
        theirs = [d for d in diffs(before, fresh, FIELDS, strict=True) if d.field in mine]
        done = not diffs(fresh, after, FIELDS)
        if theirs and not done:
            return ", ".join(f"{d.field}: {d.before} → {d.after}" for d in theirs)
        return None

    return check


def apply(change: Change, session: Session, facts: dict[str, Any]) -> None:
    after = DistributedPortGroup.model_validate(change.spec["after"] or change.spec["before"])
    if change.kind == "delete":
        api.destroy(session, change.spec["pg_moref"], "portgroup", f"{after.dvs}/{after.name}")
        return
    dvs_moref = change.spec.get("dvs_moref") or facts.get("dvs_moref")
    if dvs_moref is None:  # the switch is created by this run: find it now
        dvs_moref = api.find_switch(session, after.dvs)
    if change.kind == "create":
        facts["moref"] = api.add_portgroup(session, dvs_moref, after)
        return
    before = DistributedPortGroup.model_validate(change.spec["before"])
    switch = api.read_switch(session, dvs_moref)
    api.reconfigure_portgroup(
        session, before.moref, switch, before, after, _conflict(before, after), facts
    )


def restore(change: Change, facts: dict[str, Any], inv: Inventory) -> Change | None:
    switch = change.spec.get("switch", "")
    current = next(
        (p for p in inv.distributed_port_groups if p.dvs == switch and p.name == change.name), None
    )
    before = change.spec.get("before")
    want = DistributedPortGroup.model_validate(before) if before else None
    sw = inv.dvs_by_name.get(switch)
    extra = {
        "switch": switch,
        "dvs_moref": sw.moref if sw else None,
        "pg_moref": current.moref if current else None,
    }
    if want is None and current is None:
        return None
    if want is None:
        return dv_change(
            RESOURCE,
            "delete",
            change.name,
            f"dvpg:{switch}/{change.name}",
            current,
            None,
            diffs(current, None, ("binding", "num_ports")),
            **extra,
        )
    if current is None:
        if sw is None:
            raise CannotRestore(f"its switch {switch} no longer exists")
        return dv_change(
            RESOURCE,
            "create",
            change.name,
            f"dvpg:{switch}/{change.name}",
            None,
            want,
            diffs(None, want, FIELDS),
            **extra,
        )
    want = want.model_copy(
        update={"moref": current.moref, "config_version": current.config_version}
    )
    d = diffs(current, want, FIELDS) + unset_description(current, want)
    if not d:
        return None
    return dv_change(
        RESOURCE, "update", change.name, f"dvpg:{switch}/{change.name}", current, want, d, **extra
    )
