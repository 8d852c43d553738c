"""Appliances screen: the status of the network appliances a playbook defines.

Definitions live in playbooks (their `appliance` steps), so the screen opens one, like the
Plan screen, and checks every definition in a thread worker: host, power, health probe,
pinning, NIC wiring, reservations, latency sensitivity and protected VM count, one row per
appliance VM, red where it is not compliant. `c` checks again (health is probed live).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Static

from vnettool.engine.common import natural_key
from vnettool.models.appliance import ApplianceStatus
from vnettool.playbook.appliance_status import playbook_statuses
from vnettool.playbook.kinds.appliance import status_cells
from vnettool.tui.messages import AppView
from vnettool.tui.model import NetIndex
from vnettool.tui.widgets import FitTable

COLUMNS = ("VM", "host", "power", "health", "pinned", "wiring", "reservation", "latency", "VMs")
# What a narrow screen keeps: the key columns and the verdicts first; a column that does not
# fit is left out whole (its values are in the detail pane under the table), never cut.
PRIORITY = ("VM", "host", "health", "pinned", "power", "VMs", "latency", "reservation", "wiring")


def fitting_columns(statuses: list[ApplianceStatus], avail: int) -> list[str]:
    """The columns, in table order, that fit `avail` cells at their widest value (2 cells of
    padding each), taken in PRIORITY order; VM and host always."""
    cells = [status_cells(st) for st in statuses]
    width = {
        c: max([len(c), *(len(row[i][0]) for row in cells)]) + 2 for i, c in enumerate(COLUMNS)
    }
    chosen: list[str] = []
    used = 0
    for c in PRIORITY:
        if c in ("VM", "host") or used + width[c] <= avail:
            chosen.append(c)
            used += width[c]
    return [c for c in COLUMNS if c in chosen]


def _cell(ok: bool, text: str) -> Text:
    return Text(text, style="" if ok else "bold red")


def rows(st: ApplianceStatus) -> list[Text]:
    return [_cell(ok, text) for text, ok in status_cells(st)]


class AppliancesPane(Vertical):
    BINDINGS = [Binding("e", "edit_path", "Path"), Binding("c", "check", "Check")]
    DEFAULT_CSS = """
    AppliancesPane #app-bar { height: 1; }
    AppliancesPane #app-path { width: 1fr; }
    AppliancesPane #app-state { height: 1; color: $text-muted; }
    AppliancesPane #app-table { height: 1fr; }
    AppliancesPane #app-detail { height: auto; max-height: 9; padding: 0 1; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.statuses: list[ApplianceStatus] = []
        self.index: NetIndex | None = None
        self.path = ""
        self.shown: list[str] = list(COLUMNS)  # the columns the table has room for

    @property
    def vapp(self) -> AppView:
        return cast("AppView", self.app)

    def compose(self) -> ComposeResult:
        with Horizontal(id="app-bar"):
            yield Input(
                placeholder="playbook with appliance steps, e.g. playbooks/appliance-firewall.yml",
                id="app-path",
                classes="compact",
            )
            yield Button("Check (c)", id="app-check", compact=True)
        yield Static("Open a playbook that defines appliances to see their status.", id="app-state")
        table = FitTable(id="app-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="app-detail")

    def show(self, index: NetIndex) -> None:
        self.index = index

    def set_path(self, path: str) -> None:
        self.query_one("#app-path", Input).value = path

    def action_edit_path(self) -> None:
        """Type another playbook (enter checks it)."""
        self.query_one("#app-path", Input).focus()

    def _state(self, text: str) -> None:
        self.query_one("#app-state", Static).update(text)

    @on(Input.Submitted, "#app-path")
    @on(Button.Pressed, "#app-check")
    def action_check(self) -> None:
        path = self.query_one("#app-path", Input).value.strip()
        if not path:
            self._state("[yellow]give the path of a playbook with appliance steps[/]")
            return
        try:
            session = self.vapp.require_session()
        except Exception as exc:
            self._state(f"[yellow]{exc}[/] (appliance health is checked live)")
            return
        self._state(f"checking the appliances of {path}…")
        self.query_one("#app-table").focus()
        self._check(session, self.vapp.inventory, path)

    @work(
        thread=True,
        exclusive=True,
        group="appliances",
        description="appliances",
        exit_on_error=False,
    )
    def _check(self, session: Any, inv: Any, path: str) -> None:
        try:
            statuses = playbook_statuses(session, inv, Path(path))
        except Exception as exc:  # a bad playbook or a vSphere fault: say it, keep the screen
            message = " — ".join(str(exc).splitlines()[:2])[:200] or type(exc).__name__
            self.app.call_from_thread(self._state, f"[red]{_escape(message)}[/]")
            return
        self.app.call_from_thread(self._fill, path, statuses)

    def _fill(self, path: str, statuses: list[ApplianceStatus]) -> None:
        statuses = sorted(statuses, key=lambda st: natural_key(st.vm))  # H2 before H10
        self.statuses = statuses
        self.path = path
        self._table()
        bad = [s for s in statuses if not s.compliant or s.health != "ok"]
        colour = "red" if bad else "green"
        self._state(
            f"[{colour}]{len(statuses)} appliance(s), {len(bad)} unhealthy or not compliant[/]"
            f" — {_escape(path)}"
        )
        self._detail(statuses[0] if statuses else None)

    def _table(self) -> None:
        """The rows with the columns that fit the table's width (see fitting_columns)."""
        table = self.query_one("#app-table", DataTable)
        keep = None
        if table.row_count:
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        avail = (table.size.width or self.size.width or 80) - 2
        self.shown = fitting_columns(self.statuses, avail)
        table.clear(columns=True)
        table.add_columns(*self.shown)
        idx = [COLUMNS.index(c) for c in self.shown]
        for n, st in enumerate(self.statuses):
            cells = rows(st)
            table.add_row(*[cells[i] for i in idx], key=st.vm)
            if st.vm == keep:
                table.move_cursor(row=n)

    @on(FitTable.Resized, "#app-table")
    def _refit(self) -> None:
        if self.statuses:
            self._table()

    @on(DataTable.RowHighlighted, "#app-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        self._detail(next((s for s in self.statuses if s.vm == key), None))

    def _detail(self, st: ApplianceStatus | None) -> None:
        if st is None:
            self.query_one("#app-detail", Static).update("")
            return
        lines = [
            f"[b]{_escape(st.vm)}[/] ({_escape(st.role)}, definition {_escape(st.definition)})"
            f" on {st.host} — expected {st.expected_host}",
            f"health: {_escape(st.health_detail)}",
        ]
        hidden = [c for c in COLUMNS if c not in self.shown and c not in ("VM", "host")]
        if hidden:  # the columns a narrow table left out, whole, one a line
            cells = dict(zip(COLUMNS, status_cells(st), strict=True))
            lines += [
                f"{c}: {_escape(cells[c][0])}" if cells[c][1]
                else f"{c}: [bold red]{_escape(cells[c][0])}[/]"
                for c in hidden
            ]  # fmt: skip
        for n in st.nics:
            mark = "✓" if n.wired else "✗"
            lines.append(
                f"{mark} {n.role}: {n.network or '-'} (expected {n.expected_network}), "
                f"{'connected' if n.connected else 'disconnected'}"
            )
        self.query_one("#app-detail", Static).update("\n".join(lines))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
