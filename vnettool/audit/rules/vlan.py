"""VLAN hygiene (SEC-08..12): no guest tagging on standard port groups, no trunks to VMs,
nothing on the native or a reserved VLAN, every VM port group tagged.

Trunk ranges and PVLAN ids count as "using" a VLAN too: a reserved id inside a trunk reaches
the VMs behind it just the same.
"""

from __future__ import annotations

from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.rules.base import (
    dvpg_path,
    finding,
    on_dvpg,
    on_spg,
    pg_path,
    rule,
    vm_facing_dvpgs,
    vmk_portgroups,
)
from vnettool.models.inventory import Inventory


@rule(
    "SEC-08",
    "No VGT (VLAN 4095) on standard port groups",
    "high",
    "StandardPortGroup",
    "HostSystem.config.network.portgroup[].spec.vlanId",
    "FAIL if vlanId == 4095",
    "SCG 8 esxi-8.network-vgt; CIS ESXi 7 7.6",
    "Give the port group its VLAN ID; VGT only for guests that tag their own frames.",
)
def vss_no_vgt(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in inv.standard_port_groups:
        yield on_spg(
            "SEC-08",
            "FAIL" if pg.vlan_id == 4095 else "PASS",
            inv,
            pg,
            prop="portgroup.spec.vlanId",
            actual=pg.vlan_id,
            expected="not 4095",
        )


@rule(
    "SEC-09",
    "No VLAN trunking on VM distributed port groups",
    "high",
    "DistributedPortGroup",
    "pg.config.defaultPortConfig.vlan (TrunkVlanSpec)",
    "FAIL for a non-uplink port group with a trunk VLAN spec",
    "SCG 8 vcenter-8.network-vgt; DISA vCenter 8 STIG V-258940",
    "Use a single VLAN ID, or narrow the trunk and allow-list it.",
)
def vm_dvpg_not_trunked(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in vm_facing_dvpgs(inv):
        trunk = pg.vlan.kind == "trunk"
        yield on_dvpg(
            "SEC-09",
            "FAIL" if trunk else "PASS",
            inv,
            pg,
            prop="defaultPortConfig.vlan",
            actual=pg.vlan.display(),
            expected="a single VLAN or PVLAN",
        )


def _vlan_users(inv: Inventory) -> Iterator[tuple[str, str, str | None, str, int]]:
    """(object type, path, where, switch, VLAN id) of every single-VLAN port group."""
    for pg in inv.standard_port_groups:
        yield "StandardPortGroup", pg_path(inv, pg), pg.host, pg.switch, pg.vlan_id
    for dpg in vm_facing_dvpgs(inv):
        if dpg.vlan.kind == "vlan" and dpg.vlan.vlan_id is not None:
            yield "DistributedPortGroup", dvpg_path(inv, dpg), None, dpg.dvs, dpg.vlan.vlan_id
        elif dpg.vlan.kind == "none":
            yield "DistributedPortGroup", dvpg_path(inv, dpg), None, dpg.dvs, 0


def _needs(inv: Inventory, rid: str, key: str, why: str) -> Finding:
    """The one UNKNOWN a rule reports when its site input is missing: it names the key to
    set, so an unset input never reads as a pass."""
    return finding(
        rid,
        "UNKNOWN",
        "Inventory",
        inv.vcenter or "vCenter",
        prop=f"audit config: {key}",
        actual="not set",
        expected=f"set {key} in the audit config (--config)",
        detail=why,
    )


@rule(
    "SEC-10",
    "Port groups not on the native VLAN",
    "medium",
    "StandardPortGroup, DistributedPortGroup",
    "portgroup.spec.vlanId; VlanIdSpec.vlanId; config native_vlans",
    "FAIL if the VLAN ID is a native VLAN; without native_vlans, VLAN 1 fails and the rest "
    "is UNKNOWN",
    "DISA vCenter 8 STIG V-258939; CIS ESXi 7 7.4",
    "Move the port group to a dedicated VLAN; never tag the switch's native VLAN.",
)
def portgroup_off_native_vlan(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    native = cfg.native_vlans if cfg.native_vlans is not None else [1]
    for kind, path, where, sw, vlan in _vlan_users(inv):
        if vlan not in native and cfg.native_vlans is None:
            continue  # judged by the one UNKNOWN below
        yield finding(
            "SEC-10",
            "FAIL" if vlan in native else "PASS",
            kind,
            path,
            where=where,
            switch=sw,
            prop="vlanId",
            actual=vlan,
            expected=f"not in {native}",
        )
    if cfg.native_vlans is None:
        yield _needs(
            inv,
            "SEC-10",
            "native_vlans",
            "the physical switches' native VLAN is a site fact: only VLAN 1 (the usual "
            "default) was judged",
        )


@rule(
    "SEC-11",
    "Reserved VLAN IDs not used",
    "medium",
    "StandardPortGroup, DistributedPortGroup",
    "VLAN ids, trunk ranges, PVLAN ids; config reserved_vlans",
    "FAIL if a port group uses a reserved VLAN ID; UNKNOWN when none are configured",
    "DISA vCenter 8 STIG V-258941; CIS ESXi 7 7.5",
    "Renumber to an unreserved VLAN agreed with the network team.",
)
def reserved_vlans_unused(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    if cfg.reserved_vlans is None:
        yield _needs(
            inv,
            "SEC-11",
            "reserved_vlans",
            "which VLANs the physical switches reserve (e.g. Cisco 1001-1024, 4094; Nexus "
            "3968-4047, 4094) is a site fact",
        )
        return
    reserved = set(cfg.reserved_vlans)
    for kind, path, where, sw, vlan in _vlan_users(inv):
        yield finding(
            "SEC-11",
            "FAIL" if vlan in reserved else "PASS",
            kind,
            path,
            where=where,
            switch=sw,
            prop="vlanId",
            actual=vlan,
            expected="not reserved",
        )
    for dpg in vm_facing_dvpgs(inv):  # trunks and PVLANs: any reserved id inside counts
        v = dpg.vlan
        if v.kind == "trunk":
            used = any(lo <= r <= hi for lo, hi in v.ranges for r in reserved)
        elif v.kind == "pvlan" and v.pvlan_id is not None:
            used = v.pvlan_id in reserved
        else:
            continue
        yield on_dvpg(
            "SEC-11",
            "FAIL" if used else "PASS",
            inv,
            dpg,
            prop="vlan",
            actual=v.display(),
            expected="not reserved",
        )


@rule(
    "SEC-12",
    "VM port groups are tagged (no VLAN 0)",
    "low",
    "StandardPortGroup, DistributedPortGroup",
    "portgroup.spec.vlanId == 0; VlanIdSpec.vlanId == 0",
    "FAIL for VM-facing port groups with VLAN 0 (untagged, on the native VLAN)",
    "CIS ESXi 7 7.6",
    "Tag the port group with its VLAN.",
)
def vm_portgroup_tagged(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    infra = vmk_portgroups(inv)
    for pg in inv.standard_port_groups:
        if (pg.host, pg.name) in infra:
            continue
        yield on_spg(
            "SEC-12",
            "FAIL" if pg.vlan_id == 0 else "PASS",
            inv,
            pg,
            prop="portgroup.spec.vlanId",
            actual=pg.vlan_id,
            expected="1-4094",
        )
    for dpg in vm_facing_dvpgs(inv):
        untagged = dpg.vlan.kind == "none" or (dpg.vlan.kind == "vlan" and dpg.vlan.vlan_id == 0)
        yield on_dvpg(
            "SEC-12",
            "FAIL" if untagged else "PASS",
            inv,
            dpg,
            prop="defaultPortConfig.vlan",
            actual=dpg.vlan.display(),
            expected="1-4094",
        )
