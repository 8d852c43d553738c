"""Climbing and descending the ladder: one cycle's remedies, journalled with their reasons.

Decisions come from `ladder.py` (pure); the calls go through `RemedyOps`, small callables so
the same code runs against a live session and in unit tests with a fake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vnettool.errors import VnetError
from vnettool.latency.ladder import (
    Action,
    AppliedStep,
    HostLadder,
    LadderConfig,
    NotApplicable,
    RemedyEntry,
    Step,
    StepPlan,
    decide,
    observe,
    plan_step,
)
from vnettool.latency.mover import (
    CheckFn,
    MoverConfig,
    Paths,
    RebalanceState,
    RelocateFn,
    execute,
    move_one,
    plan,
)
from vnettool.models.inventory import Inventory
from vnettool.models.latency import HostLatency, JournalEntry, MoveDecision

Clock = Callable[[], datetime]


@dataclass
class RemedyOps:
    """`apply(plan)` makes a rung's change and returns what undoes it; `undo(step)` puts
    back what was there. Both raise VnetError on failure."""

    apply: Callable[[StepPlan], dict[str, Any]]
    undo: Callable[[AppliedStep], None]


@dataclass
class LadderReport:
    remedies: list[RemedyEntry] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)  # host -> why nothing happened
    decisions: list[MoveDecision] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)


@dataclass
class Ctx:
    inv: Inventory
    view: Mapping[str, HostLatency]
    state: RebalanceState
    cfg: LadderConfig
    mover: MoverConfig
    ops: RemedyOps
    relocate: RelocateFn
    check: CheckFn | None
    clock: Clock
    dry_run: bool
    report: LadderReport
    paths: Paths | None = None


def run(
    inv: Inventory,
    view: Mapping[str, HostLatency],
    state: RebalanceState,
    cfg: LadderConfig,
    mover: MoverConfig,
    ops: RemedyOps,
    relocate: RelocateFn,
    clock: Clock,
    rounds: int,
    check: CheckFn | None = None,
    dry_run: bool = False,
    paths: Paths | None = None,
) -> LadderReport:
    """One cycle: book the rounds, then per host escalate one rung, undo one, or wait."""
    report = LadderReport()
    ctx = Ctx(inv, view, state, cfg, mover, ops, relocate, check, clock, dry_run, report, paths)
    now = clock()
    for host, lat in sorted(view.items(), key=lambda kv: -(kv[1].smoothed_ms or 0.0)):
        if host not in inv.host_by_name:
            continue
        hl = state.ladder.setdefault(host, HostLadder())
        observe(hl, lat, rounds, now, cfg)
        series = state.hosts.get(host)
        recent = series.figures if series else []
        action, why = decide(host, lat, hl, cfg, now, recent, state.policy.enter_ms)
        if action is None:
            if why:
                report.waiting[host] = why
        elif action.kind == "escalate":
            _escalate(ctx, hl, action)
        else:
            _undo(ctx, hl, action)
    if not dry_run:
        state.remedies.extend(report.remedies)
    return report


def _entry(ctx: Ctx, host: str, step: Step, action: str, outcome: str, reason: str,
           targets: list[str] | None = None, detail: str | None = None) -> None:  # fmt: skip
    ctx.report.remedies.append(
        RemedyEntry(
            at=ctx.clock(),
            host=host,
            step=step,
            action=action,  # type: ignore[arg-type]
            outcome=outcome,  # type: ignore[arg-type]
            reason=reason,
            targets=targets or [],
            detail=detail,
        )
    )


def _escalate(ctx: Ctx, hl: HostLadder, action: Action) -> None:
    """Take the next rung that applies; rungs that cannot help are journalled and passed."""
    host = action.host
    for step in [s for s in ctx.cfg.steps if s not in hl.tried]:
        if step == "vmotion":
            _evacuate(ctx, hl, action)
            return
        try:
            sp = plan_step(ctx.inv, step, host, ctx.cfg, ctx.mover.service)
        except NotApplicable as exc:
            _entry(ctx, host, step, "skip", "not applicable", action.reason, detail=str(exc))
            hl.tried.append(step)
            continue
        if ctx.dry_run:
            _entry(ctx, host, step, "apply", "dry-run", action.reason, sp.targets)
            return
        now = ctx.clock()
        try:
            undo = ctx.ops.apply(sp)
        except VnetError as exc:
            _entry(ctx, host, step, "apply", "failed", action.reason, sp.targets, str(exc))
            hl.tried.append(step)
            return
        hl.applied.append(
            AppliedStep(step=step, at=now, reason=action.reason, targets=sp.targets, undo=undo)
        )
        hl.tried.append(step)
        hl.last_change = now
        _entry(ctx, host, step, "apply", "done", action.reason, sp.targets)
        return


def _evacuate(ctx: Ctx, hl: HostLadder, action: Action) -> None:
    """(d): the mover, with only this host as a source (other unhealthy hosts are neither
    sources nor destinations this time)."""
    host = action.host
    view = {
        h: lat
        if h == host or lat.state != "unhealthy"
        else lat.model_copy(update={"state": "unknown"})
        for h, lat in ctx.view.items()
    }
    now = ctx.clock()
    decisions = plan(ctx.inv, view, ctx.state, ctx.mover, now, ctx.check, ctx.paths)
    journal = execute(
        decisions, ctx.relocate, ctx.inv, ctx.state, ctx.mover, ctx.clock, ctx.dry_run
    )
    ctx.report.decisions += decisions
    ctx.report.journal += journal
    outcome = "dry-run" if ctx.dry_run else "done"
    done = [j for j in journal if j.outcome in ("moved", "dry-run")]
    if not done:
        why = "; ".join(sorted({d.reason for d in decisions})) or "no VM to move"
        _entry(ctx, host, "vmotion", "skip", "not applicable", action.reason, detail=why)
        if not ctx.dry_run:
            hl.tried.append("vmotion")
        return
    targets = [f"{j.vm}: {j.source} → {j.destination}" for j in done]
    _entry(ctx, host, "vmotion", "apply", outcome, action.reason, targets)
    if ctx.dry_run:
        return
    morefs = {d.vm: d.vm_moref for d in decisions}
    moves = [
        {"vm": j.vm, "vm_moref": morefs.get(j.vm), "from": j.source, "to": j.destination}
        for j in done
    ]
    hl.applied.append(
        AppliedStep(
            step="vmotion", at=now, reason=action.reason, targets=targets, undo={"moves": moves}
        )
    )
    hl.tried.append("vmotion")
    hl.last_change = now


def _undo(ctx: Ctx, hl: HostLadder, action: Action) -> None:
    host, last = action.host, hl.applied[-1]
    if last.step == "vmotion":
        if not _return_vms(ctx, last, action):
            return
    elif last.step == "nioc" and (others := _nioc_users(ctx, host, last)):
        ctx.report.waiting[host] = (
            f"nioc kept: {', '.join(others)} still slow or remedied on {last.undo.get('dvs')}"
        )
        return
    elif ctx.dry_run:
        pass
    else:
        try:
            ctx.ops.undo(last)
        except VnetError as exc:
            _entry(ctx, host, last.step, "undo", "failed", action.reason, last.targets, str(exc))
            return
    _entry(
        ctx,
        host,
        last.step,
        "undo",
        "dry-run" if ctx.dry_run else "done",
        action.reason,
        last.targets,
    )
    if ctx.dry_run:
        return
    now = ctx.clock()
    hl.applied.pop()
    hl.tried = [s for s in hl.tried if s != last.step]
    hl.last_change = hl.last_undo = now


def _nioc_users(ctx: Ctx, host: str, step: AppliedStep) -> list[str]:
    """Other members of the switch that are slow or on the ladder: the switch-wide NIOC
    raise helps them too, so it stays until they are well."""
    dvs = ctx.inv.dvs_by_name.get(str(step.undo.get("dvs")))
    members = {m.host for m in dvs.hosts} if dvs else set()
    out = []
    for h in sorted(members - {host}):
        lat = ctx.view.get(h)
        hl = ctx.state.ladder.get(h)
        if (lat and lat.state == "unhealthy") or (hl and hl.applied):
            out.append(h)
    return out


def _return_vms(ctx: Ctx, step: AppliedStep, action: Action) -> bool:
    """Move (d)'s VMs back to the recovered host, each only once its cooldown is over, so no
    VM moves twice within the cooldown. True when nothing is left to move back."""
    if not ctx.cfg.return_vms:
        return True
    now = ctx.clock()
    vms = {v.moref: v for v in ctx.inv.vms}
    host = action.host
    waiting, left = [], []
    for m in step.undo.get("moves", []):
        vm = vms.get(m.get("vm_moref") or "")
        if vm is None or vm.host != m["to"]:
            continue  # gone, or moved on since: not ours to move back
        last = ctx.state.moves.get(vm.moref)
        if last and now - last.at < timedelta(seconds=ctx.mover.vm_cooldown_s):
            ready = (last.at + timedelta(seconds=ctx.mover.vm_cooldown_s) - now).total_seconds()
            waiting.append(f"{vm.name} ({ready:.0f} s of VM cooldown left)")
            continue
        if ctx.dry_run:
            left.append(vm.name)
            continue
        entry = move_one(
            vm, host, ctx.relocate, ctx.inv, ctx.state, ctx.clock, f"undo vmotion: {action.reason}"
        )
        ctx.report.journal.append(entry)
        if entry.outcome != "moved":
            left.append(vm.name)
    if waiting or (left and not ctx.dry_run):
        ctx.report.waiting[host] = "vmotion undo waits: " + ", ".join(waiting + left)
        return False
    return True
