"""Standard switches (vSS): create, MTU, uplinks, security, shaping, teaming, delete.

An existing switch is changed with UpdateVirtualSwitch carrying its whole new state (the read
state with the desired fields laid over it), never removed and re-added.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import Context, field_diffs, host_gone, make_change
from vnettool.models.desired import DvTeaming, Security, Shaping, StandardSwitchSpec, Teaming
from vnettool.models.inventory import Host, Inventory, StandardSwitch
from vnettool.models.plan import Change
from vnettool.models.policy import NetworkPolicy, SecurityPolicy, ShapingPolicy, TeamingPolicy
from vnettool.vsphere import hostnet
from vnettool.vsphere.connection import Session

RESOURCE = "standard_switch"
# created after these resources (deleted before them): engine/registry.py orders by it
AFTER: tuple[str, ...] = ()
FIELDS = ("mtu", "uplinks", "policy")


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


def plan(ctx: Context) -> list[Change]:
    inv, desired = ctx.inventory, ctx.desired
    existing = {(s.host, s.name): s for s in inv.standard_switches}
    absent = set(desired.absent.standard_switches)
    for spec in desired.standard_switches:
        if spec.name in absent:
            ctx.problems.append(f"standard switch {spec.name} is both desired and absent")
    changes: list[Change] = []
    for host in ctx.hosts:
        pnics = {p.device for p in host.pnics}
        specs = [s for s in desired.standard_switches if s.name not in absent]
        afters = {s.name: target(existing.get((host.name, s.name)), s, host.name) for s in specs}
        used = _used_pnics(inv, host, afters)
        for spec in specs:
            before = existing.get((host.name, spec.name))
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
            diffs = field_diffs(before_n, after, FIELDS)
            unsafe = None
            if before and before.uplinks and not after.uplinks:
                mgmt = _management_vmknics(inv, host.name, spec.name)
                if mgmt:
                    unsafe = (
                        f"removes the last uplink of {spec.name}, which carries the management "
                        f"vmknic {', '.join(mgmt)}: the host would lose its management network"
                    )
            ch = make_change(RESOURCE, host, spec.name, before_n, after, diffs)
            if ch is not None:
                changes.append(_with_unsafe(ch, unsafe))
        for name in sorted(absent):
            before = existing.get((host.name, name))
            if before is None:
                continue
            mgmt = _management_vmknics(inv, host.name, name)
            unsafe = (
                f"deletes {name}, which carries the management vmknic {', '.join(mgmt)}"
                if mgmt
                else None
            )
            ch = make_change(RESOURCE, host, name, before, None, field_diffs(before, None, FIELDS))
            if ch is not None:
                changes.append(_with_unsafe(ch, unsafe))
    return changes


def _with_unsafe(ch: Change, reason: str | None) -> Change:
    if reason is None:
        return ch
    return ch.model_copy(update={"spec": {**ch.spec, "unsafe": reason}})


def depends(change: Change, same_host: list[Change]) -> list[str]:
    """A switch is deleted after its port groups; it claims a pNIC after the giver releases it."""
    if change.kind != "delete":
        mine = set((change.spec.get("after") or {}).get("uplinks") or [])
        mine -= set((change.spec.get("before") or {}).get("uplinks") or [])
        return [
            c.id
            for c in same_host
            if c.resource == RESOURCE
            and c is not change
            and c.name != change.name
            and mine & set((c.spec.get("before") or {}).get("uplinks") or [])
        ]
    return [
        c.id
        for c in same_host
        if c.resource == "standard_port_group"
        and c.kind == "delete"
        and (c.spec.get("before") or {}).get("switch") == change.name
    ]


def apply(change: Change, session: Session, facts: dict[str, Any]) -> None:
    moref = change.spec["host_moref"]
    if change.kind == "delete":
        hostnet.remove_virtual_switch(session, moref, change.host or "", change.name)
        return
    after = StandardSwitch.model_validate(change.spec["after"])
    if change.kind == "create":
        hostnet.add_virtual_switch(session, moref, after)
    else:
        hostnet.update_virtual_switch(session, moref, after)


def restore(change: Change, facts: dict[str, Any], inv: Inventory) -> Change | None:
    """The change that puts this switch back to its recorded before-state."""
    before = change.spec.get("before")
    host = inv.host_by_name.get(change.host or "")
    if host is None:
        return host_gone(change)
    current = next((s for s in inv.switches_of(host.name) if s.name == change.name), None)
    want = StandardSwitch.model_validate(before) if before else None
    cur = normalized(current) if current else None
    if want is not None and cur is not None:
        # Keep what the server filled in that the before-reading did not carry.
        want = want.model_copy(update={"num_ports": want.num_ports or cur.num_ports})
    diffs = field_diffs(cur, want, FIELDS, strict=True)
    return make_change(RESOURCE, host, change.name, cur, want, diffs)
