"""What each step kind does, and whether it can be done at all in this build.

Step kinds whose implementation (engine, audit, latency, appliances) has not landed are
*rejected at validation* with the reason, never skipped at run time: a playbook that
validates is a playbook that can run completely.

`assert` and `snapshot` are implemented here over the inventory; they are pure reads.
"""

from __future__ import annotations

import fnmatch
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vnettool.models.inventory import Host, Inventory
from vnettool.models.plan import Plan, Result
from vnettool.playbook.configure import contract_gap, plan_and_apply
from vnettool.playbook.steps import (
    AssertBody,
    AuditBody,
    Condition,
    Scope,
    SnapshotBody,
    Step,
)

Status = Literal["ok", "changed", "failed", "skipped"]


@dataclass
class StepOutcome:
    """What one step (or one loop iteration) did, in the Nornir/Ansible vocabulary."""

    status: Status
    message: str = ""
    details: list[str] = field(default_factory=list)
    changes: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None  # what a changing step planned, shown as `vnettool plan` shows it


# Asked before a step changes vSphere, with the exact plan; False = do not apply it.
Approve = Callable[[Plan], bool]


@dataclass
class StepContext:
    """What an action may use: the session, the current inventory, the mode."""

    session: Any
    inventory: Inventory
    check: bool
    target: Scope | None
    host: str | None = None  # set inside a loop iteration
    approve: Approve | None = None  # None: apply without asking (--yes, or not interactive)
    journal: Any = None  # the run's journal: every change a step sends is recorded in it


def _modules_exist(*names: str) -> bool:
    try:
        return all(importlib.util.find_spec(n) is not None for n in names)
    except (ImportError, ValueError):
        return False


# Each optional kind: the modules it needs, and what to tell the user while they are missing.
REQUIREMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "audit": (
        ("vnettool.audit.run",),
        "the audit (vnettool.audit, issue 8) is not part of this build",
    ),
    "latency": (
        ("vnettool.latency.probe",),
        "latency probes (vnettool.latency, issue 9) are not part of this build",
    ),
    "rebalance": (
        ("vnettool.latency.rebalance",),
        "the latency-aware rebalance (vnettool.latency, issue 9) is not part of this build",
    ),
    "appliance": (
        ("vnettool.appliances.manager",),
        "network appliances (vnettool.appliances) are not part of this build",
    ),
}


def unavailable_reason(kind: str) -> str | None:
    """None when the step kind can run here; otherwise why not."""
    if kind == "configure":
        return contract_gap()
    if kind not in ACTIONS:
        req = REQUIREMENTS.get(kind)
        return req[1] if req else f"no implementation for {kind!r}"
    req = REQUIREMENTS.get(kind)
    if req and not _modules_exist(*req[0]):
        return req[1]
    return None


# -- scope ------------------------------------------------------------------------------------


def merge_scope(target: Scope | None, scope: Scope | None) -> Scope:
    """A step's scope refines the playbook target field by field."""
    base = target.model_dump() if target else {}
    base.update({k: v for k, v in (scope.model_dump() if scope else {}).items() if v is not None})
    return Scope(**base)


def hosts_in_scope(inv: Inventory, scope: Scope) -> list[Host]:
    def ok(pattern: str | None, value: str | None) -> bool:
        return pattern is None or (value is not None and fnmatch.fnmatchcase(value, pattern))

    return [
        h
        for h in inv.hosts
        if ok(scope.datacenter, h.datacenter)
        and ok(scope.cluster, h.cluster)
        and ok(scope.hosts, h.name)
    ]


def step_hosts(
    inv: Inventory, target: Scope | None, scope: Scope | None, host: str | None = None
) -> list[Host]:
    """The hosts a step may touch: in the playbook's target AND the step's scope (AND the
    loop's host). A scope narrows the target; it can never reach a host outside it."""
    allowed = {h.name for h in hosts_in_scope(inv, merge_scope(target, None))}
    hosts = hosts_in_scope(inv, merge_scope(None, scope))
    return [h for h in hosts if h.name in allowed and (host is None or h.name == host)]


# -- assert -----------------------------------------------------------------------------------


def _check(inv: Inventory, hosts: list[Host], cond: Condition) -> list[str]:
    """Failure lines for one condition (empty when it holds)."""
    fails: list[str] = []
    if cond.portgroup is not None:
        c = cond.portgroup
        for h in hosts:
            by_name = {p.name: p for p in inv.portgroups_of(h.name)}
            pg = by_name.get(c.name)
            if pg is None:
                fails.append(f"{h.name}: no port group {c.name!r}")
            elif c.vlan is not None and pg.vlan_id != c.vlan:
                fails.append(f"{h.name}: {c.name!r} is on VLAN {pg.vlan_id}, expected {c.vlan}")
            elif c.switch is not None and pg.switch != c.switch:
                fails.append(f"{h.name}: {c.name!r} is on {pg.switch}, expected {c.switch}")
    elif cond.switch is not None:
        s = cond.switch
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
    elif cond.vmknic is not None:
        v = cond.vmknic
        for h in hosts:
            found = []
            for nic in inv.vmknics_of(h.name):
                pg_name = nic.portgroup
                if pg_name is None and nic.dv_portgroup_key:
                    dvpg = inv.dvpg_by_key.get(nic.dv_portgroup_key)
                    pg_name = dvpg.name if dvpg else None
                if v.service is not None and v.service not in nic.services:
                    continue
                if v.portgroup is not None and pg_name != v.portgroup:
                    continue
                found.append(nic)
            what = " ".join(
                x
                for x in (
                    v.service and f"service {v.service}",
                    v.portgroup and f"on {v.portgroup!r}",
                )
                if x
            )
            if not found:
                fails.append(f"{h.name}: no VMkernel adapter with {what}")
            elif v.mtu is not None and not any(n.mtu == v.mtu for n in found):
                mtus = ", ".join(f"{n.device}={n.mtu}" for n in found)
                fails.append(
                    f"{h.name}: VMkernel adapter with {what} has MTU {mtus}, expected {v.mtu}"
                )
    elif cond.dv_portgroup is not None:
        d = cond.dv_portgroup
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
    elif cond.pvlan is not None:
        pv = cond.pvlan
        dvs = inv.dvs_by_name.get(pv.dvs)
        if dvs is None:
            fails.append(f"no distributed switch {pv.dvs!r}")
        else:
            entry = next(
                (
                    e
                    for e in dvs.pvlans
                    if e.primary_id == pv.primary and e.secondary_id == pv.secondary
                ),
                None,
            )
            if entry is None:
                fails.append(f"{pv.dvs}: no PVLAN entry {pv.primary}/{pv.secondary}")
            elif pv.type is not None and entry.type != pv.type:
                fails.append(
                    f"{pv.dvs}: PVLAN {pv.primary}/{pv.secondary} is {entry.type}, expected {pv.type}"
                )
    elif cond.hosts is not None:
        hc = cond.hosts
        n = sum(1 for h in hosts if h.connection_state == "connected")
        if hc.min is not None and n < hc.min:
            fails.append(f"{n} connected hosts in scope, expected at least {hc.min}")
        if hc.max is not None and n > hc.max:
            fails.append(f"{n} connected hosts in scope, expected at most {hc.max}")
    return fails


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


def run_assert(ctx: StepContext, body: AssertBody) -> StepOutcome:
    hosts = step_hosts(ctx.inventory, ctx.target, body.scope, ctx.host)
    fails: list[str] = []
    subjects: list[dict[str, Any]] = []
    names = {h.name for h in hosts}
    for cond in body.that:
        for line in _check(ctx.inventory, hosts, cond):
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


def run_snapshot(ctx: StepContext, body: SnapshotBody) -> StepOutcome:
    """Write the inventory as JSON; it only reads vCenter, so it also runs under --check."""
    path = Path(body.path)
    try:
        ctx.inventory.save(path)
    except OSError as exc:
        return StepOutcome("failed", f"cannot write {path}: {exc.strerror or exc}")
    return StepOutcome(
        "ok",
        f"saved {len(ctx.inventory.hosts)} hosts to {path}",
        data={"path": str(path)},
    )


def run_configure(ctx: StepContext, step: Step) -> StepOutcome:
    """Plan; under --check stop there ("changed" = changes pending, exit code 2)."""
    plan, results = plan_and_apply(
        step.configure or {},
        ctx.inventory,
        ctx.session,
        check=ctx.check,
        within=step_hosts(ctx.inventory, ctx.target, None, ctx.host),
        approve=ctx.approve,
        journal=ctx.journal,
    )
    return change_outcome(plan, results, ctx.check)


def change_outcome(plan: Plan, results: list[Result] | None, check: bool) -> StepOutcome:
    """The outcome of a planned (and, unless `check`, applied) step: one line per change.
    `results` None: the plan was not approved, so nothing was applied."""
    n = len(plan.changes)
    if plan.empty:
        return StepOutcome("ok", "in desired state (empty plan)", plan=plan)
    if check:
        lines = [c.summary() for c in plan.changes]
        return StepOutcome("changed", f"{n} change(s) pending", details=lines, changes=n, plan=plan)
    if results is None:
        return StepOutcome("failed", f"cancelled: {n} change(s) not applied", plan=plan)
    not_applied = [r for r in results if r.failed or r.skipped]
    changed = sum(1 for r in results if r.changed)
    details = [
        f"{'FAILED' if r.failed else 'skipped' if r.skipped else 'changed'}: {r.change.summary()}"
        + (f" ({r.error})" if r.error else "")
        for r in results
    ]
    if not_applied:
        msg = f"{len(not_applied)} of {n} change(s) not applied"
        return StepOutcome("failed", msg, details=details, changes=changed, plan=plan)
    return StepOutcome(
        "changed", f"{changed} change(s) applied", details=details, changes=changed, plan=plan
    )


Action = Callable[[StepContext, Step], StepOutcome]


def run_audit_step(ctx: StepContext, body: AuditBody) -> StepOutcome:
    """The audit over the step's inventory; read-only, so it also runs under --check."""
    from vnettool.audit.run import run_audit

    report = run_audit(
        ctx.inventory,
        out=Path(body.out) if body.out else None,
        baseline=Path(body.baseline) if body.baseline else None,
        fail_on=body.fail_on,
        only=body.rules,
    )
    fails = [f for f in report.findings if f.state == "FAIL"]
    details = [f"{f.rule_id} {f.severity}: {f.object}: {f.actual}" for f in report.failing]
    data = {"workbook": str(report.path), "score": report.score, "fail": len(fails)}
    msg = f"score {report.score} ({report.grade}), {len(fails)} failing check(s); {report.path}"
    if report.failing:
        return StepOutcome(
            "failed",
            f"{len(report.failing)} at or above {body.fail_on}; " + msg,
            details=details,
            data=data,
        )
    return StepOutcome("ok", msg, data=data)


def _latency() -> Any:
    """The latency steps' module, imported on use (it imports this module for StepContext)."""
    from vnettool.playbook import latency_actions

    return latency_actions


def _appliance() -> Any:
    from vnettool.playbook import appliance_actions

    return appliance_actions


ACTIONS: dict[str, Action] = {
    "appliance": lambda ctx, step: _appliance().run_appliance(ctx, step.appliance),  # type: ignore[arg-type]
    "configure": run_configure,
    "assert": lambda ctx, step: run_assert(ctx, step.assert_),  # type: ignore[arg-type]
    "snapshot": lambda ctx, step: run_snapshot(ctx, step.snapshot),  # type: ignore[arg-type]
    "audit": lambda ctx, step: run_audit_step(ctx, step.audit),  # type: ignore[arg-type]
    "latency": lambda ctx, step: _latency().run_latency(ctx, step.latency),  # type: ignore[arg-type]
    "rebalance": lambda ctx, step: _latency().run_rebalance(ctx, step.rebalance),  # type: ignore[arg-type]
}
