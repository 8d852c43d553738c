"""One rebalance cycle: probe rounds → policy → plan → (dry-run | vMotion) → journal.

The cycle is written against small callables (ping, check, relocate, clock) so the same code
runs on a live session (`live_ops`) and in unit tests with recorded figures and a fake clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vnettool.errors import ConfigError, VnetError
from vnettool.latency.history import record
from vnettool.latency.ladder import AppliedStep, LadderConfig, RemedyEntry, StepPlan
from vnettool.latency.mover import (
    CheckFn,
    MoverConfig,
    RebalanceState,
    RelocateFn,
    execute,
    path_rtts,
    plan,
)
from vnettool.latency.policy import evaluate, round_figures, round_loss
from vnettool.latency.probe import Clock, Endpoint, Matrix, PingFn, endpoints, mesh, utcnow
from vnettool.latency.remedies import RemedyOps, run
from vnettool.models.inventory import Inventory, VirtualMachine
from vnettool.models.latency import (
    HostLatency,
    JournalEntry,
    MoveDecision,
    PingResult,
    PingSpec,
)

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    rounds: list[dict[str, float]] = field(default_factory=list)
    view: dict[str, HostLatency] = field(default_factory=dict)
    decisions: list[MoveDecision] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)
    skipped_hosts: dict[str, str] = field(default_factory=dict)
    matrices: list[Matrix] = field(default_factory=list)
    check_note: str | None = None
    remedies: list[RemedyEntry] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)


def measure(
    inv: Inventory,
    ping: PingFn,
    state: RebalanceState,
    clock: Clock,
    rounds: int,
    spec: PingSpec,
    cluster: str | None = None,
    workers: int = 32,
    service: str = "vmotion",
    report: CycleReport | None = None,
    per_host: int = 2,
) -> CycleReport:
    """Probe `rounds` mesh rounds of every cluster and feed each to the policy (in `state`)."""
    report = report or CycleReport()
    clusters = sorted({h.cluster for h in inv.hosts if h.cluster and cluster in (None, h.cluster)})
    for _ in range(rounds):
        figures: dict[str, float] = {}
        losses: dict[str, float] = {}
        for c in clusters:
            eps, skipped = endpoints(inv, c, service=service)
            report.skipped_hosts.update(skipped)
            if len(eps) < 2:
                continue
            m = mesh(ping, eps, spec, workers=workers, clock=clock, per_host=per_host)
            report.matrices.append(m)
            figures |= round_figures(m.samples, state.policy.loss_penalty_ms)
            losses |= round_loss(m.samples)
        at = clock()
        hosts, view = evaluate(state.hosts, figures, at, state.policy, losses)
        state.hosts.clear()
        state.hosts.update(hosts)
        report.rounds.append(figures)
        report.view = view
    return report


def cycle(
    inv: Inventory,
    ping: PingFn,
    state: RebalanceState,
    mover: MoverConfig,
    clock: Clock,
    rounds: int,
    spec: PingSpec,
    relocate: RelocateFn,
    check: CheckFn | None = None,
    cluster: str | None = None,
    workers: int = 32,
    dry_run: bool = False,
    ladder: LadderConfig | None = None,
    remedies: RemedyOps | None = None,
    per_host: int = 2,
) -> CycleReport:
    """Measure, then either evacuate every unhealthy host at once (no `ladder`), or climb
    each host's ladder of remedies one rung per cycle and undo them when it recovers."""
    report = measure(
        inv, ping, state, clock, rounds, spec, cluster, workers, mover.service, per_host=per_host
    )
    if ladder is not None and remedies is not None:
        lr = run(
            inv,
            report.view,
            state,
            ladder,
            mover,
            remedies,
            relocate,
            clock,
            rounds,
            check,
            dry_run,
        )
        report.decisions, report.journal = lr.decisions, lr.journal
        report.remedies, report.waiting = lr.remedies, lr.waiting
        return report
    now = clock()
    paths = path_rtts(report.matrices[-1].samples) if report.matrices else None
    report.decisions = plan(inv, report.view, state, mover, now, check, paths)
    report.journal = execute(report.decisions, relocate, inv, state, mover, clock, dry_run)
    return report


@dataclass
class LiveOps:
    """Ping, check and relocate bound to a live session."""

    ping: PingFn
    check: CheckFn
    relocate: RelocateFn
    check_note: list[str]


def live_ops(session: object, inv: Inventory, state: RebalanceState) -> LiveOps:
    """Callables over a vSphere session; CheckRelocate support is probed once and remembered."""
    from vnettool.vsphere import vm as vm_api
    from vnettool.vsphere.connection import Session
    from vnettool.vsphere.esxcli import Esxcli

    assert isinstance(session, Session)
    esx = Esxcli(session)
    morefs = {h.name: h.moref for h in inv.hosts}
    notes: list[str] = []

    def ping(source: Endpoint, target: str, spec: PingSpec) -> PingResult:
        return esx.ping(source.host_moref, target, spec)

    def check(vm: VirtualMachine, dest: str) -> str | None:
        if state.check_relocate is False:
            return None
        try:
            errors = vm_api.check_relocate(session, vm.moref, morefs[dest])
        except vm_api.CheckUnsupported as exc:
            state.check_relocate = False
            notes.append(f"CheckRelocate_Task not available ({exc}); own pre-checks only")
            return None
        state.check_relocate = True
        return "; ".join(errors) if errors else None

    def relocate(vm: VirtualMachine, dest: str) -> None:
        vm_api.relocate(session, vm.moref, morefs[dest])

    return LiveOps(ping, check, relocate, notes)


def live_remedies(session: object) -> RemedyOps:
    """The ladder's rungs over a vSphere session; each apply returns the values it replaced."""
    from vnettool.vsphere import remedies as api
    from vnettool.vsphere.connection import Session

    assert isinstance(session, Session)

    def apply(sp: StepPlan) -> dict[str, Any]:
        s = sp.spec
        if sp.step == "nioc":
            before = api.set_nioc_class(
                session, s["dvs_moref"], s["class"], level=s["level"], shares=s["shares"],
                reservation_mbps=s["reservation_mbps"],
            )  # fmt: skip
            return {
                "dvs": s["dvs"],
                "dvs_moref": s["dvs_moref"],
                "class": s["class"],
                "before": before,
            }
        if sp.step == "uplink":
            ports = api.port_orders(session, s["dvs_moref"], s["ports"])
            new = {"inherited": False, "active": s["active"], "standby": s["standby"]}
            api.set_port_orders(session, s["dvs_moref"], {k: new for k in s["ports"]})
            return {"dvs": s["dvs"], "dvs_moref": s["dvs_moref"], "ports": ports}
        if sp.step == "sensitivity":
            vms: dict[str, Any] = {}
            for vm in s["vms"]:
                cur = vms[vm["moref"]] = api.vm_latency(session, vm["moref"])
                api.set_vm_latency(
                    session,
                    vm["moref"],
                    {**cur, "level": "high", "cpu_mhz": max(cur["cpu_mhz"], s["cpu_reservation_mhz"]),
                     "mem_mb": cur["memory_mb"], "locked": True},
                )  # fmt: skip
            return {"vms": vms}
        raise VnetError(f"{sp.step} is not a remedy the switch or VM can apply")

    def undo(step: AppliedStep) -> None:
        u = step.undo
        if step.step == "nioc":
            api.restore_nioc_class(session, u["dvs_moref"], u["before"])
        elif step.step == "uplink":
            api.set_port_orders(session, u["dvs_moref"], u["ports"])
        elif step.step == "sensitivity":
            for moref, values in u["vms"].items():
                api.set_vm_latency(session, moref, values)

    return RemedyOps(apply, undo)


def open_state(
    path: Path,
    server_key: str,
    enter_ms: float | None,
    exit_ms: float | None,
    min_samples: int | None,
) -> RebalanceState:
    """The saved state of this vCenter's rebalancer with the thresholds given on the command
    line laid over it. A file of another vCenter is refused (cooldowns and journals belong to
    one server), and vCenter's CheckRelocate support is asked again (it may be upgraded)."""
    state = RebalanceState.load(path)
    if state.server and state.server != server_key:
        raise ConfigError(f"{path} belongs to {state.server}, not {server_key}; pass --state")
    state.server = server_key
    state.check_relocate = None
    given = (("enter_ms", enter_ms), ("exit_ms", exit_ms), ("min_samples", min_samples))
    upd = {k: v for k, v in given if v is not None}
    if upd:
        state.policy = state.policy.model_copy(update=upd)
    if state.policy.exit_ms > state.policy.enter_ms:
        raise ConfigError("--exit-ms must not be above --enter-ms")
    return state


def live_cycle(
    session: object,
    state: RebalanceState,
    mover: MoverConfig,
    spec: PingSpec,
    ladder: LadderConfig,
    wrap_moves: Callable[[RelocateFn, Inventory], RelocateFn],
    *,
    first: bool,
    rounds: int | None,
    cluster: str | None,
    workers: int,
    per_host: int,
    dry_run: bool,
) -> CycleReport:
    """One cycle on a live vCenter: a fresh inventory, its live operations, `cycle`, and the
    rounds appended to the latency history. `wrap_moves` lets the caller journal every
    vMotion (the engine's run journal is not this package's to import). The first cycle
    probes enough rounds to judge a host; later ones one round each (unless `rounds`)."""
    from vnettool.inventory.collect import collect
    from vnettool.vsphere.connection import Session

    assert isinstance(session, Session)
    inv = collect(session)
    ops = live_ops(session, inv, state)
    move = wrap_moves(ops.relocate, inv)
    n = rounds or (max(state.policy.min_samples, state.policy.sustain) if first else 1)
    report = cycle(
        inv,
        ops.ping,
        state,
        mover,
        utcnow,
        n,
        spec,
        move,
        ops.check,
        cluster,
        workers,
        dry_run,
        ladder,
        live_remedies(session),
        per_host=per_host,
    )
    report.check_note = "; ".join(ops.check_note) or None
    clusters = {h.name: h.cluster for h in inv.hosts}
    matrices = [(clusters.get(m.hosts[0]) if m.hosts else None, m) for m in report.matrices]
    record(session.instance_key, matrices, "rebalance")
    return report
