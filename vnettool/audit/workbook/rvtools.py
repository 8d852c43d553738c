"""The RVTools-compatible network tabs: vNetwork, vNIC, vSwitch, vPort, dvSwitch, dvPort, vSC_VMK.

Tab names, column names and order follow RVTools (../shared/docs/audit-rules.md §1): tools
that parse RVTools exports read these by position. vnettool's own columns come after them,
prefixed `x:`. RVTools columns vnettool does not read are `Col.blank` so later columns keep
their place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from vnettool.audit.workbook.columns import Col, Tab, joined, yes_no
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    Host,
    Inventory,
    LinkNeighbor,
    PhysicalNic,
    StandardPortGroup,
    StandardSwitch,
    VirtualMachine,
    VmkernelAdapter,
    VmNic,
)
from vnettool.models.policy import NetworkPolicy, ShapingPolicy

R = TypeVar("R")


def _rolling(failback: bool | None) -> str | None:
    """RVTools' Rolling Order is the inverse of vSphere's failback."""
    return yes_no(None if failback is None else not failback)


def policy_cols(get: Callable[[R], NetworkPolicy]) -> list[Col[R]]:
    """vSwitch and vPort: security, shaping and teaming of a standard switch or port group."""
    return [
        Col("Promiscuous Mode", lambda r: yes_no(get(r).security.allow_promiscuous)),
        Col("Mac Changes", lambda r: yes_no(get(r).security.mac_changes)),
        Col("Forged Transmits", lambda r: yes_no(get(r).security.forged_transmits)),
        Col("Traffic Shaping", lambda r: yes_no(get(r).shaping.enabled)),
        Col("Width", lambda r: get(r).shaping.average_bps),
        Col("Peak", lambda r: get(r).shaping.peak_bps),
        Col("Burst", lambda r: get(r).shaping.burst_bytes),
        Col("Policy", lambda r: get(r).teaming.policy),
        Col.blank("Reverse Policy"),
        Col("Notify Switch", lambda r: yes_no(get(r).teaming.notify_switches)),
        Col("Rolling Order", lambda r: _rolling(get(r).teaming.failback)),
        # offload policies are not read (audit-rules §1.3)
        Col.blank("Offload"),
        Col.blank("TSO"),
        Col.blank("Zero Copy Xmit"),
    ]


def _shaping(side: str, get: Callable[[R], ShapingPolicy]) -> list[Col[R]]:
    return [
        Col(f"{side} Traffic Shaping", lambda r: yes_no(get(r).enabled)),
        Col(f"{side} Avg", lambda r: get(r).average_bps),
        Col(f"{side} Peak", lambda r: get(r).peak_bps),
        Col(f"{side} Burst", lambda r: get(r).burst_bytes),
    ]


def shaping_cols(get: Callable[[R], DvPortSetting]) -> list[Col[R]]:
    """dvSwitch and dvPort: ingress then egress shaping of a DV port setting."""

    def ingress(r: R) -> ShapingPolicy:
        return get(r).in_shaping

    def egress(r: R) -> ShapingPolicy:
        return get(r).out_shaping

    return [*_shaping("In", ingress), *_shaping("Out", egress)]


def where_cols(get: Callable[[R], Host | None], name: Callable[[R], str | None]) -> list[Col[R]]:
    """Host, Datacenter, Cluster: the host's name even when the snapshot lacks the host."""
    return [
        Col("Host", name),
        Col("Datacenter", lambda r: h.datacenter if (h := get(r)) else None),
        Col("Cluster", lambda r: h.cluster if (h := get(r)) else None),
    ]


def sdk_cols(server: str) -> list[Col[Any]]:
    return [Col("VI SDK Server", lambda _r: server), Col.blank("VI SDK UUID")]


@dataclass(frozen=True)
class _Lookups:
    """Cross-object facts several tabs need, computed once per workbook."""

    hosts: dict[str, Host]
    pg_switch: dict[tuple[str, str], str]
    vlan_of: dict[tuple[str | None, str], str]

    @classmethod
    def of(cls, inv: Inventory) -> _Lookups:
        vlan_of: dict[tuple[str | None, str], str] = {
            (p.host, p.name): str(p.vlan_id) for p in inv.standard_port_groups
        }
        for dp in inv.distributed_port_groups:
            vlan_of[(None, dp.key)] = dp.vlan.display()
        pg_switch = {(p.host, p.name): p.switch for p in inv.standard_port_groups}
        return cls(inv.host_by_name, pg_switch, vlan_of)


@dataclass(frozen=True)
class _VmNic:
    vm: VirtualMachine
    nic: VmNic
    host: Host | None
    switch: str | None
    vlan: str | None


def _vm_nics(inv: Inventory, lk: _Lookups) -> list[_VmNic]:
    out = []
    for vm in sorted(inv.vms, key=lambda v: (v.cluster or "", v.host or "", v.name)):
        for n in vm.nics:
            dvs = inv.dvs_by_uuid.get(n.dvs_uuid or "")
            switch = dvs.name if dvs else lk.pg_switch.get((vm.host or "", n.network or ""))
            vlan = (
                lk.vlan_of.get((None, n.dv_portgroup_key))
                if n.dv_portgroup_key
                else lk.vlan_of.get((vm.host, n.network or ""))
            )
            out.append(_VmNic(vm, n, lk.hosts.get(vm.host or ""), switch, vlan))
    return out


def vnetwork(inv: Inventory, lk: _Lookups, server: str) -> Tab[_VmNic]:
    cols: list[Col[_VmNic]] = [
        Col("VM", lambda r: r.vm.name),
        Col("Powerstate", lambda r: r.vm.power_state),
        Col("Template", lambda r: yes_no(r.vm.template)),
        Col.blank("SRM Placeholder"),
        Col("NIC label", lambda r: r.nic.label),
        Col("Adapter", lambda r: r.nic.type),
        Col("Network", lambda r: r.nic.network),
        Col("Switch", lambda r: r.switch),
        Col("Connected", lambda r: yes_no(r.nic.connected)),
        Col("Starts Connected", lambda r: yes_no(r.nic.start_connected)),
        Col("Mac Address", lambda r: r.nic.mac),
        *map(Col.blank, ("Type", "IPv4 Address", "IPv6 Address", "Direct Path IO")),
        *map(Col.blank, ("Internal Sort Column", "Annotation")),
        Col("Datacenter", lambda r: r.host.datacenter if r.host else None),
        Col("Cluster", lambda r: r.vm.cluster),
        Col("Host", lambda r: r.vm.host),
        Col.blank("Folder"),
        Col("OS according to the configuration file", lambda r: r.vm.guest_os),
        Col.blank("OS according to the VMware Tools"),
        Col("VM ID", lambda r: r.vm.moref),
        Col.blank("VM UUID"),
        *sdk_cols(server),
        Col("x:Switch Type", lambda r: "vDS" if r.nic.dv_portgroup_key else "vSS"),
        Col("x:VLAN", lambda r: r.vlan),
        Col("x:Portgroup Key", lambda r: r.nic.dv_portgroup_key),
        Col("x:DV Port", lambda r: r.nic.dv_port),
    ]
    return Tab("vNetwork", cols, _vm_nics(inv, lk), freeze="B2")


@dataclass(frozen=True)
class _Pnic:
    host: Host
    nic: PhysicalNic
    switch: str | None
    uplink: str | None

    def neighbor(self, protocol: str) -> LinkNeighbor | None:
        return next((n for n in self.nic.neighbors if n.protocol == protocol), None)


def _pnics(inv: Inventory) -> list[_Pnic]:
    # pnic -> (switch, uplink port): a vSS uplink has no port name, a vDS member maps one
    nic_switch: dict[tuple[str, str], tuple[str, str | None]] = {
        (sw.host, u): (sw.name, None) for sw in inv.standard_switches for u in sw.uplinks
    }
    for d in inv.distributed_switches:
        for m in d.hosts:
            for pnic, uplink in m.pnics.items():
                nic_switch[(m.host, pnic)] = (d.name, uplink)
    return [
        _Pnic(h, nic, *nic_switch.get((h.name, nic.device), (None, None)))
        for h in sorted(inv.hosts, key=lambda h: h.name)
        for nic in h.pnics
    ]


def _duplex(full: bool | None) -> str | None:
    return "Full" if full else ("Half" if full is False else None)


def _neighbor_cols() -> list[Col[_Pnic]]:
    """What CDP and LLDP say is at the other end of the cable."""
    return [
        Col("x:CDP Device", lambda r: n.switch_id if (n := r.neighbor("cdp")) else None),
        Col("x:CDP Port", lambda r: n.port_id if (n := r.neighbor("cdp")) else None),
        Col("x:LLDP Chassis", lambda r: n.switch_id if (n := r.neighbor("lldp")) else None),
        Col("x:LLDP Port", lambda r: n.port_id if (n := r.neighbor("lldp")) else None),
    ]


def vnic(inv: Inventory, server: str) -> Tab[_Pnic]:
    cols: list[Col[_Pnic]] = [
        *where_cols(lambda r: r.host, lambda r: r.host.name),
        Col("Network Device", lambda r: r.nic.device),
        Col("Driver", lambda r: r.nic.driver),
        Col("Speed", lambda r: r.nic.speed_mb),
        Col("Duplex", lambda r: _duplex(r.nic.full_duplex)),
        Col("MAC", lambda r: r.nic.mac),
        Col("Switch", lambda r: r.switch),
        Col("Uplink port", lambda r: r.uplink),
        Col("PCI", lambda r: r.nic.pci),
        Col.blank("WakeOn"),
        *sdk_cols(server),
        Col("x:Link Up", lambda r: yes_no(r.nic.link_up)),
        *_neighbor_cols(),
    ]
    return Tab("vNIC", cols, _pnics(inv), freeze="B2")


def vswitch(inv: Inventory, lk: _Lookups, server: str) -> Tab[StandardSwitch]:
    cols: list[Col[StandardSwitch]] = [
        *where_cols(lambda s: lk.hosts.get(s.host), lambda s: s.host),
        Col("Switch", lambda s: s.name),
        Col("# Ports", lambda s: s.num_ports),
        Col.blank("Free Ports"),
        *policy_cols(lambda s: s.policy),
        Col("MTU", lambda s: s.mtu),
        *sdk_cols(server),
        Col("x:Uplinks", lambda s: joined(s.uplinks)),
        Col("x:Active NICs", lambda s: joined(s.policy.teaming.active_uplinks)),
        Col("x:Standby NICs", lambda s: joined(s.policy.teaming.standby_uplinks)),
        Col("x:Check Beacon", lambda s: yes_no(s.policy.teaming.check_beacon)),
    ]
    rows = sorted(inv.standard_switches, key=lambda s: (s.host, s.name))
    return Tab("vSwitch", cols, rows, freeze="B2")


def _overrides(pg: StandardPortGroup) -> str:
    """The policy sections this port group sets itself instead of inheriting."""
    own = {k for k, v in pg.policy.model_dump().items() for vv in v.values() if vv is not None}
    return ", ".join(sorted(own))


def vport(inv: Inventory, lk: _Lookups, server: str) -> Tab[StandardPortGroup]:
    vmk_pg = {(v.host, v.portgroup) for v in inv.vmkernel_adapters}
    vm_count = Counter((v.host, n.network) for v in inv.vms for n in v.nics)
    cols: list[Col[StandardPortGroup]] = [
        *where_cols(lambda p: lk.hosts.get(p.host), lambda p: p.host),
        Col("Port Group", lambda p: p.name),
        Col("Switch", lambda p: p.switch),
        Col("VLAN", lambda p: p.vlan_id),
        *policy_cols(lambda p: p.effective),
        *sdk_cols(server),
        Col("x:Active NICs", lambda p: joined(p.effective.teaming.active_uplinks)),
        Col("x:Standby NICs", lambda p: joined(p.effective.teaming.standby_uplinks)),
        Col("x:Check Beacon", lambda p: yes_no(p.effective.teaming.check_beacon)),
        Col("x:Overrides", _overrides),
        Col("x:VMs", lambda p: vm_count.get((p.host, p.name), 0)),
        Col("x:VMkernel", lambda p: yes_no((p.host, p.name) in vmk_pg)),
    ]
    rows = sorted(inv.standard_port_groups, key=lambda p: (p.host, p.switch, p.name))
    return Tab("vPort", cols, rows, freeze="B2")


def dvswitch(inv: Inventory, server: str) -> Tab[DistributedSwitch]:
    cols: list[Col[DistributedSwitch]] = [
        Col("Switch", lambda d: d.name),
        Col("Datacenter", lambda d: d.datacenter),
        Col("Name", lambda _d: "DVS"),
        Col("Vendor", lambda _d: "VMware, Inc."),
        Col("Version", lambda d: d.version),
        Col("Description", lambda d: d.description),
        Col.blank("Created"),
        Col("Host members", lambda d: joined(m.host for m in d.hosts)),
        *map(Col.blank, ("Max Ports", "# Ports", "# VMs")),
        *shaping_cols(lambda d: d.default_port),
        Col("CDP Type", lambda d: d.ldp_protocol),
        Col("CDP Operation", lambda d: d.ldp_operation),
        Col("LACP Name", lambda d: joined(g.name for g in d.lags)),
        Col("LACP Mode", lambda d: joined(g.mode or "" for g in d.lags)),
        Col("LACP Load Balance Alg.", lambda d: joined(g.load_balance or "" for g in d.lags)),
        Col("Max MTU", lambda d: d.max_mtu),
        Col("Contact", lambda d: d.contact),
        Col.blank("Admin Name"),
        Col("Object ID", lambda d: d.moref),
        *sdk_cols(server),
        Col("x:Uplink Names", lambda d: joined(d.uplink_names)),
        Col("x:NIOC Enabled", lambda d: yes_no(d.nioc_enabled)),
        Col("x:PVLAN Entries", lambda d: len(d.pvlans)),
    ]
    rows = sorted(inv.distributed_switches, key=lambda d: d.name)
    return Tab("dvSwitch", cols, rows, freeze="B2")


def _ov(header: str, key: str) -> Col[DistributedPortGroup]:
    """A port-level override permission of the port group."""
    return Col(header, lambda p: yes_no(p.override_allowed.get(key)))


def dvport(inv: Inventory, server: str) -> Tab[DistributedPortGroup]:
    cols: list[Col[DistributedPortGroup]] = [
        Col("Port", lambda p: p.name),
        Col("Switch", lambda p: p.dvs),
        Col("Type", lambda p: p.binding),
        Col("# Ports", lambda p: p.num_ports),
        Col("VLAN", lambda p: p.vlan.display()),
        *map(Col.blank, ("Speed", "Full Duplex")),
        Col("Blocked", lambda p: yes_no(p.setting.blocked)),
        Col("Allow Promiscuous", lambda p: yes_no(p.setting.security.allow_promiscuous)),
        Col("Mac Changes", lambda p: yes_no(p.setting.security.mac_changes)),
        Col("Active Uplink", lambda p: joined(p.setting.teaming.active_uplinks)),
        Col("Standby Uplink", lambda p: joined(p.setting.teaming.standby_uplinks)),
        Col("Policy", lambda p: p.setting.teaming.policy),
        Col("Forged Transmits", lambda p: yes_no(p.setting.security.forged_transmits)),
        *shaping_cols(lambda p: p.setting),
        Col.blank("Reverse Policy"),
        Col("Notify Switch", lambda p: yes_no(p.setting.teaming.notify_switches)),
        Col("Rolling Order", lambda p: _rolling(p.setting.teaming.failback)),
        Col("Check Beacon", lambda p: yes_no(p.setting.teaming.check_beacon)),
        _ov("Live Port Moving", "livePortMovingAllowed"),
        *map(Col.blank, ("Check Duplex", "Check Error %", "Check Speed", "Percentage")),
        _ov("Block Override", "blockOverrideAllowed"),
        _ov("Config Reset", "portConfigResetAtDisconnect"),
        _ov("Shaping Override", "shapingOverrideAllowed"),
        _ov("Vendor Config Override", "vendorConfigOverrideAllowed"),
        _ov("Sec. Policy Override", "securityPolicyOverrideAllowed"),
        _ov("Teaming Override", "uplinkTeamingOverrideAllowed"),
        _ov("Vlan Override", "vlanOverrideAllowed"),
        Col("Object ID", lambda p: p.moref),
        *sdk_cols(server),
        Col("x:Portgroup Key", lambda p: p.key),
        Col("x:VLAN Type", lambda p: p.vlan.kind),
        Col("x:Uplink PG", lambda p: yes_no(p.uplink)),
        Col("x:Auto Expand", lambda p: yes_no(p.auto_expand)),
        Col("x:MAC Learning", lambda p: yes_no(p.setting.security.mac_learning)),
        _ov("x:MAC Mgmt Override", "macManagementOverrideAllowed"),
        _ov("x:IPFIX Override", "ipfixOverrideAllowed"),
        Col("x:Description", lambda p: p.description),
    ]
    rows = sorted(inv.distributed_port_groups, key=lambda p: (p.dvs, p.name))
    return Tab("dvPort", cols, rows, freeze="B2")


@dataclass(frozen=True)
class _Vmk:
    vmk: VmkernelAdapter
    host: Host | None
    dvpg: DistributedPortGroup | None
    vss_switch: str | None
    vss_vlan: str | None


def _vmks(inv: Inventory, lk: _Lookups) -> list[_Vmk]:
    out = []
    for v in sorted(inv.vmkernel_adapters, key=lambda v: (v.host, v.device)):
        std = (v.host, v.portgroup) if v.portgroup else None
        out.append(
            _Vmk(
                v,
                lk.hosts.get(v.host),
                inv.dvpg_by_key.get(v.dv_portgroup_key or ""),
                lk.pg_switch.get(std) if std else None,
                lk.vlan_of.get(std) if std else None,
            )
        )
    return out


def vsc_vmk(inv: Inventory, lk: _Lookups, server: str) -> Tab[_Vmk]:
    cols: list[Col[_Vmk]] = [
        *where_cols(lambda r: r.host, lambda r: r.vmk.host),
        Col("Port Group", lambda r: r.vmk.portgroup or (r.dvpg.name if r.dvpg else None)),
        Col("Device", lambda r: r.vmk.device),
        Col("Mac Address", lambda r: r.vmk.mac),
        Col("DHCP", lambda r: yes_no(r.vmk.dhcp)),
        Col("IP Address", lambda r: r.vmk.ip),
        Col("IP 6 Address", lambda r: joined(r.vmk.ipv6)),
        Col("Subnet mask", lambda r: r.vmk.netmask),
        Col("Gateway", lambda r: r.vmk.gateway),
        Col.blank("IP 6 Gateway"),
        Col("MTU", lambda r: r.vmk.mtu),
        *sdk_cols(server),
        Col("x:Services", lambda r: joined(r.vmk.services)),
        Col("x:TCP/IP Stack", lambda r: r.vmk.netstack),
        Col("x:Switch", lambda r: r.vss_switch or (r.dvpg.dvs if r.dvpg else None)),
        Col("x:VLAN", lambda r: r.vss_vlan or (r.dvpg.vlan.display() if r.dvpg else None)),
        Col("x:DV Port", lambda r: r.vmk.dv_port),
    ]
    return Tab("vSC_VMK", cols, _vmks(inv, lk), freeze="B2")


def rvtools_tabs(inv: Inventory, server: str) -> Sequence[Tab[Any]]:
    """The seven RVTools network tabs, in RVTools' order."""
    lk = _Lookups.of(inv)
    return [
        vnetwork(inv, lk, server),
        vnic(inv, server),
        vswitch(inv, lk, server),
        vport(inv, lk, server),
        dvswitch(inv, server),
        dvport(inv, server),
        vsc_vmk(inv, lk, server),
    ]
