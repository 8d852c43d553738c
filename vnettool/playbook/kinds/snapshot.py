"""The `snapshot` step: the inventory the run holds, saved as JSON (a baseline for drift)."""

from __future__ import annotations

from pathlib import Path

from vnettool.playbook.step import StepContext, StepOutcome, register
from vnettool.playbook.steps import SnapshotBody, Step


@register("snapshot", read_only=True)
def run_snapshot(ctx: StepContext, step: Step) -> StepOutcome:
    """Write the inventory as JSON; it only reads vCenter, so it also runs under --check."""
    body: SnapshotBody = step.body
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
