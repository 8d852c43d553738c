"""Layer-2 security (SEC-01..07): promiscuous mode, MAC changes, forged transmits and MAC
learning must be rejected wherever a VM can reach them.

A standard port group inherits from its vSwitch unless it overrides; a DV port group inherits
from the switch's default port config. Each check judges the effective value and says where it
came from, so the remediation lands on the object that set it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vnettool.audit.model import AuditConfig, Check, Finding, Severity, State
from vnettool.audit.rules.base import (
    dvs_security,
    finding,
    on_dvpg,
    on_spg,
    rule,
    text,
    vm_facing_dvpgs,
)
from vnettool.models.inventory import Inventory

# field of SecurityPolicy -> (what the guides call it, the vim property)
_L2 = {
    "allow_promiscuous": ("promiscuous mode", "allowPromiscuous"),
    "mac_changes": ("MAC address changes", "macChanges"),
    "forged_transmits": ("forged transmits", "forgedTransmits"),
}
_SCG = "VMware vSphere Security Configuration Guide 8; DISA ESXi 7 STIG"


def _severity(field: str) -> Severity:
    return "medium" if field == "mac_changes" else "high"


def _vss_rule(rid: str, field: str) -> Callable[[Check], Check]:
    what, api = _L2[field]
    return rule(
        rid,
        f"vSS {what} Reject",
        _severity(field),
        "StandardSwitch, StandardPortGroup",
        f"vswitch.spec.policy.security.{api}; portgroup.computedPolicy.security.{api}",
        f"FAIL when {api} is True on a vSwitch or effective on a port group",
        _SCG,
        f"Set {what} to Reject on the vSwitch and remove port-group overrides; put VMs that "
        "need it on a dedicated, allow-listed port group.",
    )


def _vds_rule(rid: str, field: str) -> Callable[[Check], Check]:
    what, api = _L2[field]
    return rule(
        rid,
        f"vDS {what} Reject",
        _severity(field),
        "DistributedSwitch, DistributedPortGroup",
        f"defaultPortConfig.macManagementPolicy.{api} (else securityPolicy.{api})",
        f"FAIL when {api} is True at the switch default or on a non-uplink port group",
        _SCG,
        f"Set {what} to Reject on the DVS default and the port group.",
    )


def _vss_l2(inv: Inventory, rid: str, field: str) -> Iterator[Finding]:
    """The vSwitch's own value, then each port group's effective one (override or inherited)."""
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
        src = (
            "port-group override"
            if getattr(pg.policy.security, field) is not None
            else f"inherited from {pg.switch}"
        )
        yield on_spg(
            rid,
            "FAIL" if v else "PASS",
            inv,
            pg,
            prop=f"portgroup.computedPolicy.security.{api}",
            actual=f"{text(v)} ({src})" if v else v,
            expected=False,
        )


def _vds_l2(inv: Inventory, rid: str, field: str) -> Iterator[Finding]:
    """The switch default, then each VM-facing port group (its value, else the default)."""
    api = _L2[field][1]
    for d in inv.distributed_switches:
        on = getattr(d.default_port.security, field)
        yield finding(
            rid,
            "FAIL" if on else "PASS",
            "DistributedSwitch",
            d.name,
            object_id=d.moref,
            switch=d.name,
            prop=f"dvs.config.defaultPortConfig.securityPolicy.{api}",
            actual=on,
            expected=False,
        )
    for pg in vm_facing_dvpgs(inv):
        on = dvs_security(inv, pg, field)
        yield on_dvpg(
            rid,
            "FAIL" if on else "PASS",
            inv,
            pg,
            prop=f"pg.config.defaultPortConfig.macManagementPolicy.{api}",
            actual=on,
            expected=False,
        )


@_vss_rule("SEC-01", "allow_promiscuous")
def vss_promiscuous_rejected(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    return _vss_l2(inv, "SEC-01", "allow_promiscuous")


@_vss_rule("SEC-02", "mac_changes")
def vss_mac_changes_rejected(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    return _vss_l2(inv, "SEC-02", "mac_changes")


@_vss_rule("SEC-03", "forged_transmits")
def vss_forged_transmits_rejected(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    return _vss_l2(inv, "SEC-03", "forged_transmits")


@_vds_rule("SEC-04", "allow_promiscuous")
def vds_promiscuous_rejected(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    return _vds_l2(inv, "SEC-04", "allow_promiscuous")


@_vds_rule("SEC-05", "mac_changes")
def vds_mac_changes_rejected(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    return _vds_l2(inv, "SEC-05", "mac_changes")


@_vds_rule("SEC-06", "forged_transmits")
def vds_forged_transmits_rejected(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    return _vds_l2(inv, "SEC-06", "forged_transmits")


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
def dvpg_mac_learning_off(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
