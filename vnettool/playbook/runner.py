"""Run a validated playbook: steps in order, loops expanded per host, a recap at the end.

The runner is reached only with a `ValidPlaybook` — nothing runs until the whole file (and
its includes) validated, including the checks that need the inventory. Under ``--check``
configure steps are planned, not applied, and only read-only steps run; the exit code says
whether changes are pending (2), something failed (1) or all is in state (0), as for `plan`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vnettool.errors import VnetError
from vnettool.models.inventory import Inventory
from vnettool.models.plan import Change, Plan
from vnettool.playbook.kinds import STEPS
from vnettool.playbook.loader import IssueList, Variables
from vnettool.playbook.scope import step_hosts
from vnettool.playbook.step import Approve, StepContext, StepOutcome
from vnettool.playbook.steps import Step
from vnettool.playbook.validate import ValidPlaybook


@dataclass
class StepResult:
    """One line of the recap: a step (or one host of a looped step) and its outcome."""

    index: int
    name: str
    kind: str
    location: str
    status: str
    message: str = ""
    host: str | None = None
    details: list[str] = field(default_factory=list)
    changes: int = 0
    duration_s: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None

    def as_dict(self) -> dict[str, Any]:
        plan = None
        if self.plan is not None:  # the shape of `vnettool plan --json`
            plan = {
                "pending": len(self.plan.changes),
                "changes": [c.model_dump(mode="json") for c in self.plan.changes],
            }
        return {
            "index": self.index,
            "name": self.name,
            "kind": self.kind,
            "location": self.location,
            "host": self.host,
            "status": self.status,
            "message": self.message,
            "details": self.details,
            "changes": self.changes,
            "duration_s": round(self.duration_s, 3),
            "data": self.data,
            "plan": plan,
        }


@dataclass
class RunReport:
    check: bool
    results: list[StepResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def exit_code(self) -> int:
        if self.count("failed"):
            return 1
        if self.check and self.count("changed"):
            return 2
        return 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "recap": {s: self.count(s) for s in ("ok", "changed", "failed", "skipped")},
            "exit_code": self.exit_code,
            "steps": [r.as_dict() for r in self.results],
        }


def selected(step: Step, tags: Collection[str], skip_tags: Collection[str]) -> bool:
    """Ansible's rule: with --tags a step runs if it shares a tag (or is tagged 'always')."""
    own = set(step.tags)
    if skip_tags and own & set(skip_tags):
        return False
    if not tags:
        return True
    return bool(own & (set(tags) | {"always"}))


def _expand(vp: ValidPlaybook, index: int, host: str) -> Step:
    """The step with ``${host}`` bound (it validated with the placeholder in place)."""
    issues = IssueList()
    variables = Variables({"host": host}, {}, vp.marks, issues)
    raw = variables.substitute(vp.data["steps"][index], ("steps", index), frozenset())
    return Step.model_validate(raw)


@dataclass
class Pending:
    """Changes planned but not applied under --check.

    A later assert that fails only on objects these changes would create or change cannot be
    judged until they are applied; calling it failed would make every check run of a
    configure-then-verify playbook red, so it is reported as skipped and the exit code stays 2
    (changes pending). A failure on anything else is a real failure.
    """

    changes: list[Change] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def add(self, title: str, outcome: StepOutcome) -> None:
        if outcome.status == "changed" and outcome.plan is not None and outcome.plan.changes:
            self.changes += outcome.plan.changes
            self.steps.append(title)

    def _touches(self, subject: dict[str, Any]) -> bool:
        return any(
            c.resource in subject["resources"]
            and (subject["host"] is None or c.host == subject["host"])
            and (subject["name"] is None or c.name == subject["name"])
            for c in self.changes
        )

    def explains(self, outcome: StepOutcome) -> bool:
        subjects = outcome.data.get("subjects") or []
        return bool(self.changes and subjects and all(self._touches(s) for s in subjects))

    def deferred(self, outcome: StepOutcome) -> StepOutcome:
        steps = ", ".join(repr(t) for t in self.steps)
        return StepOutcome(
            "skipped",
            f"depends on pending changes of {steps}; checked when they are applied "
            "(run without --check)",
            data=outcome.data,
        )


def _not_run(step: Step, *, failed: bool, check: bool) -> str | None:
    if failed:
        return "not run: an earlier step failed"
    if check and not STEPS[step.kind].runs_under_check():
        return "not run under --check (it changes vSphere)"
    return None


def _iterations(
    vp: ValidPlaybook, i: int, step: Step, inventory: Inventory
) -> tuple[list[tuple[str | None, Step]], list[tuple[str, str]]]:
    """(host, concrete step) per run of a step: one without a loop, one per looped host with
    ``${host}`` bound; and (host, error) for iterations whose substituted values are invalid."""
    if step.loop is None:
        return [(None, step)], []
    runs: list[tuple[str | None, Step]] = []
    errors: list[tuple[str, str]] = []
    for h in [h.name for h in step_hosts(inventory, vp.playbook.target, step.loop)]:
        try:
            runs.append((h, _expand(vp, i, h)))
        except ValidationError as exc:
            errors.append((h, f"invalid with host={h}: {exc.errors()[0]['msg']}"))
    return runs, errors


def _outcome(ctx: StepContext, step: Step) -> StepOutcome:
    try:
        return STEPS[step.kind].run(ctx, step)
    except VnetError as exc:
        return StepOutcome("failed", str(exc))
    except ValidationError as exc:  # a loop iteration's values (e.g. ${host}) invalid
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        return StepOutcome("failed", f"invalid after substitution: {where}: {first['msg']}")


def run(
    vp: ValidPlaybook,
    session: Any,
    *,
    check: bool,
    tags: Collection[str] = (),
    skip_tags: Collection[str] = (),
    collect: Callable[[Any], Inventory] | None = None,
    on_result: Callable[[StepResult], None] | None = None,
    approve: Approve | None = None,
    journal: Any = None,
    outputs: Path | None = None,
) -> RunReport:
    """Run every selected step in order; stop at the first failure (the rest are skipped).

    `journal` (a run journal) records every change the steps send, so that the whole run
    can be rolled back with `vnettool apply --rollback`."""
    if collect is None:
        from vnettool.inventory import collect as collect_inventory

        collect = collect_inventory
    report, pending, pb = RunReport(check=check), Pending(), vp.playbook
    inventory: Inventory | None = None
    failed = False

    def emit(r: StepResult) -> None:
        report.results.append(r)
        if on_result:
            on_result(r)

    for i, step in enumerate(pb.steps):
        title = step.title(i)
        where = vp.step_location(i)
        base = StepResult(i, title, step.kind, where, "skipped")
        if not selected(step, tags, skip_tags):
            continue
        why = _not_run(step, failed=failed, check=check)
        if why:
            base.message = why
            emit(base)
            continue
        if inventory is None:
            inventory = collect(session)
        runs, errors = _iterations(vp, i, step, inventory)
        for h, message in errors:
            emit(StepResult(i, title, step.kind, where, "failed", message, host=h))
            failed = True
        if step.loop is not None and not runs and not errors:
            emit(StepResult(i, title, step.kind, where, "skipped", "loop matched no host"))
        for host, concrete in runs:
            if inventory is None:
                inventory = collect(session)
            ctx = StepContext(session, inventory, check, pb.target, host, approve, journal, outputs)
            started = time.monotonic()
            outcome = _outcome(ctx, concrete)
            name = concrete.title(i)
            if check and outcome.status == "failed" and pending.explains(outcome):
                outcome = pending.deferred(outcome)
            result = StepResult(
                i,
                name,
                concrete.kind,
                where,
                outcome.status,
                outcome.message,
                host,
                outcome.details,
                outcome.changes,
                time.monotonic() - started,
                outcome.data,
                outcome.plan,
            )
            emit(result)
            if check:
                pending.add(name, outcome)
            if outcome.status == "failed":
                failed = True
            if outcome.status == "changed" and not check:
                inventory = None  # re-read before the next step looks at vSphere
    return report
