"""The step contract: what a step kind receives (`StepContext`), what it returns
(`StepOutcome`), and the registry the runner and validation read (`STEPS`).

A step kind is one module in `vnettool.playbook.kinds` that imports its domain package
directly and registers itself with `@register(kind, read_only=..., checkable=...)`: adding a
kind is that module plus its body model in `steps.py`, with nothing to edit in the runner or
the validator (the Nornir plugin-register idea).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vnettool.errors import ConfigError
from vnettool.models.inventory import Inventory
from vnettool.models.plan import Plan, Result
from vnettool.playbook.steps import Scope, Step

Status = Literal["ok", "changed", "failed", "skipped"]


@dataclass
class StepOutcome:
    """What one step (or one loop iteration) did, in the Nornir/Ansible vocabulary."""

    status: Status
    message: str = ""
    details: list[str] = field(default_factory=list)
    changes: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None  # what a changing step planned, shown as `vnettool plan` shows it


# Asked before a step changes vSphere, with the exact plan; False = do not apply it.
Approve = Callable[[Plan], bool]


@dataclass
class StepContext:
    """What an action may use: the session, the current inventory, the mode."""

    session: Any
    inventory: Inventory
    check: bool
    target: Scope | None
    host: str | None = None  # set inside a loop iteration
    approve: Approve | None = None  # None: apply without asking (--yes, or not interactive)
    journal: Any = None  # the run's journal: every change a step sends is recorded in it
    outputs: Path | None = None  # files a step writes stay inside it (None: anywhere)


def output_path(ctx: StepContext, raw: str, what: str) -> Path:
    """Where a step may write `raw`: inside `ctx.outputs`, links and '..' resolved first.

    A playbook is a file someone else may have written: its snapshot or audit path must not
    overwrite ~/.bashrc or ../other-project. Refused before anything is written.
    """
    path = Path(raw)
    if ctx.outputs is None:
        return path
    root = ctx.outputs.resolve()
    full = (Path.cwd() / path).resolve()
    if not full.is_relative_to(root):
        raise ConfigError(
            f"the {what} path {raw!r} is outside the reports directory {ctx.outputs}/; "
            "a playbook writes only there: give a path inside it, or pass --out DIR"
        )
    return full


Action = Callable[[StepContext, Step], StepOutcome]


@dataclass(frozen=True)
class StepKind:
    """A registered step kind.

    `read_only`: it never changes vSphere, so `--check` runs it as a real run would.
    `checkable`: it changes vSphere but has a `--check` form (a plan or a dry run); a kind
    that is neither is not run under `--check`."""

    name: str
    run: Action
    read_only: bool
    checkable: bool

    def runs_under_check(self) -> bool:
        return self.read_only or self.checkable


STEPS: dict[str, StepKind] = {}


def register(kind: str, *, read_only: bool, checkable: bool = False) -> Callable[[Action], Action]:
    """Register `run` as the implementation of step kind `kind` (its key in a playbook)."""

    def add(run: Action) -> Action:
        STEPS[kind] = StepKind(kind, run, read_only, checkable)
        return run

    return add


def change_outcome(plan: Plan, results: list[Result] | None, check: bool) -> StepOutcome:
    """The outcome of a planned (and, unless `check`, applied) step: one line per change.
    `results` None: the plan was not approved, so nothing was applied."""
    n = len(plan.changes)
    if plan.empty:
        return StepOutcome("ok", "in desired state (empty plan)", plan=plan)
    if check:
        lines = [c.summary() for c in plan.changes]
        return StepOutcome("changed", f"{n} change(s) pending", details=lines, changes=n, plan=plan)
    if results is None:
        return StepOutcome("failed", f"cancelled: {n} change(s) not applied", plan=plan)
    not_applied = [r for r in results if r.failed or r.skipped]
    changed = sum(1 for r in results if r.changed)
    details = [
        f"{'FAILED' if r.failed else 'skipped' if r.skipped else 'changed'}: {r.change.summary()}"
        + (f" ({r.error})" if r.error else "")
        for r in results
    ]
    if not_applied:
        msg = f"{len(not_applied)} of {n} change(s) not applied"
        return StepOutcome("failed", msg, details=details, changes=changed, plan=plan)
    return StepOutcome(
        "changed", f"{changed} change(s) applied", details=details, changes=changed, plan=plan
    )
