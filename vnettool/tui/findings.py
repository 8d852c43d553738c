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
from vnettool.tui.messages import AppView
from vnettool.tui.model import NetIndex

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


def short_object(path: str, width: int = 26) -> str:
    """The tail of an object path: the leaf names the object, and a long path (DC/cluster/
    host/switch/port group) would otherwise push the title out of the table."""
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def finding_detail(f: Any) -> Table:
    t = Table(show_header=False, box=None, padding=(0, 1))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
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
        t.add_row(k.replace("_", " "), Text(str(v), style=style))
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
    if column == "severity":
        return lambda r: (SEVERITY_ORDER.get(r["severity"], 9), r["rule"], r["object"])
    return lambda r: (r[column], SEVERITY_ORDER.get(r["severity"], 9))


class FindingsPane(Vertical):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("x", "export", "Export"),
        Binding("g", "rerun", "Re-audit"),
    ]
    DEFAULT_CSS = """
    FindingsPane Horizontal { height: 1fr; }
    FindingsPane DataTable { width: 3fr; }
    FindingsPane #findings-detail-scroll { width: 2fr; border-left: solid $primary-darken-2; }
    FindingsPane #findings-state { height: 1; color: $text-muted; }
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
            yield DataTable(id="findings-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="findings-detail-scroll"):
                yield Static("", id="findings-detail")
        yield Static("", id="findings-state")

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
        self.query_one("#findings-state", Static).update(Text(message, style="yellow"))
        self.query_one("#findings-detail", Static).update(
            Text(
                f"{message}.\n\nThe Findings screen shows the rules of docs/audit-rules.md "
                "evaluated on the live inventory once the audit module is installed.",
                style="dim",
            )
        )

    def _loaded(self, index: NetIndex, findings: list[Any]) -> None:
        self.audited_version = index.inv
        self.unavailable = None
        self.findings = findings
        self.rows = [finding_row(f) for f in findings]
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        order = sorted(range(len(self.rows)), key=lambda i: sort_key(self.sort_by)(self.rows[i]))
        shown = 0
        for i in order:
            r = self.rows[i]
            if self.filter_text and not matches(r, self.filter_text):
                continue
            shown += 1
            table.add_row(
                Text(r["severity"], style=SEVERITY_STYLE.get(r["severity"], "")),
                r["rule"],
                r["state"],
                short_object(r["object"]),
                r["title"],
                key=str(i),
            )
        self.query_one("#findings-state", Static).update(
            f"{shown}/{len(self.rows)} findings · by {self.sort_by} · " + summary(self.rows)
        )

    @on(DataTable.RowHighlighted, "#findings-table")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        f = self.findings[int(event.row_key.value)]
        self.query_one("#findings-detail", Static).update(Group(finding_detail(f)))

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
