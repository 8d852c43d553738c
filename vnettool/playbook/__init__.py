"""Playbooks: a validated YAML language (loader, models, checks) and the runner.

Public entry points: `validate` (file → `ValidPlaybook` or `PlaybookError` with every issue
located), `run` (a validated playbook against a session) and `playbook_schema`.
"""

from vnettool.playbook.errors import Location, PlaybookError, PlaybookIssue
from vnettool.playbook.runner import RunReport, StepResult, run
from vnettool.playbook.schema import playbook_schema
from vnettool.playbook.validate import ValidPlaybook, validate

__all__ = [
    "Location",
    "PlaybookError",
    "PlaybookIssue",
    "RunReport",
    "StepResult",
    "ValidPlaybook",
    "playbook_schema",
    "run",
    "validate",
]
