"""VM settings the STIG's VM controls read (SEC-28, 29): dvFilter hooks on the VM's NICs and
vMotion encryption.

Both come from the inventory's VM pass (`config.extraConfig`, of which the reader keeps the
`ethernetN.filterM.*` keys, and `config.migrateEncryption`). A dvFilter is a hook a security
product puts on a VM's NIC; an unknown one can inspect or change the VM's traffic, so only
the filters the site names in `dvfilter_names` pass. vMotion copies a VM's memory over the
network: "disabled" sends it in clear text.
"""

from __future__ import annotations

from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding, State
from vnettool.audit.rules.base import finding, rule
from vnettool.models.inventory import Inventory, VirtualMachine

ENCRYPTED_VMOTION = ("opportunistic", "required")


def _path(vm: VirtualMachine) -> str:
    return "/".join(p for p in (vm.cluster, vm.name) if p)


@rule(
    "SEC-28",
    "VM dvFilter hooks only when authorised",
    "medium",
    "VirtualMachine",
    "VirtualMachine.config.extraConfig ethernet*.filter*.name; config dvfilter_names",
    "FAIL for a VM with an ethernet*.filter*.name setting whose filter is not in dvfilter_names",
    "DISA STIG vSphere 8 VM VMCH-80-000200; SCG 8 vm-8.dvfilter",
    "Remove the VM's ethernet*.filter*.* advanced settings (vnettool: vm_settings: "
    "[{vm: NAME, dvfilters: absent}]), or list the security product's filter in the audit "
    "config's dvfilter_names.",
)
def vm_dvfilters_authorised(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    allowed = set(cfg.dvfilter_names)
    for vm in inv.vms:
        names = {k: v for k, v in vm.dvfilters.items() if k.endswith(".name")}
        bad = sorted(f"{k}={v}" for k, v in names.items() if v not in allowed)
        yield finding(
            "SEC-28",
            "FAIL" if bad else "PASS",
            "VirtualMachine",
            _path(vm),
            object_id=vm.moref,
            where=vm.host,
            prop="config.extraConfig ethernet*.filter*.name",
            actual=", ".join(bad) if bad else "none",
            expected="none" + (f" or one of {', '.join(sorted(allowed))}" if allowed else ""),
        )


@rule(
    "SEC-29",
    "vMotion encryption not disabled",
    "medium",
    "VirtualMachine",
    "VirtualMachine.config.migrateEncryption",
    "FAIL when migrateEncryption is disabled (opportunistic and required pass)",
    "DISA STIG vSphere 8 VM VMCH-80-000203; SCG 8 vm-8.vmotion-encrypted",
    "Set encrypted vMotion to opportunistic or required (vnettool: vm_settings: "
    "[{vm: NAME, migrate_encryption: opportunistic}]).",
)
def vmotion_encrypted(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for vm in inv.vms:
        v = vm.migrate_encryption
        state: State = "UNKNOWN" if v is None else "PASS" if v in ENCRYPTED_VMOTION else "FAIL"
        yield finding(
            "SEC-29",
            state,
            "VirtualMachine",
            _path(vm),
            object_id=vm.moref,
            where=vm.host,
            prop="config.migrateEncryption",
            actual=v,
            expected=" or ".join(ENCRYPTED_VMOTION),
            detail="not read (an API older than 6.7, or no permission)" if v is None else "",
        )
