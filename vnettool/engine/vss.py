"""Standard switches (vSS): create, MTU, uplinks, security, shaping, teaming, delete.

An existing switch is changed with UpdateVirtualSwitch carrying its whole new state (the read
state with the desired fields laid over it), never removed and re-added.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import Context, on_host
from vnettool.engine.resource import Resource
from vnettool.impact.simulate import after_state, recompute_effective, replace
from vnettool.models.desired import (
    DvTeaming,
    PortGroupTeaming,
    Security,
    Shaping,
    StandardSwitchSpec,
    Teaming,
)
from vnettool.models.inventory import Host, Inventory, StandardSwitch
from vnettool.models.plan import Change
from vnettool.models.policy import NetworkPolicy, SecurityPolicy, ShapingPolicy, TeamingPolicy
from vnettool.vsphere import hostnet
from vnettool.vsphere.connection import Session

RESOURCE = "standard_switch"


def _set(model: Any, **values: Any) -> Any:
    """Copy with the given non-None values (a None in the desired state means 'leave alone')."""
    return model.model_copy(update={k: v for k, v in values.items() if v is not None})


def apply_security(base: SecurityPolicy, s: Security | None) -> SecurityPolicy:
    if s is None:
        return base
    out: SecurityPolicy = _set(
        base,
        allow_promiscuous=s.promiscuous,
        mac_changes=s.mac_changes,
        forged_transmits=s.forged_transmits,
    )
    return out


def apply_shaping(base: ShapingPolicy, s: Shaping | None) -> ShapingPolicy:
    if s is None:
        return base
    rates = (s.average_kbps, s.peak_kbps, s.burst_kb)
    enabled = s.enabled if s.enabled is not None else (True if any(rates) else None)
    out: ShapingPolicy = _set(
        base,
        enabled=enabled,
        average_bps=s.average_kbps * 1000 if s.average_kbps else None,
        peak_bps=s.peak_kbps * 1000 if s.peak_kbps else None,
        burst_bytes=s.burst_kb * 1024 if s.burst_kb else None,
    )
    return out


def apply_teaming(base: TeamingPolicy, t: Teaming | DvTeaming | None) -> TeamingPolicy:
    if t is None:
        return base
    out: TeamingPolicy = _set(
        base,
        policy=t.policy,
        notify_switches=t.notify_switches,
        failback=t.failback,
        check_beacon=t.beacon_probing,
    )
    return out


def apply_uplink_order(
    base: TeamingPolicy, t: PortGroupTeaming | DvTeaming | None
) -> TeamingPolicy:
    """`apply_teaming` plus a port group's own uplink order: `active` and `standby` given
    alone keep the other list consistent (standby only: the switch's active uplinks that
    are not standby now). Shared by vSS port groups and DV port groups."""
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


def normalized(sw: StandardSwitch) -> StandardSwitch:
    """Bridge uplinks have no order; sort them so that a reading compares equal to a plan."""
    return sw.model_copy(update={"uplinks": sorted(sw.uplinks)})


def target(before: StandardSwitch | None, spec: StandardSwitchSpec, host: str) -> StandardSwitch:
    """The switch as it must be: the read state with every given desired field laid over it."""
    base = normalized(before) if before else StandardSwitch(host=host, name=spec.name)
    pol = base.policy
    teaming = apply_teaming(pol.teaming, spec.teaming)
    uplinks = base.uplinks
    if spec.uplinks is not None or spec.standby is not None:
        standby = list(spec.standby or [])
        if spec.uplinks is not None:
            active = list(spec.uplinks)
        else:
            current = pol.teaming.active_uplinks or base.uplinks
            active = [u for u in current if u not in standby]
        uplinks = sorted({*active, *standby})
        teaming = teaming.model_copy(update={"active_uplinks": active, "standby_uplinks": standby})
    policy = NetworkPolicy(
        security=apply_security(pol.security, spec.security),
        shaping=apply_shaping(pol.shaping, spec.shaping),
        teaming=teaming,
    )
    return base.model_copy(
        update={
            "mtu": spec.mtu if spec.mtu is not None else base.mtu,
            "uplinks": uplinks,
            "policy": policy,
        }
    )


def _used_pnics(inv: Inventory, host: Host, afters: dict[str, StandardSwitch]) -> dict[str, str]:
    """pNIC -> the switch (standard or distributed) that will use it on this host.

    A desired switch counts with its new uplinks, so one document can hand a pNIC from one
    switch to another (the giving switch is updated first: see `depends`).
    """
    used: dict[str, str] = {}
    for sw in inv.switches_of(host.name):
        if sw.name not in afters:
            used.update({p: sw.name for p in sw.uplinks})
    for name, after in afters.items():
        used.update({p: name for p in after.uplinks if p not in used})
    for dvs in inv.distributed_switches:
        for m in dvs.hosts:
            if m.host == host.name:
                used.update({p: f"{dvs.name} (distributed)" for p in m.pnics})
    return used


def _management_vmknics(inv: Inventory, host: str, switch: str) -> list[str]:
    pgs = {p.name for p in inv.portgroups_of(host) if p.switch == switch}
    return [
        v.device for v in inv.vmknics_of(host) if v.portgroup in pgs and "management" in v.services
    ]


class StandardSwitches(Resource[StandardSwitch]):
    """One change per (host, switch): the whole new state sent with UpdateVirtualSwitch."""

    name = RESOURCE
    model = StandardSwitch
    fields = ("mtu", "uplinks", "policy")

    def plan(self, ctx: Context) -> list[Change]:
        desired = ctx.desired
        absent = set(desired.absent.standard_switches)
        for spec in desired.standard_switches:
            if spec.name in absent:
                ctx.problems.append(f"standard switch {spec.name} is both desired and absent")
        changes: list[Change] = []
        for host in ctx.hosts:
            changes += self._plan_host(ctx, host, absent)
        return changes

    def _plan_host(self, ctx: Context, host: Host, absent: set[str]) -> list[Change]:
        inv, desired = ctx.inventory, ctx.desired
        existing = {s.name: s for s in inv.switches_of(host.name)}
        changes: list[Change] = []
        pnics = {p.device for p in host.pnics}
        specs = [
            s for s in desired.standard_switches if s.name not in absent and on_host(s, host.name)
        ]
        afters = {s.name: target(existing.get(s.name), s, host.name) for s in specs}
        used = _used_pnics(inv, host, afters)
        for spec in specs:
            before = existing.get(spec.name)
            after = afters[spec.name]
            wanted = [*(spec.uplinks or []), *(spec.standby or [])]
            unknown = [p for p in wanted if p not in pnics]
            if unknown:
                ctx.problems.append(
                    f"{host.name}: standard switch {spec.name}: no pNIC {', '.join(unknown)} "
                    f"(host has {', '.join(sorted(pnics)) or 'none'})"
                )
                continue
            taken = [f"{p} (on {used[p]})" for p in wanted if used.get(p, spec.name) != spec.name]
            if taken:
                ctx.problems.append(
                    f"{host.name}: standard switch {spec.name}: pNIC already in use: "
                    + ", ".join(taken)
                )
                continue
            before_n = normalized(before) if before else None
            unsafe = None
            if before and before.uplinks and not after.uplinks:
                mgmt = _management_vmknics(inv, host.name, spec.name)
                if mgmt:
                    unsafe = (
                        f"removes the last uplink of {spec.name}, which carries the management "
                        f"vmknic {', '.join(mgmt)}: the host would lose its management network"
                    )
            ch = self.change(host, spec.name, before_n, after, self.diff(before_n, after))
            if ch is not None:
                changes.append(ch.model_copy(update={"unsafe": unsafe}))
        for name in sorted(absent):
            gone = existing.get(name)
            if gone is None:
                continue
            mgmt = _management_vmknics(inv, host.name, name)
            unsafe = (
                f"deletes {name}, which carries the management vmknic {', '.join(mgmt)}"
                if mgmt
                else None
            )
            ch = self.change(host, name, gone, None, self.diff(gone, None))
            if ch is not None:
                changes.append(ch.model_copy(update={"unsafe": unsafe}))
        return changes

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """Deleted after its port groups; claims a pNIC after the giver releases it."""
        if change.kind != "delete":
            mine = set(_uplinks(self.new(change))) - set(_uplinks(self.old(change)))
            return [
                c.id
                for c in same_host
                if c.resource == RESOURCE
                and c is not change
                and c.name != change.name
                and mine & set(_uplinks(self.old(c)))
            ]
        return [
            c.id
            for c in same_host
            if c.resource == "standard_port_group"
            and c.kind == "delete"
            and c.switch == change.name
        ]

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        hostnet.add_virtual_switch(session, change.host_moref or "", self.new(change))

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        hostnet.update_virtual_switch(session, change.host_moref or "", self.new(change))

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        hostnet.remove_virtual_switch(
            session, change.host_moref or "", change.host or "", change.name
        )

    def current(self, change: Change, inv: Inventory) -> StandardSwitch | None:
        now = next((s for s in inv.switches_of(change.host or "") if s.name == change.name), None)
        return normalized(now) if now else None

    def keep(self, current: StandardSwitch, want: StandardSwitch) -> StandardSwitch:
        return want.model_copy(update={"num_ports": want.num_ports or current.num_ports})

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """The switch replaced; its port groups' effective policies follow."""
        new = after_state(change, StandardSwitch)
        items = replace(
            inv.standard_switches, lambda s: (s.host, s.name) == (change.host, change.name), new
        )
        updated = inv.model_copy(update={"standard_switches": items})
        return recompute_effective(updated, change.host or "", change.name)


def _uplinks(state: StandardSwitch | None) -> list[str]:
    return list(state.uplinks) if state else []


resource = StandardSwitches()
