"""DV port groups: VLAN / trunk / PVLAN, binding, ports, security, shaping, teaming, delete.

A DV port group is a vCenter object (one per switch, not per host). Its plan compares the read
port group with the desired fields laid over it; apply sends `ReconfigureDVPortgroup_Task`
with only the changed properties and the port group's `configVersion` (see vsphere/dvs.py
for the re-read on `ConcurrentAccess`). A new port group starts from its switch's default
port config, which is what vCenter gives it.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine import niocpool
from vnettool.engine.common import CannotRestore, Context, guess
from vnettool.engine.dvcommon import apply_setting, binding, diffs, unset_description
from vnettool.engine.resource import Resource
from vnettool.impact.simulate import after_state, replace
from vnettool.models.desired import DistributedPortGroupSpec, DistributedSwitchSpec
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    Inventory,
)
from vnettool.models.plan import Change, FieldDiff
from vnettool.vsphere import dvportgroup as dvpg_api
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvportgroup as dvpg_spec

RESOURCE = "distributed_port_group"
# Every optional field of a DistributedPortGroupSpec unset: the port group vCenter would create.
_BLANK = {k: None for k in DistributedPortGroupSpec.model_fields if k not in ("name", "switch")}
FIELDS = (
    "binding",
    "num_ports",
    "auto_expand",
    "description",
    "setting",
    "override_allowed",
    "nioc_pool",
)


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
            allowed[dvpg_spec.OVERRIDE_KEYS[k]] = v
    return base.model_copy(
        update={
            "binding": binding(spec) or base.binding,
            "num_ports": spec.ports if spec.ports is not None else base.num_ports,
            "auto_expand": spec.auto_expand if spec.auto_expand is not None else base.auto_expand,
            "description": spec.description if spec.description is not None else base.description,
            "setting": apply_setting(base.setting, spec),
            "override_allowed": allowed,
            "nioc_pool": base.nioc_pool
            if spec.nioc_pool is None
            else ""
            if spec.nioc_pool == "none"
            else spec.nioc_pool,
        }
    )


def api_default_setting() -> DvPortSetting:
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


def _problem(ctx: Context, spec: DistributedPortGroupSpec) -> str | None:
    """Why this desired port group cannot be planned (None: it can)."""
    inv, desired = ctx.inventory, ctx.desired
    where = f"DV port group {spec.name}"
    want_sw = {s.name: s for s in desired.distributed_switches}
    if spec.name in desired.absent.distributed_port_groups:
        return f"{where} is both desired and absent"
    if spec.switch in desired.absent.distributed_switches:
        return f"{where} is on {spec.switch}, which is listed as absent"
    sw = inv.dvs_by_name.get(spec.switch)
    if sw is None and spec.switch not in want_sw:
        return (
            f"{where}: no distributed switch {spec.switch} (neither in vCenter nor in "
            "distributed_switches)" + guess(spec.switch, [*inv.dvs_by_name, *want_sw])
        )
    same = [p for p in inv.distributed_port_groups if p.name == spec.name]
    before = next((p for p in same if p.dvs == spec.switch), None)
    if before is None and same:
        return (
            f"{where} exists on {same[0].dvs}, not {spec.switch}; a port group cannot move "
            "between switches (create a new one and list the old one under absent)"
        )
    if before is not None and before.uplink:
        return f"{where} is the uplink port group of {spec.switch}"
    if spec.pvlan is not None and final_pvlans(ctx).get(spec.switch, {}).get(spec.pvlan) is None:
        return (
            f"{where}: PVLAN {spec.pvlan} is not a secondary id in the PVLAN map of "
            f"{spec.switch} (add it under pvlans)"
        )
    pool = spec.nioc_pool
    if pool is not None and pool != "none" and pool not in final_pools(ctx, spec.switch):
        return (
            f"{where}: nioc_pool {pool} is not a network resource pool of {spec.switch} "
            "(add it under the switch's nioc_pools)"
        )
    t = spec.teaming
    if t is not None and (t.active or t.standby):
        allowed = _uplink_names(sw, want_sw.get(spec.switch), set(desired.absent.lags))
        stray = [u for u in [*(t.active or []), *(t.standby or [])] if u not in allowed]
        if stray:
            return (
                f"{where}: {', '.join(stray)} not an uplink or LAG of {spec.switch} "
                f"({', '.join(sorted(allowed)) or 'none'})"
            )
    return None


def final_pools(ctx: Context, switch: str) -> set[str]:
    """The network resource pools the switch has once the document has run."""
    sw = ctx.inventory.dvs_by_name.get(switch)
    names = {p.name for p in (sw.nioc_pools if sw else [])}
    spec = next((s for s in ctx.desired.distributed_switches if s.name == switch), None)
    names |= {p.name for p in (spec.nioc_pools or [])} if spec else set()
    return names - {x.partition("/")[2] for x in ctx.desired.absent.nioc_pools
                    if x.partition("/")[0] == switch}  # fmt: skip


def lane(switch: str, name: str) -> str:
    return f"dvpg:{switch}/{name}"


class DistributedPortGroups(Resource[DistributedPortGroup]):
    """One vCenter-wide change per port group, in its own lane."""

    name = RESOURCE
    model = DistributedPortGroup
    fields = FIELDS
    after = ("distributed_switch", "lag", "pvlan", "nioc_pool")
    host_scoped = False

    def plan(self, ctx: Context) -> list[Change]:
        changes: list[Change] = []
        for spec in ctx.desired.distributed_port_groups:
            problem = _problem(ctx, spec)
            if problem:
                ctx.problems.append(problem)
                continue
            ch = self._plan_one(ctx, spec)
            if ch is not None:
                changes.append(ch)
        return changes + self._plan_deletes(ctx)

    def _plan_one(self, ctx: Context, spec: DistributedPortGroupSpec) -> Change | None:
        inv = ctx.inventory
        sw = inv.dvs_by_name.get(spec.switch)
        before = next(
            (p for p in inv.distributed_port_groups if (p.dvs, p.name) == (spec.switch, spec.name)),
            None,
        )
        after = target(before, spec, sw)
        if before is None:  # show what the document sets, not every inherited default
            d = diffs(target(None, spec.model_copy(update=_BLANK), sw), after, FIELDS)
            d = d or [FieldDiff(field="switch", after=spec.switch)]
        else:
            d = diffs(before, after, FIELDS)
        return self.change(
            lane(spec.switch, spec.name),
            spec.name,
            before,
            after,
            d,
            dvs_moref=sw.moref if sw else None,
        )

    def _plan_deletes(self, ctx: Context) -> list[Change]:
        inv = ctx.inventory
        changes: list[Change] = []
        for name in sorted(set(ctx.desired.absent.distributed_port_groups)):
            for before in (p for p in inv.distributed_port_groups if p.name == name):
                if before.uplink:
                    ctx.problems.append(f"DV port group {name} is an uplink port group")
                    continue
                sw = inv.dvs_by_name.get(before.dvs)
                ch = self.change(
                    lane(before.dvs, name),
                    name,
                    before,
                    None,
                    diffs(before, None, ("binding", "num_ports")),
                    dvs_moref=sw.moref if sw else None,
                    unsafe=_unsafe(inv, before),
                )
                if ch is not None:
                    changes.append(ch)
        return changes

    def tags(self, state: DistributedPortGroup) -> dict[str, Any]:
        return {"switch": state.dvs, "pg_moref": state.moref or None}

    def diff(
        self,
        before: DistributedPortGroup | None,
        after: DistributedPortGroup | None,
        *,
        strict: bool = False,
    ) -> list[FieldDiff]:
        return diffs(before, after, FIELDS, strict=strict)

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """After its switch and the PVLAN entries it uses; deletes before the switch goes,
        after the VMkernel adapters and VM NICs that move off it (a rollback of a migration
        onto a port group the same run created moves them back, then deletes it: vCenter
        refuses to destroy a port group something is still connected to)."""
        if change.kind == "delete":
            return [
                c.id
                for c in same_host
                if c.resource in ("vmknic_migration", "vm_nic_migration")
                and c.source is not None
                and (c.source.switch, c.source.portgroup) == (change.switch, change.name)
            ]
        return [
            c.id
            for c in same_host
            if c.switch == change.switch
            and c.kind != "delete"
            # a switch change lowering the VM reservation waits for the pools, which wait
            # for the port groups leaving them: the port groups do not wait for it
            and not (c.resource == "distributed_switch" and niocpool.lowers(c))
            and (
                c.resource in ("distributed_switch", "pvlan", "lag", "nioc_pool")
                # a port group exports flows only once its switch has a collector
                or (c.resource == "netflow" and bool(getattr(c.after, "collector_ip", None)))
            )
        ]

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        gone = self.old(change)
        where = f"{gone.dvs}/{gone.name}" if gone else change.name
        dvpg_api.destroy(session, change.pg_moref or "", where)

    def _switch(self, change: Change, session: Session) -> str:
        # a switch created by this run has no moref in the plan: find it now
        return change.dvs_moref or api.find_switch(session, self.new(change).dvs)

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        moref = self._switch(change, session)
        pools = None
        if self.new(change).nioc_pool:  # keys are the server's: look them up now
            pools = {p.name: p.key or "" for p in api.read_switch(session, moref).nioc_pools}
        facts["moref"] = dvpg_api.add_portgroup(session, moref, self.new(change), pools)

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        before, after = self.old(change), self.new(change)
        if before is None:
            raise CannotRestore(f"{change.summary()}: the change carries no before-state")
        switch = api.read_switch(session, self._switch(change, session))
        dvpg_api.reconfigure_portgroup(
            session, before.moref, switch, before, after, _conflict(before, after), facts
        )

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        switch = change.switch or ""
        current = next(
            (p for p in inv.distributed_port_groups if p.dvs == switch and p.name == change.name),
            None,
        )
        want = self.old(change)
        sw = inv.dvs_by_name.get(switch)
        where = lane(switch, change.name)
        extra: dict[str, Any] = {"dvs_moref": sw.moref if sw else None}
        if want is None and current is None:
            return None
        if want is None:
            d = diffs(current, None, ("binding", "num_ports"))
            return self.change(where, change.name, current, None, d, **extra)
        if current is None:
            if sw is None:
                raise CannotRestore(f"its switch {switch} no longer exists")
            return self.change(where, change.name, None, want, diffs(None, want, FIELDS), **extra)
        want = want.model_copy(
            update={"moref": current.moref, "config_version": current.config_version}
        )
        d = diffs(current, want, FIELDS) + unset_description(current, want)
        return self.change(where, change.name, current, want, d, **extra)

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """The port group replaced; a new one is keyed `new:<name>` (what NICs moved onto it
        in the same plan point at) until vCenter keys it."""
        new = after_state(change, DistributedPortGroup)
        old = next(
            (p for p in inv.distributed_port_groups if p.name == change.name and not p.uplink),
            None,
        )
        if new is not None and not new.key:
            key = old.key if old else f"new:{change.name}"
            new = new.model_copy(update={"key": key, "moref": key})
        items = replace(inv.distributed_port_groups, lambda p: p is old, new)
        return inv.model_copy(update={"distributed_port_groups": items})

    def reach(self, inv: Inventory, change: Change) -> set[str]:
        """The hosts of the vmknics and VM NICs on the port group (by key, or by name)."""
        old = next((p for p in inv.distributed_port_groups if p.name == change.name), None)
        users = {v.host for v in inv.vmkernel_adapters if old and v.dv_portgroup_key == old.key}
        return users | {
            vm.host or ""
            for vm in inv.vms
            for n in vm.nics
            if (old and n.dv_portgroup_key == old.key) or n.network == change.name
        }


def _unsafe(inv: Inventory, before: DistributedPortGroup) -> str | None:
    reason = in_use(inv, before)
    return f"deletes {before.name}: {reason}" if reason else None


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


resource = DistributedPortGroups()
