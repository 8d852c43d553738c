"""Distributed-switch settings (SEC-13, 17, 25, 26; HC-04, 17): port-level overrides, link
discovery, NIOC, elastic ports, member status and ephemeral binding.

These read the switch and port-group configuration only; teaming (LAGs included) is in
teaming.py, the PVLAN map in pvlan.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding, State
from vnettool.audit.rules.base import finding, on_dvpg, rule, vm_facing_dvpgs
from vnettool.models.inventory import Inventory

# policy flags that are not permissions to override: blocking is the SCG baseline, and
# reset-at-disconnect is what SEC-14 wants on
_NOT_OVERRIDES = ("blockOverrideAllowed", "portConfigResetAtDisconnect")


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
def dvpg_port_overrides_off(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in vm_facing_dvpgs(inv):
        on = sorted(k for k, v in pg.override_allowed.items() if v and k not in _NOT_OVERRIDES)
        yield on_dvpg(
            "SEC-13",
            "FAIL" if on else "PASS",
            inv,
            pg,
            prop="pg.config.policy",
            actual=on or "none",
            expected="none",
        )


@rule(
    "SEC-14",
    "Reset port configuration at disconnect",
    "medium",
    "DistributedPortGroup",
    "pg.config.policy.portConfigResetAtDisconnect",
    "FAIL if not True on a non-uplink port group",
    "SCG 8 vcenter-8.network-reset-port",
    "Enable reset at disconnect (vnettool: overrides: {reset_at_disconnect: true}).",
)
def dvpg_reset_at_disconnect(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in vm_facing_dvpgs(inv):
        v = pg.override_allowed.get("portConfigResetAtDisconnect")
        state: State = "UNKNOWN" if v is None else "PASS" if v else "FAIL"
        yield on_dvpg(
            "SEC-14",
            state,
            inv,
            pg,
            prop="pg.config.policy.portConfigResetAtDisconnect",
            actual=v,
            expected=True,
        )


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
def ldp_not_advertising(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
def nioc_on_mixed_switch(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
def static_dvpg_auto_expands(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
def proxy_switch_up(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
def ephemeral_binding_reported(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
