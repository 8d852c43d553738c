"""The connectivity model: each VM NIC and VMkernel adapter traced to the physical network.

port group -> switch -> active / standby uplinks (a vmnic on a vSS; an uplink port or a LAG on
a vDS) -> pNIC (link state) -> CDP/LLDP neighbour switch and port. An endpoint is `ok` when two
live pNICs carry it and they do not all end on one neighbour switch, `degraded` when one more
failure would cut it, `dark` when nothing carries it. Unused uplinks never count: vSphere does
not fail over to them.

A powered-on VM on a host in maintenance mode is judged where it would go: the best other
connected host of its cluster not in maintenance (what DRS would do), so a what-if of
maintenance tells which VMs have nowhere to go with their networks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from vnettool.models.impact import STATUS_RANK, Connectivity, Endpoint, PnicHop, UplinkHop
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    DvsHostMember,
    Host,
    Inventory,
    PhysicalNic,
    StandardPortGroup,
    StandardSwitch,
    VirtualMachine,
    VmNic,
)
from vnettool.models.policy import TeamingPolicy


def natural_key(name: str) -> list[int | str]:
    """H2 before H10, as people number hosts."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


@dataclass(frozen=True)
class Route:
    """Where an endpoint attaches on one host, before its status is judged."""

    portgroup: str | None
    switch: str | None
    distributed: bool
    vlan: str
    uplinks: list[UplinkHop] = field(default_factory=list)
    problem: str = ""  # why there is no route at all (missing port group, not a member...)


class Tracer:
    """Indexes one inventory once, then traces any (host, attachment) in O(uplinks)."""

    def __init__(self, inv: Inventory) -> None:
        self.inv = inv

    @cached_property
    def pnics(self) -> dict[tuple[str, str], PhysicalNic]:
        return {(p.host, p.device): p for h in self.inv.hosts for p in h.pnics}

    @cached_property
    def std_pgs(self) -> dict[tuple[str, str], StandardPortGroup]:
        return {(p.host, p.name): p for p in self.inv.standard_port_groups}

    @cached_property
    def std_switches(self) -> dict[tuple[str, str], StandardSwitch]:
        return {(s.host, s.name): s for s in self.inv.standard_switches}

    @cached_property
    def dvpg_by_name(self) -> dict[str, DistributedPortGroup]:
        return {p.name: p for p in self.inv.distributed_port_groups if not p.uplink}

    @cached_property
    def members(self) -> dict[tuple[str, str], DvsHostMember]:
        return _member_index(self.inv.distributed_switches)

    def hop(self, host: str, device: str) -> PnicHop:
        p = self.pnics.get((host, device))
        if p is None:
            return PnicHop(pnic=device, link_up=False)
        n = p.neighbors[0] if p.neighbors else None
        return PnicHop(
            pnic=device,
            link_up=p.link_up,
            switch=n.switch_id if n else None,
            port=n.port_id if n else None,
        )

    # -- standard switching -------------------------------------------------------------
    def standard(self, host: str, portgroup: str) -> Route:
        pg = self.std_pgs.get((host, portgroup))
        if pg is None:
            return Route(portgroup, None, False, "none", problem=f"no port group {portgroup}")
        sw = self.std_switches.get((host, pg.switch))
        vlan = "none" if pg.vlan_id == 0 else ("trunk" if pg.vlan_id == 4095 else str(pg.vlan_id))
        if sw is None:
            return Route(pg.name, pg.switch, False, vlan, problem=f"no switch {pg.switch}")
        team = pg.effective.teaming
        active = team.active_uplinks if team.active_uplinks is not None else sw.uplinks
        standby = team.standby_uplinks or []
        bridged = set(sw.uplinks)
        hops = [
            UplinkHop(uplink=u, role=role, pnics=[self.hop(host, u)])
            for role, names in (("active", active), ("standby", standby))
            for u in names
            if u in bridged
        ]
        return Route(pg.name, sw.name, False, vlan, hops)

    # -- distributed switching ----------------------------------------------------------
    def distributed(self, host: str, pg: DistributedPortGroup) -> Route:
        dvs = self.inv.dvs_by_name.get(pg.dvs)
        vlan = pg.vlan.display()
        if dvs is None:
            return Route(pg.name, pg.dvs, True, vlan, problem=f"no switch {pg.dvs}")
        member = self.members.get((dvs.name, host))
        if member is None:
            return Route(pg.name, dvs.name, True, vlan, problem=f"{host} is not on {dvs.name}")
        team = _dv_teaming(pg.setting.teaming, dvs)
        hops = []
        for role, names in (("active", team[0]), ("standby", team[1])):
            for u in names:
                lag = next((g for g in dvs.lags if g.name == u), None)
                ports = set(lag.uplink_names) if lag else {u}
                devices = sorted(
                    (d for d, port in member.pnics.items() if port in ports), key=natural_key
                )
                hops.append(
                    UplinkHop(
                        uplink=u,
                        role=role,  # type: ignore[arg-type]
                        lag=lag is not None,
                        pnics=[self.hop(host, d) for d in devices],
                    )
                )
        return Route(pg.name, dvs.name, True, vlan, hops)

    def route(self, host: str, dv_key: str | None, portgroup: str | None) -> Route:
        if dv_key:
            pg = self.inv.dvpg_by_key.get(dv_key)
            if pg is None:
                return Route(portgroup, None, True, "none", problem=f"no DV port group {dv_key}")
            return self.distributed(host, pg)
        if portgroup:
            dv = self.dvpg_by_name.get(portgroup)
            if (host, portgroup) not in self.std_pgs and dv is not None:
                return self.distributed(host, dv)
            return self.standard(host, portgroup)
        return Route(None, None, False, "none", problem="not attached to a port group")


_MEMBERS: dict[
    tuple[int, ...], tuple[list[DistributedSwitch], dict[tuple[str, str], DvsHostMember]]
] = {}


def _member_index(
    switches: list[DistributedSwitch],
) -> dict[tuple[str, str], DvsHostMember]:
    """(switch, host) -> member, kept for the same switch objects: a plan's per-host
    inventories share them, and re-indexing every member for each host was most of its cost."""
    key = tuple(id(d) for d in switches)
    got = _MEMBERS.get(key)
    if got is not None and all(a is b for a, b in zip(got[0], switches, strict=True)):
        return got[1]
    if len(_MEMBERS) > 16:
        _MEMBERS.clear()
    index = {(d.name, m.host): m for d in switches for m in d.hosts}
    _MEMBERS[key] = (list(switches), index)
    return index


def _dv_teaming(team: TeamingPolicy, dvs: DistributedSwitch) -> tuple[list[str], list[str]]:
    base = dvs.default_port.teaming
    active = team.active_uplinks if team.active_uplinks is not None else base.active_uplinks
    standby = team.standby_uplinks if team.standby_uplinks is not None else base.standby_uplinks
    return list(active if active is not None else dvs.uplink_names), list(standby or [])


def judge(route: Route) -> tuple[str, list[str], str]:
    """(status, live pNICs in failover order, reason) of a route."""
    if route.problem:
        return "dark", [], route.problem
    live: list[str] = []
    switches: set[str | None] = set()
    for u in route.uplinks:
        for p in u.pnics:
            if p.link_up and p.pnic not in live:
                live.append(p.pnic)
                switches.add(p.switch)
    if not live:
        used = [p.pnic for u in route.uplinks for p in u.pnics]
        why = f"every uplink is down ({', '.join(used)})" if used else "no uplink in its teaming"
        return "dark", [], why
    if len(live) == 1:
        return "degraded", live, f"one live pNIC ({live[0]})"
    if len(switches) == 1 and None not in switches:
        return "degraded", live, f"every live pNIC ends on switch {next(iter(switches))}"
    return "ok", live, ""


def _endpoint(base: dict[str, object], route: Route) -> Endpoint:
    status, live, reason = judge(route)
    return Endpoint.model_validate(
        base
        | {
            "portgroup": route.portgroup,
            "switch": route.switch,
            "distributed": route.distributed,
            "vlan": route.vlan,
            "uplinks": route.uplinks,
            "live_pnics": live,
            "status": status,
            "reason": reason,
        }
    )


def vmknic_endpoints(t: Tracer, hosts: set[str] | None = None) -> Iterable[Endpoint]:
    for v in t.inv.vmkernel_adapters:
        if hosts is not None and v.host not in hosts:
            continue
        h = t.inv.host_by_name.get(v.host)
        base: dict[str, object] = {
            "kind": "vmknic",
            "key": f"vmk:{v.host}/{v.device}",
            "owner": v.host,
            "name": v.device,
            "host": v.host,
            "cluster": h.cluster if h else None,
            "services": sorted(v.services),
        }
        yield _endpoint(base, t.route(v.host, v.dv_portgroup_key, v.portgroup))


def _nic_endpoint(t: Tracer, vm: VirtualMachine, nic: VmNic, host: str, note: str) -> Endpoint:
    base: dict[str, object] = {
        "kind": "vm_nic",
        "key": f"vm:{vm.name}/{nic.label}",
        "owner": vm.name,
        "name": nic.label,
        "host": host,
        "cluster": vm.cluster,
    }
    ep = _endpoint(base, t.route(host, nic.dv_portgroup_key, nic.network))
    if not nic.connected and vm.power_state == "poweredOn":
        return ep.model_copy(update={"status": "dark", "reason": "NIC not connected"})
    if note:
        return ep.model_copy(update={"reason": "; ".join(x for x in (note, ep.reason) if x)})
    return ep


def _evacuate(t: Tracer, vm: VirtualMachine, host: Host) -> list[Endpoint]:
    """The endpoints of a VM on the best host it can move to; dark ones if there is none."""
    others = t.inv.hosts_in(cluster=host.cluster) if host.cluster else []
    candidates = [
        h
        for h in others
        if h.name != host.name and h.connection_state == "connected" and not h.maintenance
    ]
    best: tuple[tuple[int, int], list[Endpoint]] | None = None
    for h in sorted(candidates, key=lambda x: natural_key(x.name)):
        eps = [_nic_endpoint(t, vm, n, h.name, f"moves to {h.name}") for n in vm.nics]
        ranks = [STATUS_RANK[e.status] for e in eps] or [STATUS_RANK["ok"]]
        score = (min(ranks), sum(ranks))
        if best is None or score > best[0]:
            best = (score, eps)
    if best is not None:
        return best[1]
    why = f"{host.name} in maintenance and no other host of its cluster to move to"
    return [
        _nic_endpoint(t, vm, n, host.name, "").model_copy(
            update={"status": "dark", "reason": why, "live_pnics": []}
        )
        for n in vm.nics
    ]


def vm_endpoints(t: Tracer, hosts: set[str] | None = None) -> Iterable[Endpoint]:
    for vm in t.inv.vms:
        if vm.template or (hosts is not None and (vm.host or "") not in hosts):
            continue
        host = t.inv.host_by_name.get(vm.host or "")
        if host is None:
            for n in vm.nics:
                ep = _nic_endpoint(t, vm, n, vm.host or "", "")
                yield ep.model_copy(update={"status": "dark", "reason": "VM has no host"})
            continue
        if host.maintenance and vm.power_state == "poweredOn":
            yield from _evacuate(t, vm, host)
            continue
        for n in vm.nics:
            yield _nic_endpoint(t, vm, n, host.name, "")


def analyze(inv: Inventory, hosts: set[str] | None = None) -> Connectivity:
    """Every VM NIC and VMkernel adapter of an inventory (or of `hosts` only) with its path
    and status. Pure."""
    t = Tracer(inv)
    eps = list(vmknic_endpoints(t, hosts)) + list(vm_endpoints(t, hosts))
    return Connectivity(endpoints={e.key: e for e in eps})


def path_text(ep: Endpoint) -> str:
    """One endpoint's path as one line, e.g. 'vSwitch0: vmnic0 → tor-a Eth1/1, vmnic1 (down)'.

    The TUI shows it per host; standby and LAG uplinks are named so a reader sees why an
    endpoint is only degraded."""
    hops = []
    for u in ep.uplinks:
        pn = [
            p.pnic
            + (" (down)" if not p.link_up else "")
            + (f" → {p.switch}" + (f" {p.port}" if p.port else "") if p.switch else "")
            for p in u.pnics
        ] or ["no pNIC"]
        role = " standby" if u.role == "standby" else ""
        name = f"{u.uplink}{' LAG' if u.lag else ''}{role}: " if u.uplink not in pn[0] else ""
        hops.append(name + " + ".join(pn) if u.lag else name + pn[0])
    where = f"{ep.portgroup or '-'} on {ep.switch or '-'}"
    return f"{where}: " + (", ".join(hops) if hops else ep.reason or "no uplink")
