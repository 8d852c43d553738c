"""The `appliance` playbook step: deploy / remove (plan, then apply unless --check) or status.

It uses the same planner and executor as `vnettool appliance`, so a playbook run and the CLI
produce the same plan for the same definition.
"""

from __future__ import annotations

from typing import Any

from vnettool.appliances import manager
from vnettool.models.appliance import ApplianceStatus
from vnettool.playbook.actions import StepContext, StepOutcome, hosts_in_scope, merge_scope
from vnettool.playbook.steps import ApplianceBody, Scope


def engine_target(scope: Scope) -> dict[str, Any]:
    """A step scope as the engine's desired-state target (host glob -> list of globs)."""
    return {
        "datacenter": scope.datacenter,
        "cluster": scope.cluster,
        "hosts": [scope.hosts] if scope.hosts else None,
    }


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


def run_appliance(ctx: StepContext, body: ApplianceBody) -> StepOutcome:
    scope = merge_scope(ctx.target, body.scope)
    if ctx.host is not None:
        scope = scope.model_copy(update={"hosts": ctx.host})
    hosts = hosts_in_scope(ctx.inventory, scope)
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
    plan = manager.plan(body.action, ctx.session, spec, ctx.inventory, hosts, engine_target(scope))
    n = len(plan.changes)
    if plan.empty:
        return StepOutcome("ok", "in desired state (empty plan)")
    if ctx.check:
        lines = [c.summary() for c in plan.changes]
        return StepOutcome("changed", f"{n} change(s) pending", details=lines, changes=n)
    results = manager.apply(plan, ctx.session)
    failed = [r for r in results if r.failed or r.skipped]
    changed = sum(1 for r in results if r.changed)
    details = [
        f"{'FAILED' if r.failed else 'skipped' if r.skipped else 'changed'}: {r.change.summary()}"
        + (f" ({r.error})" if r.error else "")
        for r in results
    ]
    if failed:
        return StepOutcome(
            "failed",
            f"{len(failed)} of {n} change(s) not applied",
            details=details,
            changes=changed,
        )
    return StepOutcome("changed", f"{changed} change(s) applied", details=details, changes=changed)
