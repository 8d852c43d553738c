"""Blast radius of a plan: what each change does to the VM NICs and VMkernel adapters.

Every change carries its before and after objects (`Change.before` / `Change.after`), so
applying it to a copy of the inventory is replacing one object — each resource does that for
its own changes (`Resource.simulate`, and `Resource.reach` for the hosts a vCenter-wide change
can touch; this module names no resource); the connectivity model is then run before and after,
on the hosts the change can touch only (a plan of 640 changes on a 1,000-host inventory stays
fast). Changes are applied in plan order, cumulatively: a migration onto a port group created
earlier in the same plan lands on it.

A change that would leave a management vmknic without any live path is marked unsafe (the
engine's existing refusal, `--force` to override) with the adapters named; deleting a port
group that VM NICs or vmknics use shows them as going dark; a delete and a create of objects
that differ only in name is flagged, since an update (a rename) would keep them connected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import ValidationError

from vnettool.impact.paths import analyze
from vnettool.impact.whatif import compare
from vnettool.models.base import Model
from vnettool.models.impact import Connectivity, Endpoint, Impact
from vnettool.models.inventory import Inventory, VirtualMachine
from vnettool.models.plan import Change, Plan


class Simulated(Protocol):
    """What the blast radius asks of a resource (engine/resource.py implements it): this
    package sits below the engine, so the engine hands its registry in."""

    @property
    def simulates(self) -> bool: ...  # False: its changes do not change connectivity

    @property
    def reach_by_name(self) -> bool: ...  # it reaches only endpoints using its name

    def simulate(self, inv: Inventory, change: Change) -> Inventory | None: ...

    def reach(self, inv: Inventory, change: Change) -> set[str]: ...


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

    def __init__(self, inv: Inventory, resources: Mapping[str, Simulated]) -> None:
        self.base = inv
        self.resources = resources
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
        if not self.resources[c.resource].reach_by_name:
            return False
        inv = self.of(c.host or "")
        names = {c.name, *(getattr(x, "name", None) for x in (c.before, c.after) if x)}
        return not any(v.portgroup in names for v in inv.vmkernel_adapters) and not any(
            n.network in names for vm in inv.vms for n in vm.nics
        )

    def _sim(self, inv: Inventory, c: Change) -> Inventory:
        out = self.resources[c.resource].simulate(inv, c)
        if out is None:  # a resource that says it simulates must
            raise TypeError(f"{c.resource} did not simulate {c.summary()}")
        return out

    def _shared(self, c: Change) -> dict[str, Inventory]:
        """A switch-wide change: new shared lists, given to every host inventory."""
        view = self.base.model_copy(
            update={"distributed_switches": self.dvs, "distributed_port_groups": self.dvpgs}
        )
        hosts = self.resources[c.resource].reach(view, c)
        for h in hosts:  # their endpoints before this change (a host first seen here)
            self.of(h)
        shared = self._sim(
            Inventory(distributed_switches=self.dvs, distributed_port_groups=self.dvpgs), c
        )
        self.dvs = list(shared.distributed_switches)
        self.dvpgs = list(shared.distributed_port_groups)
        dist = {"distributed_switches": self.dvs, "distributed_port_groups": self.dvpgs}
        for h in list(self.hosts):
            self.hosts[h] = self.hosts[h].model_copy(update=dist)
        return {h: self.hosts[h] for h in hosts}

    def step(self, c: Change) -> Impact:
        """Apply one change; its impact on the hosts it can touch."""
        shared = c.host is None
        if not shared and self.skip_unused and self._unused(c):
            host = c.host or ""
            self.hosts[host] = self._sim(self.of(host), c)
            return Impact(stays=len(self.eps[host]))  # what compare() says of equal endpoints
        host = c.host or ""
        updates = self._shared(c) if shared else {host: self._sim(self.of(host), c)}
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


def blast_radius(plan: Plan, inv: Inventory, resources: Mapping[str, Simulated]) -> Plan:
    """The plan with each change's impact, the plan's total impact, and management cuts
    marked unsafe. Pure; `resources` (the engine's registry by name) simulate their own
    changes; a change of a resource that does not simulate carries no impact, one whose
    objects cannot be simulated gets a note instead."""
    if plan.empty:
        return plan
    world = World(inv, resources)
    out = []
    for c in plan.changes:
        r = resources.get(c.resource)
        if r is None or not r.simulates:
            out.append(c)
            continue
        try:
            imp = world.step(c)
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
