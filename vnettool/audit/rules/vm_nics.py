"""VM NICs (SEC-24, HC-11): no VM on a port group that carries a VMkernel adapter, and NICs of
powered-on VMs connected (and connected at power-on).
"""

from __future__ import annotations

from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.rules.base import finding, rule, vmk_portgroups
from vnettool.models.inventory import Inventory


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
def no_vm_on_infra_portgroup(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
    "HC-11",
    "VM NICs connected and connected at power-on",
    "medium",
    "VmNic",
    "runtime.powerState, device.connectable.connected / startConnected",
    "powered-on VM with a disconnected NIC: medium; not connected at power-on: low",
    "operational hygiene (RVTools shows both columns)",
    "Connect the NIC and tick 'Connect at power on', or remove an unused NIC.",
)
def vm_nic_connected(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
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
