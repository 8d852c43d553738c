"""The Findings screen: audit findings in a sortable, filterable table with a detail pane.

The audit is the CLI's (`vnettool.audit.run.audit(inventory) -> list[Finding]`,
`write_workbook(path, inventory, findings)`); when it fails the screen says "audit not
available" with the reason instead of showing invented findings. Findings are read
through `finding_row`, which accepts the documented field names (rule_id/rule, severity,
object, ...) so the table does not break on a renamed attribute.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static

from vnettool.audit import run as audit_run
from vnettool.engine.common import natural_key
from vnettool.tui.fit import fit_path, fit_words, segment_counts
from vnettool.tui.messages import AppView
from vnettool.tui.model import NetIndex
from vnettool.tui.widgets import FitTable, PhraseLine

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
COLUMNS = ("severity", "rule", "state", "object", "title")
SORTS = ("severity", "rule", "object")
# Judged rules first: a failure, then what could not be decided or was excepted, and the
# rules that were not judged at all (N/A) last in every sort order — an N/A rule of high
# severity must never sit above a real failure.
STATE_ORDER = {"FAIL": 0, "UNKNOWN": 1, "EXCEPTION": 2, "N/A": 9}
TITLE_MIN = 12  # below this the title column is dropped (the detail pane has it whole)
TITLE_WIDE = 20  # the title's share when the object column can give it up
OBJECT_MIN = 26  # ... and still keep this much (a host and a leaf: DC0_C0_H10/…/VM Network)


def _get(f: Any, *names: str) -> Any:
    data = f if isinstance(f, dict) else None
    for n in names:
        v = data.get(n) if data is not None else getattr(f, n, None)
        if v not in (None, ""):
            return v
    return None


def finding_row(f: Any) -> dict[str, str]:
    """The table's view of a finding (a pydantic model or a dict)."""
    sev = str(_get(f, "severity") or "info").lower()
    state = _get(f, "state", "status")
    return {
        "severity": sev,
        "rule": str(_get(f, "rule_id", "rule", "id") or "?"),
        "state": str(getattr(state, "value", state) or "FAIL"),
        "object": str(_get(f, "object", "object_name", "target", "path") or "-"),
        "title": str(_get(f, "title", "message", "detail") or ""),
    }


def short_object(path: str, width: int = 26, common: dict[str, int] | None = None) -> str:
    """An object path in `width` cells: whole segments left out, the ones all rows share
    first (`DC0_C0_H10/…/VM Network`), so the host and the leaf stay readable; never a
    cut number, never the tail (see fit.fit_path)."""
    return fit_path(path, width, common)


SEVERITY_SHORT = {"critical": "crit", "medium": "med"}


def column_widths(rows: list[dict[str, str]], avail: int, narrow: bool = False) -> dict[str, int]:
    """Widths of the table's columns in `avail` cells (each column costs 2 cells of padding):
    severity, rule and state as wide as their widest value, the object column the free width
    up to its widest path, the title what is left (dropped below TITLE_MIN). `narrow`:
    severities are shown abbreviated."""
    w = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in ("severity", "rule", "state")}
    if narrow:  # `sev`, `med`, `crit`
        sevs = [SEVERITY_SHORT.get(r["severity"], r["severity"]) for r in rows]
        w["severity"] = max([3, *(len(x) for x in sevs)])
    fixed = sum(w.values()) + 2 * 3
    obj_need = max([len("object"), *(len(r["object"]) for r in rows)])
    title_need = max([len("title"), *(len(r["title"]) for r in rows)])
    free = avail - fixed - 4  # the object's and the title's padding
    if free - obj_need >= TITLE_MIN:
        w["object"] = obj_need
        w["title"] = min(title_need, free - obj_need)
    elif free - OBJECT_MIN >= TITLE_WIDE:
        w["object"] = free - TITLE_WIDE
        w["title"] = TITLE_WIDE
    else:
        w["object"] = max(6, min(obj_need, free + 2))
    return w


def finding_detail(f: Any) -> Table:
    t = Table(show_header=False, box=None, padding=(0, 1))
    t.add_column(style="bold", max_width=13)  # `host or cluster` wraps: the value gets the room
    t.add_column(overflow="fold")  # a long class or path is folded, never cut
    data = f.model_dump(mode="json") if hasattr(f, "model_dump") else dict(f)
    first = [
        "rule_id",
        "severity",
        "state",
        "title",
        "object",
        "object_type",
        "host",
        "switch",
        "property",
        "actual",
        "expected",
        "detail",
        "evidence",
        "remediation",
        "source",
    ]
    keys = [k for k in first if k in data] + [k for k in data if k not in first]
    for k in keys:
        v = data[k]
        if v in (None, "", [], {}):
            continue
        style = "green" if k == "remediation" else "yellow" if k in ("actual", "evidence") else ""
        text = str(v)
        if k == "object" and "/" in text:
            # spaced, so a narrow pane wraps between segments: folded, `DC0_C1_H12` once
            # read `DC0_C1_H1` at the end of a line
            text = " / ".join(text.split("/"))
        t.add_row(k.replace("_", " "), Text(text, style=style))
    return t


def matches(row: dict[str, str], text: str) -> bool:
    """Filter: every word must appear in some column; `sev:high` / `rule:SEC-01` narrow one."""
    for word in text.lower().split():
        if ":" in word:
            col, _, val = word.partition(":")
            col = {"sev": "severity", "r": "rule"}.get(col, col)
            if val not in row.get(col, "").lower():
                return False
        elif not any(word in v.lower() for v in row.values()):
            return False
    return True


def summary(rows: list[dict[str, str]]) -> str:
    """Counts per state, failures per severity: an N/A rule (not judged) must not read as
    a high-severity problem in the one-line summary."""
    by_state: dict[str, int] = {}
    failed: dict[str, int] = {}
    for r in rows:
        by_state[r["state"]] = by_state.get(r["state"], 0) + 1
        if r["state"] == "FAIL":
            failed[r["severity"]] = failed.get(r["severity"], 0) + 1
    sev = " ".join(
        f"{k}={v}" for k, v in sorted(failed.items(), key=lambda kv: SEVERITY_ORDER.get(kv[0], 9))
    )
    parts = [f"FAIL {by_state.pop('FAIL', 0)}" + (f" ({sev})" if sev else "")]
    parts += [f"{k} {v}" for k, v in sorted(by_state.items())]
    return " · ".join(parts)


def sort_key(column: str) -> Any:
    """State first in every order (FAIL first, N/A last), then the chosen column; rule ids
    and object paths in natural order (DC0_C0_H2 before DC0_C0_H10)."""

    def state(r: dict[str, str]) -> int:
        return STATE_ORDER.get(r["state"], 5)

    def sev(r: dict[str, str]) -> int:
        return SEVERITY_ORDER.get(r["severity"], 9)

    if column == "severity":
        return lambda r: (state(r), sev(r), natural_key(r["rule"]), natural_key(r["object"]))
    if column == "state":
        return lambda r: (state(r), r["state"], sev(r), natural_key(r["object"]))
    return lambda r: (state(r), natural_key(r[column]), sev(r))


class FindingsPane(Vertical):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("x", "export", "Export"),
        Binding("g", "rerun", "Re-audit"),
    ]
    DEFAULT_CSS = """
    FindingsPane Horizontal { height: 1fr; }
    FindingsPane DataTable { width: 1fr; }
    FindingsPane #findings-detail-scroll { width: 40; border-left: solid $primary-darken-2; }
    FindingsPane #findings-detail { width: 100%; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.findings: list[Any] = []
        self.rows: list[dict[str, str]] = []
        self.sort_by = "severity"
        self.filter_text = ""
        self.index: NetIndex | None = None
        self.audited_version: object = None
        self.unavailable: str | None = None
        self.narrow = False  # below 70 cells of table: severities abbreviated (med, crit)

    @property
    def vapp(self) -> AppView:
        return cast("AppView", self.app)

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: words, sev:high, rule:SEC (/)",
            id="findings-filter",
            classes="compact",
        )
        with Horizontal():
            yield FitTable(id="findings-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="findings-detail-scroll"):
                yield Static("", id="findings-detail")
        yield PhraseLine(id="findings-state")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)

    def show(self, index: NetIndex) -> None:
        self.index = index
        if self.audited_version is not index.inv:
            self._audit(index)

    @staticmethod
    def audit_module() -> ModuleType:
        """The audit this screen runs (`audit`, `write_workbook`): the CLI's own."""
        return audit_run

    @work(thread=True, exclusive=True, group="audit", description="audit", exit_on_error=False)
    def _audit(self, index: NetIndex) -> None:
        mod = self.audit_module()
        try:
            findings = [f for f in mod.audit(index.inv) if getattr(f, "state", "FAIL") != "PASS"]
        except Exception as exc:  # a broken rule must not take the cockpit down
            self.app.call_from_thread(self._unavailable, f"audit failed: {exc}")
            return
        self.app.call_from_thread(self._loaded, index, findings)

    def _unavailable(self, message: str) -> None:
        self.unavailable = message
        self.query_one("#findings-state", PhraseLine).set(Text(message, style="yellow"))
        self.query_one("#findings-detail", Static).update(
            Text(
                f"{message}.\n\nThe Findings screen shows the rules of docs/audit-rules.md "
                "evaluated on the live inventory once the audit module is installed.",
                style="dim",
            )
        )

    def _loaded(self, index: NetIndex, findings: list[Any]) -> None:
        keep = self._selected_key() if self.rows else None
        self.audited_version = index.inv
        self.unavailable = None
        self.findings = findings
        self.rows = [finding_row(f) for f in findings]
        self._fill(keep)

    def _fill(self, keep: tuple[str, str] | None = None) -> None:
        """Sort, filter and show the rows; the cursor (and the detail pane) stay on the same
        finding — after a live re-audit the detail shows that finding's new evidence."""
        table = self.query_one(DataTable)
        keep = keep or self._selected_key()
        order = sorted(range(len(self.rows)), key=lambda i: sort_key(self.sort_by)(self.rows[i]))
        shown = [
            i for i in order if not self.filter_text or matches(self.rows[i], self.filter_text)
        ]
        avail = table.size.width or max(self.size.width - 40, 40)
        self.narrow = avail < 70
        widths = column_widths([self.rows[i] for i in shown], avail - 2, self.narrow)
        table.clear(columns=True)
        for c in COLUMNS:
            if c in widths:
                label = "sev" if c == "severity" and self.narrow else c
                table.add_column(label, width=widths[c], key=c)
        cursor = 0
        common = segment_counts([self.rows[i]["object"] for i in shown])
        for n, i in enumerate(shown):
            r = self.rows[i]
            sev = SEVERITY_SHORT.get(r["severity"], r["severity"]) if self.narrow else r["severity"]
            cells: list[Any] = [
                Text(sev, style=SEVERITY_STYLE.get(r["severity"], "")),
                r["rule"],
                Text(r["state"], style="bold" if r["state"] == "FAIL" else "dim"),
                short_object(r["object"], widths["object"], common),
            ]
            if "title" in widths:
                cells.append(fit_words(r["title"], widths["title"]))
            table.add_row(*cells, key=str(i))
            if keep is not None and self._key_of(i) == keep:
                cursor = n
        if shown:
            table.move_cursor(row=cursor)
            self._show_detail(shown[cursor])
        self.query_one("#findings-state", PhraseLine).set(
            f"{len(shown)}/{len(self.rows)} findings",
            f"by {self.sort_by}, N/A last",
            *summary(self.rows).split(" · "),
        )

    def _key_of(self, i: int) -> tuple[str, str]:
        return (self.rows[i]["rule"], self.rows[i]["object"])

    def _selected_key(self) -> tuple[str, str] | None:
        """The finding under the cursor (rule, object): kept across re-audits and re-sorts."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None
        i = int(key) if key is not None else -1
        return self._key_of(i) if 0 <= i < len(self.rows) else None

    def _show_detail(self, i: int) -> None:
        if 0 <= i < len(self.findings):
            self.query_one("#findings-detail", Static).update(
                Group(finding_detail(self.findings[i]))
            )

    def on_resize(self) -> None:
        """The detail pane narrows on a narrow terminal; the table refits (FitTable.Resized)."""
        detail = self.query_one("#findings-detail-scroll")
        detail.styles.width = 40 if self.size.width >= 110 else 28

    @on(FitTable.Resized, "#findings-table")
    def _refit(self) -> None:
        if self.rows:
            self._fill()

    @on(DataTable.HeaderSelected, "#findings-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        col = COLUMNS[event.column_index]
        self.sort_by = (
            col if col in ("severity", "rule", "object", "state", "title") else "severity"
        )
        self._fill()

    @on(Input.Changed, "#findings-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._fill()

    def action_focus_filter(self) -> None:
        self.query_one("#findings-filter", Input).focus()

    def action_sort(self) -> None:
        i = SORTS.index(self.sort_by) if self.sort_by in SORTS else -1
        self.sort_by = SORTS[(i + 1) % len(SORTS)]
        self._fill()

    def action_rerun(self) -> None:
        if self.index is not None:
            self.audited_version = None
            self._audit(self.index)

    def action_export(self) -> None:
        mod = self.audit_module()
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self._export(mod, Path("reports") / f"audit-{stamp}.xlsx")

    @work(thread=True, exclusive=True, group="export", description="export", exit_on_error=False)
    def _export(self, mod: Any, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            mod.write_workbook(path, self.vapp.inventory, self.findings)
        except Exception as exc:
            self.app.call_from_thread(self.app.notify, f"export failed: {exc}", severity="error")
            return
        self.app.call_from_thread(self.app.notify, f"workbook written: {path}")
