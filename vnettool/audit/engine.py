"""The rule catalogue (../shared/docs/audit-rules.md §2) as data, and the audit over a snapshot.

Each rule is a `Rule` record plus a small pure function over the `Inventory` that yields one
`Finding` per object it judged (FAIL, PASS, N/A or UNKNOWN). `audit()` applies the site
config: rules disabled or re-levelled, and waivers (allow-lists with a reason and an expiry)
that turn a FAIL into an EXCEPTION until their date. A rule that raises is reported as one
UNKNOWN finding; it never stops the audit. Rules whose data vnettool does not collect (NetFlow,
mirroring, health-check results...) say so as N/A instead of guessing.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from vnettool import userfile
from vnettool.audit.model import (
    AuditConfig,
    Check,
    Finding,
    Rule,
    Severity,
    State,
)
from vnettool.errors import ConfigError
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    Inventory,
    StandardPortGroup,
    VmkernelAdapter,
)

RULES: list[Rule] = []


def rule(
    rid: str,
    title: str,
    severity: Severity,
    scope: str,
    reads: str,
    logic: str,
    source: str,
    remediation: str,
) -> Callable[[Check], Check]:
    """Register `check` as rule `rid` (id order is the catalogue's order)."""

    def register(check: Check) -> Check:
        category = "SEC" if rid.startswith("SEC") else "HC"
        RULES.append(
            Rule(
                id=rid,
                title=title,
                category=category,
                severity=severity,
                scope=scope,
                reads=reads,
                logic=logic,
                source=source,
                remediation=remediation,
                check=check,
            )
        )
        return check

    return register


# -- helpers every rule uses ------------------------------------------------------------------
def _r(rid: str) -> Rule:
    return next(r for r in RULES if r.id == rid)


def finding(
    rid: str,
    state: State,
    object_type: str,
    obj: str,
    *,
    object_id: str = "",
    where: str | None = None,
    switch: str | None = None,
    prop: str = "",
    actual: Any = "",
    expected: Any = "",
    detail: str = "",
) -> Finding:
    r = _r(rid)
    return Finding(
        rule_id=rid,
        severity=r.severity,
        state=state,
        title=r.title,
        object_type=object_type,
        object=obj,
        object_id=object_id,
        host_or_cluster=where,
        switch=switch,
        property_path=prop,
        actual=_text(actual),
        expected=_text(expected),
        detail=detail,
        remediation=r.remediation,
        source=r.source,
    )


def _text(v: Any) -> str:
    if v is None:
        return "unset"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (list, tuple, set)):
        return ", ".join(map(str, v))
    return str(v)


def pg_path(inv: Inventory, pg: StandardPortGroup) -> str:
    h = inv.host_by_name.get(pg.host)
    parts = [h.datacenter if h else None, h.cluster if h else None, pg.host, pg.switch, pg.name]
    return "/".join(p for p in parts if p)


def dvpg_path(inv: Inventory, pg: DistributedPortGroup) -> str:
    d = inv.dvs_by_name.get(pg.dvs)
    return "/".join(p for p in (d.datacenter if d else None, pg.dvs, pg.name) if p)


def on_spg(rid: str, state: State, inv: Inventory, pg: StandardPortGroup, **kw: Any) -> Finding:
    """A finding about a standard port group (object path, host and switch filled in)."""
    return finding(
        rid, state, "StandardPortGroup", pg_path(inv, pg), where=pg.host, switch=pg.switch, **kw
    )


def on_dvpg(rid: str, state: State, inv: Inventory, pg: DistributedPortGroup, **kw: Any) -> Finding:
    """A finding about a DV port group (object path, moref and switch filled in)."""
    return finding(
        rid,
        state,
        "DistributedPortGroup",
        dvpg_path(inv, pg),
        object_id=pg.moref,
        switch=pg.dvs,
        **kw,
    )


def vm_portgroups(inv: Inventory) -> set[str]:
    """Names of networks some VM NIC is on (VM-facing port groups)."""
    return {n.network for v in inv.vms for n in v.nics if n.network}


def vmk_portgroups(inv: Inventory) -> set[tuple[str, str]]:
    """(host, standard port group) pairs that carry a VMkernel adapter."""
    return {(v.host, v.portgroup) for v in inv.vmkernel_adapters if v.portgroup}


def vm_dvpgs(inv: Inventory) -> set[str]:
    return {n.dv_portgroup_key for v in inv.vms for n in v.nics if n.dv_portgroup_key}


def vm_facing_dvpgs(inv: Inventory) -> Iterator[DistributedPortGroup]:
    return (p for p in inv.distributed_port_groups if not p.uplink)


def dvs_security(inv: Inventory, pg: DistributedPortGroup, field: str) -> bool | None:
    """Port group value, else the switch default (vDS inheritance)."""
    v = getattr(pg.setting.security, field)
    if v is None:
        d = inv.dvs_by_name.get(pg.dvs)
        v = getattr(d.default_port.security, field) if d else None
    return v  # type: ignore[no-any-return]


# -- SEC-01..06: layer-2 security ---------------------------------------------------------------
_L2 = {
    "allow_promiscuous": ("promiscuous mode", "allowPromiscuous"),
    "mac_changes": ("MAC address changes", "macChanges"),
    "forged_transmits": ("forged transmits", "forgedTransmits"),
}
_SCG = "VMware vSphere Security Configuration Guide 8; DISA ESXi 7 STIG"


def _vss_l2(field: str, rid: str) -> Check:
    def check(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
        api = _L2[field][1]
        for sw in inv.standard_switches:
            v = getattr(sw.policy.security, field)
            yield finding(
                rid,
                "FAIL" if v else "PASS",
                "StandardSwitch",
                f"{sw.host}/{sw.name}",
                where=sw.host,
                switch=sw.name,
                prop=f"vswitch.spec.policy.security.{api}",
                actual=v,
                expected=False,
            )
        for pg in inv.standard_port_groups:
            v = getattr(pg.effective.security, field)
            own = getattr(pg.policy.security, field)
            src = "port-group override" if own is not None else f"inherited from {pg.switch}"
            yield on_spg(
                rid,
                "FAIL" if v else "PASS",
                inv,
                pg,
                prop=f"portgroup.computedPolicy.security.{api}",
                actual=f"{_text(v)} ({src})" if v else v,
                expected=False,
            )

    return check


def _vds_l2(field: str, rid: str) -> Check:
    def check(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
        api = _L2[field][1]
        for d in inv.distributed_switches:
            v = getattr(d.default_port.security, field)
            yield finding(
                rid,
                "FAIL" if v else "PASS",
                "DistributedSwitch",
                d.name,
                object_id=d.moref,
                switch=d.name,
                prop=f"dvs.config.defaultPortConfig.securityPolicy.{api}",
                actual=v,
                expected=False,
            )
        for pg in vm_facing_dvpgs(inv):
            v = dvs_security(inv, pg, field)
            yield on_dvpg(
                rid,
                "FAIL" if v else "PASS",
                inv,
                pg,
                prop=f"pg.config.defaultPortConfig.macManagementPolicy.{api}",
                actual=v,
                expected=False,
            )

    return check


for _i, (_field, (_what, _api)) in enumerate(_L2.items()):
    _sev: Severity = "medium" if _field == "mac_changes" else "high"
    rule(
        f"SEC-0{_i + 1}",
        f"vSS {_what} Reject",
        _sev,
        "StandardSwitch, StandardPortGroup",
        f"vswitch.spec.policy.security.{_api}; portgroup.computedPolicy.security.{_api}",
        f"FAIL when {_api} is True on a vSwitch or effective on a port group",
        _SCG,
        f"Set {_what} to Reject on the vSwitch and remove port-group overrides; put VMs that "
        "need it on a dedicated, allow-listed port group.",
    )(_vss_l2(_field, f"SEC-0{_i + 1}"))
for _i, (_field, (_what, _api)) in enumerate(_L2.items()):
    _sev = "medium" if _field == "mac_changes" else "high"
    rule(
        f"SEC-0{_i + 4}",
        f"vDS {_what} Reject",
        _sev,
        "DistributedSwitch, DistributedPortGroup",
        f"defaultPortConfig.macManagementPolicy.{_api} (else securityPolicy.{_api})",
        f"FAIL when {_api} is True at the switch default or on a non-uplink port group",
        _SCG,
        f"Set {_what} to Reject on the DVS default and the port group.",
    )(_vds_l2(_field, f"SEC-0{_i + 4}"))


@rule(
    "SEC-07",
    "vDS MAC learning disabled",
    "medium",
    "DistributedPortGroup",
    "pg.config.defaultPortConfig.macManagementPolicy.macLearningPolicy.enabled",
    "FAIL if MAC learning is enabled on a non-uplink port group",
    "SCG 8 vcenter-8.network-mac-learning",
    "Disable MAC learning; keep it only on a dedicated port group for nested ESXi.",
)
def sec07(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in vm_facing_dvpgs(inv):
        v = pg.setting.security.mac_learning
        state: State = "UNKNOWN" if v is None else "FAIL" if v else "PASS"
        yield on_dvpg(
            "SEC-07",
            state,
            inv,
            pg,
            prop="macManagementPolicy.macLearningPolicy.enabled",
            actual=v,
            expected=False,
        )


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
def sec08(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
def sec09(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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


@rule(
    "SEC-10",
    "Port groups not on the native VLAN",
    "medium",
    "StandardPortGroup, DistributedPortGroup",
    "portgroup.spec.vlanId; VlanIdSpec.vlanId; config native_vlans",
    "FAIL if the VLAN ID is a native VLAN (default 1)",
    "DISA vCenter 8 STIG V-258939; CIS ESXi 7 7.4",
    "Move the port group to a dedicated VLAN; never tag the switch's native VLAN.",
)
def sec10(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for kind, path, where, sw, vlan in _vlan_users(inv):
        yield finding(
            "SEC-10",
            "FAIL" if vlan in cfg.native_vlans else "PASS",
            kind,
            path,
            where=where,
            switch=sw,
            prop="vlanId",
            actual=vlan,
            expected=f"not in {cfg.native_vlans}",
        )


@rule(
    "SEC-11",
    "Reserved VLAN IDs not used",
    "medium",
    "StandardPortGroup, DistributedPortGroup",
    "VLAN ids, trunk ranges, PVLAN ids; config reserved_vlans",
    "FAIL if a port group uses a reserved VLAN ID; N/A when none are configured",
    "DISA vCenter 8 STIG V-258941; CIS ESXi 7 7.5",
    "Renumber to an unreserved VLAN agreed with the network team.",
)
def sec11(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    if not cfg.reserved_vlans:
        yield finding(
            "SEC-11",
            "N/A",
            "Inventory",
            inv.vcenter or "vCenter",
            detail="reserved_vlans is not configured in the audit config",
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
def sec12(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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


@rule(
    "SEC-13",
    "Port-level overrides disabled on DV port groups",
    "medium",
    "DistributedPortGroup",
    "pg.config.policy.*OverrideAllowed",
    "FAIL if any override permission other than blocking is granted",
    "SCG 8 vcenter-8.network-restrict-port-level-overrides",
    "Untick the override permissions; create a separate port group instead.",
)
def sec13(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in vm_facing_dvpgs(inv):
        on = sorted(k for k, v in pg.override_allowed.items() if v and k != "blockOverrideAllowed")
        yield on_dvpg(
            "SEC-13",
            "FAIL" if on else "PASS",
            inv,
            pg,
            prop="pg.config.policy",
            actual=on or "none",
            expected="none",
        )


def _not_collected(rid: str, what: str) -> Check:
    def check(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
        for d in inv.distributed_switches:
            yield finding(
                rid,
                "N/A",
                "DistributedSwitch",
                d.name,
                object_id=d.moref,
                switch=d.name,
                detail=f"{what} is not part of vnettool's inventory yet; not judged",
            )

    return check


rule(
    "SEC-14",
    "Reset port configuration at disconnect",
    "medium",
    "DistributedPortGroup",
    "pg.config.policy.portConfigResetAtDisconnect",
    "FAIL if False",
    "SCG 8",
    "Enable reset at disconnect.",
)(_not_collected("SEC-14", "portConfigResetAtDisconnect"))
rule(
    "SEC-15",
    "NetFlow (IPFIX) only to authorised collectors",
    "medium",
    "DistributedSwitch",
    "dvs.config.ipfixConfig",
    "FAIL for a collector not in netflow_collectors",
    "SCG 8",
    "Remove unauthorised collectors.",
)(_not_collected("SEC-15", "the IPFIX configuration"))
rule(
    "SEC-16",
    "Port mirroring sessions authorised",
    "high",
    "DistributedSwitch",
    "dvs.config.vspanSession",
    "FAIL for a session not in mirror_sessions",
    "SCG 8",
    "Remove unauthorised mirroring sessions.",
)(_not_collected("SEC-16", "port mirroring (VSPAN) sessions"))


@rule(
    "SEC-17",
    "Link discovery protocol not advertising",
    "low",
    "DistributedSwitch",
    "dvs.config.linkDiscoveryProtocolConfig.operation",
    "FAIL for advertise/both; listen passes when allowed (HC-18 needs it)",
    "SCG 8 vcenter-8.network-link-discovery",
    "Set the operation to listen (or none).",
)
def sec17(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        op = d.ldp_operation or "none"
        yield finding(
            "SEC-17",
            "PASS" if op in cfg.discovery_operation_allowed else "FAIL",
            "DistributedSwitch",
            d.name,
            object_id=d.moref,
            switch=d.name,
            prop="linkDiscoveryProtocolConfig.operation",
            actual=f"{d.ldp_protocol or ''} {op}".strip(),
            expected=" or ".join(cfg.discovery_operation_allowed),
        )


for _rid, _title, _sev2, _what in (
    ("SEC-18", "vDS health check off unless troubleshooting", "low", "the health check config"),
    (
        "SEC-19",
        "Guest BPDU filter enabled",
        "medium",
        "the host advanced setting Net.BlockGuestBPDU",
    ),
    ("SEC-20", "DVFilter bind address empty", "medium", "Net.DVFilterBindIpAddress"),
):
    rule(
        _rid,
        _title,
        _sev2,  # type: ignore[arg-type]
        "DistributedSwitch / Host",
        _what,
        "see the catalogue",
        "SCG 8",
        "see the catalogue",
    )(_not_collected(_rid, _what))


def _services(inv: Inventory) -> dict[tuple[str, str], VmkernelAdapter]:
    return {(v.host, v.device): v for v in inv.vmkernel_adapters}


@rule(
    "SEC-21",
    "Management VMkernel isolated",
    "high",
    "VmkernelAdapter",
    "virtualNicManagerInfo.netConfig; vmk port group; VM NIC backings",
    "FAIL if the management vmk carries other services; critical if VM NICs share its port group",
    "SCG 8 esxi-8.network-isolate-management",
    "Dedicated management port group and VLAN; other services on their own vmks.",
)
def sec21(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    on_vms = {(v.host, n.network) for v in inv.vms for n in v.nics if n.network}
    for v in inv.vmkernel_adapters:
        if "management" not in v.services:
            continue
        others = sorted(set(v.services) - {"management"})
        shared = (v.host, v.portgroup) in on_vms if v.portgroup else False
        f = finding(
            "SEC-21",
            "FAIL" if others or shared else "PASS",
            "VmkernelAdapter",
            f"{v.host}/{v.device}",
            where=v.host,
            prop="netConfig.selectedVnic",
            actual=("VM NICs on " + (v.portgroup or ""))
            if shared
            else (others or "management only"),
            expected="management only, no VM NICs on its port group",
        )
        yield f.model_copy(update={"severity": "critical"}) if shared else f


@rule(
    "SEC-22",
    "vMotion isolated",
    "high",
    "VmkernelAdapter",
    "virtualNicManagerInfo.netConfig",
    "FAIL if a vMotion vmk is also the management vmk",
    "SCG 8 esxi-8.network-isolate-vmotion",
    "Dedicated, non-routed vMotion VLAN and port group.",
)
def sec22(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for v in inv.vmkernel_adapters:
        if "vmotion" not in v.services:
            continue
        both = "management" in v.services
        yield finding(
            "SEC-22",
            "FAIL" if both else "PASS",
            "VmkernelAdapter",
            f"{v.host}/{v.device}",
            where=v.host,
            prop="netConfig.selectedVnic",
            actual=v.services,
            expected="vmotion without management",
        )


rule(
    "SEC-23",
    "IP storage isolated",
    "high",
    "VmkernelAdapter",
    "iSCSI port binding, NFS subnets",
    "see the catalogue",
    "SCG 8",
    "Dedicated storage VLAN and vmks.",
)(_not_collected("SEC-23", "iSCSI binding / NFS datastore addresses"))


@rule(
    "SEC-24",
    "No VMs on infrastructure port groups",
    "high",
    "VmNic",
    "VM NIC backings; vmk port groups",
    "FAIL per VM NIC attached to a port group (standard or DV) that also has a vmk",
    "SCG 8; vSphere Networking guide",
    "Move the VM to a VM port group.",
)
def sec24(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    infra = vmk_portgroups(inv)
    dv_infra = {v.dv_portgroup_key for v in inv.vmkernel_adapters if v.dv_portgroup_key}
    for vm in inv.vms:
        for n in vm.nics:
            on_dv = n.dv_portgroup_key is not None and n.dv_portgroup_key in dv_infra
            on_std = not n.dv_portgroup_key and (vm.host, n.network) in infra
            if n.network and (on_dv or on_std):
                yield finding(
                    "SEC-24",
                    "FAIL",
                    "VmNic",
                    f"{vm.name}/{n.label}",
                    where=vm.host,
                    prop="device.backing.deviceName",
                    actual=n.network,
                    expected="a VM port group",
                )


@rule(
    "SEC-25",
    "Network I/O Control enabled on vDS",
    "low",
    "DistributedSwitch",
    "dvs.config.networkResourceManagementEnabled",
    "FAIL if NIOC is disabled on a switch carrying both VM and VMkernel traffic",
    "vSphere Networking guide, NIOC",
    "Enable NIOC (version 3) and set shares for system traffic.",
)
def sec25(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    # NIOC arbitrates between VM and VMkernel traffic: only a switch carrying both needs it
    vm_keys = {n.dv_portgroup_key for v in inv.vms for n in v.nics if n.dv_portgroup_key}
    for d in inv.distributed_switches:
        has_vmk = any(v.dvs_uuid == d.uuid for v in inv.vmkernel_adapters)
        has_vm = any(p.key in vm_keys for p in inv.dv_portgroups_of(d.name))
        yield finding(
            "SEC-25",
            "PASS" if d.nioc_enabled or not (has_vmk and has_vm) else "FAIL",
            "DistributedSwitch",
            d.name,
            object_id=d.moref,
            switch=d.name,
            prop="networkResourceManagementEnabled",
            actual=d.nioc_enabled,
            expected=True,
        )


@rule(
    "SEC-26",
    "Static DV port groups can grow (autoExpand)",
    "low",
    "DistributedPortGroup",
    "pg.config.type, pg.config.autoExpand",
    "FAIL for earlyBinding port groups without autoExpand",
    "API doc of autoExpand; Broadcom KB 324492",
    "Set port allocation to Elastic.",
)
def sec26(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in vm_facing_dvpgs(inv):
        if pg.binding != "earlyBinding":
            continue
        yield on_dvpg(
            "SEC-26",
            "PASS" if pg.auto_expand else "FAIL",
            inv,
            pg,
            prop="pg.config.autoExpand",
            actual=pg.auto_expand,
            expected=True,
        )


# -- HC ----------------------------------------------------------------------------------------
for _rid, _title in (
    ("HC-01", "vDS health check: VLAN trunk mismatch"),
    ("HC-02", "vDS health check: MTU mismatch"),
    ("HC-03", "vDS health check: teaming mismatch"),
):
    rule(
        _rid,
        _title,
        "high",
        "DistributedSwitch x Host",
        "runtime.hostMemberRuntime[].healthCheckResult",
        "FAIL on a mismatch reported by the vDS health check",
        "vSphere Networking guide, health check",
        "Fix the physical switch port configuration.",
    )(_not_collected(_rid, "the vDS health check results"))


@rule(
    "HC-04",
    "Host proxy switch up",
    "high",
    "DistributedSwitch x Host",
    "dvs.runtime.hostMemberRuntime[].status",
    "FAIL if a member host's status is not up",
    "vSphere Networking guide",
    "Check the host's connection to the DVS (rectify the host).",
)
def hc04(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        for m in d.hosts:
            state: State = "UNKNOWN" if m.status is None else "PASS" if m.status == "up" else "FAIL"
            yield finding(
                "HC-04",
                state,
                "DistributedSwitch",
                f"{d.name}/{m.host}",
                where=m.host,
                switch=d.name,
                prop="hostMemberRuntime.status",
                actual=m.status,
                expected="up",
            )


def _switch_mtu(inv: Inventory, v: VmkernelAdapter) -> tuple[str | None, int | None]:
    if v.portgroup:
        pg = next((p for p in inv.portgroups_of(v.host) if p.name == v.portgroup), None)
        sw = next((s for s in inv.switches_of(v.host) if pg and s.name == pg.switch), None)
        return (sw.name, sw.mtu) if sw else (None, None)
    d = inv.dvs_by_uuid.get(v.dvs_uuid or "")
    return (d.name, d.max_mtu) if d else (None, None)


@rule(
    "HC-05",
    "VMkernel MTU not above switch MTU",
    "high",
    "VmkernelAdapter",
    "vnic.spec.mtu; vswitch.mtu or dvs.config.maxMtu",
    "FAIL if the vmk MTU is above its switch's MTU",
    "vSphere Networking guide (jumbo frames)",
    "Raise the switch MTU or lower the vmk MTU, then verify with vmkping -d -s.",
)
def hc05(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for v in inv.vmkernel_adapters:
        sw, mtu = _switch_mtu(inv, v)
        if mtu is None or v.mtu is None:
            yield finding(
                "HC-05", "UNKNOWN", "VmkernelAdapter", f"{v.host}/{v.device}", where=v.host
            )
            continue
        yield finding(
            "HC-05",
            "FAIL" if v.mtu > mtu else "PASS",
            "VmkernelAdapter",
            f"{v.host}/{v.device}",
            where=v.host,
            switch=sw,
            prop="vnic.spec.mtu",
            actual=v.mtu,
            expected=f"<= {mtu} ({sw})",
        )


@rule(
    "HC-06",
    "Standard port group present on every host of the cluster",
    "high",
    "StandardPortGroup x Host",
    "portgroup names per host; VM NIC backings",
    "FAIL per host lacking a VM-facing port group used in its cluster",
    "vSphere vMotion network requirements",
    "Create the port group on the missing hosts (or move the network to a vDS).",
)
def hc06(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    used = vm_portgroups(inv)
    clusters: dict[str, list[str]] = defaultdict(list)
    for host in inv.hosts:
        if host.cluster:
            clusters[host.cluster].append(host.name)
    have: dict[str, set[str]] = defaultdict(set)
    for pg in inv.standard_port_groups:
        have[pg.host].add(pg.name)
    for cl, hosts in sorted(clusters.items()):
        names = {n for hn in hosts for n in have[hn] if n in used}
        for name in sorted(names):
            for hn in sorted(hosts):
                if name not in have[hn]:
                    yield finding(
                        "HC-06",
                        "FAIL",
                        "Host",
                        f"{cl}/{hn}",
                        where=hn,
                        prop="config.network.portgroup",
                        actual=f"{name!r} missing",
                        expected=f"{name!r} on every host of {cl}",
                    )


@rule(
    "HC-07",
    "Same standard port group name, same VLAN",
    "high",
    "StandardPortGroup",
    "portgroup[].spec.name, spec.vlanId per cluster",
    "FAIL when one name maps to more than one VLAN ID in a cluster",
    "vMotion network consistency",
    "Align VLAN IDs, or rename port groups that are different networks.",
)
def hc07(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    by: dict[tuple[str, str], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for pg in inv.standard_port_groups:
        h = inv.host_by_name.get(pg.host)
        by[(h.cluster if h and h.cluster else "", pg.name)][pg.vlan_id].append(pg.host)
    for (cl, name), vlans in sorted(by.items()):
        bad = len(vlans) > 1
        yield finding(
            "HC-07",
            "FAIL" if bad else "PASS",
            "StandardPortGroup",
            f"{cl}/{name}" if cl else name,
            where=cl or None,
            prop="portgroup.spec.vlanId",
            actual="; ".join(f"VLAN {k}: {', '.join(sorted(v))}" for k, v in sorted(vlans.items())),
            expected="one VLAN per name",
        )


def _uplinks_of(inv: Inventory, pg: StandardPortGroup) -> list[str]:
    t = pg.effective.teaming
    if t.active_uplinks is not None or t.standby_uplinks is not None:
        return [*(t.active_uplinks or []), *(t.standby_uplinks or [])]
    sw = next((s for s in inv.switches_of(pg.host) if s.name == pg.switch), None)
    return list(sw.uplinks) if sw else []


@rule(
    "HC-08",
    "Uplink redundancy",
    "medium",
    "StandardPortGroup",
    "computedPolicy.nicTeaming.nicOrder; pnic.linkSpeed",
    "FAIL where fewer than two physical NICs with link are active or standby",
    "vSphere Networking guide, teaming and failover",
    "Add a second uplink as active or standby.",
)
def hc08(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    mgmt = {(v.host, v.portgroup) for v in inv.vmkernel_adapters if "management" in v.services}
    for pg in inv.standard_port_groups:
        sw = next((s for s in inv.switches_of(pg.host) if s.name == pg.switch), None)
        if sw is not None and not sw.uplinks:
            # a switch without uplinks is an isolated segment by design (e.g. an appliance's
            # protected side): there is no physical path to make redundant
            yield on_spg(
                "HC-08",
                "N/A",
                inv,
                pg,
                prop="vswitch.pnic",
                actual="no uplinks",
                detail="internal switch: traffic never leaves the host",
            )
            continue
        h = inv.host_by_name.get(pg.host)
        up = {p.device for p in (h.pnics if h else []) if p.link_up}
        nics = [n for n in _uplinks_of(inv, pg) if n in up]
        f = on_spg(
            "HC-08",
            "FAIL" if len(nics) < 2 else "PASS",
            inv,
            pg,
            prop="computedPolicy.nicTeaming.nicOrder",
            actual=nics or "none",
            expected=">= 2 pNICs with link",
        )
        yield f.model_copy(update={"severity": "high"}) if (pg.host, pg.name) in mgmt else f


@rule(
    "HC-09",
    "Assigned physical uplink has link",
    "medium",
    "PhysicalNic",
    "vswitch[].pnic[], proxySwitch[].pnic[], pnic[].linkSpeed",
    "FAIL for a pNIC in a switch without link",
    "vSphere Networking guide",
    "Check cabling and the switch port, or remove the NIC from the team.",
)
def hc09(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    assigned: dict[str, set[str]] = defaultdict(set)
    for sw in inv.standard_switches:
        assigned[sw.host] |= set(sw.uplinks)
    for d in inv.distributed_switches:
        for m in d.hosts:
            assigned[m.host] |= set(m.pnics)
    for h in inv.hosts:
        for p in h.pnics:
            if p.device in assigned[h.name]:
                yield finding(
                    "HC-09",
                    "PASS" if p.link_up else "FAIL",
                    "PhysicalNic",
                    f"{h.name}/{p.device}",
                    where=h.name,
                    prop="pnic.linkSpeed",
                    actual="up" if p.link_up else "down",
                    expected="up",
                )


@rule(
    "HC-10",
    "Orphaned port groups",
    "info",
    "StandardPortGroup, DistributedPortGroup",
    "VM NIC backings, vmk port groups",
    "FAIL (info) for a port group with no VM NIC and no vmk",
    "housekeeping",
    "Delete after confirming it is not a recovery or standby network.",
)
def hc10(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    used = vm_portgroups(inv) | {p for _, p in vmk_portgroups(inv)}
    names = sorted({pg.name for pg in inv.standard_port_groups})
    for name in names:
        yield finding(
            "HC-10",
            "PASS" if name in used else "FAIL",
            "StandardPortGroup",
            name,
            actual="in use" if name in used else "no VM NIC, no vmk",
            expected="in use",
        )
    keys = vm_dvpgs(inv) | {v.dv_portgroup_key for v in inv.vmkernel_adapters if v.dv_portgroup_key}
    for pg in vm_facing_dvpgs(inv):
        yield on_dvpg(
            "HC-10",
            "PASS" if pg.key in keys else "FAIL",
            inv,
            pg,
            actual="in use" if pg.key in keys else "no VM NIC, no vmk",
            expected="in use",
        )


@rule(
    "HC-11",
    "VM NICs connected and connected at power-on",
    "medium",
    "VmNic",
    "runtime.powerState, device.connectable.connected / startConnected",
    "powered-on VM with a disconnected NIC: medium; not connected at power-on: low",
    "operational hygiene (RVTools shows both columns)",
    "Connect the NIC and tick 'Connect at power on', or remove an unused NIC.",
)
def hc11(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for vm in inv.vms:
        if vm.template or vm.power_state != "poweredOn":
            continue
        for n in vm.nics:
            obj = f"{vm.name}/{n.label}"
            if not n.connected:
                yield finding(
                    "HC-11",
                    "FAIL",
                    "VmNic",
                    obj,
                    where=vm.host,
                    prop="device.connectable.connected",
                    actual=False,
                    expected=True,
                )
            elif not n.start_connected:
                f = finding(
                    "HC-11",
                    "FAIL",
                    "VmNic",
                    obj,
                    where=vm.host,
                    prop="device.connectable.startConnected",
                    actual=False,
                    expected=True,
                )
                yield f.model_copy(update={"severity": "low"})
            else:
                yield finding("HC-11", "PASS", "VmNic", obj, where=vm.host)


@rule(
    "HC-12",
    "PVLAN map consistency",
    "high",
    "PvlanEntry, DistributedPortGroup",
    "dvs.config.pvlanConfig[]; PvlanSpec.pvlanId; VLAN ids of other port groups",
    "promiscuous entry per primary; one isolated per primary; used ids exist; no PVLAN id "
    "also used as a plain VLAN",
    "vSphere Networking guide, Private VLANs",
    "Add the missing entries or repoint the port group.",
)
def hc12(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        entries = d.pvlans
        secondaries = {e.secondary_id for e in entries}
        promisc = {e.primary_id for e in entries if e.type == "promiscuous"}
        for e in entries:
            if e.type != "promiscuous" and e.primary_id not in promisc:
                yield _pv(d, f"{e.primary_id}/{e.secondary_id}", "no promiscuous primary entry")
        iso: dict[int, list[int]] = defaultdict(list)
        for e in entries:
            if e.type == "isolated":
                iso[e.primary_id].append(e.secondary_id)
        for p, s in iso.items():
            if len(s) > 1:
                yield _pv(d, str(p), f"{len(s)} isolated secondaries: {s}")
        plain = {
            pg.vlan.vlan_id
            for pg in inv.dv_portgroups_of(d.name)
            if pg.vlan.kind == "vlan" and pg.vlan.vlan_id is not None
        }
        for vid in sorted(plain & (secondaries | promisc)):
            yield _pv(d, str(vid), f"PVLAN id {vid} is also a plain VLAN on this switch")
        for pg in inv.dv_portgroups_of(d.name):
            if pg.vlan.kind == "pvlan":
                ok = pg.vlan.pvlan_id in secondaries
                yield on_dvpg(
                    "HC-12",
                    "PASS" if ok else "FAIL",
                    inv,
                    pg,
                    prop="defaultPortConfig.vlan.pvlanId",
                    actual=pg.vlan.pvlan_id,
                    expected="a secondary id of the PVLAN map",
                )


def _pv(d: DistributedSwitch, entry: str, why: str) -> Finding:
    return finding(
        "HC-12",
        "FAIL",
        "PvlanEntry",
        f"{d.name}/{entry}",
        object_id=d.moref,
        switch=d.name,
        prop="dvs.config.pvlanConfig",
        actual=why,
        expected="a consistent PVLAN map",
    )


@rule(
    "HC-13",
    "LACP / LAG configuration",
    "medium",
    "DistributedPortGroup",
    "uplinkTeamingPolicy.uplinkPortOrder; lacpGroupConfig",
    "a port group with a LAG active must have exactly that one active entry and no standby",
    "vSphere Networking guide, LACP",
    "One active LAG, standby empty, standalone uplinks unused.",
)
def hc13(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        lags = {g.name for g in d.lags}
        if not lags:
            continue
        for pg in inv.dv_portgroups_of(d.name):
            t = pg.setting.teaming
            active, standby = t.active_uplinks or [], t.standby_uplinks or []
            if not (set(active) | set(standby)) & lags:
                continue
            ok = len(active) == 1 and active[0] in lags and not standby
            yield on_dvpg(
                "HC-13",
                "PASS" if ok else "FAIL",
                inv,
                pg,
                prop="uplinkTeamingPolicy.uplinkPortOrder",
                actual=f"active {active}, standby {standby}",
                expected="one active LAG, no standby",
            )


@rule(
    "HC-14",
    "IP-hash teaming rules",
    "high",
    "StandardPortGroup",
    "computedPolicy.nicTeaming (loadbalance_ip)",
    "with IP hash: no standby uplinks and no beacon probing",
    "VMware KB 1004048",
    "All uplinks active, link-status failure detection, matching static port channel.",
)
def hc14(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in inv.standard_port_groups:
        t = pg.effective.teaming
        if t.policy != "loadbalance_ip":
            continue
        bad = bool(t.standby_uplinks) or bool(t.check_beacon)
        yield on_spg(
            "HC-14",
            "FAIL" if bad else "PASS",
            inv,
            pg,
            prop="computedPolicy.nicTeaming",
            actual=f"standby {t.standby_uplinks or []}, beacon {t.check_beacon}",
            expected="no standby, no beacon probing",
        )


@rule(
    "HC-15",
    "Beacon probing needs at least three uplinks",
    "medium",
    "StandardPortGroup",
    "computedPolicy.nicTeaming.failureCriteria.checkBeacon",
    "FAIL when beacon probing is on with fewer than 3 uplinks",
    "VMware KB 1005577",
    "Add uplinks or use link-status-only detection.",
)
def hc15(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in inv.standard_port_groups:
        if not pg.effective.teaming.check_beacon:
            continue
        n = len(_uplinks_of(inv, pg))
        yield on_spg(
            "HC-15",
            "FAIL" if n < 3 else "PASS",
            inv,
            pg,
            prop="failureCriteria.checkBeacon",
            actual=f"beacon probing with {n} uplinks",
            expected=">= 3 uplinks",
        )


rule(
    "HC-16",
    "Static DV port group ports nearly exhausted",
    "medium",
    "DistributedPortGroup",
    "numPorts, autoExpand, connected ports",
    "FAIL when used/numPorts >= port_usage_pct without autoExpand",
    "Broadcom KB 324492",
    "Elastic allocation or more ports.",
)(_not_collected("HC-16", "per-port connection state"))


@rule(
    "HC-17",
    "Ephemeral binding in use",
    "info",
    "DistributedPortGroup",
    "pg.config.type",
    "report each ephemeral port group (info)",
    "Broadcom KB 324492",
    "Use static binding except for the recovery port group.",
)
def hc17(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in vm_facing_dvpgs(inv):
        yield on_dvpg(
            "HC-17",
            "FAIL" if pg.binding == "ephemeral" else "PASS",
            inv,
            pg,
            prop="pg.config.type",
            actual=pg.binding,
            expected="earlyBinding",
        )


@rule(
    "HC-18",
    "Uplinks not all on one physical switch",
    "medium",
    "StandardSwitch",
    "QueryNetworkHint: CDP devId / LLDP chassisId per pNIC",
    "FAIL when >= 2 teamed uplinks all report the same physical switch; N/A without data",
    "VMware KB 1005577",
    "Spread team members over two physical switches.",
)
def hc18(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for sw in inv.standard_switches:
        h = inv.host_by_name.get(sw.host)
        if h is None or len(sw.uplinks) < 2:
            continue
        ids = {}
        for p in h.pnics:
            if p.device in sw.uplinks and p.neighbors:
                ids[p.device] = p.neighbors[0].switch_id
        if len(ids) < len(sw.uplinks):
            yield finding(
                "HC-18",
                "N/A",
                "StandardSwitch",
                f"{sw.host}/{sw.name}",
                where=sw.host,
                switch=sw.name,
                detail="no CDP/LLDP data for every uplink (collect with neighbours)",
            )
            continue
        one = len(set(ids.values())) == 1
        yield finding(
            "HC-18",
            "FAIL" if one else "PASS",
            "StandardSwitch",
            f"{sw.host}/{sw.name}",
            where=sw.host,
            switch=sw.name,
            prop="QueryNetworkHint",
            actual="; ".join(f"{k}: {v}" for k, v in sorted(ids.items())),
            expected="at least two physical switches",
            detail="verify if the switches are stacked" if one else "",
        )


@rule(
    "HC-19",
    "Same vmk MTU per service across the cluster",
    "low",
    "VmkernelAdapter",
    "vmk services, vnic.spec.mtu",
    "FAIL if one service has more than one MTU in a cluster",
    "vSphere Networking guide",
    "Set one MTU per service network.",
)
def hc19(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    by: dict[tuple[str, str], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for v in inv.vmkernel_adapters:
        h = inv.host_by_name.get(v.host)
        if not h or not h.cluster or v.mtu is None:
            continue
        for svc in v.services:
            if svc in ("vmotion", "vsan"):
                by[(h.cluster, svc)][v.mtu].append(f"{v.host}/{v.device}")
    for (cl, svc), mtus in sorted(by.items()):
        yield finding(
            "HC-19",
            "FAIL" if len(mtus) > 1 else "PASS",
            "Cluster",
            f"{cl}/{svc}",
            where=cl,
            prop="vnic.spec.mtu",
            actual="; ".join(f"{m}: {len(x)} vmk" for m, x in sorted(mtus.items())),
            expected="one MTU",
        )


RULES.sort(key=lambda r: (r.category != "SEC", int(r.id.split("-")[1])))


# -- the audit -----------------------------------------------------------------------------------
def _waiver(cfg: AuditConfig, f: Finding, today: date) -> tuple[str | None, str | None]:
    """(exception text, expired note) for a FAIL matched by an allow-list entry."""
    for entry in cfg.allow.get(f.rule_id, []):
        if not (fnmatch.fnmatchcase(f.object, entry.pattern) or f.object.endswith(entry.pattern)):
            continue
        if entry.expires is not None and entry.expires < today:
            return None, f"waiver {entry.pattern!r} expired on {entry.expires.isoformat()}"
        owner = f", owner {entry.owner}" if entry.owner else ""
        until = f", until {entry.expires.isoformat()}" if entry.expires else ""
        return f"{entry.pattern}: {entry.justification}{owner}{until}", None
    return None, None


def audit(
    inventory: Inventory, config: AuditConfig | None = None, today: date | None = None
) -> list[Finding]:
    """Every enabled rule over the snapshot, config applied; sorted by severity, rule, object."""
    cfg = config or AuditConfig()
    today = today or datetime.now(UTC).date()
    out: list[Finding] = []
    for r in RULES:
        over = cfg.rules.get(r.id)
        if over is not None and over.enabled is False:
            continue
        try:
            found: Iterable[Finding] = list(r.check(inventory, cfg))
        except Exception as exc:  # a rule bug must not hide the other rules' findings
            found = [
                finding(
                    r.id,
                    "UNKNOWN",
                    "Inventory",
                    inventory.vcenter or "vCenter",
                    detail=f"rule failed: {type(exc).__name__}: {exc}",
                )
            ]
        for raw in found:
            f = raw
            if any(
                p and fnmatch.fnmatchcase(f.object.rsplit("/", 1)[-1], p)
                for p in cfg.ignore_portgroups
            ) and f.object_type.endswith("PortGroup"):
                continue
            if over is not None and over.severity is not None:
                f = f.model_copy(update={"severity": over.severity})
            if f.state == "FAIL":
                exc_text, expired = _waiver(cfg, f, today)
                if exc_text:
                    f = f.model_copy(update={"state": "EXCEPTION", "exception": exc_text})
                elif expired:
                    f = f.model_copy(
                        update={"detail": (f.detail + "; " if f.detail else "") + expired}
                    )
            out.append(f)
    order = {s: i for i, s in enumerate(("critical", "high", "medium", "low", "info"))}
    out.sort(key=lambda f: (order[f.severity], f.rule_id, f.object))
    return out


def load_config(path: Path) -> AuditConfig:
    """The audit config (YAML). Errors name the file, line and column."""
    from pydantic import ValidationError
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    text = userfile.read_text(path, what="audit config")
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text) or {}
    except MarkedYAMLError as exc:
        m = exc.problem_mark
        where = f"{path}:{m.line + 1}:{m.column + 1}" if m else str(path)
        raise ConfigError(f"{where}: {exc.problem}") from exc
    try:
        return AuditConfig.model_validate(_plain(data))
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = [str(x) for x in e["loc"]]
        line = _line_of(data, e["loc"])
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: {'.'.join(loc)}: {e['msg']}") from exc


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _line_of(data: Any, loc: tuple[Any, ...]) -> str | None:
    """'line:col' of the deepest key of `loc` ruamel still knows."""
    node, found = data, None
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                pos = lc.key(key) if isinstance(key, str) else lc.item(key)
                found = f"{pos[0] + 1}:{pos[1] + 1}"
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return found
