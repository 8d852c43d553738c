"""The network as a picture: hosts -> switches -> uplinks -> neighbour switches, per cluster.

Built as a Graphviz graph (the `graphviz` package writes DOT; the `dot` program lays it out).
To stay readable from 32 to 1,000 hosts, hosts of a cluster that are wired the same way (same
switches, port groups, VLANs, pNIC-to-neighbour-switch cabling and, with an overlay, the same
state) are drawn once as "H0 … H31 (x32)"; port groups are listed in their switch's box with
their VLAN and VM count. A what-if overlay colours failed links and the hosts whose VMs or
vmknics go dark (red) or lose redundancy (orange).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import graphviz

from vnettool.impact.paths import natural_key
from vnettool.models.impact import STATUS_RANK, Connectivity
from vnettool.models.inventory import Host, Inventory

COLOURS = {"ok": "#2e7d32", "degraded": "#ef6c00", "dark": "#c62828"}
FILL = {"ok": "#e8f5e9", "degraded": "#fff3e0", "dark": "#ffebee"}


@dataclass(frozen=True)
class HostShape:
    """What makes two hosts draw the same: compared, never shown."""

    switches: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    dvs: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    cabling: tuple[tuple[str, str, bool], ...]  # pNIC, neighbour switch, link up
    state: str


def _id(kind: str, name: str) -> str:
    """A node id: a ':' in an id is read by Graphviz as a port."""
    return kind + "_" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", name)


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _vm_counts(inv: Inventory) -> dict[tuple[str, str], int]:
    """(host, port group name) -> VM NICs on it."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for vm in inv.vms:
        for n in vm.nics:
            if n.network:
                out[(vm.host or "", n.network)] += 1
    return out


def _worst(statuses: list[str]) -> str:
    return min(statuses, key=lambda s: STATUS_RANK[s]) if statuses else "ok"


class TopologyBuilder:
    def __init__(self, inv: Inventory, after: Connectivity | None, vm_counts: bool) -> None:
        self.inv = inv
        self.after = after
        self.vm_counts = _vm_counts(inv) if vm_counts else {}
        self.by_host: dict[str, list[str]] = defaultdict(list)
        for e in after.endpoints.values() if after else []:
            self.by_host[e.host].append(e.status)
        self.members: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
        for d in inv.distributed_switches:
            for m in d.hosts:
                self.members[m.host].append((d.name, m.pnics))

    def shape(self, h: Host) -> HostShape:
        pgs = self.inv.portgroups_of(h.name)
        switches = tuple(
            (
                s.name,
                tuple(s.uplinks),
                tuple(sorted(f"{p.name}|{p.vlan_id}" for p in pgs if p.switch == s.name)),
            )
            for s in sorted(self.inv.switches_of(h.name), key=lambda s: s.name)
        )
        dvs = tuple(sorted((n, tuple(sorted(m.items()))) for n, m in self.members[h.name]))
        cabling = tuple(
            (p.device, p.neighbors[0].switch_id or "?" if p.neighbors else "?", p.link_up)
            for p in h.pnics
        )
        state = _worst(self.by_host.get(h.name, []))
        return HostShape(switches, dvs, cabling, state + ("/maintenance" if h.maintenance else ""))

    def host_label(self, hosts: list[Host]) -> str:
        names = [h.name for h in hosts]
        title = ", ".join(names) if len(names) <= 3 else f"{names[0]} … {names[-1]} (x{len(names)})"
        if hosts[0].maintenance:
            title += " — in maintenance"
        lines = [title]
        h = hosts[0]
        for s in sorted(self.inv.switches_of(h.name), key=lambda s: s.name):
            lines.append(f"{s.name} [{', '.join(s.uplinks) or 'no uplink'}]")
            for p in sorted(self.inv.portgroups_of(h.name), key=lambda p: p.name):
                if p.switch == s.name:
                    lines.append("  " + self._pg_text(h.name, p.name, str(p.vlan_id or "none")))
        if self.after is not None:
            lines += self._state_lines(h.name)
        return "\\l".join(_esc(x) for x in lines) + "\\l"

    def _state_lines(self, host: str) -> list[str]:
        """Per host of the group: what goes dark and what loses redundancy (first names)."""
        out = []
        eps = [e for e in (self.after.endpoints.values() if self.after else []) if e.host == host]
        for status, verb in (("dark", "dark"), ("degraded", "no redundancy")):
            names = [e.label() for e in eps if e.status == status]
            if names:
                more = f" +{len(names) - 3}" if len(names) > 3 else ""
                out.append(f"! {verb}: {', '.join(names[:3])}{more}")
        return out

    def _pg_text(self, host: str, pg: str, vlan: str) -> str:
        n = self.vm_counts.get((host, pg))
        return f"{pg} vlan {vlan}" + (f" · {n} VM NIC{'s' if n != 1 else ''}" if n else "")

    def dvs_label(self, name: str) -> str:
        lines = [f"{name} (vDS)"]
        for p in sorted(self.inv.dv_portgroups_of(name), key=lambda p: p.name):
            if p.uplink:
                continue
            n = sum(c for (_, pg), c in self.vm_counts.items() if pg == p.name)
            extra = f" · {n} VM NICs" if n else ""
            lines.append(f"  {p.name} vlan {p.vlan.display()}{extra}")
        return "\\l".join(_esc(x) for x in lines) + "\\l"


def _groups(b: TopologyBuilder, hosts: list[Host]) -> list[list[Host]]:
    shapes: dict[HostShape, list[Host]] = {}
    for h in sorted(hosts, key=lambda h: natural_key(h.name)):
        shapes.setdefault(b.shape(h), []).append(h)
    return list(shapes.values())


def _edges(g: graphviz.Digraph, b: TopologyBuilder, node: str, h: Host, many: int) -> None:
    """Host group -> vDS and -> neighbour switch, one edge per (switch, link state)."""
    for d, _ in b.members[h.name]:
        g.edge(node, _id("dvs", d), color="#1565c0")
    links: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for p in h.pnics:
        sw = p.neighbors[0].switch_id if p.neighbors and p.neighbors[0].switch_id else None
        if sw:
            links[(sw, p.link_up)].append(p.device)
    for (sw, up), pnics in sorted(links.items()):
        label = ", ".join(pnics) + (f" x{many}" if many > 1 else "")
        style = (
            {}
            if up
            else {"color": COLOURS["dark"], "style": "dashed", "fontcolor": COLOURS["dark"]}
        )
        g.edge(node, _id("sw", sw), label=_esc(label), **style)


def build_topology(
    inv: Inventory,
    *,
    cluster: str | None = None,
    host: str | None = None,
    after: Connectivity | None = None,
    failed: Inventory | None = None,
    vm_counts: bool = True,
) -> graphviz.Digraph:
    """The picture as a Graphviz graph. `after`/`failed` (the connectivity and inventory after
    a what-if) colour what breaks; neighbours of failed pNICs are taken from `inv`."""
    shown = failed or inv
    hosts = [
        h
        for h in shown.hosts
        if (cluster is None or h.cluster == cluster) and (host is None or h.name == host)
    ]
    b = TopologyBuilder(shown, after, vm_counts)
    if failed is not None:  # a down pNIC has no neighbour: draw it to where it was cabled
        cabled = {(p.host, p.device): p.neighbors for h in inv.hosts for p in h.pnics}
        hosts = [
            h.model_copy(
                update={
                    "pnics": [
                        p
                        if p.neighbors
                        else p.model_copy(update={"neighbors": cabled.get((p.host, p.device), [])})
                        for p in h.pnics
                    ]
                }
            )
            for h in hosts
        ]
    g = graphviz.Digraph(
        "vnettool",
        graph_attr={"rankdir": "LR", "fontname": "Helvetica", "nodesep": "0.15", "ranksep": "1.2"},
    )
    g.attr(
        "node",
        shape="box",
        fontname="Helvetica",
        fontsize="10",
        style="rounded,filled",
        fillcolor="white",
    )
    g.attr("edge", fontname="Helvetica", fontsize="8", color="#555555")
    by_cluster: dict[str, list[Host]] = defaultdict(list)
    for h in hosts:
        by_cluster[h.cluster or "(standalone)"].append(h)
    dvs_used: set[str] = set()
    switches_used: set[str] = set()
    for ci, (cname, members) in enumerate(
        sorted(by_cluster.items(), key=lambda kv: natural_key(kv[0]))
    ):
        with g.subgraph(name=f"cluster_{ci}") as sub:
            sub.attr(
                label=_esc(f"{cname} · {len(members)} host{'s' if len(members) != 1 else ''}"),
                style="rounded",
                color="#90a4ae",
            )
            for gi, group in enumerate(_groups(b, members)):
                node = f"h_{ci}_{gi}"
                state = b.shape(group[0]).state.split("/")[0]
                fill = FILL[state] if after is not None else "#eceff1"
                sub.node(
                    node,
                    label=b.host_label(group),
                    fillcolor=fill,
                    color=COLOURS[state] if after is not None else "#546e7a",
                )
                _edges(g, b, node, group[0], len(group))
                dvs_used |= {d for d, _ in b.members[group[0].name]}
                switches_used |= {
                    p.neighbors[0].switch_id or "" for p in group[0].pnics if p.neighbors
                }
    for d in sorted(dvs_used):
        g.node(_id("dvs", d), label=b.dvs_label(d), fillcolor="#e3f2fd", color="#1565c0")
    for sw in sorted(s for s in switches_used if s):
        g.node(_id("sw", sw), label=_esc(sw), shape="component", fillcolor="#fffde7")
    return g
