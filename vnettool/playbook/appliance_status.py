"""The appliances a playbook defines, and their live status: for the audit's Appliances tab
(`vnettool audit --appliances`) and the TUI's Appliances screen.

Apart from the `appliance` step kind because it validates a whole playbook, which the step
kinds must not do (validation reads the step registry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vnettool.appliances import manager
from vnettool.models.appliance import ApplianceStatus
from vnettool.models.inventory import Inventory
from vnettool.playbook.scope import step_hosts
from vnettool.playbook.validate import validate


def playbook_statuses(session: Any, inv: Inventory, path: Path) -> list[ApplianceStatus]:
    """Status of every appliance definition of a playbook (the first step of each name), for
    the audit's Appliances tab and the TUI."""
    pb = validate(path).playbook
    out: list[ApplianceStatus] = []
    seen: set[str] = set()
    for step in pb.steps:
        body = step.appliance
        if body is None or body.name in seen:
            continue
        seen.add(body.name)
        hosts = step_hosts(inv, pb.target, body.scope)
        out += manager.status(session, body.definition(), inv, hosts)
    return out
