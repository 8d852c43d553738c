"""The fleet workbook: every tab of the single-vCenter workbook, one above the other per
vCenter with a leading vCenter column, a fleet Summary first and the cross-vCenter drift.

The per-vCenter tabs are built by the same functions as `vnettool audit`'s, so a fleet row is
the single workbook's row with its vCenter in front; a tab whose columns differ by vCenter
(PortGroupMatrix has a column per host) gets the union of the columns, in order of appearance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from vnettool.audit.fleet_drift import FleetDrift
from vnettool.audit.model import SEVERITIES, Finding, score
from vnettool.audit.workbook.columns import Col, Tab
from vnettool.audit.workbook.extra import extra_tabs
from vnettool.audit.workbook.rvtools import rvtools_tabs
from vnettool.audit.workbook.sheet import Sheet, write_tab
from vnettool.audit.workbook.writer import (
    _save,
    finding_order,
    findings_tab,
    rules_tab,
    vhealth_tab,
    vmetadata_tab,
)
from vnettool.models.inventory import Inventory


@dataclass
class FleetMember:
    """One vCenter's part: its snapshot and findings, or why there are none."""

    name: str
    url: str
    status: str
    error: str = ""
    seconds: float = 0.0
    inventory: Inventory | None = None
    findings: list[Finding] = field(default_factory=list)


def _summary_row(m: FleetMember) -> list[Any]:
    inv = m.inventory
    fails = [f for f in m.findings if f.state == "FAIL"]
    value, grade = score(m.findings) if inv is not None else (None, None)
    counts = [sum(1 for f in fails if f.severity == s) for s in SEVERITIES[:4]]
    sizes: list[Any] = (
        [
            len(inv.hosts),
            len(inv.vms),
            len(inv.distributed_switches),
            len({p.name for p in inv.standard_port_groups}),
            len(inv.distributed_port_groups),
        ]
        if inv is not None
        else [None] * 5
    )
    return [
        m.name,
        m.url,
        m.status,
        m.error or None,
        round(m.seconds, 1),
        *sizes,
        value,
        grade,
        *(counts if inv is not None else [None] * 4),
    ]


SUMMARY_HEADERS = [
    "vCenter",
    "URL",
    "Status",
    "Error",
    "Seconds",
    "Hosts",
    "VMs",
    "vDS",
    "Port groups (vSS)",
    "DV port groups",
    "Score",
    "Grade",
    *(f"{s} FAIL" for s in SEVERITIES[:4]),
]


def drift_tab(rows: Sequence[FleetDrift]) -> Tab[FleetDrift]:
    cols: list[Col[FleetDrift]] = [
        Col("Kind", lambda d: d.kind),
        Col("VLAN", lambda d: d.vlan),
        Col("VLANs", lambda d: d.vlans or str(d.vlan)),
        Col("vCenter A", lambda d: d.vcenter_a),
        Col("Port groups A", lambda d: list(d.names_a)),
        Col("vCenter B", lambda d: d.vcenter_b),
        Col("Port groups B", lambda d: list(d.names_b)),
        Col("L2 domain", lambda d: d.l2_domain),
        Col("Detail", lambda d: d.detail),
    ]
    return Tab("FleetDrift", cols, rows, empty="no drift across the vCenters", wrap=True)


def _member_tabs(m: FleetMember, now: datetime) -> list[Tab[Any]]:
    from vnettool.audit.rules import RULES

    assert m.inventory is not None
    findings = sorted(m.findings, key=finding_order)
    server = m.inventory.vcenter
    return [
        findings_tab(findings, server, now, include_pass=False),
        rules_tab(RULES, findings),
        *rvtools_tabs(m.inventory, server),
        vhealth_tab(findings, server),
        vmetadata_tab(server, now),
        *extra_tabs(m.inventory, None),
    ]


class _Merged:
    """One tab's rows from every vCenter, under the union of their headers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.headers: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self.wrap = False

    def add(self, vcenter: str, tab: Tab[Any]) -> None:
        self.wrap = self.wrap or tab.wrap
        heads = tab.headers
        for h in heads:
            if h not in self.headers:
                self.headers.append(h)
        for values in tab.values():
            self.rows.append({"\0vc": vcenter} | dict(zip(heads, values, strict=False)))

    def write(self, wb: Workbook) -> None:
        heads = ["vCenter", *self.headers]
        rows = ([r["\0vc"], *(r.get(h) for h in self.headers)] for r in self.rows)
        Sheet(wb, self.name, heads, rows, freeze="B2", wrap=self.wrap)


def write_fleet_workbook(
    path: Path, members: Sequence[FleetMember], drift: Sequence[FleetDrift]
) -> Path:
    """Write atomically (temp file + rename, mode 0600) and return `path`."""
    now = datetime.now(UTC)
    wb = Workbook(write_only=True)
    Sheet(wb, "Summary", SUMMARY_HEADERS, [_summary_row(m) for m in members], freeze="B2")
    write_tab(wb, drift_tab(drift))
    merged: dict[str, _Merged] = {}
    for m in members:
        if m.inventory is None:
            continue
        for tab in _member_tabs(m, now):
            merged.setdefault(tab.name, _Merged(tab.name)).add(m.name, tab)
    for each in merged.values():
        each.write(wb)
    _save(wb, path)
    return path
