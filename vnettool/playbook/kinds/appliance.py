"""The `appliance` playbook step: deploy / remove (plan, then apply unless --check) or status.

It uses the same planner and executor as `vnettool appliance`, so a playbook run and the CLI
produce the same plan for the same definition.
"""

from __future__ import annotations

import glob
from typing import Any

from vnettool.appliances import manager
from vnettool.appliances.plan import segment_kept
from vnettool.models.appliance import ApplianceStatus
from vnettool.models.inventory import Host
from vnettool.playbook.scope import step_hosts
from vnettool.playbook.step import StepContext, StepOutcome, change_outcome, register
from vnettool.playbook.steps import ApplianceBody, Step


def engine_target(hosts: list[Host]) -> dict[str, Any]:
    """The step's hosts as the engine's desired-state target: named exactly, so the segment
    it creates lands on these hosts and no other (a target and a scope intersect)."""
    return {"hosts": sorted(glob.escape(h.name) for h in hosts)}


def status_line(st: ApplianceStatus) -> str:
    wiring = ", ".join(
        f"{n.role}={n.network or '-'}{'' if n.connected else ' (disconnected)'}" for n in st.nics
    )
    flags = [
        "pinned" if st.pinned else "NOT PINNED",
        "reserved" if st.reservation_compliant else "RESERVATION DRIFT",
        f"latency {st.latency_sensitivity}" + ("" if st.latency_compliant else " (NOT COMPLIANT)"),
    ]
    return (
        f"{st.vm} on {st.host or '?'}: {st.power_state}, health {st.health} "
        f"({st.health_detail}); {'; '.join(flags)}; {wiring}; protects {st.protected_vms} VM(s)"
    )


def status_cells(st: ApplianceStatus, *, detail: bool = False) -> list[tuple[str, bool]]:
    """(text, compliant) per status column (VM, host, power, health, pinned, wiring,
    reservation, latency, protected VMs): the CLI table and the TUI colour them the same."""
    health = f"{st.health} ({st.health_detail})" if detail else st.health
    return [
        (st.vm, True),
        (st.host or "?", st.host == st.expected_host),
        (st.power_state or "?", True),
        (health, st.health == "ok"),
        ("yes" if st.pinned else "no", st.pinned),
        (st.wiring, st.wiring_compliant),
        (f"{st.cpu_reservation_mhz} MHz / {st.memory_reservation_mb} MB", st.reservation_compliant),
        (st.latency_sensitivity or "?", st.latency_compliant),
        (str(st.protected_vms), True),
    ]


@register("appliance", read_only=False, checkable=True)
def appliance_step(ctx: StepContext, step: Step) -> StepOutcome:
    return run_appliance(ctx, step.body)


def run_appliance(ctx: StepContext, body: ApplianceBody) -> StepOutcome:
    hosts = step_hosts(ctx.inventory, ctx.target, body.scope, ctx.host)
    if not hosts:
        return StepOutcome("failed", "no host in scope")
    spec = body.definition()
    if body.action == "status":
        sts = manager.status(ctx.session, spec, ctx.inventory, hosts)
        bad = [s for s in sts if not s.compliant or s.health != "ok"]
        details = [status_line(s) for s in sts]
        msg = f"{len(sts)} appliance(s), {len(bad)} unhealthy or not compliant"
        data = {"appliances": [s.model_dump(mode="json") for s in sts]}
        return StepOutcome("failed" if bad else "ok", msg, details=details, data=data)
    plan = manager.plan(body.action, ctx.session, spec, ctx.inventory, hosts, engine_target(hosts))
    if ctx.check or plan.empty:
        outcome = change_outcome(plan, [], ctx.check)
    elif ctx.approve is not None and not ctx.approve(plan):
        outcome = change_outcome(plan, None, ctx.check)
    else:
        results = manager.apply(plan, ctx.session, journal=ctx.journal)
        outcome = change_outcome(plan, results, ctx.check)
    if body.action == "remove":
        outcome.details += segment_kept(spec)
    return outcome
