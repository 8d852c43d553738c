"""Records as people read them at any width: a table when the terminal is wide, a list when it
is not, JSON for scripts.

A table squeezed into 80 columns cuts every cell to `DC0_C0…`, so rows that differ only in
their tail look identical and VLAN numbers vanish. Here the key column and numbers never
shrink; when the table would not fit, the same records print as a list (one block per object,
`field: value` lines), which wraps cleanly in a tmux pane or a pipe.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Value = str | int | list[str] | None
Record = dict[str, Value]


class Layout(StrEnum):
    auto = "auto"
    wide = "wide"
    list = "list"
    json = "json"


OutputOpt = Annotated[
    Layout,
    typer.Option(
        "--output",
        "-o",
        help="wide: a table; list: one block per object; auto: the table if it fits the width",
        case_sensitive=False,
    ),
]


@dataclass(frozen=True)
class Field:
    """A column: `key` names the object (never cut), `numeric` is right-aligned and never cut."""

    name: str
    key: bool = False
    numeric: bool = False


def fits(console: Console, t: Table) -> bool:
    """Whether the table prints without folding a single cell at this console's width."""
    unbounded = console.options.update_width(1_000_000)
    return Measurement.get(console, unbounded, t).maximum <= console.width


def cell(v: Value, sep: str = ", ") -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        return sep.join(v) if v else "-"
    return str(v)


def table(title: str, fields: Sequence[Field], rows: Sequence[Record], sep: str = "\n") -> Table:
    """A table whose key and number columns keep their full width; the others fold. With
    `sep="\n"` a multi-valued cell has one item per line, so a fold never splits an IP."""
    t = Table(title=title, title_justify="left", title_style="bold", show_edge=False)
    for f in fields:
        widest = max((len(cell(r.get(f.name), sep).split("\n")[0]) for r in rows), default=0)
        keep = f.key or f.numeric
        t.add_column(
            f.name,
            no_wrap=keep,
            min_width=max(widest, len(f.name) if keep else 0) if keep else None,
            overflow="fold",
            justify="right" if f.numeric else "left",
            style="bold" if f.key else None,
        )
    for r in rows:
        t.add_row(*(cell(r.get(f.name), sep) for f in fields))
    return t


def listing(title: str, fields: Sequence[Field], rows: Sequence[Record], width: int) -> Text:
    """One block per object: its key in bold, then `field: value` lines; a list that does not
    fit on the line gets one item per line, so nothing is cut or split mid-value."""
    out = Text()
    if title:
        out.append(f"{title}\n", style="bold underline")
    key = next((f for f in fields if f.key), fields[0])
    pad = max((len(f.name) for f in fields if f is not key), default=0)
    for r in rows:
        out.append(f"{cell(r.get(key.name))}\n", style="bold")
        for f in fields:
            if f is key:
                continue
            v = r.get(f.name)
            head = f"  {f.name + ':':<{pad + 1}} "
            one_line = cell(v)
            if isinstance(v, list) and len(v) > 1 and len(head) + len(one_line) > width:
                out.append(head.rstrip() + "\n", style="dim")
                for item in v:
                    out.append(f"    {item}\n")
                continue
            out.append(head, style="dim")
            out.append(one_line + "\n")
    out.rstrip()
    return out


def emit(
    console: Console,
    layout: Layout,
    title: str,
    fields: Sequence[Field],
    rows: Sequence[Record],
) -> None:
    """Print records in the chosen layout (JSON: the records, to stdout, unstyled). `auto`
    prints the table only when it fits the width the output really has (80 when piped):
    a folded table is where `DC0_C0…` came from."""
    if layout is Layout.json:
        typer.echo(json.dumps(list(rows), indent=1))
        return
    if not rows:
        console.print(Text.assemble((title, "bold"), (": none", "dim")))
        return
    compact = table(title, fields, rows, ", ")
    if fits(console, compact):
        console.print(compact)
        return
    tall = table(title, fields, rows)
    if layout is Layout.wide or fits(console, tall):
        console.print(tall)
    else:
        console.print(listing(title, fields, rows, console.width), soft_wrap=False)


def duration_text(seconds: float | None) -> str:
    """`45 ms`, `1.3 s`, `2 min 05 s`: a quick step is not `0.0 s` (which reads as if it did
    nothing), and a slow one is not 125.0 s."""
    if seconds is None:
        return "-"
    if seconds < 1:
        ms = seconds * 1000
        return "<1 ms" if ms < 1 else f"{ms:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s"
