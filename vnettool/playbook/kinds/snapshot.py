"""The `snapshot` step: the inventory the run holds, saved as JSON (a baseline for drift)."""

from __future__ import annotations

from vnettool.playbook.step import StepContext, StepOutcome, output_path, register
from vnettool.playbook.steps import SnapshotBody, Step


@register("snapshot", read_only=True)
def run_snapshot(ctx: StepContext, step: Step) -> StepOutcome:
    """Write the inventory as JSON; under --check it says where and writes nothing."""
    body: SnapshotBody = step.body
    path = output_path(ctx, body.path, "snapshot")
    if ctx.check:
        return StepOutcome(
            "ok", f"would save {len(ctx.inventory.hosts)} hosts to {path} (--check writes nothing)"
        )
    try:
        ctx.inventory.save(path, make_parents=True)
    except OSError as exc:
        return StepOutcome("failed", f"cannot write {path}: {exc.strerror or exc}")
    return StepOutcome(
        "ok",
        f"saved {len(ctx.inventory.hosts)} hosts to {path}",
        data={"path": str(path)},
    )
