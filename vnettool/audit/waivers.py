"""Waivers: an allow-list entry turns a FAIL into an EXCEPTION until its expiry date.

After the date the finding is a FAIL again and its detail says which waiver expired, so an
old exception cannot hide a problem silently.
"""

from __future__ import annotations

import fnmatch
from datetime import date

from vnettool.audit.model import AuditConfig, Finding


def _waiver(cfg: AuditConfig, f: Finding, today: date) -> tuple[str | None, str | None]:
    """(exception text, expired note) for a FAIL matched by an allow-list entry."""
    for entry in cfg.allow.get(f.rule_id, []):
        if not (fnmatch.fnmatchcase(f.object, entry.pattern) or f.object.endswith(entry.pattern)):
            continue
        if entry.expires is not None and entry.expires < today:
            return None, f"waiver {entry.pattern!r} expired on {entry.expires.isoformat()}"
        owner = f", owner {entry.owner}" if entry.owner else ""
        until = f", until {entry.expires.isoformat()}" if entry.expires else ""
        return f"{entry.pattern}: {entry.justification}{owner}{until}", None
    return None, None


def waive(cfg: AuditConfig, f: Finding, today: date) -> Finding:
    """`f` as the site config sees it today: a waived FAIL is an EXCEPTION, an expired waiver
    is named in the detail, anything else is unchanged."""
    if f.state != "FAIL":
        return f
    exc_text, expired = _waiver(cfg, f, today)
    if exc_text:
        return f.model_copy(update={"state": "EXCEPTION", "exception": exc_text})
    if expired:
        return f.model_copy(update={"detail": (f.detail + "; " if f.detail else "") + expired})
    return f
