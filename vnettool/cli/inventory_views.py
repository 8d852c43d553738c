"""The inventory as records: one list per kind (`inventory hosts|switches|portgroups|vmknics|
vms|health|nioc`), the per-cluster summary that replaces the per-host tables at scale, and govc-`find`-like
`--filter field=glob` selection.

Records are plain dicts of strings, numbers and lists so the same rows feed the table, the
list layout and `-o json` (vnettool/cli/output.py) without a second formatting path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import typer

from vnettool.cli.output import Field, Record, Value, cell
from vnettool.engine.common import natural_key
from vnettool.models.inventory import (
    KNOWN_NIOC_CLASSES,
    DistributedSwitch,
    Inventory,
    TrafficRuleset,
)
from vnettool.playbook.errors import did_you_mean

SUMMARY_ABOVE = 24
"""More hosts than fit one 80x24 pane: the default view is a summary per cluster."""


def yes_no(v: bool | None) -> str:
    """The same words everywhere: `promisc False` next to yes/no reads like two vocabularies."""
    return "-" if v is None else ("yes" if v else "no")


def plural(n: int, noun: str) -> str:
    """`1 datacenter`, `2 datacenters`: a count reads as English in a pasted ticket."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _cluster(c: str | None) -> str:
    return c or "(standalone)"


def _dvs_members(inv: Inventory) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in inv.distributed_switches:
        for m in d.hosts:
            out.setdefault(m.host, []).append(d.name)
    return out


def hosts(inv: Inventory) -> list[Record]:
    vm_nics = Counter(v.host for v in inv.vms for _ in v.nics)
    dvs = _dvs_members(inv)
    rows: list[Record] = []
    for h in inv.hosts:
        rows.append(
            {
                "host": h.name,
                "cluster": _cluster(h.cluster),
                "state": h.connection_state + (" (maintenance)" if h.maintenance else ""),
                "pnics-up": f"{sum(1 for p in h.pnics if p.link_up)}/{len(h.pnics)}",
                "vswitches": [s.name for s in inv.switches_of(h.name)],
                "portgroups": [f"{p.name} (VLAN {p.vlan_id})" for p in inv.portgroups_of(h.name)],
                "vmknics": [
                    f"{v.device} {v.ip or ('dhcp' if v.dhcp else 'no IP')}"
                    for v in inv.vmknics_of(h.name)
                ],
                "dvs": dvs.get(h.name, []),
                "vm-nics": vm_nics.get(h.name, 0),
            }
        )
    return rows


HOST_FIELDS = (
    Field("host", key=True),
    Field("cluster"),
    Field("state"),
    Field("pnics-up", numeric=True),
    Field("vswitches"),
    Field("portgroups"),
    Field("vmknics"),
    Field("dvs"),
    Field("vm-nics", numeric=True),
)


def switches(inv: Inventory) -> list[Record]:
    rows: list[Record] = [
        {
            "switch": s.name,
            "host": s.host,
            "type": "standard",
            "mtu": s.mtu,
            "uplinks": s.uplinks,
            "portgroups": len(s.portgroups),
            "members": None,
        }
        for s in inv.standard_switches
    ]
    for d in inv.distributed_switches:
        rows.append(
            {
                "switch": d.name,
                "host": "-",
                "type": f"distributed v{d.version}" if d.version else "distributed",
                "mtu": d.max_mtu,
                "uplinks": d.uplink_names,
                "portgroups": len(inv.dv_portgroups_of(d.name)),
                "members": len(d.hosts),
            }
        )
    return rows


def netflow_text(d: DistributedSwitch) -> str:
    """`192.0.2.10:2055` (where the switch exports flows) or `off` (no collector)."""
    n = d.netflow
    return f"{n.collector_ip}:{n.collector_port}" if n.collector_ip else "off"


def traffic_text(rs: TrafficRuleset | None) -> str | None:
    """`on, 4 rules` / `off, 1 rule`: a port group's traffic filtering and marking."""
    if rs is None:
        return None
    return f"{'off' if rs.enabled is False else 'on'}, {plural(len(rs.rules), 'rule')}"


SWITCH_FIELDS = (
    Field("switch", key=True),
    Field("host", key=True),
    Field("type"),
    Field("mtu", numeric=True),
    Field("uplinks"),
    Field("portgroups", numeric=True),
    Field("members", numeric=True),
)


def portgroups(inv: Inventory) -> list[Record]:
    rows: list[Record] = [
        {
            "portgroup": p.name,
            "host": p.host,
            "switch": p.switch,
            "vlan": str(p.vlan_id),
            "promisc": yes_no(p.effective.security.allow_promiscuous),
            "ports": None,
            "active-uplinks": p.effective.teaming.active_uplinks or [],
        }
        for p in inv.standard_port_groups
    ]
    for pg in inv.distributed_port_groups:
        s = pg.setting
        rows.append(
            {
                "portgroup": pg.name,
                "host": "-",
                "switch": pg.dvs,
                "vlan": s.vlan.display(),
                "promisc": yes_no(s.security.allow_promiscuous),
                "ports": pg.num_ports,
                "active-uplinks": s.teaming.active_uplinks or [],
            }
        )
    return rows


PORTGROUP_FIELDS = (
    Field("portgroup", key=True),
    Field("host", key=True),
    Field("switch"),
    Field("vlan", numeric=True),
    Field("promisc"),
    Field("ports", numeric=True),
    Field("active-uplinks"),
)

# The vDS services (NetFlow, port mirroring, traffic filtering and marking) have kinds of
# their own rather than columns of `switches` / `portgroups`: two more columns would turn
# those tables into lists at 80 columns for every standard switch, which has none of them.


def netflow(inv: Inventory) -> list[Record]:
    """One record per distributed switch: where its flows go and which port groups export."""
    rows: list[Record] = []
    for d in inv.distributed_switches:
        n = d.netflow
        rows.append(
            {
                "switch": d.name,
                "collector": netflow_text(d),
                "domain": n.observation_domain,
                "sampling": f"1 in {n.sampling_rate}" if n.sampling_rate else "every packet",
                "timeouts": f"{n.active_timeout_s}/{n.idle_timeout_s} s",
                "internal-only": yes_no(n.internal_only),
                "exporting": [p.name for p in inv.dv_portgroups_of(d.name) if p.setting.netflow],
            }
        )
    return rows


NETFLOW_FIELDS = (
    Field("switch", key=True),
    Field("collector", numeric=True),
    Field("domain", numeric=True),
    Field("sampling"),
    Field("timeouts"),
    Field("internal-only"),
    Field("exporting"),
)


def rules(inv: Inventory) -> list[Record]:
    """Every traffic filtering and marking rule, one record each, in the order vCenter
    applies them (`#`); a disabled ruleset's rules say so."""
    rows: list[Record] = []
    for pg in inv.distributed_port_groups:
        rs = pg.traffic
        if rs is None:
            continue
        for i, r in enumerate(rs.rules):
            action, _, match = r.summary().partition(": ")
            rows.append(
                {
                    "portgroup": pg.name,
                    "switch": pg.dvs,
                    "#": i + 1,
                    "rule": r.name or "(unnamed)",
                    "action": action + ("" if rs.enabled is not False else " (ruleset off)"),
                    "match": match,
                }
            )
    return rows


RULE_FIELDS = (
    Field("portgroup", key=True),
    Field("switch", key=True),
    Field("#", key=True, numeric=True),
    Field("rule"),
    Field("action"),
    Field("match"),
)


def mirrors(inv: Inventory) -> list[Record]:
    """Port mirroring sessions: what is copied (source ports / VLANs) and where to."""
    return [
        {
            "switch": d.name,
            "session": m.name,
            "type": m.type,
            "enabled": yes_no(m.enabled),
            "sources": sorted(set(m.sources_transmitted) | set(m.sources_received))
            + [f"VLAN {v}" for v in m.source_vlans],
            "destinations": [*m.destination_ports, *m.destination_uplinks, *m.destination_ips],
        }
        for d in inv.distributed_switches
        for m in d.mirrors
    ]


MIRROR_FIELDS = (
    Field("switch", key=True),
    Field("session", key=True),
    Field("type"),
    Field("enabled"),
    Field("sources"),
    Field("destinations"),
)


def vmknics(inv: Inventory) -> list[Record]:
    rows: list[Record] = []
    for v in inv.vmkernel_adapters:
        dvpg = inv.dvpg_by_key.get(v.dv_portgroup_key or "")
        rows.append(
            {
                "host": v.host,
                "device": v.device,
                "ip": v.ip or ("dhcp" if v.dhcp else None),
                "netmask": v.netmask,
                "mtu": v.mtu,
                "portgroup": v.portgroup or (dvpg.name if dvpg else None),
                "services": v.services,
                "netstack": v.netstack,
            }
        )
    return rows


VMKNIC_FIELDS = (
    Field("host", key=True),
    Field("device", key=True),
    Field("ip", numeric=True),
    Field("netmask", numeric=True),
    Field("mtu", numeric=True),
    Field("portgroup"),
    Field("services"),
    Field("netstack"),
)


def vms(inv: Inventory) -> list[Record]:
    return [
        {
            "vm": v.name,
            "host": v.host,
            "cluster": _cluster(v.cluster),
            "power": v.power_state,
            "nics": [
                f"{n.label}: {n.network or '(no network)'}"
                + ("" if n.connected else " (disconnected)")
                for n in v.nics
            ],
        }
        for v in inv.vms
    ]


VM_FIELDS = (
    Field("vm", key=True),
    Field("host"),
    Field("cluster"),
    Field("power"),
    Field("nics"),
)


def cluster_summary(inv: Inventory) -> list[Record]:
    """One row per cluster: what a 1,000-host vCenter looks like on one screen. `not-ready`
    counts hosts that cannot take a VM (disconnected or in maintenance)."""
    vm_nics = Counter(v.cluster for v in inv.vms for _ in v.nics)
    rows: list[Record] = []
    for cl in sorted({_cluster(h.cluster) for h in inv.hosts}):
        members = [h for h in inv.hosts if _cluster(h.cluster) == cl]
        names = {h.name for h in members}
        pgs = {f"{p.name} (VLAN {p.vlan_id})" for p in inv.standard_port_groups if p.host in names}
        rows.append(
            {
                "cluster": cl,
                "hosts": len(members),
                "not-ready": sum(
                    1 for h in members if h.connection_state != "connected" or h.maintenance
                ),
                "pnics-down": sum(1 for h in members for p in h.pnics if not p.link_up),
                "vmknics": sum(len(inv.vmknics_of(n)) for n in names),
                "vm-nics": vm_nics.get(cl if cl != "(standalone)" else None, 0),
                "portgroups": len(pgs),
            }
        )
    return rows


CLUSTER_FIELDS = (
    Field("cluster", key=True),
    Field("hosts", numeric=True),
    Field("not-ready", numeric=True),
    Field("pnics-down", numeric=True),
    Field("vmknics", numeric=True),
    Field("vm-nics", numeric=True),
    Field("portgroups", numeric=True),
)


def health(inv: Inventory) -> list[Record]:
    """The distributed switches' health check: one row per result (host, uplink, check), or
    one per switch saying the checks are off / have no results yet."""
    rows: list[Record] = []
    for d in inv.distributed_switches:
        hc = d.health_check
        on = f"vlan-mtu {yes_no(hc.vlan_mtu)}, teaming {yes_no(hc.teaming)}"
        if not d.health:
            rows.append(
                {
                    "switch": d.name,
                    "host": "-",
                    "uplink": "-",
                    "check": "-",
                    "state": "-",
                    "result": "checks off" if not hc.enabled else "no results yet",
                    "enabled": on,
                }
            )
        for r in d.health:
            rows.append(
                {
                    "switch": d.name,
                    "host": r.host,
                    "uplink": f"{r.uplink or r.uplink_port_key or '-'}"
                    + (f" ({r.pnic})" if r.pnic else "")
                    if r.check != "teaming"
                    else "-",
                    "check": r.check,
                    "state": r.state,
                    "result": r.text,
                    "enabled": on,
                }
            )
    return rows


HEALTH_FIELDS = (
    Field("switch", key=True),
    Field("host", key=True),
    Field("uplink", key=True),
    Field("check", key=True),
    Field("state"),
    Field("result"),
    Field("enabled"),
)


def nioc(inv: Inventory) -> list[Record]:
    """NIOC v3 per switch: its system traffic classes (a class this version does not know,
    as a newer vCenter sends, is listed like the others and marked) and its network resource
    pools with the port groups drawing on them."""
    rows: list[Record] = []
    for d in inv.distributed_switches:
        for t in d.nioc:
            rows.append(
                {
                    "switch": d.name,
                    "kind": "traffic",
                    "name": t.key,
                    "shares": f"{t.level} ({t.shares})" if t.level else t.shares,
                    "reservation": t.reservation_mbps,
                    "limit": "unlimited" if t.limit_mbps is None else t.limit_mbps,
                    "note": "" if t.key in KNOWN_NIOC_CLASSES else "class not known to vnettool",
                }
            )
        for p in d.nioc_pools:
            users = [g.name for g in inv.dv_portgroups_of(d.name) if g.nioc_pool == p.name]
            rows.append(
                {
                    "switch": d.name,
                    "kind": "pool",
                    "name": p.name,
                    "shares": None,
                    "reservation": p.reservation_mbps,
                    "limit": None,
                    "note": "port groups: " + (", ".join(users) or "none"),
                }
            )
    return rows


NIOC_FIELDS = (
    Field("switch", key=True),
    Field("kind", key=True),
    Field("name", key=True),
    Field("shares"),
    Field("reservation", numeric=True),
    Field("limit"),
    Field("note"),
)


@dataclass(frozen=True)
class Kind:
    noun: str
    one: str
    fields: tuple[Field, ...]
    records: Callable[[Inventory], list[Record]]


KINDS = {
    "hosts": Kind("hosts", "host", HOST_FIELDS, hosts),
    "switches": Kind("switches", "switch", SWITCH_FIELDS, switches),
    "portgroups": Kind("port groups", "port group", PORTGROUP_FIELDS, portgroups),
    "vmknics": Kind("VMkernel adapters", "VMkernel adapter", VMKNIC_FIELDS, vmknics),
    "vms": Kind("VMs", "VM", VM_FIELDS, vms),
    "health": Kind("health check results", "health check result", HEALTH_FIELDS, health),
    "nioc": Kind("NIOC traffic classes and pools", "NIOC entry", NIOC_FIELDS, nioc),
    "netflow": Kind("NetFlow configurations", "NetFlow configuration", NETFLOW_FIELDS, netflow),
    "rules": Kind("traffic rules", "traffic rule", RULE_FIELDS, rules),
    "mirrors": Kind("mirroring sessions", "mirroring session", MIRROR_FIELDS, mirrors),
}

Filter = tuple[str, str]


def parse_filters(raw: Sequence[str], fields: Sequence[Field]) -> list[Filter]:
    """`field=glob` pairs, checked before connecting: a typo is a usage error (exit 2) that
    names the flag, the field and the closest real field."""
    names = [f.name for f in fields]
    out: list[Filter] = []
    for item in raw:
        name, sep, pattern = item.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            raise typer.BadParameter(
                f"{item!r} is not FIELD=PATTERN (fields: {', '.join(names)})",
                param_hint="'--filter'",
            )
        if name not in names:
            guess = did_you_mean(name, names)
            hint = f"did you mean {guess!r}?" if guess else f"fields: {', '.join(names)}"
            raise typer.BadParameter(
                f"{item!r}: no field {name!r}; {hint}", param_hint="'--filter'"
            )
        out.append((name, pattern))
    return out


def _matches(v: Value, pattern: str) -> bool:
    """Case-insensitive glob (like govc find -name); a list matches when any item does."""
    p = pattern.lower()
    values = v if isinstance(v, list) else [v]
    return any(fnmatchcase(("-" if x is None else str(x)).lower(), p) for x in values)


def ordered(rows: Sequence[Record], fields: Sequence[Field]) -> list[Record]:
    """By the key columns, naturally: DC0_C1_H2 before DC0_C1_H10, as people count."""
    keys = [f.name for f in fields if f.key]
    return sorted(rows, key=lambda r: [natural_key(cell(r.get(k))) for k in keys])


def select(rows: Sequence[Record], filters: Sequence[Filter]) -> list[Record]:
    return [r for r in rows if all(_matches(r.get(f), p) for f, p in filters)]


def no_match_hint(rows: Sequence[Record], filters: Sequence[Filter]) -> str:
    """Why nothing matched: the first filter that alone matches nothing, with the closest
    value it could have meant."""
    for name, pattern in filters:
        if select(rows, [(name, pattern)]):
            continue
        seen: list[str] = []
        for r in rows:
            v = r.get(name)
            seen.extend(str(x) for x in (v if isinstance(v, list) else [v]) if x is not None)
        guess = did_you_mean(pattern, seen)
        return f"{name}={pattern} matches nothing" + (
            f"; did you mean {name}={guess}?" if guess else ""
        )
    return "no object matches all the filters together"
