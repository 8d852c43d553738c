"""The `audit` step: the same rules and workbook as `vnettool audit`, over the run's inventory."""

from __future__ import annotations

from pathlib import Path

from vnettool.audit.run import run_audit
from vnettool.playbook.step import StepContext, StepOutcome, register
from vnettool.playbook.steps import AuditBody, Step


@register("audit", read_only=True)
def run_audit_step(ctx: StepContext, step: Step) -> StepOutcome:
    """The audit over the step's inventory; read-only, so it also runs under --check."""
    body: AuditBody = step.body
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
