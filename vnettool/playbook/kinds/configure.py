"""The `configure` step: a desired-state block planned by the engine, applied unless --check."""

from __future__ import annotations

from vnettool.playbook.configure import plan_and_apply
from vnettool.playbook.scope import step_hosts
from vnettool.playbook.step import StepContext, StepOutcome, change_outcome, register
from vnettool.playbook.steps import Step


@register("configure", read_only=False, checkable=True)
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
