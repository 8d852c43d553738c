"""The audit over a snapshot: every enabled rule, the site config applied.

A rule that raises is reported as one UNKNOWN finding; it never stops the audit, so one rule's
bug cannot hide the other rules' findings.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from datetime import UTC, date, datetime

from vnettool.audit.model import SEVERITIES, AuditConfig, Finding, Rule
from vnettool.audit.remedy import with_remedies
from vnettool.audit.rules import RULES, finding
from vnettool.audit.waivers import waive
from vnettool.models.inventory import Inventory


def _evaluate(r: Rule, inventory: Inventory, cfg: AuditConfig) -> Iterable[Finding]:
    try:
        return list(r.check(inventory, cfg))
    except Exception as exc:  # a rule bug must not hide the other rules' findings
        return [
            finding(
                r.id,
                "UNKNOWN",
                "Inventory",
                inventory.vcenter or "vCenter",
                detail=f"rule failed: {type(exc).__name__}: {exc}",
            )
        ]


def _ignored(cfg: AuditConfig, f: Finding) -> bool:
    """Port groups the site excludes by name glob (e.g. NSX-managed ones)."""
    return f.object_type.endswith("PortGroup") and any(
        p and fnmatch.fnmatchcase(f.object.rsplit("/", 1)[-1], p) for p in cfg.ignore_portgroups
    )


def audit(
    inventory: Inventory, config: AuditConfig | None = None, today: date | None = None
) -> list[Finding]:
    """Every enabled rule over the snapshot, config applied; sorted by severity, rule, object."""
    cfg = config or AuditConfig()
    today = today or datetime.now(UTC).date()
    out: list[Finding] = []
    for r in RULES:
        over = cfg.rules.get(r.id)
        if over is not None and over.enabled is False:
            continue
        for raw in _evaluate(r, inventory, cfg):
            if _ignored(cfg, raw):
                continue
            relevel = over is not None and over.severity is not None
            f = raw.model_copy(update={"severity": over.severity}) if over and relevel else raw
            out.append(waive(cfg, f, today))
    out.sort(key=lambda f: (SEVERITIES.index(f.severity), f.rule_id, f.object))
    return with_remedies(inventory, out, cfg)
