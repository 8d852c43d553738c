"""Plan and result models: every configuration operation reports the same way (Nornir's idea).

A `Change` carries the before and after of each field it touches, so a plan prints as an exact
diff, a run journal can roll back from the before-values, and tests can compare plans.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from vnettool.models.base import Model
from vnettool.models.impact import Impact

ChangeKind = Literal["create", "update", "delete"]


class FieldDiff(Model):
    field: str
    before: Any = None
    after: Any = None


class Change(Model):
    kind: ChangeKind
    resource: str  # e.g. "standard_switch", "standard_port_group", "vmkernel_adapter"
    host: str | None = None  # None for vCenter-wide objects (DVS, DV port group)
    name: str
    diffs: list[FieldDiff] = Field(default_factory=list)
    # Resource-specific data the apply step needs (e.g. the full desired spec); not printed.
    spec: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    # What the change does to VM NICs and vmknics (vnettool.impact); None = not computed.
    impact: Impact | None = None

    @property
    def id(self) -> str:
        return f"{self.resource}:{self.host or '-'}:{self.name}"

    def summary(self) -> str:
        where = f"{self.host}: " if self.host else ""
        return f"{self.kind} {self.resource} {where}{self.name}"


class Plan(Model):
    changes: list[Change] = Field(default_factory=list)
    # The whole plan's effect (each change's effects in order, compared to the start).
    impact: Impact | None = None

    @property
    def empty(self) -> bool:
        return not self.changes

    def by_host(self) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = {}
        for c in self.changes:
            out.setdefault(c.host or "(vCenter)", []).append(c)
        return out

    def summary(self) -> str:
        """One line of counts, e.g. `1 to create, 2 to update, 0 to delete on 3 hosts`."""
        n = {k: sum(1 for c in self.changes if c.kind == k) for k in ("create", "update", "delete")}
        hosts = len({c.host for c in self.changes})
        return (
            f"{n['create']} to create, {n['update']} to update, {n['delete']} to delete "
            f"on {hosts} host{'s' if hosts != 1 else ''}"
        )


class Result(Model):
    change: Change
    changed: bool = False
    failed: bool = False
    skipped: bool = False
    error: str | None = None
    diff: list[FieldDiff] = Field(default_factory=list)
    duration_s: float = 0.0
