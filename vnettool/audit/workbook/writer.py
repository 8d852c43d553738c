"""The whole audit workbook in the order a reviewer reads it: Summary, Findings, Rules, the
RVTools network tabs, vHealth and vMetaData, vnettool's extra tabs, the Topology picture per
cluster, then Drift.

The file is written to a temporary name in the same folder (mode 0600) and renamed at the end:
a failed run never leaves a partial report, and nobody else on the host can read it.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from vnettool import userfile
from vnettool.audit.drift import DriftRow
from vnettool.audit.model import SEVERITIES, Finding, Rule
from vnettool.audit.workbook.columns import Col, Tab, joined, yes_no
from vnettool.audit.workbook.compliance import compliance_tab, results_by_profile
from vnettool.audit.workbook.extra import extra_tabs
from vnettool.audit.workbook.latency import write_latency
from vnettool.audit.workbook.rvtools import rvtools_tabs, sdk_cols
from vnettool.audit.workbook.sheet import write_tab
from vnettool.audit.workbook.summary import TOOL, RunInfo, write_summary
from vnettool.audit.workbook.topology import write_topology
from vnettool.models.appliance import ApplianceStatus
from vnettool.models.inventory import Inventory
from vnettool.models.latency import HistoryPoint


def finding_order(f: Finding) -> tuple[bool, int, str, str, str]:
    """Severity, rule, object, with N/A ("not judged") after every judged finding: a critical
    rule that could not look must not sit above a real high failure."""
    return (f.state == "N/A", SEVERITIES.index(f.severity), f.rule_id, f.object, f.property_path)


FINDINGS_PRINTED = 9  # Rule ID .. PowerCLI
RULES_PRINTED = 14  # Rule ID .. UNKNOWN


def findings_tab(
    findings: Sequence[Finding], server: str, now: datetime, include_pass: bool
) -> Tab[Finding]:
    cols: list[Col[Finding]] = [
        Col("Rule ID", lambda f: f.rule_id, 8),
        Col("Severity", lambda f: f.severity, 8),
        Col("State", lambda f: f.state, 9),
        Col("Object", lambda f: f.object, 30),
        Col("Actual", lambda f: f.actual, 18),
        Col("Expected", lambda f: f.expected, 16),
        Col("Set (vnettool YAML)", lambda f: f.remedy.yaml if f.remedy else None, 30),
        Col("esxcli", lambda f: f.remedy.esxcli if f.remedy else None, 36),
        Col("PowerCLI", lambda f: f.remedy.powercli if f.remedy else None, 42),
        Col("Remediation", lambda f: f.remediation, 32),
        Col("Object type", lambda f: f.object_type),
        Col("Host/Cluster", lambda f: f.host_or_cluster),
        Col("Property", lambda f: f.property_path),
        Col("Title", lambda f: f.title),
        Col("Detail", lambda f: f.detail),
        Col("Fix note", lambda f: f.remedy.note if f.remedy else None),
        Col("Switch", lambda f: f.switch),
        Col("Object ID", lambda f: f.object_id),
        Col("Finding ID", lambda f: f.finding_id),
        Col("Exception", lambda f: f.exception),
        Col("Source", lambda f: f.source),
        Col("vCenter", lambda _f: server),
        Col("Checked (UTC)", lambda _f: now),
        Col("Controls", lambda f: joined(f.controls)),
    ]
    rows = (f for f in findings if include_pass or f.state != "PASS")
    # printed: Rule ID .. PowerCLI, what a reviewer acts on and what to set; the rest is for
    # filters and diffs (the object path already names its host and switch)
    return Tab("Findings", cols, rows, wrap=True, print_cols=FINDINGS_PRINTED)


def rules_tab(rules: Sequence[Rule], findings: Sequence[Finding]) -> Tab[Rule]:
    counts = Counter((f.rule_id, f.state) for f in findings)
    evaluated = Counter(f.rule_id for f in findings if f.state not in ("N/A",))
    cols: list[Col[Rule]] = [
        Col("Rule ID", lambda r: r.id, 8),
        Col("Title", lambda r: r.title, 26),
        Col("Category", lambda r: r.category, 10),
        Col("Severity", lambda r: r.severity, 9),
        Col("Scope", lambda r: r.scope, 16),
        Col("Properties read", lambda r: r.reads, 24),
        Col("Logic", lambda r: r.logic, 30),
        Col("Source", lambda r: r.source, 18),
        Col("Remediation", lambda r: r.remediation, 30),
        Col("Enabled", lambda r: yes_no(r.enabled), 9),
        Col("Evaluated", lambda r: evaluated.get(r.id, 0), 11),
        Col("FAIL", lambda r: counts.get((r.id, "FAIL"), 0), 6),
        Col("EXCEPTION", lambda r: counts.get((r.id, "EXCEPTION"), 0), 11),
        Col("UNKNOWN", lambda r: counts.get((r.id, "UNKNOWN"), 0), 9),
        Col("Controls", lambda r: joined(r.controls)),
    ]
    # printed: Rule ID .. UNKNOWN on one legible page width; the controls (long lists of
    # benchmark ids) stay on screen, and print per control on the Compliance tab
    return Tab("Rules", cols, rule_order(rules, findings), wrap=True, print_cols=RULES_PRINTED)


def rule_order(rules: Sequence[Rule], findings: Sequence[Finding]) -> list[Rule]:
    """Failing rules first (worst severity first), then the judged ones, and the rules that
    judged nothing (only N/A, or no finding) last: a reader's eye never meets "not judged"
    above a real failure."""
    failing = {f.rule_id for f in findings if f.state == "FAIL"}
    judged = {f.rule_id for f in findings if f.state != "N/A"}

    def key(r: Rule) -> tuple[int, int, str]:
        rank = 0 if r.id in failing else 1 if r.id in judged else 2
        return rank, SEVERITIES.index(r.severity), r.id

    return sorted(rules, key=key)


def vhealth_tab(findings: Sequence[Finding], server: str) -> Tab[Finding]:
    """RVTools' own health tab: one line per FAIL, for readers who only know RVTools."""
    cols: list[Col[Finding]] = [
        Col("Name", lambda f: f.object),
        Col("Message", lambda f: f"[{f.rule_id}] {f.title}: {f.actual} (expected {f.expected})"),
        Col("Message type", lambda f: f.rule_id),
        *sdk_cols(server),
    ]
    return Tab("vHealth", cols, (f for f in findings if f.state == "FAIL"), freeze="B2")


def vmetadata_tab(server: str, now: datetime) -> Tab[None]:
    from vnettool import __version__

    cols: list[Col[None]] = [
        Col("RVTools major version", lambda _r: TOOL),
        Col("RVTools version", lambda _r: f"{TOOL} {__version__}"),
        Col("xlsx creation datetime", lambda _r: now),
        Col("Server", lambda _r: server),
    ]
    return Tab("vMetaData", cols, [None], freeze="B2")


def drift_tab(baseline: Sequence[DriftRow]) -> Tab[DriftRow]:
    cols: list[Col[DriftRow]] = [
        Col("Collection", lambda d: d.collection),
        Col("Object", lambda d: d.object),
        Col("Change", lambda d: d.change),
        Col("Field", lambda d: d.field),
        Col("Before", lambda d: d.before),
        Col("After", lambda d: d.after),
        Col("Changed by", lambda d: d.changed_by),
        Col("When", lambda d: d.changed_at.strftime("%Y-%m-%d %H:%M:%S") if d.changed_at else ""),
    ]
    return Tab("Drift", cols, baseline, empty="no differences from the baseline")


def _save(wb: Workbook, path: Path) -> None:
    buf = io.BytesIO()
    wb.save(buf)
    userfile.write_bytes(path, buf.getvalue(), what="workbook", make_parents=True)


def write_workbook(
    path: Path,
    inventory: Inventory,
    findings: Sequence[Finding],
    *,
    rules: Sequence[Rule] | None = None,
    baseline: Sequence[DriftRow] | None = None,
    appliances: Sequence[ApplianceStatus] | None = None,
    started: datetime | None = None,
    config_note: str = "",
    config_sha256: str = "",
    filters: str = "",
    include_pass: bool = False,
    topology: bool = True,
    profiles: Sequence[str] | None = None,
    latency: Sequence[HistoryPoint] | None = None,
) -> Path:
    """Write the whole workbook atomically (temp file + rename, mode 0600); returns `path`.

    PASS findings count in the Summary and the Rules sheet either way; they are rows of the
    Findings sheet only with `include_pass` (one per rule x object: most of a large book).
    `profiles` are the benchmarks whose compliance is shown (default: all); `latency` is the
    latency history to chart on a Latency tab (the tab is left out without points)."""
    from vnettool.audit.rules import RULES

    rules = RULES if rules is None else rules
    server = inventory.vcenter
    now = datetime.now(UTC)
    wb = Workbook(write_only=True)
    findings = sorted(findings, key=finding_order)
    run = RunInfo(started or now, now, config_note, config_sha256, filters, len(appliances or []))
    compliance = results_by_profile(findings, profiles)
    write_summary(wb, inventory, findings, rules, run, compliance)
    tabs: list[Tab[Any]] = [
        findings_tab(findings, server, now, include_pass),
        rules_tab(rules, findings),
        compliance_tab(compliance),
        *rvtools_tabs(inventory, server),
        vhealth_tab(findings, server),
        vmetadata_tab(server, now),
        *extra_tabs(inventory, appliances),
    ]
    for tab in tabs:
        write_tab(wb, tab)
    if topology:
        write_topology(wb, inventory)
    if baseline is not None:
        write_tab(wb, drift_tab(baseline))
    if latency:
        write_latency(wb, latency)
    _save(wb, path)
    return path
