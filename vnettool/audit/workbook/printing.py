"""How every tab of the audit workbook prints: the one place for page setup, column widths
and row heights, used by every tab's writer (`Sheet`, the Summary, the Topology pictures).

Each tab prints landscape, fit to the page width and as many pages down as it needs, with its
header row repeated on every page, its name in the page header and "Page n of N" in the footer.
A tab too wide to read on one page width (the RVTools tabs keep RVTools' 20-50 columns, and
PortGroupMatrix has a column per host) is not shrunk below `MIN_SCALE`: it prints on the
fewest pages across that keep that size, with its frozen key columns (the VM, the host, the
port group) repeated on each, so every printed row still says what it is about.

Spreadsheet programs do not grow a row read from a file to fit its wrapped text (LibreOffice
printed multi-line cells over the next rows), so the writer sets the heights itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.header_footer import HeaderFooter, HeaderFooterItem, _HeaderFooterPart
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

# printable width of a landscape Letter page (11 in less 0.4 in margins, the narrower of
# Letter and A4) in the pixels column widths are counted in (96 dpi)
PAGE_PX = 979
MIN_SCALE = 0.6  # 11 pt text printed at 6.6 pt: small, still read without a magnifier
LINE_PT = 15.0  # one line of the default 11 pt font
HEADER_LINE_PT = 12.0  # one line of the 9 pt header font
HEADER_LINES = 3  # a wrapped header stays this many lines or fewer
MIN_WIDTH = 5  # "False" and a short VLAN fit
DATA_WIDTH = 40  # longer text wraps (long lists of hosts, descriptions)
WRAP_WIDTH = 32  # on the tabs printed as reports, a wrapped column stays narrow


def column_px(width: float) -> int:
    """A column's width in pixels as spreadsheet programs lay it out (7 px a character
    plus the cell padding)."""
    return int(width * 7 + 5)


def pages_across(widths: Sequence[float], title_cols: int = 0) -> int:
    """How many pages wide the tab prints: 1 when it fits at `MIN_SCALE` or larger, else the
    fewest pages that keep that size, each repeating the first `title_cols` columns."""
    room = PAGE_PX / MIN_SCALE
    px = [column_px(w) for w in widths]
    key = sum(px[:title_cols])
    pages, used = 1, 0
    for i, w in enumerate(px):
        if used + w > room and i > title_cols and used > key:
            pages, used = pages + 1, key
        used += w
    return pages


def frozen_cols(freeze: str | None) -> int:
    """The key columns left of the frozen pane ("D2" → 3): repeated on each page across."""
    if not freeze:
        return 0
    col, _row = coordinate_from_string(freeze)
    return column_index_from_string(col) - 1


def print_setup(
    ws: Worksheet,
    widths: Sequence[float] = (),
    *,
    title_cols: int = 0,
    header_rows: int = 1,
    area: str | None = None,
) -> int:
    """Landscape, fit to the page width (pages down as needed), header rows repeated, the
    tab's name on each page; `widths` are the printed columns' widths; returns the pages
    across. `area` limits the printed columns (Findings prints what a reviewer acts on)."""
    across = pages_across(widths, title_cols)
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = across, 0
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.HeaderFooter = HeaderFooter(
        # the tab's name and the file's: a loose page says where it belongs
        oddHeader=HeaderFooterItem(left=_HeaderFooterPart("&A"), right=_HeaderFooterPart("&F")),
        oddFooter=HeaderFooterItem(center=_HeaderFooterPart("Page &P of &N")),
    )
    if header_rows:
        ws.print_title_rows = f"1:{header_rows}"
    if title_cols:
        ws.print_title_cols = f"A:{get_column_letter(title_cols)}"
    if area:
        ws.print_area = area
    return across


def longest_line(v: Any) -> int:
    return max((len(x) for x in str(v or "").splitlines()), default=0)


def _words(h: str) -> list[str]:
    """Where a header may wrap: at spaces, and after a "/" (PortGroupMatrix's
    cluster/host headers; LibreOffice and Excel break a line there too)."""
    return [w for part in h.split() for w in re.split(r"(?<=/)", part) if w]


def _header_width(h: str) -> int:
    """A wrapped header needs its longest word, and at most `HEADER_LINES` lines."""
    word = max((len(w) for w in _words(h)), default=0)
    return max(word, -(-len(h) // HEADER_LINES)) + 2


def header_lines(h: str, width: int) -> int:
    """The lines of a header wrapped word by word in a column `width` characters wide (the
    9 pt header font holds about 1.2 characters a width unit: LibreOffice's print)."""
    room, n, used, prev = max(1, int(width * 1.2) - 1), 1, 0, ""
    for w in _words(h):
        gap = 0 if not used or prev.endswith("/") else 1  # no space after a slash
        if used and used + gap + len(w) > room:
            n, used = n + 1, len(w)
        else:
            used += gap + len(w)
        prev = w
    return n


def column_widths(
    headers: Sequence[str],
    sample: Sequence[Sequence[Any]],
    cap: int,
    fixed: Sequence[int | None] = (),
) -> list[int]:
    """Each column as wide as its values (up to `cap`; longer text wraps) and its header's
    longest word (headers wrap); `fixed` widths win where given."""
    data = [0] * len(headers)
    for r in sample:
        for i, v in enumerate(r[: len(headers)]):
            if v is not None:
                data[i] = max(data[i], longest_line(v) + 2)
    widths = [
        max(min(d, cap), _header_width(str(h)), MIN_WIDTH)
        for d, h in zip(data, headers, strict=True)
    ]
    return [f or w for w, f in zip(widths, [*fixed, *[None] * len(widths)], strict=False)]


# glyph widths relative to a digit (the width unit), measured from DejaVu Sans, LibreOffice's
# stand-in for Calibri on Linux: prose holds about 1.1 characters a unit, `DC0_C0_H1` names
# about 0.95; anything else counts as a digit
_GLYPHS = {
    0.44: "'ijlIJ",
    0.5: " ,.",
    0.53: "/:;\\|",
    0.57: "f-",
    0.61: "()[]t!",
    0.65: "r",
    0.72: '"',
    0.79: "*_`",
    0.83: "sz?",
    0.88: "cLF",
    0.93: "kvxyP",
    0.96: "TYaoe",
    1.08: "KABVXZRC",
    1.2: "UHNDGOQ&",
    1.32: "w#+<=>^~M",
    1.55: "%mW@",
}
_WEIGHT = {c: w for w, cs in _GLYPHS.items() for c in cs}
_MAX_WEIGHT = 1.55
_TABLE = [_WEIGHT.get(chr(i), 1.0) for i in range(256)]  # by Latin-1 byte; others: a digit


def text_width(s: str) -> float:
    """The printed width of `s` in width units (digits)."""
    return sum(map(_TABLE.__getitem__, s.encode("latin-1", "replace")))


def lines(v: Any, width: int) -> int:
    """How many lines a wrapped cell takes in a column `width` units wide, wrapped word by
    word with each glyph's width (a row a little too tall leaves white space; one too short
    hides text on paper)."""
    text = str(v)
    if len(text) * _MAX_WEIGHT <= width - 1 and "\n" not in text:
        return 1
    return _lines(text, width)


@lru_cache(maxsize=8192)  # a rule's remediation or title repeats on thousands of rows
def _lines(text: str, width: int) -> int:
    room = max(1.0, width - 1.0)  # the cell's padding (LibreOffice's print, measured)
    n = 0
    for line in text.splitlines() or [""]:
        if len(line) * _MAX_WEIGHT <= room or text_width(line) <= room:
            n += 1
            continue
        n, used = n + 1, 0.0
        for word in line.split(" "):
            w = text_width(word)
            if used and used + 0.5 + w > room:
                n, used = n + 1, 0.0
            if w > room:  # a word longer than the line is broken
                n += int(w // room)
                used = w % room
            else:
                used += (0.5 if used else 0) + w
    return n


def overflows(v: Any, width: int) -> bool:
    """The text does not fit its column on one line (numbers never wrap)."""
    return isinstance(v, str) and ("\n" in v or lines(v, width) > 1)
