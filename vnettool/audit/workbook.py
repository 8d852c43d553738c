"""The audit workbook (openpyxl): Summary, Findings, Rules, RVTools-compatible network tabs,
vnettool's extra tabs, and Drift.

Layout and columns follow ../shared/docs/audit-rules.md §1 and §3: RVTools' tab names, column
names and order, vnettool's own columns after them prefixed `x:`. Every string from vSphere
goes through `safe()`, so a port group called `=HYPERLINK(...)` is text, never a formula. The
file is written to a temporary name in the same folder (mode 0600) and renamed at the end: a
failed run never leaves a partial report. Sheets are written in write-only (streaming) mode,
so a 10,000-VM estate does not hold a cell tree in memory.
"""

from __future__ import annotations

import getpass
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from vnettool.audit.drift import DriftRow
from vnettool.audit.model import SEVERITIES, STATES, WEIGHT, Finding, Rule, score
from vnettool.models.appliance import ApplianceStatus
from vnettool.models.inventory import DvPortSetting, Inventory
from vnettool.models.policy import NetworkPolicy

TOOL = "vnettool"
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_HEADER_FONT = Font(bold=True, color="FFFFFF", name="Verdana", size=9)
_HEADER_FILL = PatternFill("solid", fgColor="000000")
_CENTER = Alignment(horizontal="center")
_SEV_FILL = {
    "critical": PatternFill("solid", fgColor="C00000"),
    "high": PatternFill("solid", fgColor="FF6B6B"),
    "medium": PatternFill("solid", fgColor="FFC000"),
    "low": PatternFill("solid", fgColor="FFF2CC"),
    "info": PatternFill("solid", fgColor="DDEBF7"),
}


def safe(value: Any) -> Any:
    """A value a spreadsheet shows as written: strings never become formulas."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, (list, tuple, set)):
        value = ", ".join(str(v) for v in value)
    return _ILLEGAL.sub("", str(value))[:32767]


class _Sheet:
    """A write-only sheet with a bold frozen header, autofilter and widths set up front."""

    def __init__(
        self,
        wb: Workbook,
        title: str,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        freeze: str = "A2",
    ):
        ws: Worksheet = wb.create_sheet(title)
        data = [list(r) for r in rows]
        widths = [len(h) + 2 for h in headers]
        for r in data[:500]:
            for i, v in enumerate(r[: len(widths)]):
                widths[i] = max(widths[i], len(str(v or "")) + 2)
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(max(w, 8), 60)
        ws.freeze_panes = freeze
        last = get_column_letter(max(1, len(headers)))
        ws.auto_filter.ref = f"A1:{last}{len(data) + 1}"
        ws.append([self._head(ws, h) for h in headers])
        for r in data:
            ws.append([self._cell(ws, v) for v in r])
        self.ws = ws

    @staticmethod
    def _head(ws: Worksheet, text: str) -> Any:
        # PortGroupMatrix headers are host names: the same protection as any data cell
        c = _Sheet._cell(ws, text)
        if not isinstance(c, Cell):
            c = WriteOnlyCell(ws, value=c)
        c.font, c.fill = _HEADER_FONT, _HEADER_FILL
        return c

    @staticmethod
    def _cell(ws: Worksheet, value: Any) -> Any:
        v = safe(value)
        if isinstance(v, str) and v.startswith(_FORMULA_START):
            c = WriteOnlyCell(ws, value=v)
            c.data_type = "s"  # what openpyxl would otherwise turn into a formula
            c.quotePrefix = True  # ... and what Excel would evaluate when the cell is edited
            return c
        if isinstance(v, str) and v in SEVERITIES:
            c = WriteOnlyCell(ws, value=v)
            c.fill = _SEV_FILL[v]
            if v == "critical":
                c.font = Font(color="FFFFFF", bold=True)
            return c
        if isinstance(v, datetime):
            c = WriteOnlyCell(ws, value=v)
            c.number_format = 'yyyy-mm-dd"T"hh:mm:ss"Z"'
            return c
        return v


def _b(v: bool | None) -> str | None:
    return None if v is None else ("True" if v else "False")


# RVTools' dvSwitch and dvPort tabs: ingress then egress shaping of a DV port setting.
_SHAPING_COLS = [
    f"{d} {c}" for d in ("In", "Out") for c in ("Traffic Shaping", "Avg", "Peak", "Burst")
]


def _shaping(s: DvPortSetting) -> list[Any]:
    return [
        x
        for sh in (s.in_shaping, s.out_shaping)
        for x in (_b(sh.enabled), sh.average_bps, sh.peak_bps, sh.burst_bytes)
    ]


def _pol(p: NetworkPolicy) -> list[Any]:
    s, sh, t = p.security, p.shaping, p.teaming
    return [
        _b(s.allow_promiscuous),
        _b(s.mac_changes),
        _b(s.forged_transmits),
        _b(sh.enabled),
        sh.average_bps,
        sh.peak_bps,
        sh.burst_bytes,
        t.policy,
        None,  # Reverse Policy: not read
        _b(t.notify_switches),
        _b(None if t.failback is None else not t.failback),  # Rolling Order = not failback
        None,
        None,
        None,  # offload policies are not read (audit-rules §1.3)
    ]


def _tabs(inv: Inventory, server: str) -> list[tuple[str, list[str], list[list[Any]]]]:
    hosts = inv.host_by_name
    dvs_by_uuid = inv.dvs_by_uuid
    pg_switch = {(p.host, p.name): p.switch for p in inv.standard_port_groups}
    vlan_of: dict[tuple[str | None, str], str] = {
        (p.host, p.name): str(p.vlan_id) for p in inv.standard_port_groups
    }
    for dp in inv.distributed_port_groups:
        vlan_of[(None, dp.key)] = dp.vlan.display()

    vnetwork = []
    for vm in sorted(inv.vms, key=lambda v: (v.cluster or "", v.host or "", v.name)):
        h = hosts.get(vm.host or "")
        for n in vm.nics:
            dvs = dvs_by_uuid.get(n.dvs_uuid or "")
            switch = dvs.name if dvs else pg_switch.get((vm.host or "", n.network or ""))
            vlan = (
                vlan_of.get((None, n.dv_portgroup_key))
                if n.dv_portgroup_key
                else vlan_of.get((vm.host, n.network or ""))
            )
            vnetwork.append(
                [
                    vm.name,
                    vm.power_state,
                    _b(vm.template),
                    None,
                    n.label,
                    n.type,
                    n.network,
                    switch,
                    _b(n.connected),
                    _b(n.start_connected),
                    n.mac,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    h.datacenter if h else None,
                    vm.cluster,
                    vm.host,
                    None,
                    vm.guest_os,
                    None,
                    vm.moref,
                    None,
                    server,
                    None,
                    "vDS" if n.dv_portgroup_key else "vSS",
                    vlan,
                    n.dv_portgroup_key,
                    n.dv_port,
                ]
            )
    vswitch = []
    for sw in sorted(inv.standard_switches, key=lambda s: (s.host, s.name)):
        h = hosts.get(sw.host)
        vswitch.append(
            [
                sw.host,
                h.datacenter if h else None,
                h.cluster if h else None,
                sw.name,
                sw.num_ports,
                None,
                *_pol(sw.policy),
                sw.mtu,
                server,
                None,
                ", ".join(sw.uplinks),
                ", ".join(sw.policy.teaming.active_uplinks or []),
                ", ".join(sw.policy.teaming.standby_uplinks or []),
                _b(sw.policy.teaming.check_beacon),
            ]
        )
    vmk_pg = {(v.host, v.portgroup) for v in inv.vmkernel_adapters}
    vm_count = Counter((v.host, n.network) for v in inv.vms for n in v.nics)
    vport = []
    for pg in sorted(inv.standard_port_groups, key=lambda p: (p.host, p.switch, p.name)):
        h = hosts.get(pg.host)
        own = [
            k for k, v in pg.policy.model_dump().items() for kk, vv in v.items() if vv is not None
        ]
        vport.append(
            [
                pg.host,
                h.datacenter if h else None,
                h.cluster if h else None,
                pg.name,
                pg.switch,
                pg.vlan_id,
                *_pol(pg.effective),
                server,
                None,
                ", ".join(pg.effective.teaming.active_uplinks or []),
                ", ".join(pg.effective.teaming.standby_uplinks or []),
                _b(pg.effective.teaming.check_beacon),
                ", ".join(sorted(set(own))),
                vm_count.get((pg.host, pg.name), 0),
                _b((pg.host, pg.name) in vmk_pg),
            ]
        )
    dvswitch = []
    for d in sorted(inv.distributed_switches, key=lambda d: d.name):
        ds = d.default_port
        dvswitch.append(
            [
                d.name,
                d.datacenter,
                "DVS",
                "VMware, Inc.",
                d.version,
                d.description,
                None,
                ", ".join(m.host for m in d.hosts),
                None,
                None,
                None,
                *_shaping(ds),
                d.ldp_protocol,
                d.ldp_operation,
                ", ".join(g.name for g in d.lags),
                ", ".join(g.mode or "" for g in d.lags),
                ", ".join(g.load_balance or "" for g in d.lags),
                d.max_mtu,
                d.contact,
                None,
                d.moref,
                server,
                None,
                ", ".join(d.uplink_names),
                _b(d.nioc_enabled),
                len(d.pvlans),
            ]
        )
    dvport = []
    for p in sorted(inv.distributed_port_groups, key=lambda p: (p.dvs, p.name)):
        s, ov = p.setting, p.override_allowed
        dvport.append(
            [
                p.name,
                p.dvs,
                p.binding,
                p.num_ports,
                p.vlan.display(),
                None,
                None,
                _b(s.blocked),
                _b(s.security.allow_promiscuous),
                _b(s.security.mac_changes),
                ", ".join(s.teaming.active_uplinks or []),
                ", ".join(s.teaming.standby_uplinks or []),
                s.teaming.policy,
                _b(s.security.forged_transmits),
                *_shaping(s),
                None,  # Reverse Policy: not read
                _b(s.teaming.notify_switches),
                _b(None if s.teaming.failback is None else not s.teaming.failback),
                _b(s.teaming.check_beacon),
                _b(ov.get("livePortMovingAllowed")),
                None,  # Check Duplex, Check Error %, Check Speed, Percentage: not read
                None,
                None,
                None,
                _b(ov.get("blockOverrideAllowed")),
                _b(ov.get("portConfigResetAtDisconnect")),
                _b(ov.get("shapingOverrideAllowed")),
                _b(ov.get("vendorConfigOverrideAllowed")),
                _b(ov.get("securityPolicyOverrideAllowed")),
                _b(ov.get("uplinkTeamingOverrideAllowed")),
                _b(ov.get("vlanOverrideAllowed")),
                p.moref,
                server,
                None,
                p.key,
                p.vlan.kind,
                _b(p.uplink),
                _b(p.auto_expand),
                _b(s.security.mac_learning),
                _b(ov.get("macManagementOverrideAllowed")),
                _b(ov.get("ipfixOverrideAllowed")),
                p.description,
            ]
        )
    vmk = []
    for v in sorted(inv.vmkernel_adapters, key=lambda v: (v.host, v.device)):
        h = hosts.get(v.host)
        dvpg = inv.dvpg_by_key.get(v.dv_portgroup_key or "")
        vss_switch = pg_switch.get((v.host, v.portgroup)) if v.portgroup else None
        vss_vlan = vlan_of.get((v.host, v.portgroup)) if v.portgroup else None
        vmk.append(
            [
                v.host,
                h.datacenter if h else None,
                h.cluster if h else None,
                v.portgroup or (dvpg.name if dvpg else None),
                v.device,
                v.mac,
                _b(v.dhcp),
                v.ip,
                ", ".join(v.ipv6),
                v.netmask,
                v.gateway,
                None,  # IP 6 Gateway: not read
                v.mtu,
                server,
                None,
                ", ".join(v.services),
                v.netstack,
                vss_switch or (dvpg.dvs if dvpg else None),
                vss_vlan or (dvpg.vlan.display() if dvpg else None),
                v.dv_port,
            ]
        )
    # pnic -> (switch, uplink port): a vSS uplink has no port name, a vDS member maps one
    nic_switch: dict[tuple[str, str], tuple[str, str | None]] = {
        (sw.host, u): (sw.name, None) for sw in inv.standard_switches for u in sw.uplinks
    }
    for d in inv.distributed_switches:
        for m in d.hosts:
            for pnic, uplink in m.pnics.items():
                nic_switch[(m.host, pnic)] = (d.name, uplink)
    vnic = []
    for h in sorted(inv.hosts, key=lambda h: h.name):
        for nic in h.pnics:
            cdp = next((n for n in nic.neighbors if n.protocol == "cdp"), None)
            lldp = next((n for n in nic.neighbors if n.protocol == "lldp"), None)
            vnic.append(
                [
                    h.name,
                    h.datacenter,
                    h.cluster,
                    nic.device,
                    nic.driver,
                    nic.speed_mb,
                    "Full" if nic.full_duplex else ("Half" if nic.full_duplex is False else None),
                    nic.mac,
                    *nic_switch.get((h.name, nic.device), (None, None)),
                    nic.pci,
                    None,  # WakeOn: not read
                    server,
                    None,
                    _b(nic.link_up),
                    cdp.switch_id if cdp else None,
                    cdp.port_id if cdp else None,
                    lldp.switch_id if lldp else None,
                    lldp.port_id if lldp else None,
                ]
            )
    pol_cols = [
        "Promiscuous Mode",
        "Mac Changes",
        "Forged Transmits",
        "Traffic Shaping",
        "Width",
        "Peak",
        "Burst",
        "Policy",
        "Reverse Policy",
        "Notify Switch",
        "Rolling Order",
        "Offload",
        "TSO",
        "Zero Copy Xmit",
    ]
    return [
        (
            "vNetwork",
            [
                "VM",
                "Powerstate",
                "Template",
                "SRM Placeholder",
                "NIC label",
                "Adapter",
                "Network",
                "Switch",
                "Connected",
                "Starts Connected",
                "Mac Address",
                "Type",
                "IPv4 Address",
                "IPv6 Address",
                "Direct Path IO",
                "Internal Sort Column",
                "Annotation",
                "Datacenter",
                "Cluster",
                "Host",
                "Folder",
                "OS according to the configuration file",
                "OS according to the VMware Tools",
                "VM ID",
                "VM UUID",
                "VI SDK Server",
                "VI SDK UUID",
                "x:Switch Type",
                "x:VLAN",
                "x:Portgroup Key",
                "x:DV Port",
            ],
            vnetwork,
        ),
        (
            "vNIC",
            [
                "Host",
                "Datacenter",
                "Cluster",
                "Network Device",
                "Driver",
                "Speed",
                "Duplex",
                "MAC",
                "Switch",
                "Uplink port",
                "PCI",
                "WakeOn",
                "VI SDK Server",
                "VI SDK UUID",
                "x:Link Up",
                "x:CDP Device",
                "x:CDP Port",
                "x:LLDP Chassis",
                "x:LLDP Port",
            ],
            vnic,
        ),
        (
            "vSwitch",
            [
                "Host",
                "Datacenter",
                "Cluster",
                "Switch",
                "# Ports",
                "Free Ports",
                *pol_cols,
                "MTU",
                "VI SDK Server",
                "VI SDK UUID",
                "x:Uplinks",
                "x:Active NICs",
                "x:Standby NICs",
                "x:Check Beacon",
            ],
            vswitch,
        ),
        (
            "vPort",
            [
                "Host",
                "Datacenter",
                "Cluster",
                "Port Group",
                "Switch",
                "VLAN",
                *pol_cols,
                "VI SDK Server",
                "VI SDK UUID",
                "x:Active NICs",
                "x:Standby NICs",
                "x:Check Beacon",
                "x:Overrides",
                "x:VMs",
                "x:VMkernel",
            ],
            vport,
        ),
        (
            "dvSwitch",
            [
                "Switch",
                "Datacenter",
                "Name",
                "Vendor",
                "Version",
                "Description",
                "Created",
                "Host members",
                "Max Ports",
                "# Ports",
                "# VMs",
                *_SHAPING_COLS,
                "CDP Type",
                "CDP Operation",
                "LACP Name",
                "LACP Mode",
                "LACP Load Balance Alg.",
                "Max MTU",
                "Contact",
                "Admin Name",
                "Object ID",
                "VI SDK Server",
                "VI SDK UUID",
                "x:Uplink Names",
                "x:NIOC Enabled",
                "x:PVLAN Entries",
            ],
            dvswitch,
        ),
        (
            "dvPort",
            [
                "Port",
                "Switch",
                "Type",
                "# Ports",
                "VLAN",
                "Speed",
                "Full Duplex",
                "Blocked",
                "Allow Promiscuous",
                "Mac Changes",
                "Active Uplink",
                "Standby Uplink",
                "Policy",
                "Forged Transmits",
                *_SHAPING_COLS,
                "Reverse Policy",
                "Notify Switch",
                "Rolling Order",
                "Check Beacon",
                "Live Port Moving",
                "Check Duplex",
                "Check Error %",
                "Check Speed",
                "Percentage",
                "Block Override",
                "Config Reset",
                "Shaping Override",
                "Vendor Config Override",
                "Sec. Policy Override",
                "Teaming Override",
                "Vlan Override",
                "Object ID",
                "VI SDK Server",
                "VI SDK UUID",
                "x:Portgroup Key",
                "x:VLAN Type",
                "x:Uplink PG",
                "x:Auto Expand",
                "x:MAC Learning",
                "x:MAC Mgmt Override",
                "x:IPFIX Override",
                "x:Description",
            ],
            dvport,
        ),
        (
            "vSC_VMK",
            [
                "Host",
                "Datacenter",
                "Cluster",
                "Port Group",
                "Device",
                "Mac Address",
                "DHCP",
                "IP Address",
                "IP 6 Address",
                "Subnet mask",
                "Gateway",
                "IP 6 Gateway",
                "MTU",
                "VI SDK Server",
                "VI SDK UUID",
                "x:Services",
                "x:TCP/IP Stack",
                "x:Switch",
                "x:VLAN",
                "x:DV Port",
            ],
            vmk,
        ),
    ]


def _extra_tabs(
    inv: Inventory, appliances: Sequence[ApplianceStatus] | None
) -> list[tuple[str, list[str], list[list[Any]]]]:
    members = []
    for d in inv.distributed_switches:
        for m in d.hosts:
            h = inv.host_by_name.get(m.host)
            for pnic, uplink in sorted(m.pnics.items()) or [("", "")]:
                p = next((x for x in (h.pnics if h else []) if x.device == pnic), None)
                members.append(
                    [
                        d.name,
                        m.host,
                        h.cluster if h else None,
                        m.status,
                        uplink,
                        pnic or None,
                        p.speed_mb if p else None,
                        d.version,
                    ]
                )
    pvlan = []
    for d in inv.distributed_switches:
        used = defaultdict(list)
        plain: set[int] = set()
        for pg in inv.dv_portgroups_of(d.name):
            if pg.vlan.kind == "pvlan" and pg.vlan.pvlan_id is not None:
                used[pg.vlan.pvlan_id].append(pg.name)
            elif pg.vlan.kind == "vlan" and pg.vlan.vlan_id is not None:
                plain.add(pg.vlan.vlan_id)
        promisc = {e.primary_id for e in d.pvlans if e.type == "promiscuous"}
        for e in sorted(d.pvlans, key=lambda e: (e.primary_id, e.secondary_id)):
            if e.type != "promiscuous" and e.primary_id not in promisc:
                status = "missing promiscuous"
            elif e.secondary_id in plain:
                status = "clashes with VLAN"
            elif e.type != "promiscuous" and not used[e.secondary_id]:
                status = "unused"
            else:
                status = "OK"
            pvlan.append(
                [
                    d.name,
                    e.primary_id,
                    e.secondary_id,
                    e.type,
                    ", ".join(used[e.secondary_id]),
                    status,
                    "HC-12" if status in ("missing promiscuous", "clashes with VLAN") else None,
                ]
            )
        # port groups pointing at a secondary the map does not have (HC-12 FAILs)
        mapped = {e.secondary_id for e in d.pvlans}
        for sid in sorted(set(used) - mapped):
            pvlan.append(
                [d.name, None, sid, None, ", ".join(used[sid]), "orphan secondary", "HC-12"]
            )
    lacp = [
        [
            d.name,
            d.lacp_api_version,
            g.name,
            g.key,
            g.mode,
            g.load_balance,
            g.uplink_count,
            ", ".join(g.uplink_names),
        ]
        for d in inv.distributed_switches
        for g in d.lags
    ]
    hosts = sorted(inv.hosts, key=lambda h: (h.cluster or "", h.name))
    matrix = []
    names = sorted({(p.switch, p.name) for p in inv.standard_port_groups})
    by = {(p.host, p.switch, p.name): p.vlan_id for p in inv.standard_port_groups}
    for sw, name in names:
        cells = [by.get((h.name, sw, name)) for h in hosts]
        present = [c for c in cells if c is not None]
        distinct = sorted(set(present))
        status = (
            "OK"
            if len(present) == len(hosts) and len(distinct) <= 1
            else ("VLAN mismatch" if len(distinct) > 1 else "missing")
        )
        matrix.append(
            [
                "vSS",
                sw,
                name,
                *cells,
                len(present),
                len(hosts) - len(present),
                ", ".join(map(str, distinct)),
                status,
            ]
        )
    for dpg in sorted(inv.distributed_port_groups, key=lambda x: (x.dvs, x.name)):
        sw_ = inv.dvs_by_name.get(dpg.dvs)
        member = {m.host for m in sw_.hosts} if sw_ else set()
        dcells = [f"dv:{dpg.vlan.display()}" if h.name in member else None for h in hosts]
        n = sum(1 for c in dcells if c)
        matrix.append(
            [
                "vDS",
                dpg.dvs,
                dpg.name,
                *dcells,
                n,
                len(hosts) - n,
                dpg.vlan.display(),
                "OK" if n == len(hosts) else "missing",
            ]
        )
    app_rows = [
        [
            a.vm,
            a.host,
            None,
            a.role or a.definition,
            _b(a.pinned),
            next((n.network for n in a.nics if n.role == "protected"), None),
            next((n.network for n in a.nics if n.role == "unprotected"), None),
            a.latency_sensitivity,
            a.cpu_reservation_mhz,
            a.memory_reservation_mb,
            a.health,
            _b(a.compliant),
            a.protected_vms,
            a.health_detail,
        ]
        for a in appliances or []
    ]
    return [
        (
            "dvsHostMember",
            ["Switch", "Host", "Cluster", "Status", "Uplink", "pnic", "Link Speed", "DVS Version"],
            members,
        ),
        (
            "dvsHealthCheck",
            ["Switch", "Host", "Check", "Uplink", "Result", "Note"],
            [
                [d.name, None, None, None, None, "health check results are not collected"]
                for d in inv.distributed_switches
            ],
        ),
        (
            "PVLAN",
            [
                "Switch",
                "Primary VLAN",
                "Secondary VLAN",
                "Type",
                "Port Groups",
                "Status",
                "Rule Refs",
            ],
            pvlan,
        ),
        (
            "LACP",
            [
                "Switch",
                "LACP API",
                "LAG",
                "LAG Key",
                "Mode",
                "Load Balance Alg.",
                "Uplink Num",
                "LAG Ports",
            ],
            lacp,
        ),
        (
            "PortGroupMatrix",
            [
                "Switch Type",
                "Switch",
                "Port Group",
                *[f"{h.cluster or ''}/{h.name}" for h in hosts],
                "Hosts Present",
                "Hosts Missing",
                "Distinct VLANs",
                "Status",
            ],
            matrix,
        ),
        (
            "Appliances",
            [
                "VM",
                "Host",
                "Cluster",
                "Role",
                "Pinned",
                "Protected NIC",
                "Unprotected NIC",
                "Latency Sensitivity",
                "CPU Res. MHz",
                "Mem Res. MB",
                "Health",
                "Compliant",
                "Protected VMs",
                "Detail",
            ],
            app_rows or [["(no appliances managed by vnettool in this run)"]],
        ),
    ]


def write_workbook(
    path: Path,
    inventory: Inventory,
    findings: Sequence[Finding],
    *,
    rules: Sequence[Rule] | None = None,
    baseline: Sequence[DriftRow] | None = None,
    appliances: Sequence[ApplianceStatus] | None = None,
    started: datetime | None = None,
    config_note: str = "",
    config_sha256: str = "",
    filters: str = "",
    include_pass: bool = False,
) -> Path:
    """Write the whole workbook atomically (temp file + rename, mode 0600); returns `path`.

    PASS findings count in the Summary and the Rules sheet either way; they are rows of the
    Findings sheet only with `include_pass` (one per rule x object: most of a large book)."""
    from vnettool import __version__
    from vnettool.audit.engine import RULES

    rules = RULES if rules is None else rules
    server = inventory.vcenter
    now = datetime.now(UTC)
    wb = Workbook(write_only=True)
    findings = sorted(
        findings, key=lambda f: (SEVERITIES.index(f.severity), f.rule_id, f.object, f.property_path)
    )
    value, grade = score(findings)
    by = Counter((f.severity, f.state) for f in findings)

    # Summary (normal sheet in a write-only book: a small table + the chart)
    ws = wb.create_sheet("Summary")
    ws.page_setup.orientation = "landscape"  # printed / PDF: the table and the chart on one page
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 52  # rule titles and object paths
    for c in "CDEF":
        ws.column_dimensions[c].width = 12
    connected = sum(h.connection_state == "connected" for h in inventory.hosts)
    head = [
        ("Tool", f"{TOOL} {__version__}"),
        ("vCenter", server),
        ("API version", inventory.api_version),
        ("Inventory read (UTC)", inventory.collected_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("Run started (UTC)", (started or now).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("Run ended (UTC)", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("User", getpass.getuser()),
        ("Audit config", config_note or "defaults"),
        ("Audit config SHA-256", config_sha256 or None),
        ("Filters", filters or "none"),
        (
            "Rule catalogue",
            f"{len(rules)} rules ({sum(r.category == 'SEC' for r in rules)} SEC, "
            f"{sum(r.category == 'HC' for r in rules)} HC)",
        ),
        ("Score", f"{value} / 100 (grade {grade})"),
        ("Datacenters / clusters", f"{len(inventory.datacenters)} / {len(inventory.clusters)}"),
        (
            "Hosts (connected / not)",
            f"{len(inventory.hosts)} ({connected} / {len(inventory.hosts) - connected})",
        ),
        ("Physical NICs", sum(len(h.pnics) for h in inventory.hosts)),
        (
            "Standard switches / port groups",
            f"{len(inventory.standard_switches)} / {len(inventory.standard_port_groups)}",
        ),
        (
            "Distributed switches / port groups",
            f"{len(inventory.distributed_switches)} / {len(inventory.distributed_port_groups)}",
        ),
        ("VMkernel adapters", len(inventory.vmkernel_adapters)),
        ("VM NICs", sum(len(v.nics) for v in inventory.vms)),
        ("Appliances", len(appliances or [])),
    ]
    bold = Font(bold=True)
    for k, v in head:
        a = WriteOnlyCell(ws, value=k)
        a.font = bold
        b = _Sheet._cell(ws, v)
        if not isinstance(b, Cell):
            b = WriteOnlyCell(ws, value=b)
        b.alignment = Alignment(horizontal="left")  # counts and text in one readable column
        ws.append([a, b])
    ws.append([])
    table_row = len(head) + 2
    heads = [_Sheet._head(ws, h) for h in ("Severity", *STATES[:4])]
    for h in heads[1:]:
        h.alignment = _CENTER
    ws.append(heads)
    for sev in SEVERITIES:
        nums = [WriteOnlyCell(ws, value=by.get((sev, st), 0)) for st in STATES[:4]]
        for cell in nums:
            cell.alignment = _CENTER
        ws.append([_Sheet._cell(ws, sev), *nums])
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "Open findings by severity"
    # PASS would dwarf the rest: the chart shows what needs attention
    data = Reference(ws, min_col=2, max_col=4, min_row=table_row, max_row=table_row + 5)
    cats = Reference(ws, min_col=1, min_row=table_row + 1, max_row=table_row + 5)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    chart.height, chart.width = 8, 15
    ws.add_chart(chart, "D2")  # beside the header block, above the tables: one compact page
    ws.append([])
    # weights from the findings (a re-levelled rule weighs what the config says)
    rule_w: Counter[str] = Counter()
    rule_n: Counter[str] = Counter()
    obj_w: Counter[tuple[str, str]] = Counter()
    obj_n: Counter[tuple[str, str]] = Counter()
    for f in findings:
        if f.state == "FAIL":
            rule_w[f.rule_id] += WEIGHT[f.severity]
            rule_n[f.rule_id] += 1
            obj_w[(f.object_type, f.object)] += WEIGHT[f.severity]
            obj_n[(f.object_type, f.object)] += 1
    titles = {r.id: r.title for r in rules}
    ws.append(
        [_Sheet._head(ws, h) for h in ("Top rules by weighted failures", "Title", "FAIL", "Weight")]
    )
    for rid, w in sorted(rule_w.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        ws.append([rid, _Sheet._cell(ws, titles.get(rid, "")), rule_n[rid], w])
    ws.append([])
    ws.append(
        [
            _Sheet._head(ws, h)
            for h in ("Top objects by weighted failures", "Object", "FAIL", "Weight")
        ]
    )
    for (kind, obj), w in sorted(obj_w.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        ws.append([kind, _Sheet._cell(ws, obj), obj_n[(kind, obj)], w])

    _Sheet(
        wb,
        "Findings",
        [
            "Rule ID",
            "Severity",
            "Object type",
            "Object",
            "Host/Cluster",
            "Property",
            "Actual",
            "Expected",
            "Remediation",
            "State",
            "Title",
            "Detail",
            "Switch",
            "Object ID",
            "Finding ID",
            "Exception",
            "Source",
            "vCenter",
            "Checked (UTC)",
        ],
        (
            [
                f.rule_id,
                f.severity,
                f.object_type,
                f.object,
                f.host_or_cluster,
                f.property_path,
                f.actual,
                f.expected,
                f.remediation,
                f.state,
                f.title,
                f.detail,
                f.switch,
                f.object_id,
                f.finding_id,
                f.exception,
                f.source,
                server,
                now,
            ]
            for f in findings
            if include_pass or f.state != "PASS"
        ),
    )
    counts = Counter((f.rule_id, f.state) for f in findings)
    evaluated = Counter(f.rule_id for f in findings if f.state not in ("N/A",))
    _Sheet(
        wb,
        "Rules",
        [
            "Rule ID",
            "Title",
            "Category",
            "Severity",
            "Scope",
            "Properties read",
            "Logic",
            "Source",
            "Remediation",
            "Enabled",
            "Evaluated",
            "FAIL",
            "EXCEPTION",
            "UNKNOWN",
        ],
        (
            [
                r.id,
                r.title,
                r.category,
                r.severity,
                r.scope,
                r.reads,
                r.logic,
                r.source,
                r.remediation,
                _b(r.enabled),
                evaluated.get(r.id, 0),
                counts.get((r.id, "FAIL"), 0),
                counts.get((r.id, "EXCEPTION"), 0),
                counts.get((r.id, "UNKNOWN"), 0),
            ]
            for r in rules
        ),
    )
    for title, headers, rows in _tabs(inventory, server):
        _Sheet(wb, title, headers, rows, freeze="B2")  # RVTools' own frozen pane
    _Sheet(
        wb,
        "vHealth",
        ["Name", "Message", "Message type", "VI SDK Server", "VI SDK UUID"],
        (
            [
                f.object,
                f"[{f.rule_id}] {f.title}: {f.actual} (expected {f.expected})",
                f.rule_id,
                server,
                None,
            ]
            for f in findings
            if f.state == "FAIL"
        ),
        freeze="B2",
    )
    _Sheet(
        wb,
        "vMetaData",
        ["RVTools major version", "RVTools version", "xlsx creation datetime", "Server"],
        [[TOOL, f"{TOOL} {__version__}", now, server]],
        freeze="B2",
    )
    for title, headers, rows in _extra_tabs(inventory, appliances):
        _Sheet(wb, title, headers, rows, freeze="D2" if title == "PortGroupMatrix" else "A2")
    if baseline is not None:
        _Sheet(
            wb,
            "Drift",
            ["Collection", "Object", "Change", "Field", "Before", "After"],
            ([d.collection, d.object, d.change, d.field, d.before, d.after] for d in baseline)
            if baseline
            else [["no differences from the baseline"]],
        )

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            wb.save(fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
