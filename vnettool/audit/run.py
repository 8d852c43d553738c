"""One audit run: rules over a snapshot, the workbook, and the summary the callers print.

Shared by `vnettool audit`, the playbook `audit` step and the TUI (which uses `audit` and
`write_workbook` from here), so they write the same workbook and decide `--fail-on` the same
way.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vnettool import userfile
from vnettool.audit.config import load_config
from vnettool.audit.controls import PROFILES, ControlResult, compliance_pct, profile_rules
from vnettool.audit.drift import DriftRow, attribute, drift
from vnettool.audit.model import SEVERITIES, AuditConfig, Finding, at_least, score
from vnettool.audit.rules import RULES
from vnettool.audit.runner import audit
from vnettool.audit.workbook import write_workbook
from vnettool.audit.workbook.compliance import results_by_profile
from vnettool.errors import ConfigError
from vnettool.models.appliance import ApplianceStatus
from vnettool.models.events import ChangeEvent
from vnettool.models.inventory import Inventory
from vnettool.models.latency import HistoryPoint

__all__ = ["AuditReport", "audit", "run_audit", "write_workbook"]


@dataclass
class AuditReport:
    path: Path
    findings: list[Finding]
    score: int
    grade: str
    drift: list[DriftRow] | None = None
    failing: list[Finding] = field(default_factory=list)  # at or above fail_on
    profile: str | None = None
    compliance: dict[str, list[ControlResult]] = field(default_factory=dict)

    def counts(self) -> dict[str, Counter[str]]:
        """severity -> Counter of states (FAIL, EXCEPTION, UNKNOWN...)."""
        out: dict[str, Counter[str]] = {s: Counter() for s in SEVERITIES}
        for f in self.findings:
            out[f.severity][f.state] += 1
        return out

    def as_json(self, include_pass: bool) -> dict[str, Any]:
        """What `audit --json` prints for one vCenter; a fleet audit prints it per vCenter
        (so it lives with the report, below both CLI commands)."""
        return {
            "workbook": str(self.path),
            "score": self.score,
            "grade": self.grade,
            "failing": len(self.failing),
            "findings": [
                f.model_dump(mode="json") | {"finding_id": f.finding_id}
                for f in self.findings
                if include_pass or f.state != "PASS"
            ],
            "drift": len(self.drift) if self.drift is not None else None,
            "compliance": {
                profile: {"compliance_pct": compliance_pct(results), "controls": _controls(results)}
                for profile, results in self.compliance.items()
            },
        }


def _controls(results: list[ControlResult]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.control.id,
            "vid": r.control.vid,
            "title": r.control.title,
            "state": r.state,
            "rules": list(r.control.rules),
            "fail": r.failed,
            "waived": r.waived,
            "waivers": r.waivers,
        }
        for r in results
    ]


def default_path(inventory: Inventory, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    vc = re.sub(r"[^A-Za-z0-9_.-]+", "_", inventory.vcenter or "vcenter")
    return Path("reports") / f"vnettool-audit-{vc}-{stamp}.xlsx"


def load_baseline(path: Path) -> Inventory:
    try:
        return Inventory.load(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from exc
    except ValueError as exc:  # pydantic ValidationError and JSON errors
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not an inventory snapshot ({first})") from exc


def run_audit(
    inventory: Inventory,
    *,
    out: Path | None = None,
    baseline: Path | None = None,
    config: Path | AuditConfig | None = None,
    fail_on: str = "never",
    only: list[str] | None = None,
    appliances: list[ApplianceStatus] | None = None,
    started: datetime | None = None,
    include_pass: bool = False,
    progress: Callable[[str], None] | None = None,
    changes: Sequence[ChangeEvent] | None = None,
    write: bool = True,
    profile: str | None = None,
    latency: Sequence[HistoryPoint] | None = None,
) -> AuditReport:
    """Audit a snapshot, write the workbook, return what was found. `progress` hears each
    phase's name.

    The caller collects (with CDP/LLDP neighbours, for HC-18, and the change events since the
    baseline for the drift's "changed by, when"): the audit layer never talks to vSphere, so
    the same snapshot can be audited live, from a file, or in the TUI."""
    say = progress or (lambda _phase: None)
    started = started or datetime.now(UTC)
    cfg = load_config(config) if isinstance(config, Path) else config or AuditConfig()
    base = load_baseline(baseline) if baseline else None  # before any work: bad input fails fast
    say("evaluating the rules")
    findings = audit(inventory, cfg)
    if only:
        findings = [f for f in findings if f.rule_id in only]
    if profile is not None:
        findings = [f for f in findings if f.rule_id in profile_rules(check_profile(profile))]
    rows = drift(base, inventory) if base is not None else None
    if rows is not None and changes:
        rows = attribute(rows, changes)
    path = out or default_path(inventory)
    if write:  # a playbook under --check computes the report and writes nothing
        say("writing the workbook")
        write_workbook(
            path,
            inventory,
            findings,
            rules=RULES,
            baseline=rows,
            appliances=appliances,
            started=started,
            config_note=str(config) if isinstance(config, Path) else "defaults",
            config_sha256=_sha256(config) if isinstance(config, Path) else _digest(cfg),
            filters=_filters(only, profile),
            include_pass=include_pass,
            profiles=[profile] if profile else None,
            latency=latency,
        )
    value, grade = score(findings)
    failing = [f for f in findings if f.state == "FAIL" and at_least(f.severity, fail_on)]
    compliance = results_by_profile(findings, [profile] if profile else None)
    return AuditReport(path, findings, value, grade, rows, failing, profile, compliance)


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ConfigError(f"--profile {profile!r}: choose one of {', '.join(PROFILES)}")
    return profile


def _filters(only: list[str] | None, profile: str | None) -> str:
    parts = [f"rules: {', '.join(only)}"] if only else []
    if profile:
        parts.append(f"profile: {profile} ({PROFILES[profile]})")
    return "; ".join(parts)


def _digest(cfg: AuditConfig) -> str:
    """Without a file, the digest of the settings in effect (canonical JSON): two reports
    made with the same defaults or the same playbook settings show the same value."""
    canonical = json.dumps(cfg.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _sha256(path: Path) -> str:
    """The config's digest for the Summary: which waivers a report was made with."""
    try:
        return hashlib.sha256(userfile.read_bytes(path, what="audit config")).hexdigest()
    except userfile.UserFileError:
        return ""
