"""Shared by the spec builders' unit tests: a spec must also go on the wire as pyVmomi sends
it (typed fields, no Python value where a vim object belongs)."""

from __future__ import annotations

from typing import Any

from pyVmomi import SoapAdapter


def wire(spec: Any) -> str:
    """The spec serialized the way a call would send it (raises on a mistyped field)."""
    out = SoapAdapter.Serialize(spec)
    return out.decode() if isinstance(out, bytes) else str(out)
