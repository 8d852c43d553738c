"""The Summary sheet: what was audited and how, the score, counts by severity x state with a
chart, and the rules and objects that weigh most.

It is a normal sheet in a write-only book (a small table plus the chart), laid out to print
on one landscape page.
"""

from __future__ import annotations

import getpass
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from vnettool.audit.model import SEVERITIES, STATES, WEIGHT, Finding, Rule, score
from vnettool.audit.workbook.compliance import Results, write_compliance
from vnettool.audit.workbook.printing import print_setup
from vnettool.audit.workbook.sheet import CENTER, Sheet
from vnettool.models.inventory import Inventory

TOOL = "vnettool"
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class RunInfo:
    """The run's own facts, beside the snapshot's: when, with which config, for what."""

    started: datetime
    now: datetime
    config_note: str
    config_sha256: str
    filters: str
    appliances: int


def _catalogue(rules: Sequence[Rule]) -> str:
    sec = sum(r.category == "SEC" for r in rules)
    hc = sum(r.category == "HC" for r in rules)
    return f"{len(rules)} rules ({sec} SEC, {hc} HC)"


def _head(
    inv: Inventory,
    findings: Sequence[Finding],
    rules: Sequence[Rule],
    run: RunInfo,
) -> list[tuple[str, Any]]:
    """The key/value block: the run's provenance, then what the snapshot holds."""
    from vnettool import __version__

    value, grade = score(findings)
    connected = sum(h.connection_state == "connected" for h in inv.hosts)
    return [
        ("Tool", f"{TOOL} {__version__}"),
        ("vCenter", inv.vcenter),
        ("API version", inv.api_version),
        ("Inventory read (UTC)", inv.collected_at.strftime(_STAMP)),
        ("Run started (UTC)", run.started.strftime(_STAMP)),
        ("Run ended (UTC)", run.now.strftime(_STAMP)),
        ("User", getpass.getuser()),
        ("Audit config", run.config_note or "defaults"),
        ("Audit config SHA-256", run.config_sha256 or None),
        ("Filters", run.filters or "none"),
        ("Rule catalogue", _catalogue(rules)),
        ("Score", f"{value} / 100 (grade {grade})"),
        ("Datacenters / clusters", f"{len(inv.datacenters)} / {len(inv.clusters)}"),
        (
            "Hosts (connected / not)",
            f"{len(inv.hosts)} ({connected} / {len(inv.hosts) - connected})",
        ),
        ("Physical NICs", sum(len(h.pnics) for h in inv.hosts)),
        (
            "Standard switches / port groups",
            f"{len(inv.standard_switches)} / {len(inv.standard_port_groups)}",
        ),
        (
            "Distributed switches / port groups",
            f"{len(inv.distributed_switches)} / {len(inv.distributed_port_groups)}",
        ),
        ("VMkernel adapters", len(inv.vmkernel_adapters)),
        ("VM NICs", sum(len(v.nics) for v in inv.vms)),
        ("Appliances", run.appliances),
    ]


def _key_values(ws: Worksheet, head: list[tuple[str, Any]]) -> None:
    bold = Font(bold=True)
    for k, v in head:
        a = WriteOnlyCell(ws, value=k)
        a.font = bold
        b = Sheet.cell(ws, v)
        if not isinstance(b, Cell):
            b = WriteOnlyCell(ws, value=b)
        b.alignment = Alignment(horizontal="left")  # counts and text in one readable column
        ws.append([a, b])


def _counts(ws: Worksheet, findings: Sequence[Finding], table_row: int) -> None:
    """Severity x state counts, and the stacked chart of the open ones beside the header."""
    by = Counter((f.severity, f.state) for f in findings)
    heads = [Sheet.head(ws, h) for h in ("Severity", *STATES[:4])]
    for h in heads[1:]:
        h.alignment = CENTER
    ws.append(heads)
    for sev in SEVERITIES:
        nums = [WriteOnlyCell(ws, value=by.get((sev, st), 0)) for st in STATES[:4]]
        for cell in nums:
            cell.alignment = CENTER
        ws.append([Sheet.cell(ws, sev), *nums])
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "Open findings by severity"
    # PASS would dwarf the rest: the chart shows what needs attention
    data = Reference(ws, min_col=2, max_col=4, min_row=table_row, max_row=table_row + 5)
    cats = Reference(ws, min_col=1, min_row=table_row + 1, max_row=table_row + 5)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    _colour(chart)
    chart.height, chart.width = 8, 15
    ws.add_chart(chart, "D2")  # beside the header block, above the tables: one compact page


_SEV_RGB = {"critical": "C00000", "high": "FF6B6B", "medium": "FFC000", "low": "FFE699"}
_SEV_RGB["info"] = "9DC3E6"


def _colour(chart: BarChart) -> None:
    """FAIL bars in the severity colours of the Findings sheet, EXCEPTION and UNKNOWN in
    greys: the chart reads like the table (red is critical, not "series 1")."""
    fail, *others = chart.series
    for i, sev in enumerate(SEVERITIES):
        point = DataPoint(idx=i)
        point.graphicalProperties.solidFill = _SEV_RGB[sev]
        fail.dPt.append(point)
    for s, grey in zip(others, ("7F7F7F", "BFBFBF"), strict=False):
        s.graphicalProperties.solidFill = grey


def _top(ws: Worksheet, findings: Sequence[Finding], rules: Sequence[Rule]) -> None:
    """The ten rules and the ten objects with the most weight of FAIL findings."""
    # weights from the findings (a re-levelled rule weighs what the config says)
    rule_w: Counter[str] = Counter()
    rule_n: Counter[str] = Counter()
    obj_w: Counter[tuple[str, str]] = Counter()
    obj_n: Counter[tuple[str, str]] = Counter()
    for f in findings:
        if f.state == "FAIL":
            rule_w[f.rule_id] += WEIGHT[f.severity]
            rule_n[f.rule_id] += 1
            obj_w[(f.object_type, f.object)] += WEIGHT[f.severity]
            obj_n[(f.object_type, f.object)] += 1
    titles = {r.id: r.title for r in rules}
    ws.append(_heads(ws, "Top rules by severity, weight", "Title"))
    sev = {f.rule_id: SEVERITIES.index(f.severity) for f in findings if f.state == "FAIL"}
    # severity first: ten low failures must not push a single critical one off the list
    for rid, w in sorted(rule_w.items(), key=lambda kv: (sev[kv[0]], -kv[1], kv[0]))[:10]:
        ws.append([rid, Sheet.cell(ws, titles.get(rid, "")), *_centred(ws, rule_n[rid], w)])
    ws.append([])
    ws.append(_heads(ws, "Top objects by weighted failures", "Object"))
    for (kind, obj), w in sorted(obj_w.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        ws.append([kind, Sheet.cell(ws, obj), *_centred(ws, obj_n[(kind, obj)], w)])


def _heads(ws: Worksheet, first: str, second: str) -> list[Any]:
    """A top table's header: the counts' headers centred over their centred numbers."""
    cells = [Sheet.head(ws, h) for h in (first, second, "FAIL", "Weight")]
    for c in cells[2:]:
        c.alignment = CENTER
    return cells


def _centred(ws: Worksheet, *values: int) -> list[Any]:
    cells = [WriteOnlyCell(ws, value=v) for v in values]
    for c in cells:
        c.alignment = CENTER
    return cells


def write_summary(
    wb: Workbook,
    inv: Inventory,
    findings: Sequence[Finding],
    rules: Sequence[Rule],
    run: RunInfo,
    compliance: Results | None = None,
) -> None:
    """The first sheet a reader opens: provenance, score, counts, and where to start."""
    ws = wb.create_sheet("Summary")
    widths = {"A": 36, "B": 52, "C": 12, "D": 12, "E": 12, "F": 12}  # B: titles, object paths
    for c, w in widths.items():
        ws.column_dimensions[c].width = w
    # printed / PDF: the table and the chart on one landscape page; no header row to repeat
    print_setup(ws, list(widths.values()), header_rows=0)
    head = _head(inv, findings, rules, run)
    _key_values(ws, head)
    ws.append([])
    _counts(ws, findings, len(head) + 2)
    ws.append([])
    if compliance:
        write_compliance(ws, compliance, len(head) + 2 + len(SEVERITIES) + 2)
        ws.append([])
    _top(ws, findings, rules)
