"""Options whose value is one of a fixed set: enums, so help lists the choices, a typo is a
usage error (exit 2, like every other typo) with the choices and a guess, and completion works.
"""

from __future__ import annotations

from enum import StrEnum

from vnettool.audit.controls import PROFILES
from vnettool.lab.faults import ACTIONS


class FailOn(StrEnum):
    """Exit 2 when FAIL findings of this severity or worse exist."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"
    never = "never"


Profile = StrEnum("Profile", {p.replace("-", "_"): p for p in PROFILES})  # type: ignore[misc]
FaultAction = StrEnum("FaultAction", {f"a{a}" if a[0].isdigit() else a: a for a in ACTIONS})  # type: ignore[misc]


class Scenario(StrEnum):
    audit = "audit"
    stig = "stig"
