"""`vnettool tui`: the Textual application — connection, live inventory, screens, status.

The app owns one vSphere session and one inventory. A thread worker runs the inventory
`Watcher` (WaitForUpdatesEx): every change builds a new `NetIndex` off the UI thread and hands
it to the panes. When the watch fails (session dropped, server gone) a banner says so and the
same worker logs in again with back-off, then starts a fresh watch, whose first update is the
full state — nothing is missed. After the app itself changes something (apply, vMotion) it
restarts the watch for the same reason: host network changes are not always pushed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane
from textual.worker import get_current_worker

from vnettool.errors import VnetError
from vnettool.fleet.connect import FleetTargets
from vnettool.models.inventory import Inventory
from vnettool.tui.appliances import AppliancesPane
from vnettool.tui.findings import FindingsPane
from vnettool.tui.fleet import FleetPicker
from vnettool.tui.latency import LatencyPane
from vnettool.tui.messages import InventoryStale, OpenVmotion
from vnettool.tui.model import NetIndex
from vnettool.tui.network import NetworkPane
from vnettool.tui.plan import PlanPane
from vnettool.tui.vmotion import VmotionPane
from vnettool.tui.widgets import Banner, ConnectScreen, HelpScreen, StatusBar

TABS = [
    ("network", "1 Network"),
    ("findings", "2 Findings"),
    ("latency", "3 Latency"),
    ("plan", "4 Plan"),
    ("vmotion", "5 vMotion"),
    ("appliances", "6 Appliances"),
]


# Every @work below has a `description`: Textual otherwise builds one from repr() of the
# arguments, which for an inventory of 1,000 hosts took 19 s on the UI thread.


class VnetApp(App[None]):
    """The cockpit. Give it credentials (live) or an inventory snapshot (read-only)."""

    TITLE = "vnettool"
    CSS = """
    TabbedContent { height: 1fr; }
    TabPane { padding: 0; }
    Input.compact { border: none; height: 1; padding: 0 1; background: $boost; }
    Input.compact:focus { background: $primary 30%; }
    /* Focus visible: the widget that takes the keys has a bar on its left (the same cell is
       blank when it has not, so nothing moves) and its cursor row is in the accent colour;
       elsewhere the cursor row is dimmed. */
    Tree, DataTable, OptionList, #plan-scroll { border-left: blank; }
    Tree:focus, DataTable:focus, OptionList:focus, #plan-scroll:focus {
        border-left: thick $accent;
    }
    Tree:focus > .tree--cursor, DataTable:focus > .datatable--cursor {
        background: $accent; color: $text; text-style: bold;
    }
    OptionList:focus > .option-list--option-highlighted {
        background: $accent; color: $text; text-style: bold;
    }
    Tree > .tree--cursor, DataTable > .datatable--cursor { text-style: none; }
    """
    BINDINGS = [
        Binding("1", "tab('network')", "Network", show=False),
        Binding("2", "tab('findings')", "Findings", show=False),
        Binding("3", "tab('latency')", "Latency", show=False),
        Binding("4", "tab('plan')", "Plan", show=False),
        Binding("5", "tab('vmotion')", "vMotion", show=False),
        Binding("6", "tab('appliances')", "Appliances", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("t", "toggle_theme", "Theme"),
        Binding("r", "reconnect", "Reconnect", show=False),
        Binding("v", "pick_vcenter", "vCenter"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        credentials: Any = None,
        *,
        inventory: Inventory | None = None,
        source: str = "",
        playbook: Path | None = None,
        poll_s: int = 2,  # the longest wait at exit: the watch long-poll in flight
        connect_error: str = "",
        clock: Callable[[], datetime] | None = None,
        fleet: FleetTargets | None = None,
    ) -> None:
        super().__init__()
        self.credentials = credentials
        self.fleet = fleet  # with a fleet: a vCenter picker first, `v` switches
        self.vcenter: str | None = None
        self.session: Any = None
        self.inventory: Inventory = inventory or Inventory()
        self.index: NetIndex = NetIndex.build(self.inventory)
        self.source = source
        self.playbook = playbook
        self.poll_s = poll_s
        self.connect_error = connect_error
        self.clock = clock or (lambda: datetime.now(UTC))
        self.live = credentials is not None or not inventory or fleet is not None
        self.state = "offline" if not self.live else "connecting"
        self.last_update: datetime | None = None if self.live else self.inventory.collected_at
        self.updates = 0
        self.reconnects = 0
        self.error = ""
        self._gen = 0
        self._watcher: Any = None
        self._lock = threading.Lock()

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        with TabbedContent(initial="network"):
            with TabPane(TABS[0][1], id="network"):
                yield NetworkPane(id="network-pane")
            with TabPane(TABS[1][1], id="findings"):
                yield FindingsPane(id="findings-pane")
            with TabPane(TABS[2][1], id="latency"):
                yield LatencyPane(id="latency-pane")
            with TabPane(TABS[3][1], id="plan"):
                yield PlanPane(id="plan-pane")
            with TabPane(TABS[4][1], id="vmotion"):
                yield VmotionPane(id="vmotion-pane")
            with TabPane(TABS[5][1], id="appliances"):
                yield AppliancesPane(id="appliances-pane")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.source
        self._status()
        self.focus_tab("network")
        if not self.live:
            self._show(self.index)
            if self.playbook:
                self.query_one(PlanPane).open_file(str(self.playbook))
            return
        if self.fleet is not None:
            if len(self.fleet.entries) == 1:  # --only named one: nothing to pick
                self._fleet_answer(self.fleet.entries[0].name)
            else:
                self.push_screen(FleetPicker(self.fleet), self._fleet_answer)
            return
        if self.credentials is None:
            self.push_screen(ConnectScreen(self.connect_error), self._connect_answer)
            return
        self.start_watch()
        if self.playbook:
            self.query_one(PlanPane).set_path(str(self.playbook))
            self.query_one(AppliancesPane).set_path(str(self.playbook))

    def _connect_answer(self, answer: tuple[str, str, str, bool] | None) -> None:
        if answer is None:
            self.exit()
            return
        from pydantic import SecretStr

        from vnettool.vsphere.credentials import Credentials, parse_server

        server, user, password, insecure = answer
        try:
            host, port, path, _, _ = parse_server(server)
        except VnetError as exc:
            self.push_screen(ConnectScreen(str(exc), server), self._connect_answer)
            return
        self.credentials = Credentials(
            host=host,
            port=port,
            path=path,
            user=user,
            password=SecretStr(password),
            insecure=insecure,
            source="prompt",
        )
        self.start_watch()

    def _fleet_answer(self, name: str | None) -> None:
        """A vCenter chosen in the picker: its credentials from the fleet file's reference,
        the previous session closed, the screens emptied until the new inventory arrives."""
        assert self.fleet is not None
        if name is None or name == self.vcenter:
            if self.vcenter is None:
                self.exit()
            return
        try:
            creds = self.fleet.credentials(name)
        except VnetError as exc:  # the reference's error: says where, never the secret
            self.push_screen(
                FleetPicker(self.fleet, self.vcenter, f"{name}: {exc}"), self._fleet_answer
            )
            return
        old, self.session = self.session, None
        self.credentials, self.vcenter = creds, name
        self.sub_title = f"{name} — {creds.url}"
        self.state, self.updates, self.reconnects, self.error = "connecting", 0, 0, ""
        self.last_update = None
        self._show(NetIndex.build(Inventory()))
        self.start_watch()
        if old is not None:
            self._logout(old)

    @work(thread=True, group="logout", description="logout", exit_on_error=False)
    def _logout(self, session: Any) -> None:
        session.logout()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`v` exists only with a fleet (and is then shown in the footer)."""
        if action == "pick_vcenter":
            return self.fleet is not None
        return True

    def action_pick_vcenter(self) -> None:
        if self.fleet is None:
            self.notify("one vCenter: start with --fleet FILE to pick among several")
            return
        self.push_screen(FleetPicker(self.fleet, self.vcenter), self._fleet_answer)

    # -- live inventory -------------------------------------------------------------------------
    def start_watch(self) -> None:
        """(Re)start the watch: a new generation; updates of older ones are dropped."""
        with self._lock:
            self._gen += 1
            gen = self._gen
            old, self._watcher = self._watcher, None
        if old is not None:
            old.cancel()
        self._watch(gen)

    def on_unmount(self) -> None:
        """Stop the watch thread: an idle watch never yields back to check for cancellation
        (the long poll returns nothing), so without this the process waits for it at exit."""
        with self._lock:
            self._gen += 1
            old, self._watcher = self._watcher, None
        if old is not None:
            old.cancel()

    @work(thread=True, exclusive=True, group="watch", description="watch", exit_on_error=False)
    def _watch(self, gen: int) -> None:
        from vnettool.inventory.collect import Watcher
        from vnettool.vsphere.connection import connect

        worker = get_current_worker()
        failures = 0

        def current() -> bool:
            return not worker.is_cancelled and gen == self._gen

        while current():
            watcher = None
            try:
                if self.session is None:
                    session = connect(self.credentials)
                    if not current():  # switched to another vCenter meanwhile
                        session.logout()
                        return
                    self.session = session
                watcher = Watcher(self.session)
                with self._lock:
                    if gen != self._gen:
                        watcher.close()
                        return
                    self._watcher = watcher
                for ch in watcher.changes(timeout_s=self.poll_s):
                    if not current():
                        break
                    assert ch.inventory is not None
                    index = NetIndex.build(ch.inventory)
                    self.call_from_thread(self._update, gen, index, failures > 0)
                    failures = 0
            except Exception as exc:  # any failure of the watch: show it, log in again
                if not current():
                    return
                failures += 1
                self.call_from_thread(self._lost, gen, _short(exc), failures)
                # a new session, not a re-login on the old one: a server that dropped the
                # session may refuse Login on its cookie, and the watch's collector died with it
                self.session = None
                delay = min(0.5 * 2 ** (failures - 1), 10.0)
                deadline = time.monotonic() + delay
                while current() and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                if watcher is not None:
                    watcher.close()

    def _update(self, gen: int, index: NetIndex, recovered: bool) -> None:
        if gen != self._gen:
            return
        if recovered or self.state != "connected":
            if self.state == "lost":
                self.reconnects += 1
                self.notify("connection restored", title="vSphere")
            self.query_one(Banner).remove_class("-shown")
            self.state = "connected"
            self.error = ""
        self.updates += 1
        self.last_update = self.clock()
        self._show(index)

    def _lost(self, gen: int, message: str, attempt: int) -> None:
        if gen != self._gen:
            return
        self.state = "lost"
        self.error = message
        banner = self.query_one(Banner)
        banner.update(
            f"⚠ connection lost: {message} — reconnecting (attempt {attempt}); "
            "the screen shows the last known state"
        )
        banner.add_class("-shown")
        self._status()

    def _show(self, index: NetIndex) -> None:
        self.index = index
        self.inventory = index.inv
        self.query_one(NetworkPane).show(index)
        self.query_one(FindingsPane).show(index)
        self.query_one(LatencyPane).show(index)
        self.query_one(PlanPane).show(index)
        self.query_one(VmotionPane).show(index)
        self.query_one(AppliancesPane).show(index)
        self._status()

    def refresh_inventory(self) -> None:
        """After a change made here: read everything again (restart the watch)."""
        if self.live and self.credentials is not None:
            self.start_watch()

    def _status(self) -> None:
        inv = self.inventory
        who = ""
        if self.fleet is not None and self.vcenter is None:
            conn = "[yellow]● no vCenter chosen[/] (v picks one)"
        elif self.state == "offline":
            conn = f"[b]offline[/] snapshot {_escape(self.source or '')}"
        elif self.state == "connected":
            who = f"{self.credentials.user}@{self.credentials.host}" if self.credentials else ""
            if self.vcenter:
                who = f"{self.vcenter}: {who}"
            conn = "[green]● connected[/]"
        elif self.state == "lost":
            conn = "[red]● connection lost[/]"
        else:
            conn = "[yellow]● connecting…[/]"
        when = self.last_update.strftime("%H:%M:%S") if self.last_update else "-"
        # most important first: a narrow terminal drops parts from the end, never cuts a count
        parts = [conn, f"{len(inv.hosts)} hosts", f"updated {when}"]
        if self.error:
            parts.append(f"[red]{_escape(self.error)[:80]}[/]")
        if self.updates > 1:
            parts.append(f"{self.updates - 1} live updates")
        if self.reconnects:
            parts.append(f"{self.reconnects} reconnects")
        self.query_one(StatusBar).set(parts, who)

    def set_error(self, message: str) -> None:
        self.error = message
        self._status()

    # -- session for the panes' workers ------------------------------------------------------------
    def require_session(self) -> Any:
        """The live session, or a VnetError that the pane shows (offline / not yet connected)."""
        if not self.live:
            raise VnetError("read-only: this is an inventory snapshot, not a live connection")
        if self.session is None:
            raise VnetError("not connected yet")
        return self.session

    # -- actions ---------------------------------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.focus_tab(tab)

    def focus_tab(self, tab: str) -> None:
        """Put the keyboard on the main widget of a screen (tree, table, list)."""
        target = {
            "network": "#net-tree",
            "findings": "#findings-table",
            "latency": "#lat-matrix",
            "plan": "#plan-scroll",
            "vmotion": "#vm-list",
            "appliances": "#app-table",
        }[tab]
        self.query_one(target).focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self.focus_tab(event.pane.id)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_reconnect(self) -> None:
        if not self.live or self.credentials is None:
            self.notify("offline snapshot: nothing to reconnect", severity="warning")
            return
        self.notify("reconnecting…")
        self.start_watch()

    def open_vmotion(self, vm: str) -> None:
        self.action_tab("vmotion")
        self.query_one(VmotionPane).choose_vm(vm)

    @on(OpenVmotion)
    def _open_vmotion(self, message: OpenVmotion) -> None:
        self.open_vmotion(message.vm)

    @on(InventoryStale)
    def _inventory_stale(self, message: InventoryStale) -> None:
        self.refresh_inventory()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for tab, title in TABS:
            name = title.split(" ", 1)[1]
            yield SystemCommand(
                f"Show {name}", f"Switch to the {name} screen", lambda t=tab: self.action_tab(t)
            )
        yield SystemCommand("Help", "Keys and screens", self.action_help)
        yield SystemCommand("Toggle dark/light theme", "Switch theme", self.action_toggle_theme)
        yield SystemCommand("Reconnect", "Log in again and re-read", self.action_reconnect)
        if self.fleet is not None:
            yield SystemCommand(
                "Switch vCenter", "Pick another vCenter of the fleet (v)", self.action_pick_vcenter
            )
        net = self.query_one(NetworkPane)
        yield SystemCommand(
            "Filter the network tree", "Focus the filter box", net.action_focus_filter
        )
        yield SystemCommand("Migrate the selected VM", "vMotion from the tree", net.action_migrate)
        fnd = self.query_one(FindingsPane)
        yield SystemCommand("Run the audit again", "Re-evaluate the findings", fnd.action_rerun)
        yield SystemCommand("Export findings to a workbook", "reports/*.xlsx", fnd.action_export)
        yield SystemCommand("Sort findings", "Cycle the sort column", fnd.action_sort)
        lat = self.query_one(LatencyPane)
        yield SystemCommand("Start/stop latency probing", "vmkping mesh", lat.action_probe)
        yield SystemCommand(
            "Next cluster (latency)", "Probe another cluster", lat.action_next_cluster
        )
        yield SystemCommand(
            "Rebalance now", "One latency rebalance cycle, dry run first (b)", lat.action_rebalance
        )
        pln = self.query_one(PlanPane)
        yield SystemCommand("Open a playbook / desired state", "Plan it", pln.action_open)
        yield SystemCommand("Apply the plan", "Asks for confirmation", pln.action_apply)
        yield SystemCommand(
            "Roll back the last run", "Like apply --rollback; asks first (u)", pln.action_rollback
        )
        vmo = self.query_one(VmotionPane)
        yield SystemCommand("Migrate a VM (vMotion)", "Choose VM and host", vmo.action_focus_vm)
        apl = self.query_one(AppliancesPane)
        yield SystemCommand(
            "Check the appliances", "Status of a playbook's appliances", apl.action_check
        )


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
