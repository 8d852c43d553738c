"""The `latency` and `rebalance` playbook steps, over vnettool.latency.

They use the same probes, policy and mover as `vnettool latency probe|rebalance`, so a playbook
and the CLI decide identically. The rebalance state (smoothed latency, cooldowns) is the CLI's
per-vCenter state file: a playbook run and a CLI run never undo each other's cooldowns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from vnettool.engine.relocate import journaled
from vnettool.engine.relocate import move as relocation
from vnettool.errors import VnetError
from vnettool.latency.mover import MoverConfig, RebalanceState
from vnettool.latency.probe import Endpoint, endpoints, mesh, probe, utcnow
from vnettool.latency.rebalance import cycle, live_ops
from vnettool.models.inventory import Inventory, VirtualMachine
from vnettool.models.latency import LatencySample, PingSpec
from vnettool.models.plan import Plan
from vnettool.playbook.scope import step_hosts
from vnettool.playbook.step import Approve, StepContext, StepOutcome, register
from vnettool.playbook.steps import LatencyBody, RebalanceBody, Step


def _ms(s: LatencySample) -> float | None:
    return None if s.rtt_avg_us is None else s.rtt_avg_us / 1000


@register("latency", read_only=True)
def latency_step(ctx: StepContext, step: Step) -> StepOutcome:
    return run_latency(ctx, step.body)


@register("rebalance", read_only=False, checkable=True)
def rebalance_step(ctx: StepContext, step: Step) -> StepOutcome:
    return run_rebalance(ctx, step.body)


def run_latency(ctx: StepContext, body: LatencyBody) -> StepOutcome:
    """Mesh-probe the hosts in scope per cluster (or ping `target` from each); read-only."""
    in_scope = {h.name for h in step_hosts(ctx.inventory, ctx.target, body.scope, ctx.host)}
    if not in_scope:
        return StepOutcome("failed", "no host in scope")
    ops = live_ops(ctx.session, ctx.inventory, RebalanceState())
    spec = PingSpec(count=body.count, size=body.size, wait_s=1.0)
    samples: list[LatencySample] = []
    skipped: dict[str, str] = {}
    clusters = sorted({h.cluster or "" for h in ctx.inventory.hosts if h.name in in_scope})
    for c in clusters:
        eps, skip = endpoints(ctx.inventory, c or None, body.vmknic)
        eps = [e for e in eps if e.host in in_scope]
        skipped |= {h: why for h, why in skip.items() if h in in_scope}
        if body.target:
            samples += [_one(ops.ping, e, body.target, spec) for e in eps]
        else:
            samples += mesh(ops.ping, eps, spec).samples
    return _judge(samples, skipped, body)


def _one(ping: object, source: Endpoint, target: str, spec: PingSpec) -> LatencySample:
    from vnettool.latency.probe import spec_for

    return probe(ping, source, target, spec_for(spec, source))  # type: ignore[arg-type]


def _judge(samples: list[LatencySample], skipped: dict[str, str], body: LatencyBody) -> StepOutcome:
    lines: list[str] = []
    failed = warned = 0
    for s in samples:
        ms = _ms(s)
        to = s.target_host or s.target
        if not s.ok or ms is None:
            failed += 1
            lines.append(f"FAIL {s.host} → {to}: {s.error or f'{s.loss_pct:.0f}% loss'}")
        elif body.fail_ms is not None and ms >= body.fail_ms:
            failed += 1
            lines.append(f"FAIL {s.host} → {to}: {ms:.3f} ms ≥ {body.fail_ms} ms")
        elif body.warn_ms is not None and ms >= body.warn_ms:
            warned += 1
            lines.append(f"warn {s.host} → {to}: {ms:.3f} ms ≥ {body.warn_ms} ms")
    lines += [f"skipped {h}: {why}" for h, why in sorted(skipped.items())]
    avgs = [m for m in map(_ms, samples) if m is not None]
    worst = f", worst {max(avgs):.3f} ms" if avgs else ""
    data = {
        "probes": len(samples),
        "failed": failed,
        "warned": warned,
        "samples": [s.model_dump(mode="json") for s in samples],
    }
    msg = f"{len(samples)} probe(s){worst}; {failed} failed, {warned} over warn"
    return StepOutcome("failed" if failed else "ok", msg, details=lines, data=data)


def confirmed(
    relocate: Callable[[VirtualMachine, str], None], approve: Approve, inv: Inventory
) -> Callable[[VirtualMachine, str], None]:
    """`relocate` asked first, with the vMotion as a one-change plan, as `apply` asks: the
    mover decides moves while it runs, so each is confirmed when it is decided (one question
    at a time: the mover runs its vMotions on several threads)."""
    asking = threading.Lock()

    def run(vm: VirtualMachine, dest: str) -> None:
        with asking:
            yes = approve(Plan(changes=[relocation(vm, dest, inv)]))
        if not yes:
            raise VnetError(f"{vm.name} not moved to {dest}: cancelled")
        relocate(vm, dest)

    return run


def run_rebalance(ctx: StepContext, body: RebalanceBody) -> StepOutcome:
    """One rebalance cycle per cluster in scope; moves VMs only with ``dry_run: false``."""
    in_scope = step_hosts(ctx.inventory, ctx.target, body.scope)
    clusters = sorted({h.cluster for h in in_scope if h.cluster})
    if not clusters:
        return StepOutcome("failed", "no cluster in scope")
    dry = body.dry_run or ctx.check
    path = RebalanceState.default_path(ctx.session.instance_key)
    state = RebalanceState.load(path)
    mover = MoverConfig(max_moves_per_cycle=body.max_moves)
    spec = PingSpec(count=3, interval_s=0.2, wait_s=1.0)
    rounds = max(state.policy.min_samples, state.policy.sustain)
    lines: list[str] = []
    moved = 0
    for c in clusters:
        ops = live_ops(ctx.session, ctx.inventory, state)
        move = ops.relocate
        if ctx.journal is not None:  # the playbook run's journal records every vMotion
            move = journaled(ops.relocate, ctx.journal, ctx.inventory)
        if ctx.approve is not None and not dry:
            move = confirmed(move, ctx.approve, ctx.inventory)
        report = cycle(
            ctx.inventory, ops.ping, state, mover, utcnow, rounds, spec,
            move, ops.check, c, dry_run=dry,
        )  # fmt: skip
        for d in report.decisions:
            dest = f" → {d.destination}" if d.destination else ""
            lines.append(f"{c}: {d.action} {d.vm} on {d.source}{dest}: {d.reason}")
        moved += sum(1 for j in report.journal if j.outcome == "moved")
    if not dry:
        state.save(path)
    if dry:
        return StepOutcome("ok", f"dry run: {len(lines)} decision(s)", details=lines)
    return StepOutcome(
        "changed" if moved else "ok", f"{moved} VM(s) moved", details=lines, changes=moved
    )
