"""Standard port groups on every targeted host: VLAN, policy overrides, delete.

A port group's own policy holds only its overrides (unset = inherited from the switch); the
desired state overrides exactly the fields it gives, and UpdatePortGroup changes them in place.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine import vmknic
from vnettool.engine.common import Context, field_diffs, host_gone, make_change
from vnettool.engine.vss import _set, apply_security, apply_shaping, apply_teaming
from vnettool.models.desired import PortGroupTeaming, StandardPortGroupSpec
from vnettool.models.inventory import Inventory, StandardPortGroup
from vnettool.models.plan import Change
from vnettool.models.policy import NetworkPolicy, TeamingPolicy
from vnettool.vsphere import hostnet
from vnettool.vsphere.connection import Session

RESOURCE = "standard_port_group"
# created after these resources (deleted before them): engine/registry.py orders by it
AFTER: tuple[str, ...] = ("standard_switch",)
FIELDS = ("switch", "vlan_id", "policy")


def _teaming(base: TeamingPolicy, t: PortGroupTeaming | None) -> TeamingPolicy:
    out = apply_teaming(base, t)
    if t is not None and (t.active is not None or t.standby is not None):
        standby = list(t.standby or [])
        active = (
            list(t.active)
            if t.active is not None
            else [u for u in base.active_uplinks or [] if u not in standby]
        )
        out = _set(out, active_uplinks=active, standby_uplinks=standby)
    return out


def target(
    before: StandardPortGroup | None, spec: StandardPortGroupSpec, host: str
) -> StandardPortGroup:
    base = before or StandardPortGroup(host=host, name=spec.name, switch=spec.switch)
    pol = base.policy
    return base.model_copy(
        update={
            "vlan_id": spec.vlan if spec.vlan is not None else base.vlan_id,
            "policy": NetworkPolicy(
                security=apply_security(pol.security, spec.security),
                shaping=apply_shaping(pol.shaping, spec.shaping),
                teaming=_teaming(pol.teaming, spec.teaming),
            ),
        }
    )


def _in_use(inv: Inventory, host: str, name: str, vmknics_going: set[str]) -> str | None:
    """Why deleting this port group would cut traffic (powered-on VMs, vmknics), or None."""
    vms = sorted(
        vm.name
        for vm in inv.vms
        if vm.host == host
        and vm.power_state == "poweredOn"
        and any(n.network == name and n.dvs_uuid is None for n in vm.nics)
    )
    reasons = []
    if vms:
        shown = ", ".join(vms[:5]) + (f" and {len(vms) - 5} more" if len(vms) > 5 else "")
        reasons.append(f"powered-on VMs are attached: {shown}")
    vmk = [
        v.device
        for v in inv.vmknics_of(host)
        if v.portgroup == name and v.device not in vmknics_going
    ]
    if vmk:
        reasons.append(f"VMkernel adapter {', '.join(vmk)} is on it (not listed in absent)")
    return "; ".join(reasons) or None


def plan(ctx: Context) -> list[Change]:
    inv, desired = ctx.inventory, ctx.desired
    existing = {(p.host, p.name): p for p in inv.standard_port_groups}
    switches = {(s.host, s.name): s for s in inv.standard_switches}
    desired_switches = {s.name: s for s in desired.standard_switches}
    absent = set(desired.absent.standard_port_groups)
    gone_switches = set(desired.absent.standard_switches)
    for spec in desired.standard_port_groups:
        if spec.name in absent:
            ctx.problems.append(f"standard port group {spec.name} is both desired and absent")
        if spec.switch in gone_switches:
            ctx.problems.append(
                f"standard port group {spec.name} is on {spec.switch}, which is listed as absent"
            )
    changes: list[Change] = []
    for host in ctx.hosts:
        for spec in desired.standard_port_groups:
            if spec.name in absent or spec.switch in gone_switches:
                continue
            before = existing.get((host.name, spec.name))
            sw = switches.get((host.name, spec.switch))
            if before is not None and before.switch != spec.switch:
                ctx.problems.append(
                    f"{host.name}: port group {spec.name} is on {before.switch}, not "
                    f"{spec.switch}; a port group cannot move between switches (create a new "
                    "one and list the old one under absent)"
                )
                continue
            if sw is None and spec.switch not in desired_switches:
                ctx.problems.append(
                    f"{host.name}: port group {spec.name}: no standard switch {spec.switch} "
                    "(neither on the host nor in standard_switches)"
                )
                continue
            after = target(before, spec, host.name)
            t = spec.teaming
            if t is not None and (t.active or t.standby):
                allowed = _switch_uplinks(sw, desired_switches.get(spec.switch))
                stray = [u for u in [*(t.active or []), *(t.standby or [])] if u not in allowed]
                if stray:
                    ctx.problems.append(
                        f"{host.name}: port group {spec.name}: {', '.join(stray)} not an uplink "
                        f"of {spec.switch} ({', '.join(sorted(allowed)) or 'no uplinks'})"
                    )
                    continue
            ch = make_change(
                RESOURCE, host, spec.name, before, after, field_diffs(before, after, FIELDS)
            )
            if ch is not None:
                changes.append(ch)
        for name in sorted(absent):
            before = existing.get((host.name, name))
            if before is None:
                continue
            going = vmknic.deleted_on(ctx).get(host.name, set())
            ch = make_change(
                RESOURCE, host, name, before, None, field_diffs(before, None, ("switch", "vlan_id"))
            )
            if ch is None:
                continue
            reason = _in_use(inv, host.name, name, going)
            if reason:
                ch = ch.model_copy(
                    update={"spec": {**ch.spec, "unsafe": f"deletes {name}: {reason}"}}
                )
            changes.append(ch)
    return changes


def _switch_uplinks(current: Any, spec: Any) -> set[str]:
    if spec is not None and (spec.uplinks is not None or spec.standby is not None):
        return {*(spec.uplinks or []), *(spec.standby or [])}
    return set(current.uplinks) if current is not None else set()


def depends(change: Change, same_host: list[Change]) -> list[str]:
    """Created/updated after its switch changes; deleted after its VMkernel adapters."""
    if change.kind == "delete":
        return [
            c.id
            for c in same_host
            if c.resource == "vmkernel_adapter"
            and c.kind == "delete"
            and (c.spec.get("before") or {}).get("portgroup") == change.name
        ]
    switch = (change.spec.get("after") or {}).get("switch")
    return [
        c.id
        for c in same_host
        if c.resource == "standard_switch" and c.kind != "delete" and c.name == switch
    ]


def apply(change: Change, session: Session, facts: dict[str, Any]) -> None:
    moref = change.spec["host_moref"]
    if change.kind == "delete":
        hostnet.remove_port_group(session, moref, change.host or "", change.name)
        return
    after = StandardPortGroup.model_validate(change.spec["after"])
    if change.kind == "create":
        hostnet.add_port_group(session, moref, after)
    else:
        hostnet.update_port_group(session, moref, after)


def restore(change: Change, facts: dict[str, Any], inv: Inventory) -> Change | None:
    host = inv.host_by_name.get(change.host or "")
    if host is None:
        return host_gone(change)
    current = next((p for p in inv.portgroups_of(host.name) if p.name == change.name), None)
    before = change.spec.get("before")
    want = StandardPortGroup.model_validate(before) if before else None
    if want is not None and current is not None:
        want = want.model_copy(update={"effective": current.effective})
    diffs = field_diffs(current, want, FIELDS, strict=True)
    return make_change(RESOURCE, host, change.name, current, want, diffs)
