"""Cells as a spreadsheet shows them: formula-safe text, severity colours, UTC timestamps, and
write-only sheets with a bold frozen header, an autofilter, widths set up front and the
workbook's one print setup (printing.py).

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
from openpyxl.worksheet.worksheet import Worksheet

from vnettool.audit.model import SEVERITIES
from vnettool.audit.workbook.columns import Tab
from vnettool.audit.workbook.printing import (
    DATA_WIDTH,
    HEADER_LINE_PT,
    LINE_PT,
    WRAP_WIDTH,
    column_widths,
    frozen_cols,
    header_lines,
    lines,
    overflows,
    print_setup,
)

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_HEADER_FONT = Font(bold=True, color="FFFFFF", name="Verdana", size=9)
_HEADER_FILL = PatternFill("solid", fgColor="000000")
CENTER = Alignment(horizontal="center")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
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
    """A write-only sheet with a bold frozen header, autofilter, widths set up front and the
    workbook's print setup (printing.py): wrapped header, long text wrapped, rows as tall as
    their text."""

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
        cap = WRAP_WIDTH if wrap else DATA_WIDTH
        widths = column_widths(headers, data[:500], cap, fixed)
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = freeze
        last = get_column_letter(max(1, len(headers)))
        ws.auto_filter.ref = f"A1:{last}{len(data) + 1}"
        area = None
        if print_cols:
            area = f"A1:{get_column_letter(print_cols)}{len(data) + 1}"
        print_setup(ws, widths[: print_cols or None], title_cols=frozen_cols(freeze), area=area)
        self.ws = ws
        self._header(headers, widths)
        printed = print_cols or len(widths)
        for i, r in enumerate(data, start=2):
            self._row(i, r, widths[:printed], wrap)

    def _header(self, headers: Sequence[str], widths: list[int]) -> None:
        """Header cells wrap (a header never widens its column past its longest word)."""
        ws = self.ws
        n = max((header_lines(h, w) for h, w in zip(headers, widths, strict=False)), default=1)
        if n > 1:
            ws.row_dimensions[1].height = n * HEADER_LINE_PT
        cells = [self.head(ws, h) for h in headers]
        for c in cells:
            c.alignment = _WRAP
        ws.append(cells)

    def _row(self, i: int, r: list[Any], widths: list[int], wrap: bool) -> None:
        """One data row: on a report tab (`wrap`) every printed cell wraps; elsewhere only
        the text longer than its column (a one-cell message row runs on into the empty
        cells). The row is as tall as its tallest wrapped cell; the columns after a print
        area (`widths` stops there) stay one line, so they do not pad the printed rows."""
        ws, n, out = self.ws, 1, []
        for j, v in enumerate(r):
            c = self.cell(ws, v)
            if j >= len(widths):
                out.append(c)
                continue
            w = widths[j]
            text = c.value if isinstance(c, Cell) else c  # as written: lists joined
            if wrap or (len(r) > 1 and overflows(text, w)):
                c = self._wrapped(ws, c, True)
                if text:
                    n = max(n, lines(text, w))
            out.append(c)
        if n > 1:
            ws.row_dimensions[i].height = n * LINE_PT
            if not wrap:  # the row's one-line cells at the top too, beside the wrapped text
                out = [self._top(ws, c) for c in out]
        ws.append(out)

    @staticmethod
    def _top(ws: Worksheet, c: Any) -> Any:
        if not isinstance(c, Cell):
            c = WriteOnlyCell(ws, value=c)
        if not c.alignment.wrap_text:
            c.alignment = _TOP
        return c

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
