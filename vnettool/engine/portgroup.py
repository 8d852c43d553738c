"""Standard port groups on every targeted host: VLAN, policy overrides, delete.

A port group's own policy holds only its overrides (unset = inherited from the switch); the
desired state overrides exactly the fields it gives, and UpdatePortGroup changes them in place.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine import vmknic
from vnettool.engine.common import Context, field_diffs, guess, on_host
from vnettool.engine.resource import Resource
from vnettool.engine.vss import apply_security, apply_shaping, apply_uplink_order
from vnettool.impact.simulate import after_state, replace
from vnettool.models.desired import StandardPortGroupSpec
from vnettool.models.inventory import Host, Inventory, StandardPortGroup
from vnettool.models.plan import Change
from vnettool.models.policy import NetworkPolicy, merge_policy
from vnettool.vsphere import hostnet
from vnettool.vsphere.connection import Session

RESOURCE = "standard_port_group"


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
                teaming=apply_uplink_order(pol.teaming, spec.teaming),
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


def _switch_uplinks(current: Any, spec: Any) -> set[str]:
    if spec is not None and (spec.uplinks is not None or spec.standby is not None):
        return {*(spec.uplinks or []), *(spec.standby or [])}
    return set(current.uplinks) if current is not None else set()


class StandardPortGroups(Resource[StandardPortGroup]):
    """One change per (host, port group); UpdatePortGroup changes it in place."""

    name = RESOURCE
    reach_by_name = True
    model = StandardPortGroup
    fields = ("switch", "vlan_id", "policy")
    after = ("standard_switch",)

    def plan(self, ctx: Context) -> list[Change]:
        desired = ctx.desired
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
                if not on_host(spec, host.name):
                    continue
                ch = self._plan_one(ctx, host, spec)
                if ch is not None:
                    changes.append(ch)
            changes += self._plan_deletes(ctx, host, absent)
        return changes

    def _plan_one(self, ctx: Context, host: Host, spec: StandardPortGroupSpec) -> Change | None:
        inv, desired = ctx.inventory, ctx.desired
        desired_switches = {s.name: s for s in desired.standard_switches if on_host(s, host.name)}
        before = next((p for p in inv.portgroups_of(host.name) if p.name == spec.name), None)
        sw = next((s for s in inv.switches_of(host.name) if s.name == spec.switch), None)
        if before is not None and before.switch != spec.switch:
            ctx.problems.append(
                f"{host.name}: port group {spec.name} is on {before.switch}, not "
                f"{spec.switch}; a port group cannot move between switches (create a new "
                "one and list the old one under absent)"
            )
            return None
        if sw is None and spec.switch not in desired_switches:
            known = [s.name for s in inv.switches_of(host.name)] + list(desired_switches)
            ctx.problems.append(
                f"{host.name}: port group {spec.name}: no standard switch {spec.switch} "
                "(neither on the host nor in standard_switches)" + guess(spec.switch, known)
            )
            return None
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
                return None
        return self.change(host, spec.name, before, after, self.diff(before, after))

    def _plan_deletes(self, ctx: Context, host: Host, absent: set[str]) -> list[Change]:
        out: list[Change] = []
        for name in sorted(absent):
            before = next(
                (p for p in ctx.inventory.portgroups_of(host.name) if p.name == name), None
            )
            if before is None:
                continue
            going = vmknic.deleted_on(ctx).get(host.name, set())
            d = field_diffs(before, None, ("switch", "vlan_id"))
            ch = self.change(host, name, before, None, d)
            if ch is None:
                continue
            reason = _in_use(ctx.inventory, host.name, name, going)
            if reason:
                ch = ch.model_copy(update={"unsafe": f"deletes {name}: {reason}"})
            out.append(ch)
        return out

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """Created/updated after its switch changes; deleted after its VMkernel adapters."""
        if change.kind == "delete":
            return [
                c.id
                for c in same_host
                if c.resource == "vmkernel_adapter"
                and c.kind == "delete"
                and getattr(c.before, "portgroup", None) == change.name
            ]
        return [
            c.id
            for c in same_host
            if c.resource == "standard_switch" and c.kind != "delete" and c.name == change.switch
        ]

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        hostnet.add_port_group(session, change.host_moref or "", self.new(change))

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        hostnet.update_port_group(session, change.host_moref or "", self.new(change))

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        hostnet.remove_port_group(session, change.host_moref or "", change.host or "", change.name)

    def current(self, change: Change, inv: Inventory) -> StandardPortGroup | None:
        return next(
            (p for p in inv.portgroups_of(change.host or "") if p.name == change.name), None
        )

    def keep(self, current: StandardPortGroup, want: StandardPortGroup) -> StandardPortGroup:
        return want.model_copy(update={"effective": current.effective})

    def tags(self, state: StandardPortGroup) -> dict[str, Any]:
        return {"switch": state.switch}

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """The port group replaced, its effective policy its switch's with its overrides."""
        new = after_state(change, StandardPortGroup)
        if new is not None:
            sw = next(
                (s for s in inv.standard_switches if (s.host, s.name) == (change.host, new.switch)),
                None,
            )
            if sw is not None:
                new = new.model_copy(update={"effective": merge_policy(sw.policy, new.policy)})
        items = replace(
            inv.standard_port_groups, lambda p: (p.host, p.name) == (change.host, change.name), new
        )
        return inv.model_copy(update={"standard_port_groups": items})


resource = StandardPortGroups()
