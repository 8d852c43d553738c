"""What the TUI shows, computed from an `Inventory` without Textual: tree nodes, details, filters.

Kept apart from the widgets so that the rules (which children a node has, what a filter
matches, how a policy reads) are plain functions the unit tests call directly, and so that a
1,000-host estate costs one index build per inventory version, not a scan per expanded node.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vnettool.engine.common import natural_key
from vnettool.models.inventory import (
    KNOWN_NIOC_CLASSES,
    DistributedPortGroup,
    DistributedSwitch,
    Host,
    Inventory,
    StandardPortGroup,
    StandardSwitch,
    VirtualMachine,
    VmkernelAdapter,
    VmNic,
)
from vnettool.models.policy import NetworkPolicy

# A node key: its kind first, then what identifies it. Keys are stable across inventory
# versions, so a live update can rebuild the tree and re-open the same nodes.
Key = tuple[str, ...]


@dataclass(frozen=True)
class Node:
    key: Key
    label: str
    expandable: bool
    icon: str = ""
    # the end of the label that is kept whole when the tree is narrow (`vlan 4095`); the
    # name before it is what gets cut, in the middle (tui/fit.py)
    suffix: str = ""
    # a VM NIC or vmknic: the name (the VM, the device) is the key and stays whole; the
    # suffix (NIC label, IP, state) is what gets cut
    name_first: bool = False

    @property
    def name(self) -> str:
        if self.suffix and self.label.endswith(self.suffix):
            return self.label[: -len(self.suffix)].rstrip()
        return self.label


def _nat(s: str | None) -> list[Any]:
    return natural_key(s or "")


@dataclass
class NetIndex:
    """Lookups the tree needs, built once per inventory (O(objects))."""

    inv: Inventory
    clusters_of_dc: dict[str, list[str]] = field(default_factory=dict)
    hosts_of_cluster: dict[tuple[str, str], list[Host]] = field(default_factory=dict)
    standalone_hosts: dict[str, list[Host]] = field(default_factory=dict)
    host: dict[str, Host] = field(default_factory=dict)
    vss_of_host: dict[str, list[StandardSwitch]] = field(default_factory=dict)
    pgs_of_vss: dict[tuple[str, str], list[StandardPortGroup]] = field(default_factory=dict)
    pg: dict[tuple[str, str], StandardPortGroup] = field(default_factory=dict)
    vss: dict[tuple[str, str], StandardSwitch] = field(default_factory=dict)
    dvs_of_host: dict[str, list[DistributedSwitch]] = field(default_factory=dict)
    dvs_of_dc: dict[str, list[DistributedSwitch]] = field(default_factory=dict)
    dvs: dict[str, DistributedSwitch] = field(default_factory=dict)
    dvpgs_of_dvs: dict[str, list[DistributedPortGroup]] = field(default_factory=dict)
    dvpg: dict[str, DistributedPortGroup] = field(default_factory=dict)
    vm: dict[str, VirtualMachine] = field(default_factory=dict)
    vmk: dict[tuple[str, str], VmkernelAdapter] = field(default_factory=dict)
    # (host, std port group name) / (host, dvpg key) / dvpg key -> attached NICs
    nics_on_pg: dict[tuple[str, str], list[tuple[VirtualMachine, VmNic]]] = field(
        default_factory=dict
    )
    nics_on_dvpg_host: dict[tuple[str, str], list[tuple[VirtualMachine, VmNic]]] = field(
        default_factory=dict
    )
    nics_on_dvpg: dict[str, list[tuple[VirtualMachine, VmNic]]] = field(default_factory=dict)
    vmks_on_pg: dict[tuple[str, str], list[VmkernelAdapter]] = field(default_factory=dict)
    vmks_on_dvpg_host: dict[tuple[str, str], list[VmkernelAdapter]] = field(default_factory=dict)
    vmks_on_dvpg: dict[str, list[VmkernelAdapter]] = field(default_factory=dict)

    @classmethod
    def build(cls, inv: Inventory) -> NetIndex:
        ix = cls(inv)
        dd: Any = defaultdict(list)
        clusters: dict[str, list[str]] = defaultdict(list)
        for c in inv.clusters:
            clusters[c.datacenter].append(c.name)
        ix.clusters_of_dc = {k: sorted(v, key=_nat) for k, v in clusters.items()}
        hoc: dict[tuple[str, str], list[Host]] = defaultdict(list)
        standalone: dict[str, list[Host]] = defaultdict(list)
        for h in sorted(inv.hosts, key=lambda h: _nat(h.name)):
            ix.host[h.name] = h
            if h.cluster:
                hoc[(h.datacenter or "", h.cluster)].append(h)
            else:
                standalone[h.datacenter or ""].append(h)
        ix.hosts_of_cluster, ix.standalone_hosts = dict(hoc), dict(standalone)
        vss_of_host = defaultdict(list)
        for s in sorted(inv.standard_switches, key=lambda s: _nat(s.name)):
            vss_of_host[s.host].append(s)
            ix.vss[(s.host, s.name)] = s
        ix.vss_of_host = dict(vss_of_host)
        pgs_of_vss = defaultdict(list)
        for p in sorted(inv.standard_port_groups, key=lambda p: _nat(p.name)):
            pgs_of_vss[(p.host, p.switch)].append(p)
            ix.pg[(p.host, p.name)] = p
        ix.pgs_of_vss = dict(pgs_of_vss)
        dvs_of_host = defaultdict(list)
        dvs_of_dc = defaultdict(list)
        for d in sorted(inv.distributed_switches, key=lambda d: _nat(d.name)):
            ix.dvs[d.name] = d
            dvs_of_dc[d.datacenter or ""].append(d)
            for m in d.hosts:
                dvs_of_host[m.host].append(d)
        ix.dvs_of_host, ix.dvs_of_dc = dict(dvs_of_host), dict(dvs_of_dc)
        dvpgs = defaultdict(list)
        for g in sorted(inv.distributed_port_groups, key=lambda g: (g.uplink, _nat(g.name))):
            ix.dvpg[g.key] = g
            dvpgs[g.dvs].append(g)
        ix.dvpgs_of_dvs = dict(dvpgs)
        nics_pg, nics_dvh, nics_dv = dd.copy(), defaultdict(list), defaultdict(list)
        for v in sorted(inv.vms, key=lambda v: _nat(v.name)):
            ix.vm[v.moref] = v
            for n in v.nics:
                if n.dv_portgroup_key:
                    nics_dvh[(v.host or "", n.dv_portgroup_key)].append((v, n))
                    nics_dv[n.dv_portgroup_key].append((v, n))
                elif n.network:
                    nics_pg[(v.host or "", n.network)].append((v, n))
        ix.nics_on_pg = dict(nics_pg)
        ix.nics_on_dvpg_host, ix.nics_on_dvpg = dict(nics_dvh), dict(nics_dv)
        vpg, vdh, vdv = defaultdict(list), defaultdict(list), defaultdict(list)
        for a in sorted(inv.vmkernel_adapters, key=lambda a: _nat(a.device)):
            ix.vmk[(a.host, a.device)] = a
            if a.dv_portgroup_key:
                vdh[(a.host, a.dv_portgroup_key)].append(a)
                vdv[a.dv_portgroup_key].append(a)
            elif a.portgroup:
                vpg[(a.host, a.portgroup)].append(a)
        ix.vmks_on_pg, ix.vmks_on_dvpg_host, ix.vmks_on_dvpg = dict(vpg), dict(vdh), dict(vdv)
        return ix

    # -- tree ---------------------------------------------------------------------------------
    def roots(self) -> list[Node]:
        return [
            Node(("dc", d.name), d.name, True, "◉")
            for d in sorted(self.inv.datacenters, key=lambda d: _nat(d.name))
        ]

    def children(self, key: Key) -> list[Node]:
        """The children of a node, computed on expansion only (the tree is lazy)."""
        kind = key[0]
        if kind == "dc":
            dc = key[1]
            out = [Node(("cluster", dc, c), c, True, "▦") for c in self.clusters_of_dc.get(dc, [])]
            out += [self._host_node(h) for h in self.standalone_hosts.get(dc, [])]
            out += [
                Node(("dvs", d.name), f"{d.name} (vDS)", True, "⇶")
                for d in self.dvs_of_dc.get(dc, [])
            ]
            return out
        if kind == "cluster":
            return [self._host_node(h) for h in self.hosts_of_cluster.get((key[1], key[2]), [])]
        if kind == "host":
            host = key[1]
            out = [
                Node(("vss", host, s.name), f"{s.name} (vSS)", True, "⇉")
                for s in self.vss_of_host.get(host, [])
            ]
            out += [
                Node(("hdvs", host, d.name), f"{d.name} (vDS)", True, "⇶")
                for d in self.dvs_of_host.get(host, [])
            ]
            return out
        if kind == "vss":
            host, sw = key[1], key[2]
            return [
                Node(
                    ("pg", host, p.name),
                    f"{p.name}  vlan {p.vlan_id}",
                    True,
                    "◇",
                    f"vlan {p.vlan_id}",
                )
                for p in self.pgs_of_vss.get((host, sw), [])
            ]
        if kind == "hdvs":
            host, dvs = key[1], key[2]
            return [
                Node(
                    ("hdvpg", host, g.key),
                    f"{g.name}  vlan {g.vlan.display()}",
                    True,
                    "◆",
                    f"vlan {g.vlan.display()}",
                )
                for g in self.dvpgs_of_dvs.get(dvs, [])
            ]
        if kind == "dvs":
            return [
                Node(
                    ("dvpg", g.key),
                    f"{g.name}  vlan {g.vlan.display()}",
                    True,
                    "◆",
                    f"vlan {g.vlan.display()}",
                )
                for g in self.dvpgs_of_dvs.get(key[1], [])
            ]
        if kind == "pg":
            k = (key[1], key[2])
            return self._attached(self.nics_on_pg.get(k, []), self.vmks_on_pg.get(k, []))
        if kind == "hdvpg":
            k = (key[1], key[2])
            return self._attached(
                self.nics_on_dvpg_host.get(k, []), self.vmks_on_dvpg_host.get(k, [])
            )
        if kind == "dvpg":
            return self._attached(
                self.nics_on_dvpg.get(key[1], []), self.vmks_on_dvpg.get(key[1], []), True
            )
        return []

    def _host_node(self, h: Host) -> Node:
        flag = "" if h.connection_state == "connected" else f" [{h.connection_state}]"
        flag += " [maintenance]" if h.maintenance else ""
        return Node(("host", h.name), h.name + flag, True, "▣", flag.strip())

    def _attached(
        self,
        nics: list[tuple[VirtualMachine, VmNic]],
        vmks: list[VmkernelAdapter],
        with_host: bool = False,
    ) -> list[Node]:
        out = []
        for a in vmks:
            where = f" @ {a.host}" if with_host else ""
            out.append(
                Node(
                    ("vmk", a.host, a.device),
                    f"{a.device} {a.ip or ''}{where}".strip(),
                    False,
                    "⚙",
                    f"{a.ip or ''}{where}".strip(),
                    name_first=True,
                )
            )
        for v, n in nics:
            state = "" if n.connected else " (disconnected)"
            where = f" @ {v.host}" if with_host else ""
            out.append(
                Node(
                    ("vmnic", v.moref, str(n.key)),
                    f"{v.name} {n.label}{state}{where}",
                    False,
                    "▢",
                    f"{n.label}{state}{where}",
                    name_first=True,
                )
            )
        return out

    def walk(self, key: Key | None = None) -> Iterator[tuple[Node, list[Node]]]:
        """Every node under `key` (or the roots) depth-first, with its ancestors."""
        stack: list[tuple[Node, list[Node]]] = [
            (n, []) for n in reversed(self.roots() if key is None else self.children(key))
        ]
        while stack:
            node, path = stack.pop()
            yield node, path
            if node.expandable:
                below = [*path, node]
                stack.extend((c, below) for c in reversed(self.children(node.key)))

    def search(self, text: str, limit: int = 200) -> tuple[list[tuple[Node, list[Node]]], bool]:
        """Nodes whose label contains `text` (case-insensitive), at most `limit`; truncated?"""
        needle = text.strip().lower()
        hits: list[tuple[Node, list[Node]]] = []
        if not needle:
            return hits, False
        for node, path in self.walk():
            if needle in node.label.lower():
                hits.append((node, path))
                if len(hits) >= limit:
                    return hits, True
        return hits, False

    def label(self, key: Key) -> str:
        """A human path for the status line and confirmations."""
        return " / ".join(key[1:])

    def vm_of(self, key: Key) -> VirtualMachine | None:
        return self.vm.get(key[1]) if key and key[0] == "vmnic" else None

    # -- details ------------------------------------------------------------------------------
    def details(self, key: Key) -> RenderableType:
        kind = key[0]
        try:
            if kind == "dc":
                return self._dc_details(key[1])
            if kind == "cluster":
                return self._cluster_details(key[1], key[2])
            if kind == "host":
                return host_details(self.host[key[1]], self)
            if kind == "vss":
                return vss_details(self.vss[(key[1], key[2])])
            if kind == "pg":
                return pg_details(
                    self.pg[(key[1], key[2])],
                    self.vss.get((key[1], self.pg[(key[1], key[2])].switch)),
                )
            if kind in ("dvs", "hdvs"):
                return dvs_details(self.dvs[key[-1]], self)
            if kind in ("dvpg", "hdvpg"):
                g = self.dvpg[key[-1]]
                return dvpg_details(g, self.dvs.get(g.dvs))
            if kind == "vmk":
                return vmk_details(self.vmk[(key[1], key[2])], self)
            if kind == "vmnic":
                v = self.vm[key[1]]
                return vmnic_details(v, next(n for n in v.nics if str(n.key) == key[2]), self)
        except (KeyError, StopIteration):
            return Text(f"{self.label(key)} is no longer in the inventory", style="yellow")
        return Text("")

    def _dc_details(self, dc: str) -> RenderableType:
        hosts = [h for h in self.inv.hosts if h.datacenter == dc]
        t = _kv(f"Datacenter {dc}")
        t.add_row("clusters", str(len(self.clusters_of_dc.get(dc, []))))
        t.add_row("hosts", str(len(hosts)))
        t.add_row("distributed switches", str(len(self.dvs_of_dc.get(dc, []))))
        names = {h.name for h in hosts}
        t.add_row("VMs", str(sum(1 for v in self.inv.vms if v.host in names)))
        return t

    def _cluster_details(self, dc: str, cluster: str) -> RenderableType:
        hosts = self.hosts_of_cluster.get((dc, cluster), [])
        c = next((c for c in self.inv.clusters if c.name == cluster and c.datacenter == dc), None)
        t = _kv(f"Cluster {cluster}")
        t.add_row("hosts", str(len(hosts)))
        t.add_row("connected", str(sum(1 for h in hosts if h.connection_state == "connected")))
        t.add_row("in maintenance", str(sum(1 for h in hosts if h.maintenance)))
        if c:
            t.add_row("DRS", _b(c.drs_enabled))
            t.add_row("HA", _b(c.ha_enabled))
        return t


# -- rendering helpers ------------------------------------------------------------------------
# Every column of the detail tables folds (overflow="fold") instead of ending in "…": a narrow
# pane shows a long value on two lines rather than hide its end (a VLAN range, a PVLAN id).
def _b(v: bool | None) -> str:
    return "-" if v is None else ("yes" if v else "no")


def _v(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "(none)"
    return str(v)


def _kv(title: str) -> Table:
    t = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 1))
    t.add_column(style="bold", no_wrap=True, overflow="fold")
    t.add_column(overflow="fold")
    return t


def bps(v: int | None) -> str:
    """API bits per second as a readable rate."""
    if v is None:
        return "-"
    for unit, div in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if v >= div:
            return f"{v / div:g} {unit}"
    return f"{v} bit/s"


POLICY_ROWS: list[tuple[str, str, str]] = [
    ("security", "allow_promiscuous", "promiscuous"),
    ("security", "mac_changes", "MAC changes"),
    ("security", "forged_transmits", "forged transmits"),
    ("shaping", "enabled", "shaping"),
    ("shaping", "average_bps", "average"),
    ("shaping", "peak_bps", "peak"),
    ("shaping", "burst_bytes", "burst (bytes)"),
    ("teaming", "policy", "teaming"),
    ("teaming", "notify_switches", "notify switches"),
    ("teaming", "failback", "failback"),
    ("teaming", "active_uplinks", "active"),
    ("teaming", "standby_uplinks", "standby"),
]


def policy_table(effective: NetworkPolicy, override: NetworkPolicy | None) -> Table:
    """Effective policy per field, with the port group's own override marked (★). Without any
    override the table has no override column and says "all inherited" in its title: a column
    of "inherited" only took the width a narrow pane needs for the values."""
    rows = [
        (label, block, name, getattr(getattr(effective, block), name))
        for block, name, label in POLICY_ROWS
    ]
    own = {
        name: getattr(getattr(override, block), name)
        for _, block, name, _ in rows
        if override is not None and getattr(getattr(override, block), name) is not None
    }
    title = "Policy" + (" (all inherited)" if override is not None and not own else "")
    if own:
        title += " (★ own)"
    t = Table(box=None, padding=(0, 1), title=title, title_justify="left")
    t.add_column("field", style="bold", min_width=11, max_width=16, overflow="fold")
    t.add_column("effective", overflow="fold")
    if own:
        t.add_column("override", overflow="fold")
    for label, _, name, eff in rows:
        val = bps(eff) if name.endswith("_bps") else _v(eff)
        if not own:
            t.add_row(label, val)
            continue
        ov = own.get(name)
        shown = bps(ov) if name.endswith("_bps") else _v(ov)
        t.add_row(
            label,
            Text(val, style="yellow" if ov is not None else ""),
            Text("★ " + shown, style="yellow") if ov is not None else Text("·", style="dim"),
        )
    return t


def host_details(h: Host, ix: NetIndex) -> RenderableType:
    t = _kv(f"Host {h.name}")
    t.add_row("state", h.connection_state + (" (maintenance)" if h.maintenance else ""))
    t.add_row("cluster", h.cluster or "-")
    t.add_row("version", f"{h.version or '-'} build {h.build or '-'}")
    t.add_row("VMs", str(len(h.vms)))
    t.add_row(
        "vSS / vDS",
        f"{len(ix.vss_of_host.get(h.name, []))} / {len(ix.dvs_of_host.get(h.name, []))}",
    )
    pn = Table(title="Physical NICs", title_justify="left", box=None, padding=(0, 1))
    for c in ("device", "link", "speed", "neighbor"):
        pn.add_column(c, no_wrap=c != "neighbor", overflow="fold")
    for p in sorted(h.pnics, key=lambda p: _nat(p.device)):
        nb = ", ".join(
            f"{n.protocol} {n.switch_id or '?'} {n.port_id or ''}".strip() for n in p.neighbors
        )
        pn.add_row(
            p.device,
            Text("up", style="green") if p.link_up else Text("down", style="red"),
            f"{p.speed_mb} Mb" if p.speed_mb else "-",
            nb or "-",
        )
    return Group(t, Text(""), pn, Text(""), paths_table(h, ix))


STATUS_STYLE = {"ok": "green", "degraded": "yellow", "dark": "bold red"}


def paths_table(h: Host, ix: NetIndex) -> RenderableType:
    """Each vmknic and VM NIC of the host traced to its pNICs and neighbour switches."""
    from vnettool.impact.paths import analyze, path_text

    pt = Table(title="Paths", title_justify="left", box=None, padding=(0, 1))
    for c in ("endpoint", "state", "path"):
        pt.add_column(c, no_wrap=c != "path", overflow="fold")
    eps = sorted(
        analyze(ix.inv, {h.name}).endpoints.values(), key=lambda e: (e.kind != "vmknic", e.key)
    )
    for e in eps:
        pt.add_row(
            Text(e.label()), Text(e.status, style=STATUS_STYLE[e.status]), Text(path_text(e))
        )
    return pt


def vss_details(s: StandardSwitch) -> RenderableType:
    t = _kv(f"Standard switch {s.name} on {s.host}")
    t.add_row("MTU", _v(s.mtu))
    t.add_row("ports", _v(s.num_ports))
    t.add_row("uplinks", _v(s.uplinks))
    t.add_row("port groups", _v(s.portgroups))
    return Group(t, Text(""), policy_table(s.policy, None))


def pg_details(p: StandardPortGroup, sw: StandardSwitch | None) -> RenderableType:
    t = _kv(f"Port group {p.name} on {p.host}")
    t.add_row(
        "VLAN",
        "none (0)" if p.vlan_id == 0 else "trunk (4095)" if p.vlan_id == 4095 else str(p.vlan_id),
    )
    t.add_row("switch", p.switch)
    t.add_row("MTU", _v(sw.mtu) if sw else "-")
    t.add_row("uplinks", _v(sw.uplinks) if sw else "-")
    return Group(t, Text(""), policy_table(p.effective, p.policy))


def dvs_details(d: DistributedSwitch, ix: NetIndex) -> RenderableType:
    t = _kv(f"Distributed switch {d.name}")
    t.add_row("version", _v(d.version))
    t.add_row("config version", _v(d.config_version))
    t.add_row("max MTU", _v(d.max_mtu))
    t.add_row("uplinks", _v(d.uplink_names))
    t.add_row("discovery", f"{d.ldp_protocol or '-'} ({d.ldp_operation or '-'})")
    t.add_row("NIOC", _b(d.nioc_enabled))
    t.add_row("health check", health_summary(d))
    t.add_row("hosts", str(len(d.hosts)))
    t.add_row("port groups", str(len(ix.dvpgs_of_dvs.get(d.name, []))))
    n = d.netflow
    t.add_row("NetFlow", f"{n.collector_ip}:{n.collector_port}" if n.collector_ip else "off")
    pgs = ix.dvpgs_of_dvs.get(d.name, [])
    rules = [(g, r) for g in pgs if g.traffic for r in g.traffic.rules]
    t.add_row("mirroring", f"{len(d.mirrors)} session(s)" if d.mirrors else "none")
    t.add_row(
        "traffic rules",
        f"{len(rules)} rule(s) on {len({g.name for g, _ in rules})} port group(s)"
        if rules
        else "none",
    )
    parts: list[RenderableType] = [t, Text(""), pvlan_table(d, ix)]
    if d.health:
        parts += [Text(""), health_table(d)]
    if d.nioc or d.nioc_pools:
        parts += [Text(""), nioc_table(d, ix)]
    if d.mirrors:
        parts += [Text(""), mirror_table(d)]
    if rules:
        parts += [
            Text(""),
            rules_table([g for g in pgs if g.traffic], f"Traffic rules of {d.name}"),
        ]
    if d.lags:
        lt = Table(title="LACP groups", title_justify="left", box=None, padding=(0, 1))
        for c in ("name", "mode", "uplinks", "load balance"):
            lt.add_column(c, overflow="fold")
        for g in d.lags:
            lt.add_row(g.name, _v(g.mode), _v(g.uplink_count), _v(g.load_balance))
        parts += [Text(""), lt]
    return Group(*parts)


def nioc_table(d: DistributedSwitch, ix: NetIndex) -> Table:
    """NIOC v3: the system traffic classes (one a newer vCenter added is shown, marked) and
    the network resource pools with their port groups."""
    t = Table(title=f"NIOC of {d.name}", title_justify="left", padding=(0, 1))
    for c in ("class / pool", "shares", "reservation", "limit"):
        t.add_column(c, no_wrap=True, overflow="fold")
    for cls in d.nioc:
        name = Text(cls.key)
        if cls.key not in KNOWN_NIOC_CLASSES:
            name.append(" (new class)", "yellow")
        shares = f"{cls.level} ({cls.shares})" if cls.level else _v(cls.shares)
        limit = "unlimited" if cls.limit_mbps is None else f"{cls.limit_mbps} Mbit/s"
        t.add_row(name, shares, f"{cls.reservation_mbps or 0} Mbit/s", limit)
    for p in d.nioc_pools:
        users = [g.name for g in ix.dvpgs_of_dvs.get(d.name, []) if g.nioc_pool == p.name]
        t.add_row(
            Text(f"pool {p.name}", style="cyan"),
            ", ".join(users) or "-",
            f"{p.reservation_mbps or 0} Mbit/s",
            "",
        )
    return t


def mirror_table(d: DistributedSwitch) -> Table:
    """Port mirroring sessions: type, on/off, what is copied and where to."""
    t = Table(title="Port mirroring", title_justify="left", box=None, padding=(0, 1))
    for c in ("session", "type", "on", "sources", "destinations"):
        t.add_column(c, no_wrap=c == "session", overflow="fold")
    for m in d.mirrors:
        sources = sorted(set(m.sources_transmitted) | set(m.sources_received))
        sources += [f"VLAN {v}" for v in m.source_vlans]
        t.add_row(
            m.name,
            _v(m.type),
            _b(m.enabled),
            ", ".join(sources) or "-",
            ", ".join([*m.destination_ports, *m.destination_uplinks, *m.destination_ips]) or "-",
        )
    return t


def health_summary(d: DistributedSwitch) -> Text:
    """`VLAN/MTU on (2 min), teaming off; 2 mismatches in 20 results`; on is yellow (the
    benchmarks want it off outside troubleshooting), mismatches red."""
    hc = d.health_check

    def one(name: str, on: bool | None, every: int | None) -> str:
        return f"{name} on ({every or 1} min)" if on else f"{name} {'off' if on is False else '-'}"

    out = Text(
        f"{one('VLAN/MTU', hc.vlan_mtu, hc.vlan_mtu_interval)}, "
        f"{one('teaming', hc.teaming, hc.teaming_interval)}",
        style="yellow" if hc.enabled else "",
    )
    if d.health:
        bad = sum(1 for r in d.health if r.ok is False)
        out.append(f"; {bad} mismatch(es) in {len(d.health)} results", "red" if bad else "green")
    return out


def health_table(d: DistributedSwitch, limit: int = 40) -> Table:
    """The health check results, mismatches first (a 32-host switch has 160 rows)."""
    t = Table(title=f"Health check of {d.name}", title_justify="left", padding=(0, 1))
    for c in ("host", "uplink", "check", "state", "result"):
        t.add_column(c, no_wrap=c != "result", overflow="fold")
    rows = sorted(d.health, key=lambda r: r.ok is not False)
    for r in rows[:limit]:
        uplink = f"{r.uplink or r.uplink_port_key or '-'}" + (f" ({r.pnic})" if r.pnic else "")
        t.add_row(
            r.host,
            uplink if r.check != "teaming" else "-",
            r.check,
            Text(r.state, style="red" if r.ok is False else "green" if r.ok else ""),
            r.text,
        )
    if len(rows) > limit:
        t.add_row("…", "", "", "", Text(f"{len(rows) - limit} more", style="dim"))
    return t


def rules_table(groups: list[DistributedPortGroup], title: str) -> Table:
    """Traffic filtering and marking rules in the order vCenter applies them; a disabled
    ruleset's rules are dimmed (they are kept but do nothing)."""
    t = Table(title=title, title_justify="left", box=None, padding=(0, 1))
    for c in ("port group", "#", "rule", "action", "match"):
        t.add_column(c, no_wrap=c in ("port group", "#"))
    for g in groups:
        rs = g.traffic
        if rs is None:
            continue
        for i, r in enumerate(rs.rules):
            action, _, match = r.summary().partition(": ")
            style = "dim" if rs.enabled is False else ""
            t.add_row(
                g.name, str(i + 1), Text(r.name, style=style), Text(action, style=style), match
            )
    return t


def pvlan_table(d: DistributedSwitch, ix: NetIndex) -> Table:
    """The PVLAN map: primary, secondary, type, and the DV port groups using each secondary."""
    t = Table(title=f"PVLAN map of {d.name}", title_justify="left", padding=(0, 1))
    for c in ("primary", "secondary", "type", "port groups"):
        t.add_column(c, no_wrap=c != "port groups", overflow="fold")
    if not d.pvlans:
        t.add_row("-", "-", Text("no PVLANs", style="dim"), "")
        return t
    users: dict[int, list[str]] = defaultdict(list)
    for g in ix.dvpgs_of_dvs.get(d.name, []):
        if g.vlan.kind == "pvlan" and g.vlan.pvlan_id is not None:
            users[g.vlan.pvlan_id].append(g.name)
    style = {"promiscuous": "cyan", "isolated": "red", "community": "green"}
    for e in sorted(d.pvlans, key=lambda e: (e.primary_id, e.secondary_id)):
        t.add_row(
            str(e.primary_id),
            str(e.secondary_id),
            Text(e.type, style=style.get(e.type, "")),
            ", ".join(users.get(e.secondary_id, [])) or "-",
        )
    return t


def dvpg_details(g: DistributedPortGroup, d: DistributedSwitch | None) -> RenderableType:
    t = _kv(f"DV port group {g.name} ({g.dvs})")
    t.add_row("VLAN", g.vlan.display())
    t.add_row("key", g.key)
    t.add_row("binding", _v(g.binding))
    t.add_row("ports", _v(g.num_ports))
    t.add_row("uplink port group", _b(g.uplink))
    t.add_row("MTU", _v(d.max_mtu) if d else "-")
    t.add_row("NetFlow", _b(g.setting.netflow))
    rs = g.traffic
    t.add_row(
        "traffic rules",
        f"{len(rs.rules)} ({'on' if rs.enabled is not False else 'off'})" if rs else "none",
    )
    if g.vlan.kind == "pvlan" and d:
        e = next((e for e in d.pvlans if e.secondary_id == g.vlan.pvlan_id), None)
        t.add_row(
            "PVLAN", f"{e.primary_id}/{e.secondary_id} {e.type}" if e else "not in the DVS map!"
        )
    s, base = g.setting, (d.default_port if d else None)
    pt = Table(title="Policy", title_justify="left", box=None, padding=(0, 1))
    pt.add_column("field", style="bold", min_width=11, max_width=16, overflow="fold")
    pt.add_column("effective", overflow="fold")
    pt.add_column("switch", overflow="fold")  # the switch default
    rows: list[tuple[str, Any, Any]] = [
        ("promiscuous", s.security.allow_promiscuous, base and base.security.allow_promiscuous),
        ("MAC changes", s.security.mac_changes, base and base.security.mac_changes),
        ("forged transmits", s.security.forged_transmits, base and base.security.forged_transmits),
        ("teaming", s.teaming.policy, base and base.teaming.policy),
        ("active", s.teaming.active_uplinks, base and base.teaming.active_uplinks),
        ("standby", s.teaming.standby_uplinks, base and base.teaming.standby_uplinks),
        ("in shaping", s.in_shaping.enabled, base and base.in_shaping.enabled),
        ("out shaping", s.out_shaping.enabled, base and base.out_shaping.enabled),
        ("blocked", s.blocked, base and base.blocked),
    ]
    for label, own, dflt in rows:
        eff = own if own is not None else dflt
        differs = own is not None and dflt is not None and own != dflt
        pt.add_row(
            label, Text(_v(eff), style="yellow" if differs else ""), Text(_v(dflt), style="dim")
        )
    if rs and rs.rules:
        return Group(t, Text(""), pt, Text(""), rules_table([g], "Traffic rules"))
    return Group(t, Text(""), pt)


def vmk_details(a: VmkernelAdapter, ix: NetIndex) -> RenderableType:
    t = _kv(f"VMkernel adapter {a.device} on {a.host}")
    t.add_row("IP", f"{a.ip or '-'}/{a.netmask or '-'}" + (" (DHCP)" if a.dhcp else ""))
    t.add_row("gateway", _v(a.gateway))
    t.add_row("MTU", _v(a.mtu))
    t.add_row("netstack", _v(a.netstack))
    t.add_row("services", _v(a.services))
    t.add_row("MAC", _v(a.mac))
    if a.dv_portgroup_key:
        g = ix.dvpg.get(a.dv_portgroup_key)
        t.add_row("port group", f"{g.name if g else a.dv_portgroup_key} (vDS)")
    else:
        t.add_row("port group", _v(a.portgroup))
    return t


def vmnic_details(v: VirtualMachine, n: VmNic, ix: NetIndex) -> RenderableType:
    t = _kv(f"VM {v.name} — {n.label}")
    t.add_row("host", _v(v.host))
    t.add_row("power", _v(v.power_state))
    t.add_row("adapter", _v(n.type))
    t.add_row("MAC", _v(n.mac))
    t.add_row("connected", _b(n.connected) + (" (at power on)" if n.start_connected else ""))
    if n.dv_portgroup_key:
        g = ix.dvpg.get(n.dv_portgroup_key)
        t.add_row("network", f"{n.network} (vDS {g.dvs if g else '?'}, port {n.dv_port or '-'})")
        if g:
            t.add_row("VLAN", g.vlan.display())
    else:
        t.add_row("network", _v(n.network))
        p = ix.pg.get((v.host or "", n.network or ""))
        if p:
            t.add_row("VLAN", str(p.vlan_id))
    t.add_row("other NICs", str(len(v.nics) - 1))
    t.add_row("", Text("m: migrate this VM (vMotion)", style="dim"))
    return t
