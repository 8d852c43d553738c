"""The `assert` step: conditions over the inventory, one failure line per host that breaks one.

A pure read of the snapshot the runner holds, so it runs the same under `--check`. Each
condition kind has its own check below; `Condition` guarantees exactly one is set.
"""

from __future__ import annotations

from typing import Any

from vnettool.models.inventory import Host, Inventory, VmkernelAdapter
from vnettool.playbook.scope import step_hosts
from vnettool.playbook.step import StepContext, StepOutcome, register
from vnettool.playbook.steps import (
    AssertBody,
    Condition,
    DvPortGroupCondition,
    HostCountCondition,
    PortGroupCondition,
    PvlanCondition,
    Step,
    SwitchCondition,
    VmknicCondition,
)


def _portgroup(inv: Inventory, hosts: list[Host], c: PortGroupCondition) -> list[str]:
    fails: list[str] = []
    for h in hosts:
        by_name = {p.name: p for p in inv.portgroups_of(h.name)}
        pg = by_name.get(c.name)
        if pg is None:
            fails.append(f"{h.name}: no port group {c.name!r}")
        elif c.vlan is not None and pg.vlan_id != c.vlan:
            fails.append(f"{h.name}: {c.name!r} is on VLAN {pg.vlan_id}, expected {c.vlan}")
        elif c.switch is not None and pg.switch != c.switch:
            fails.append(f"{h.name}: {c.name!r} is on {pg.switch}, expected {c.switch}")
    return fails


def _switch(inv: Inventory, hosts: list[Host], s: SwitchCondition) -> list[str]:
    fails: list[str] = []
    for h in hosts:
        sw = next((x for x in inv.switches_of(h.name) if x.name == s.name), None)
        if sw is None:
            fails.append(f"{h.name}: no standard switch {s.name!r}")
        elif s.mtu is not None and sw.mtu != s.mtu:
            fails.append(f"{h.name}: {s.name} has MTU {sw.mtu}, expected {s.mtu}")
        elif s.min_uplinks is not None and len(sw.uplinks) < s.min_uplinks:
            fails.append(
                f"{h.name}: {s.name} has {len(sw.uplinks)} uplinks, expected ≥ {s.min_uplinks}"
            )
    return fails


def _matching_vmknics(inv: Inventory, host: str, v: VmknicCondition) -> list[VmkernelAdapter]:
    """The host's vmknics with the service and on the port group (standard or DV) asked for."""
    found = []
    for nic in inv.vmknics_of(host):
        pg_name = nic.portgroup
        if pg_name is None and nic.dv_portgroup_key:
            dvpg = inv.dvpg_by_key.get(nic.dv_portgroup_key)
            pg_name = dvpg.name if dvpg else None
        if v.service is not None and v.service not in nic.services:
            continue
        if v.portgroup is not None and pg_name != v.portgroup:
            continue
        found.append(nic)
    return found


def _vmknic(inv: Inventory, hosts: list[Host], v: VmknicCondition) -> list[str]:
    fails: list[str] = []
    what = " ".join(
        x
        for x in (v.service and f"service {v.service}", v.portgroup and f"on {v.portgroup!r}")
        if x
    )
    for h in hosts:
        found = _matching_vmknics(inv, h.name, v)
        if not found:
            fails.append(f"{h.name}: no VMkernel adapter with {what}")
        elif v.mtu is not None and not any(n.mtu == v.mtu for n in found):
            mtus = ", ".join(f"{n.device}={n.mtu}" for n in found)
            fails.append(f"{h.name}: VMkernel adapter with {what} has MTU {mtus}, expected {v.mtu}")
    return fails


def _dv_portgroup(inv: Inventory, d: DvPortGroupCondition) -> list[str]:
    fails: list[str] = []
    dvpgs = [
        p
        for p in inv.distributed_port_groups
        if p.name == d.name and (d.dvs is None or p.dvs == d.dvs)
    ]
    if not dvpgs:
        where = f" on {d.dvs}" if d.dvs else ""
        fails.append(f"no distributed port group {d.name!r}{where}")
    elif d.vlan is not None:
        for p in dvpgs:
            vlan = p.setting.vlan
            if not (vlan.kind == "vlan" and vlan.vlan_id == d.vlan) and not (
                vlan.kind == "none" and d.vlan == 0
            ):
                fails.append(f"{p.dvs}/{p.name}: VLAN {vlan.display()}, expected {d.vlan}")
    return fails


def _pvlan(inv: Inventory, pv: PvlanCondition) -> list[str]:
    dvs = inv.dvs_by_name.get(pv.dvs)
    if dvs is None:
        return [f"no distributed switch {pv.dvs!r}"]
    entry = next(
        (e for e in dvs.pvlans if e.primary_id == pv.primary and e.secondary_id == pv.secondary),
        None,
    )
    if entry is None:
        return [f"{pv.dvs}: no PVLAN entry {pv.primary}/{pv.secondary}"]
    if pv.type is not None and entry.type != pv.type:
        return [f"{pv.dvs}: PVLAN {pv.primary}/{pv.secondary} is {entry.type}, expected {pv.type}"]
    return []


def _hosts(hosts: list[Host], hc: HostCountCondition) -> list[str]:
    fails: list[str] = []
    n = sum(1 for h in hosts if h.connection_state == "connected")
    if hc.min is not None and n < hc.min:
        fails.append(f"{n} connected hosts in scope, expected at least {hc.min}")
    if hc.max is not None and n > hc.max:
        fails.append(f"{n} connected hosts in scope, expected at most {hc.max}")
    return fails


def check(inv: Inventory, hosts: list[Host], cond: Condition) -> list[str]:
    """Failure lines for one condition (empty when it holds)."""
    if cond.portgroup is not None:
        return _portgroup(inv, hosts, cond.portgroup)
    if cond.switch is not None:
        return _switch(inv, hosts, cond.switch)
    if cond.vmknic is not None:
        return _vmknic(inv, hosts, cond.vmknic)
    if cond.dv_portgroup is not None:
        return _dv_portgroup(inv, cond.dv_portgroup)
    if cond.pvlan is not None:
        return _pvlan(inv, cond.pvlan)
    if cond.hosts is not None:
        return _hosts(hosts, cond.hosts)
    return []


# What a failing condition is about, as the engine names changes: (resources, object name).
_SUBJECT_RESOURCES: dict[str, tuple[str, ...]] = {
    "portgroup": ("standard_port_group",),
    "switch": ("standard_switch",),
    "vmknic": ("vmkernel_adapter", "vmknic_migration"),
    "dv_portgroup": ("distributed_port_group",),
    "pvlan": ("pvlan",),
    "hosts": (),  # a host count does not depend on network configuration
}


def condition_subject(cond: Condition) -> dict[str, Any]:
    """The resources and object name a condition checks (name None: any of that resource),
    so check mode can tell a failure that pending changes would fix from a real one."""
    body = getattr(cond, cond.kind)
    name = None if cond.kind in ("vmknic", "pvlan") else getattr(body, "name", None)
    return {"resources": list(_SUBJECT_RESOURCES[cond.kind]), "name": name}


def _host_of(line: str, hosts: set[str]) -> str | None:
    head = line.split(":", 1)[0]
    return head if head in hosts else None


@register("assert", read_only=True)
def run_assert(ctx: StepContext, step: Step) -> StepOutcome:
    body: AssertBody = step.body
    hosts = step_hosts(ctx.inventory, ctx.target, body.scope, ctx.host)
    fails: list[str] = []
    subjects: list[dict[str, Any]] = []
    names = {h.name for h in hosts}
    for cond in body.that:
        for line in check(ctx.inventory, hosts, cond):
            fails.append(line)
            subjects.append({**condition_subject(cond), "host": _host_of(line, names)})
    n = len(body.that)
    if fails:
        msg = body.message or f"{len(fails)} failure(s) over {len(hosts)} host(s)"
        data = {"failures": fails, "subjects": subjects}
        return StepOutcome("failed", msg, details=fails, data=data)
    return StepOutcome(
        "ok",
        f"{n} condition{'s hold' if n != 1 else ' holds'} on {len(hosts)} host(s)",
        data={"hosts": len(hosts)},
    )
