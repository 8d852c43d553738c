"""Client of the lab's fault injection (`/vnettool/faults`, mocks/vcsim/faults.go).

A rule makes chosen SOAP calls (by method name, optionally one object) answer HTTP 503, drop
the connection before the call runs, run the call and lose its answer (`lose`), wait, expire every session, raise a vim fault, return a task that then fails
(`task_fail`: nothing applied) or answer an ill-formed body (`malformed`) — a given number of times or
with a probability — so retry, re-read and reporting paths are tested on real requests.
"""

from __future__ import annotations

from typing import Any, Literal

from vnettool.lab.control import request
from vnettool.lab.runner import Lab

Action = Literal["503", "drop", "lose", "delay", "expire", "fault", "task_fail", "malformed"]
ACTIONS: tuple[str, ...] = (
    "503",
    "drop",
    "lose",
    "delay",
    "expire",
    "fault",
    "task_fail",
    "malformed",
)
FAULTS = (
    "ConcurrentAccess",
    "ResourceInUse",
    "HostNotConnected",
    "InvalidArgument",
    "TaskInProgress",
    "InvalidState",
    "NotFound",
    "SystemError",
    "RuntimeFault",
)


def add_fault(
    method: str,
    action: Action,
    *,
    fault: str | None = None,
    obj: str | None = None,
    count: int = 1,
    probability: float | None = None,
    delay_ms: int | None = None,
    message: str | None = None,
    lab: Lab | None = None,
) -> dict[str, Any]:
    """Add a rule; returns it with its id. `count` 0 = until cleared."""
    body: dict[str, Any] = {"method": method, "action": action, "count": count}
    for k, v in (
        ("fault", fault),
        ("object", obj),
        ("probability", probability),
        ("delay_ms", delay_ms),
        ("message", message),
    ):
        if v is not None:
            body[k] = v
    return dict(request(lab or Lab(), "POST", "faults", body)["rule"])


def list_faults(lab: Lab | None = None) -> list[dict[str, Any]]:
    return list(request(lab or Lab(), "GET", "faults")["rules"] or [])


def clear_faults(lab: Lab | None = None) -> int:
    return int(request(lab or Lab(), "DELETE", "faults")["cleared"])
