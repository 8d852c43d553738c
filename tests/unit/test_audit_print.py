"""Every tab of the audit workbooks prints: landscape, fit to the page width, pages down as
needed, the header row repeated, the tab's name on each page. The book is written with every
optional tab (Drift, Latency, Topology, Appliances) and the fleet book too, and each sheet is
checked as openpyxl reads it back: a new tab that forgets the print setup fails here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from tests.factories import snapshot
from vnettool.audit.drift import drift
from vnettool.audit.rules import RULES
from vnettool.audit.runner import audit
from vnettool.audit.workbook import write_workbook
from vnettool.audit.workbook.fleet import FleetMember, write_fleet_workbook
from vnettool.audit.workbook.printing import (
    MIN_SCALE,
    PAGE_PX,
    column_px,
    column_widths,
    header_lines,
    lines,
    pages_across,
)
from vnettool.models.latency import HistoryPoint

# free layout, no header row to repeat: the key/value block and charts, the pictures
NO_HEADER_ROW = {"Summary", "Topology"}


def _book(tmp_path: Path) -> Path:
    inv = snapshot()
    found = audit(inv)
    t0 = datetime(2026, 12, 7, 12, tzinfo=UTC)
    points = [
        HistoryPoint(at=t0 + timedelta(minutes=i), cluster=h.cluster, host=h.name, ms=0.2 + i)
        for i in range(3)
        for h in inv.hosts
    ]
    return write_workbook(
        tmp_path / "a.xlsx",
        inv,
        found,
        rules=RULES,
        baseline=drift(snapshot(), inv),
        latency=points,
    )


def _printed(ws: Worksheet) -> None:
    name = ws.title
    setup = ws.page_setup
    assert setup.orientation == "landscape", name
    assert ws.sheet_properties.pageSetUpPr.fitToPage, name
    assert setup.fitToHeight == 0, name  # as many pages down as the rows need
    assert setup.fitToWidth is not None and setup.fitToWidth >= 1, name
    assert "&A" in (ws.oddHeader.left.text or ""), name  # each page names its tab
    assert "&P" in (ws.oddFooter.center.text or ""), name
    if name not in NO_HEADER_ROW:
        assert ws.print_title_rows == "$1:$1", name
        assert ws["A1"].alignment.wrap_text, name  # headers wrap, never widen a column


def test_every_sheet_of_the_audit_workbook_has_the_print_setup(tmp_path: Path) -> None:
    wb = load_workbook(_book(tmp_path))
    for name in ("Drift", "Latency", "Topology", "Appliances", "vNetwork", "dvPort"):
        assert name in wb.sheetnames  # the optional tabs are in the book under test
    for ws in wb.worksheets:
        _printed(ws)


def test_every_sheet_of_the_fleet_workbook_has_the_print_setup(tmp_path: Path) -> None:
    inv = snapshot()
    members = [
        FleetMember("vc-a", "https://a/sdk", "ok", inventory=inv, findings=audit(inv)),
        FleetMember("vc-b", "https://b/sdk", "unreachable", error="refused"),
    ]
    wb = load_workbook(write_fleet_workbook(tmp_path / "f.xlsx", members, []))
    assert len(wb.worksheets) > 10
    for ws in wb.worksheets:
        _printed(ws)


def test_a_tab_too_wide_for_one_legible_page_repeats_its_key_columns(tmp_path: Path) -> None:
    wb = load_workbook(_book(tmp_path))
    for ws in wb.worksheets:
        widths = [ws.column_dimensions[c].width for c in ws.column_dimensions]
        across = ws.page_setup.fitToWidth
        if across > 1:  # frozen key columns (VM, host, port group) on every page across
            assert ws.print_title_cols is not None, ws.title
            assert sum(column_px(w) for w in widths) > PAGE_PX / MIN_SCALE, ws.title
    # the wide RVTools tab prints across pages with its first column repeated
    dvport = wb["dvPort"]
    assert dvport.page_setup.fitToWidth > 1 and dvport.print_title_cols == "$A:$A"
    # the reviewer's tabs fit one page width at a legible size
    for name in ("Findings", "Rules", "Compliance", "PortGroupMatrix"):
        assert wb[name].page_setup.fitToWidth == 1, name
    # Rules prints Rule ID .. UNKNOWN (the long control lists print on Compliance)
    rules = wb["Rules"]
    assert rules.print_area.startswith("'Rules'!$A$1:$N$")
    assert rules["N1"].value == "UNKNOWN" and rules["O1"].value == "Controls"


def test_pages_across_keep_the_minimum_scale() -> None:
    room = PAGE_PX / MIN_SCALE
    assert pages_across([10] * 5) == 1
    narrow = int((room - 5) / 7)  # one column as wide as a page at the minimum scale
    assert pages_across([narrow]) == 1
    assert pages_across([narrow, narrow]) == 2
    # the repeated key column takes room on every further page
    assert pages_across([*[30] * 14]) == 2  # seven 30-wide columns a page
    assert pages_across([20, *[30] * 14], title_cols=1) == 3  # six beside the key column


def test_columns_are_as_wide_as_values_and_header_words_not_whole_headers() -> None:
    widths = column_widths(
        ["Allow Promiscuous", "Host members", "x", "DC0_C0/DC0_C0_H0"],
        [["False", ", ".join(f"DC0_C0_H{i}" for i in range(8)), None, "0"]],
        cap=40,
    )
    assert widths == [13, 40, 5, 11]  # "Promiscuous"; capped (wraps); minimum; "DC0_C0_H0"
    assert column_widths(["a"], [["x" * 90]], cap=40, fixed=[12]) == [12]


def test_wrapped_text_counts_whole_words() -> None:
    hosts = ", ".join(f"DC0_C0_H{i}" for i in range(8))  # 86 characters
    assert lines(hosts, 40) == 3  # three names a line at width 40 (LibreOffice's print)
    assert lines("short", 40) == 1 and lines("a\nb", 40) == 2
    assert lines("x" * 100, 12) == 9  # a word longer than the line is broken (93 units)
    assert header_lines("Allow Promiscuous", 13) == 2
    assert header_lines("DC0_C0/DC0_C0_H0", 11) == 2  # breaks after the slash


def test_long_text_wraps_and_grows_its_row_on_data_tabs(tmp_path: Path) -> None:
    wb = load_workbook(_book(tmp_path))
    ws = wb["dvSwitch"]
    heads = [c.value for c in ws[1]]
    members = heads.index("Host members") + 1
    cell = ws.cell(row=2, column=members)
    width = ws.column_dimensions[cell.column_letter].width
    if len(str(cell.value)) > width - 2:  # more members than one line holds
        assert cell.alignment.wrap_text
        assert ws.row_dimensions[2].height == lines(cell.value, int(width)) * 15.0
    short = ws.cell(row=2, column=1)  # the switch's name: one line, not wrapped
    assert not short.alignment.wrap_text
