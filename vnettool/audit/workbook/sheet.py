"""Cells as a spreadsheet shows them: formula-safe text, severity colours, UTC timestamps, and
write-only sheets with a bold frozen header, an autofilter and widths set up front.

Every string from vSphere goes through `safe()`, so a port group called `=HYPERLINK(...)` is
text, never a formula. Sheets are written in write-only (streaming) mode, so a 10,000-VM
estate does not hold a cell tree in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from vnettool.audit.model import SEVERITIES
from vnettool.audit.workbook.columns import Tab

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_HEADER_FONT = Font(bold=True, color="FFFFFF", name="Verdana", size=9)
_HEADER_FILL = PatternFill("solid", fgColor="000000")
CENTER = Alignment(horizontal="center")
_WRAP = Alignment(wrap_text=True, vertical="top")
_WRAP_WIDTH = 32  # a wrapped column stays narrow so a printed page holds the row
_SEV_FILL = {
    "critical": PatternFill("solid", fgColor="C00000"),
    "high": PatternFill("solid", fgColor="FF6B6B"),
    "medium": PatternFill("solid", fgColor="FFC000"),
    "low": PatternFill("solid", fgColor="FFF2CC"),
    "info": PatternFill("solid", fgColor="DDEBF7"),
}


def safe(value: Any) -> Any:
    """A value a spreadsheet shows as written: strings never become formulas."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, (list, tuple, set)):
        value = ", ".join(str(v) for v in value)
    return _ILLEGAL.sub("", str(value))[:32767]


class Sheet:
    """A write-only sheet with a bold frozen header, autofilter and widths set up front."""

    def __init__(
        self,
        wb: Workbook,
        title: str,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        freeze: str = "A2",
        wrap: bool = False,
        print_cols: int | None = None,
        fixed: Sequence[int | None] = (),
    ):
        ws: Worksheet = wb.create_sheet(title)
        data = [list(r) for r in rows]
        widths = [len(h) + 2 for h in headers]
        for r in data[:500]:
            for i, v in enumerate(r[: len(widths)]):
                widths[i] = max(widths[i], _longest_line(v) + 2)
        cap = _WRAP_WIDTH if wrap else 60
        widths = [min(max(w, 8), cap) for w in widths]
        widths = [f or w for w, f in zip(widths, [*fixed, *[None] * len(widths)], strict=False)]
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = freeze
        last = get_column_letter(max(1, len(headers)))
        ws.auto_filter.ref = f"A1:{last}{len(data) + 1}"
        if wrap:
            _printable(ws, print_cols or len(headers), len(data) + 1)
            _row_heights(ws, [list(headers), *data], widths)
        ws.append([self._wrapped(ws, self.head(ws, h), wrap) for h in headers])
        for r in data:
            ws.append([self._wrapped(ws, self.cell(ws, v), wrap) for v in r])
        self.ws = ws

    @staticmethod
    def _wrapped(ws: Worksheet, c: Any, wrap: bool) -> Any:
        """The cell with wrapped text when the tab is printed (long paths and remediations
        then grow the row instead of running off the page)."""
        if not wrap:
            return c
        if not isinstance(c, Cell):
            c = WriteOnlyCell(ws, value=c)
        c.alignment = _WRAP
        return c

    @staticmethod
    def head(ws: Worksheet, text: str) -> Any:
        # PortGroupMatrix headers are host names: the same protection as any data cell
        c = Sheet.cell(ws, text)
        if not isinstance(c, Cell):
            c = WriteOnlyCell(ws, value=c)
        c.font, c.fill = _HEADER_FONT, _HEADER_FILL
        return c

    @staticmethod
    def cell(ws: Worksheet, value: Any) -> Any:
        v = safe(value)
        if isinstance(v, str) and v.startswith(_FORMULA_START):
            c = WriteOnlyCell(ws, value=v)
            c.data_type = "s"  # what openpyxl would otherwise turn into a formula
            c.quotePrefix = True  # ... and what Excel would evaluate when the cell is edited
            return c
        if isinstance(v, str) and v in SEVERITIES:
            c = WriteOnlyCell(ws, value=v)
            c.fill = _SEV_FILL[v]
            if v == "critical":
                c.font = Font(color="FFFFFF", bold=True)
            return c
        if isinstance(v, datetime):
            c = WriteOnlyCell(ws, value=v)
            c.number_format = 'yyyy-mm-dd"T"hh:mm:ss"Z"'
            return c
        return v


_LINE_PT = 15.0  # one line of the default 11 pt font


def _longest_line(v: Any) -> int:
    return max((len(x) for x in str(v or "").splitlines()), default=0)


def _lines(v: Any, width: int) -> int:
    """How many lines a wrapped cell takes in a column `width` characters wide (words wrap
    whole, so a line holds a little less than the width)."""
    per = max(1, int(width * 1.15) - 2)  # a width unit is a digit; text averages narrower
    return sum(max(1, -(-len(line) // per)) for line in str(v).splitlines() or [""])


def _row_heights(ws: Worksheet, rows: list[list[Any]], widths: list[int]) -> None:
    """Row heights for the wrapped cells, set before the rows are streamed: spreadsheet
    programs do not grow a row on their own when it is read from a file (LibreOffice printed
    multi-line snippets on top of each other), so each row is as tall as its tallest cell."""
    for i, row in enumerate(rows, start=1):
        n = max((_lines(v, w) for v, w in zip(row, widths, strict=False) if v), default=1)
        if n > 1:
            ws.row_dimensions[i].height = n * _LINE_PT


def _printable(ws: Worksheet, cols: int, rows: int) -> None:
    """Landscape, fit to the page width, the header row repeated on every page; the print
    area is the reviewer's columns (ids and timestamps stay on screen only)."""
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_title_rows = "1:1"
    ws.print_area = f"A1:{get_column_letter(max(1, cols))}{max(1, rows)}"


def write_tab(wb: Workbook, tab: Tab[Any]) -> Sheet:
    """The tab as a sheet of `wb`: its headers, one row per record, its frozen pane."""
    return Sheet(
        wb,
        tab.name,
        tab.headers,
        tab.values(),
        freeze=tab.freeze,
        wrap=tab.wrap,
        print_cols=tab.print_cols,
        fixed=tab.widths,
    )
