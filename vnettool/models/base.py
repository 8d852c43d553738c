"""Shared base for vnettool's models.

Every inventory object separates its *identity* (what makes two readings the same object,
e.g. host + switch name) from its *attributes* (what can drift) — the diffsync idea — so the
planner, the drift report and the live watcher all compare objects the same way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Strict, immutable value object: unknown keys are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Identified(Model):
    """An inventory object with an identity separate from its attributes."""

    _identifiers: ClassVar[tuple[str, ...]] = ("name",)

    def identity(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._identifiers)

    def ident(self) -> str:
        """Identity as a stable, human-readable string (used in plans, drift and findings)."""
        return "/".join(str(v) for v in self.identity())

    def attributes(self) -> dict[str, Any]:
        return self.model_dump(exclude=set(self._identifiers), mode="json")
