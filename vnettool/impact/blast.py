"""Blast radius of a plan: what each change does to the VM NICs and VMkernel adapters.

Every change carries its before and after objects (`Change.before` / `Change.after`), so applying it to a copy of
the inventory is replacing one object; the connectivity model is then run before and after,
on the hosts the change can touch only (a plan of 640 changes on a 1,000-host inventory stays
fast). Changes are applied in plan order, cumulatively: a migration onto a port group created
earlier in the same plan lands on it.

A change that would leave a management vmknic without any live path is marked unsafe (the
engine's existing refusal, `--force` to override) with the adapters named; deleting a port
group that VM NICs or vmknics use shows them as going dark; a delete and a create of objects
that differ only in name is flagged, since an update (a rename) would keep them connected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from vnettool.impact.paths import analyze, natural_key
from vnettool.impact.whatif import compare
from vnettool.models.base import Model
from vnettool.models.impact import Connectivity, Endpoint, Impact
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    DvsHostMember,
    DvsHostUplinks,
    Inventory,
    LacpGroup,
    StandardPortGroup,
    StandardSwitch,
    VirtualMachine,
    VmkernelAdapter,
)
from vnettool.models.plan import Change, HostOp, Placement, Plan
from vnettool.models.policy import merge_policy

Simulator = Callable[[Inventory, Change], Inventory]
M = TypeVar("M", bound=Model)


def _replace(items: list[Any], match: Callable[[Any], bool], new: Any | None) -> list[Any]:
    out = [x for x in items if not match(x)]
    return out if new is None else [*out, new]


def _after(change: Change, cls: type[M]) -> M | None:
    """The change's after-state as `cls` (None for a delete)."""
    data = change.after
    if data is None or change.kind == "delete":
        return None
    return data if isinstance(data, cls) else cls.model_validate(data.model_dump())


def _recompute_effective(
    inv: Inventory, host: str, switch: str, pg: str | None = None
) -> Inventory:
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


def _vss(inv: Inventory, c: Change) -> Inventory:
    new = _after(c, StandardSwitch)
    items = _replace(inv.standard_switches, lambda s: (s.host, s.name) == (c.host, c.name), new)
    return _recompute_effective(
        inv.model_copy(update={"standard_switches": items}), c.host or "", c.name
    )


def _portgroup(inv: Inventory, c: Change) -> Inventory:
    new = _after(c, StandardPortGroup)
    if new is not None:  # its effective policy: its switch's with its overrides laid over
        sw = next(
            (s for s in inv.standard_switches if (s.host, s.name) == (c.host, new.switch)), None
        )
        if sw is not None:
            new = new.model_copy(update={"effective": merge_policy(sw.policy, new.policy)})
    items = _replace(inv.standard_port_groups, lambda p: (p.host, p.name) == (c.host, c.name), new)
    return inv.model_copy(update={"standard_port_groups": items})


def _vmknic(inv: Inventory, c: Change) -> Inventory:
    device = getattr(c.before, "device", None) or c.device
    new = _after(c, VmkernelAdapter)
    if new is not None and not new.device:
        new = new.model_copy(update={"device": f"new:{c.name}"})
    items = _replace(inv.vmkernel_adapters, lambda v: v.host == c.host and v.device == device, new)
    return inv.model_copy(update={"vmkernel_adapters": items})


def _dvportgroup(inv: Inventory, c: Change) -> Inventory:
    new = _after(c, DistributedPortGroup)
    old = next((p for p in inv.distributed_port_groups if p.name == c.name and not p.uplink), None)
    if new is not None and not new.key:
        key = old.key if old else f"new:{c.name}"
        new = new.model_copy(update={"key": key, "moref": key})
    items = _replace(inv.distributed_port_groups, lambda p: p is old, new)
    return inv.model_copy(update={"distributed_port_groups": items})


def _members(sw: DistributedSwitch, ops: list[HostOp]) -> list[DvsHostMember]:
    members = {m.host: m for m in sw.hosts}
    for o in ops:
        if o.op == "remove":
            members.pop(o.host, None)
        else:
            members[o.host] = DvsHostMember(host=o.host, pnics=dict(o.pnics), status="up")
    return list(members.values())


def _dvs(inv: Inventory, c: Change) -> Inventory:
    old = inv.dvs_by_name.get(c.name)
    new = _after(c, DistributedSwitch)
    if new is not None:
        base = new.model_copy(update={"hosts": old.hosts if old else []})
        members = _members(base, c.host_ops)
        # a new switch gets its uplink names from vCenter; the members' pNICs name them
        names = new.uplink_names or sorted(
            {u for m in members for u in m.pnics.values()}, key=natural_key
        )
        new = new.model_copy(update={"hosts": members, "uplink_names": names})
    items = _replace(inv.distributed_switches, lambda d: d.name == c.name, new)
    return inv.model_copy(update={"distributed_switches": items})


def _lag(inv: Inventory, c: Change) -> Inventory:
    """vCenter names a LAG's ports `<lag>-0` ...; a LAG that shrinks or goes away takes its
    ports with it and the pNICs bound to them are unassigned (they carry nothing)."""
    switch, _, name = c.name.partition("/")
    new = _after(c, LacpGroup)
    if new is not None:
        n = new.uplink_count or len(new.uplink_names)
        new = new.model_copy(update={"uplink_names": [f"{new.name}-{i}" for i in range(n)]})
    old = next(
        (g for d in inv.distributed_switches if d.name == switch for g in d.lags if g.name == name),
        None,
    )
    lost = set(old.uplink_names if old else []) - set(new.uplink_names if new else [])

    def unbind(m: DvsHostMember) -> DvsHostMember:
        if not lost or not set(m.pnics.values()) & lost:
            return m
        return m.model_copy(update={"pnics": {p: u for p, u in m.pnics.items() if u not in lost}})

    switches = [
        d.model_copy(
            update={
                "lags": _replace(d.lags, lambda g: g.name == name, new),
                "hosts": [unbind(m) for m in d.hosts],
            }
        )
        if d.name == switch
        else d
        for d in inv.distributed_switches
    ]
    return inv.model_copy(update={"distributed_switches": switches})


def _host_uplinks(inv: Inventory, c: Change) -> Inventory:
    """A member's pNICs bound to (LAG) uplink ports by name, as the fresh read shows them."""
    new = _after(c, DvsHostUplinks)
    if new is None:
        return inv
    switches = [
        d.model_copy(
            update={
                "hosts": [
                    m.model_copy(update={"pnics": dict(new.pnics)}) if m.host == new.host else m
                    for m in d.hosts
                ]
            }
        )
        if d.name == new.dvs
        else d
        for d in inv.distributed_switches
    ]
    return inv.model_copy(update={"distributed_switches": switches})


def _dv_target(inv: Inventory, to: Placement | None) -> dict[str, Any]:
    """Where a migration lands: a DV port group (found by name if created in this plan)."""
    to = to or Placement()
    if not to.switch:
        return {"network": to.portgroup, "dvs_uuid": None, "dv_portgroup_key": None}
    key = to.key or next(
        (p.key for p in inv.distributed_port_groups if p.name == to.portgroup), None
    )
    return {"network": to.portgroup, "dvs_uuid": to.uuid, "dv_portgroup_key": key}


def _vmknic_move(inv: Inventory, c: Change) -> Inventory:
    t = _dv_target(inv, c.dest)
    adapters = [
        v.model_copy(
            update={
                "portgroup": None if t["dv_portgroup_key"] else t["network"],
                "dvs_uuid": t["dvs_uuid"],
                "dv_portgroup_key": t["dv_portgroup_key"],
            }
        )
        if v.host == c.host and v.device == c.name
        else v
        for v in inv.vmkernel_adapters
    ]
    return inv.model_copy(update={"vmkernel_adapters": adapters})


def _vm_nic_move(inv: Inventory, c: Change) -> Inventory:
    t = _dv_target(inv, c.dest)
    vm_name, _, label = c.name.partition("/")
    vms = [
        vm.model_copy(
            update={"nics": [n.model_copy(update=t) if n.label == label else n for n in vm.nics]}
        )
        if vm.name == vm_name
        else vm
        for vm in inv.vms
    ]
    return inv.model_copy(update={"vms": vms})


SIMULATORS: dict[str, Simulator] = {
    "standard_switch": _vss,
    "standard_port_group": _portgroup,
    "vmkernel_adapter": _vmknic,
    "distributed_port_group": _dvportgroup,
    "distributed_switch": _dvs,
    "lag": _lag,
    "dvs_host_uplinks": _host_uplinks,
    "vmknic_migration": _vmknic_move,
    "vm_nic_migration": _vm_nic_move,
}


def scope(inv: Inventory, c: Change) -> set[str]:
    """Hosts a change can affect: its own, or for a switch-wide change the hosts using it."""
    if c.host is not None:
        return {c.host}
    if c.resource == "distributed_port_group":
        old = next((p for p in inv.distributed_port_groups if p.name == c.name), None)
        users = {v.host for v in inv.vmkernel_adapters if old and v.dv_portgroup_key == old.key}
        return users | {
            vm.host or ""
            for vm in inv.vms
            for n in vm.nics
            if (old and n.dv_portgroup_key == old.key) or n.network == c.name
        }
    if c.resource == "dvs_host_uplinks":
        return {c.name.partition("/")[2]}
    switch = c.name.partition("/")[0] if c.resource == "lag" else c.name
    dvs = inv.dvs_by_name.get(switch)
    members = {m.host for m in dvs.hosts} if dvs else set()
    return members | {o.host for o in c.host_ops}


def _management_cut(imp: Impact) -> list[str]:
    return [t.label for t in imp.dark if t.kind == "vmknic" and "management" in t.services]


def _annotate(c: Change, imp: Impact) -> Change:
    cut = _management_cut(imp)
    unsafe = c.unsafe
    if cut and not unsafe:
        unsafe = "cuts the management network of " + ", ".join(cut)
    return c.model_copy(update={"impact": imp, "unsafe": unsafe})


class World:
    """The inventory as the plan changes it, one small inventory per touched host.

    A host's changes only touch that host's objects, so each is simulated and traced on an
    inventory of that host alone (plus its cluster peers' switches when it is in maintenance,
    where its VMs would go) and the shared distributed switches: a plan's cost grows with
    its changes, not with changes x inventory size."""

    # a port group no endpoint of its host uses or names cannot change any endpoint: its
    # change is simulated (later changes may use it) but not traced (most of a bulk create)
    skip_unused = True

    def __init__(self, inv: Inventory) -> None:
        self.base = inv
        self.dvs = list(inv.distributed_switches)
        self.dvpgs = list(inv.distributed_port_groups)
        self.hosts: dict[str, Inventory] = {}
        self.eps: dict[str, dict[str, Endpoint]] = {}  # host -> its endpoints now
        self.start: dict[str, Endpoint] = {}
        self.vms_by_host: dict[str, list[VirtualMachine]] = {}
        for vm in inv.vms:
            self.vms_by_host.setdefault(vm.host or "", []).append(vm)

    def of(self, host: str) -> Inventory:
        if host not in self.hosts:
            inv = self.base
            h = inv.host_by_name.get(host)
            peers = inv.hosts_in(cluster=h.cluster) if h and h.cluster and h.maintenance else []
            names = [host] + [p.name for p in peers if p.name != host]
            sub = Inventory(
                datacenters=inv.datacenters,
                clusters=inv.clusters,
                hosts=[inv.host_by_name[n] for n in names if n in inv.host_by_name],
                standard_switches=[s for n in names for s in inv.switches_by_host.get(n, [])],
                standard_port_groups=[p for n in names for p in inv.portgroups_by_host.get(n, [])],
                distributed_switches=self.dvs,
                distributed_port_groups=self.dvpgs,
                vmkernel_adapters=inv.vmknics_by_host.get(host, []),
                vms=self.vms_by_host.get(host, []),
            )
            self.hosts[host] = sub
            self.eps[host] = analyze(sub, {host}).endpoints
            self.start.update(self.eps[host])
        return self.hosts[host]

    def _unused(self, c: Change) -> bool:
        if c.resource != "standard_port_group":
            return False
        inv = self.of(c.host or "")
        names = {c.name, *(getattr(x, "name", None) for x in (c.before, c.after) if x)}
        return not any(v.portgroup in names for v in inv.vmkernel_adapters) and not any(
            n.network in names for vm in inv.vms for n in vm.nics
        )

    def _shared(self, c: Change, sim: Simulator) -> dict[str, Inventory]:
        """A switch-wide change: new shared lists, given to every host inventory."""
        view = self.base.model_copy(
            update={"distributed_switches": self.dvs, "distributed_port_groups": self.dvpgs}
        )
        hosts = scope(view, c)
        for h in hosts:  # their endpoints before this change (a host first seen here)
            self.of(h)
        shared = sim(
            Inventory(distributed_switches=self.dvs, distributed_port_groups=self.dvpgs), c
        )
        self.dvs = list(shared.distributed_switches)
        self.dvpgs = list(shared.distributed_port_groups)
        dist = {"distributed_switches": self.dvs, "distributed_port_groups": self.dvpgs}
        for h in list(self.hosts):
            self.hosts[h] = self.hosts[h].model_copy(update=dist)
        return {h: self.hosts[h] for h in hosts}

    def step(self, c: Change, sim: Simulator) -> Impact:
        """Apply one change; its impact on the hosts it can touch."""
        shared = c.host is None
        if not shared and self.skip_unused and self._unused(c):
            host = c.host or ""
            self.hosts[host] = sim(self.of(host), c)
            return Impact(stays=len(self.eps[host]))  # what compare() says of equal endpoints
        updates = self._shared(c, sim) if shared else {c.host or "": sim(self.of(c.host or ""), c)}
        old: dict[str, Endpoint] = {}
        new: dict[str, Endpoint] = {}
        for h, inv in updates.items():
            old.update(self.eps[h])
            self.hosts[h] = inv
            self.eps[h] = analyze(inv, {h}).endpoints
            new.update(self.eps[h])
        return compare(Connectivity(endpoints=old), Connectivity(endpoints=new))

    def total(self) -> Impact:
        now = {k: e for eps in self.eps.values() for k, e in eps.items()}
        return compare(Connectivity(endpoints=self.start), Connectivity(endpoints=now))


def blast_radius(plan: Plan, inv: Inventory) -> Plan:
    """The plan with each change's impact, the plan's total impact, and management cuts
    marked unsafe. Pure; a change whose objects cannot be simulated gets a note instead."""
    if plan.empty:
        return plan
    world = World(inv)
    out = []
    for c in plan.changes:
        sim = SIMULATORS.get(c.resource)
        if sim is None:
            out.append(c)
            continue
        try:
            imp = world.step(c, sim)
        except (ValidationError, KeyError, TypeError) as exc:
            note = f"impact not computed ({type(exc).__name__})"
            out.append(c.model_copy(update={"impact": Impact(notes=[note])}))
            continue
        out.append(_annotate(c, imp))
    return plan.model_copy(update={"changes": _renames(out), "impact": world.total()})


# what names an object or is worked out by vSphere, not what an admin configures
IDENTITY = {"name", "device", "key", "moref", "portgroups", "effective", "network", "mac"}
IDENTITY |= {"config_version", "dv_port"}


def _body(state: Model | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {k: v for k, v in state.model_dump(mode="json").items() if k not in IDENTITY}


def _renames(changes: list[Change]) -> list[Change]:
    """Flag a delete + create of the same kind on the same host whose objects differ only in
    name: the objects on the deleted one go dark in between, an update would not do that."""
    creates = [c for c in changes if c.kind == "create"]
    flagged: dict[str, str] = {}
    for d in (c for c in changes if c.kind == "delete"):
        body = _body(d.before)
        for c in creates:
            if (c.resource, c.host) == (d.resource, d.host) and body == _body(c.after):
                note = f"delete {d.name} + create {c.name} differ only in name: rename it instead"
                flagged[d.id] = flagged[c.id] = note
    return [_noted(c, flagged[c.id]) if c.id in flagged else c for c in changes]


def _noted(c: Change, note: str) -> Change:
    imp = c.impact or Impact()
    return c.model_copy(update={"impact": imp.model_copy(update={"notes": [*imp.notes, note]})})
