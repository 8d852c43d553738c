"""The `audit` step: the same rules and workbook as `vnettool audit`, over the run's inventory."""

from __future__ import annotations

from pathlib import Path

from vnettool.audit.run import default_path, run_audit
from vnettool.playbook.step import StepContext, StepOutcome, output_path, register
from vnettool.playbook.steps import AuditBody, Step


@register("audit", read_only=True)
def run_audit_step(ctx: StepContext, step: Step) -> StepOutcome:
    """The audit over the step's inventory; read-only, so it also runs under --check (and
    then writes no workbook)."""
    body: AuditBody = step.body
    out = output_path(ctx, body.out, "audit workbook") if body.out else None
    if out is None and ctx.outputs is not None:
        out = ctx.outputs.resolve() / default_path(ctx.inventory).name
    report = run_audit(
        ctx.inventory,
        out=out,
        write=not ctx.check,
        baseline=Path(body.baseline) if body.baseline else None,
        fail_on=body.fail_on,
        only=body.rules,
    )
    fails = [f for f in report.findings if f.state == "FAIL"]
    details = [f"{f.rule_id} {f.severity}: {f.object}: {f.actual}" for f in report.failing]
    data = {"workbook": str(report.path), "score": report.score, "fail": len(fails)}
    where = f"would write {report.path} (--check writes nothing)" if ctx.check else report.path
    msg = f"score {report.score} ({report.grade}), {len(fails)} failing check(s); {where}"
    if report.failing:
        return StepOutcome(
            "failed",
            f"{len(report.failing)} at or above {body.fail_on}; " + msg,
            details=details,
            data=data,
        )
    return StepOutcome("ok", msg, data=data)
