"""The entry point from a desired-state YAML file to `DesiredState`, for `vnettool plan/apply`.

Small on purpose: reading and locating errors is the playbook loader's job (file:line:col,
did-you-mean), and the model is the engine's (`vnettool.models.desired`). A file with `steps`
is a playbook, run with `vnettool run`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from vnettool.models.desired import DesiredState
from vnettool.models.inventory import Inventory
from vnettool.playbook.errors import Location, PlaybookError, PlaybookIssue
from vnettool.playbook.loader import read_file
from vnettool.playbook.validate import issue_from_error


def load_desired(path: Path) -> DesiredState:
    """Parse and validate; raises PlaybookError (a ConfigError) with every located issue."""
    doc = read_file(path)
    data = doc.data if doc.data is not None else {}
    if isinstance(data, dict) and "steps" in data:
        raise PlaybookError(
            [
                PlaybookIssue(
                    doc.marks.at(("steps",), key=True),
                    "this is a playbook, not a desired-state document; "
                    f"run it with `vnettool run {path}` (or `vnettool run --check` to plan)",
                )
            ]
        )
    if not isinstance(data, dict):
        raise PlaybookError(
            [PlaybookIssue(Location(str(path), 1, 1), "expected a mapping of sections")]
        )
    try:
        return DesiredState.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError(
            [issue_from_error(e, data, doc.marks, DesiredState) for e in exc.errors()]
        ) from None


def check_against(path: Path, inventory: Inventory) -> None:
    """Raise PlaybookError with file:line:col and a guess for what the file names that the
    inventory lacks (its target, its switches), before the engine reports the same thing
    without a place ("the target matches no host")."""
    from vnettool.playbook.references import desired_state_issues

    doc = read_file(path)
    if isinstance(doc.data, dict):
        issues = desired_state_issues(doc.data, doc.marks, inventory)
        if issues:
            raise PlaybookError(issues, f"{path} names what the inventory does not have")
