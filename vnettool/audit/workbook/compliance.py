"""Compliance by benchmark: the Compliance tab (one row per profile x control, waivers with
owner and expiry shown on the control they excuse) and the Summary's per-profile table and
chart.

A control passes when every object its rules judged passes (a waived FAIL counts as passed
and is named); the percentage is passing controls out of the controls judged, and the
controls vnettool does not check are counted beside it, never inside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.worksheet.worksheet import Worksheet

from vnettool.audit.controls import PROFILES, ControlResult, compliance_pct, control_results
from vnettool.audit.model import Finding
from vnettool.audit.workbook.columns import Col, Tab, joined
from vnettool.audit.workbook.sheet import CENTER, Sheet

Results = dict[str, list[ControlResult]]


def results_by_profile(findings: Sequence[Finding], profiles: Sequence[str] | None) -> Results:
    return {p: control_results(p, findings) for p in (profiles or list(PROFILES))}


def compliance_tab(results: Results) -> Tab[tuple[str, ControlResult]]:
    cols: list[Col[tuple[str, ControlResult]]] = [
        Col("Profile", lambda pr: pr[0]),
        Col("Control", lambda pr: pr[1].control.id),
        Col("V-ID", lambda pr: pr[1].control.vid),
        Col("Title", lambda pr: pr[1].control.title),
        Col("State", lambda pr: pr[1].state),
        Col("Rules", lambda pr: joined(pr[1].control.rules) or "not checked by vnettool"),
        Col("FAIL", lambda pr: pr[1].failed),
        Col("Waived", lambda pr: pr[1].waived),
        Col("Waivers (owner, expiry)", lambda pr: "; ".join(pr[1].waivers)),
        Col("UNKNOWN", lambda pr: pr[1].unknown),
        Col("PASS", lambda pr: pr[1].passed),
    ]
    rows = [(p, r) for p, rs in results.items() for r in rs]
    order = {"FAIL": 0, "UNKNOWN": 1, "PASS": 2, "NOT CHECKED": 3}
    rows.sort(key=lambda pr: (list(results).index(pr[0]), order[pr[1].state], pr[1].control.id))
    return Tab("Compliance", cols, rows, wrap=True, empty="no profile selected")


def write_compliance(ws: Worksheet, results: Results, table_row: int) -> None:
    """Per profile: compliance %, controls passing / failing / unknown / not checked, and a
    bar chart of the percentages beside the table."""
    heads = ("Profile", "Compliance %", "PASS", "FAIL", "UNKNOWN", "Not checked")
    row = [Sheet.head(ws, h) for h in heads]
    for h in row[1:]:
        h.alignment = CENTER
    ws.append(row)
    for profile, rs in results.items():
        n = {s: sum(1 for r in rs if r.state == s) for s in ("PASS", "FAIL", "UNKNOWN")}
        nums = [compliance_pct(rs), n["PASS"], n["FAIL"], n["UNKNOWN"]]
        nums.append(sum(1 for r in rs if r.state == "NOT CHECKED"))
        cells = [WriteOnlyCell(ws, value=v) for v in nums]
        for c in cells:
            c.alignment = CENTER
        ws.append([Sheet.cell(ws, profile), *cells])
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Compliance by profile (% of judged controls)"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
    chart.y_axis.majorGridlines = None
    chart.x_axis.scaling.orientation = "maxMin"  # top to bottom in the table's order
    chart.legend = None
    data = Reference(ws, min_col=2, min_row=table_row, max_row=table_row + len(results))
    cats = Reference(ws, min_col=1, min_row=table_row + 1, max_row=table_row + len(results))
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    chart.series[0].graphicalProperties.solidFill = "2E75B6"
    chart.dataLabels = DataLabelList(  # the percentage on each bar, nothing else
        showVal=True, showSerName=False, showCatName=False, showLegendKey=False, showPercent=False
    )
    chart.height, chart.width = 6, 15
    ws.add_chart(chart, f"H{table_row}")
