"""VM hardening settings (`vm_settings`): encrypted vMotion and the dvFilter hooks on a VM's
NICs (STIG VMCH-80-000203 / VMCH-80-000200), by VM name glob on the targeted hosts.

Settings always exist on a VM, so there is no create or delete. `dvfilters` is exact: the
`ethernet*.filter*.*` entries not listed are removed (an extraConfig value set to empty, which
vCenter drops); a rollback puts the entries and the mode read before back.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import Context, field_diffs, matches
from vnettool.engine.resource import Resource
from vnettool.models.inventory import Inventory, VirtualMachine, VmSettings
from vnettool.models.plan import Change, FieldDiff
from vnettool.vsphere import vm as vm_api
from vnettool.vsphere.connection import Session

RESOURCE = "vm_settings"


def _whole(dump: dict[str, Any]) -> dict[str, Any]:
    """`dvfilters` compared as one value (`["ethernet0.filter0.name=x", ...]`): it is owned
    whole, so a key missing after is a removal, not a key left alone."""
    if isinstance(dump.get("dvfilters"), dict):
        dump["dvfilters"] = [f"{k}={v}" for k, v in sorted(dump["dvfilters"].items())]
    return dump


def _state(vm: VirtualMachine) -> VmSettings:
    return VmSettings(vm=vm.name, migrate_encryption=vm.migrate_encryption, dvfilters=vm.dvfilters)


class VmHardening(Resource[VmSettings]):
    """One change per VM: its mode and dvFilter entries, before (as read) and after."""

    name = RESOURCE
    model = VmSettings
    fields = ("migrate_encryption", "dvfilters")

    def plan(self, ctx: Context) -> list[Change]:
        targeted = {h.name: h for h in ctx.hosts}
        changes: list[Change] = []
        for spec in ctx.desired.vm_settings:
            vms = [
                v
                for v in ctx.inventory.vms
                if matches(v.name, spec.vm) and v.host in targeted and not v.template
            ]
            if not vms:
                ctx.problems.append(f"vm_settings: no VM matches {spec.vm!r} on the targeted hosts")
                continue
            for vm in sorted(vms, key=lambda v: v.name):
                if spec.migrate_encryption is not None and vm.migrate_encryption is None:
                    ctx.problems.append(
                        f"{vm.name}: vm_settings: migrate_encryption was not read from vCenter "
                        "(an API older than 6.7, or no permission)"
                    )
                    continue
                before = _state(vm)
                after = before.model_copy(
                    update={
                        k: v
                        for k, v in (
                            ("migrate_encryption", spec.migrate_encryption),
                            ("dvfilters", spec.dvfilters),
                        )
                        if v is not None
                    }
                )
                host = targeted[vm.host or ""]
                ch = self.change(
                    host, vm.name, before, after, self.diff(before, after), vm_moref=vm.moref
                )
                if ch is not None:
                    changes.append(ch)
        return changes

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        new, old = self.new(change), self.old(change)
        had = old.dvfilters if old else {}
        extra = {k: "" for k in had if k not in new.dvfilters}
        extra |= {k: v for k, v in new.dvfilters.items() if had.get(k) != v}
        mode = new.migrate_encryption
        if old is not None and old.migrate_encryption == mode:
            mode = None
        vm_api.reconfigure_vm_settings(session, change.vm_moref or "", new.vm, mode, extra)

    def diff(
        self, before: VmSettings | None, after: VmSettings | None, *, strict: bool = False
    ) -> list[FieldDiff]:
        return field_diffs(before, after, self.fields, strict=strict, prepare=_whole)

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        """The default restore, still addressed to the VM (by moref, as it may be renamed)."""
        back = super().restore(change, inv)
        return back.model_copy(update={"vm_moref": change.vm_moref}) if back else None

    def current(self, change: Change, inv: Inventory) -> VmSettings | None:
        vm = next((v for v in inv.vms if v.moref == change.vm_moref), None)
        return _state(vm) if vm is not None else None


resource = VmHardening()
