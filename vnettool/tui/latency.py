"""The Latency screen: a host x host vmkping matrix of one cluster and a sparkline per host.

Probing runs in a thread worker through the latency package (`endpoints`, `mesh`, the same
esxcli ping as `vnettool latency watch`); each round updates the matrix cells in place and
appends every host's figure (the policy's: median effective latency of its pairs) to its
sparkline and to the vCenter's latency history (latency/history.py). The sparklines start
from that history, so a new session shows the figures earlier runs measured. Thresholds
colour the cells: green below `warn`, yellow from `warn`, red from `crit` or on loss; an MTU
failure reads "MTU✗".
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Sparkline
from textual.worker import get_current_worker

from vnettool.engine.common import natural_key
from vnettool.errors import VnetError
from vnettool.latency.render import CRIT_MS, WARN_MS, latency_cell
from vnettool.tui.fit import fit_middle
from vnettool.tui.messages import AppView, InventoryStale
from vnettool.tui.model import NetIndex
from vnettool.tui.widgets import ConfirmScreen, FitTable, PhraseLine

if TYPE_CHECKING:
    from vnettool.latency.probe import Matrix
    from vnettool.latency.rebalance import CycleReport

HISTORY = 60
NAMED_COLUMNS = 8


class LatencyPane(Vertical):
    BINDINGS = [
        Binding("p", "probe", "Probe on/off"),
        Binding("c", "next_cluster", "Cluster"),
        Binding("b", "rebalance", "Rebalance now"),
        Binding("right_square_bracket", "next_columns", "More columns", show=False),
        Binding("left_square_bracket", "prev_columns", "Columns back", show=False),
    ]
    DEFAULT_CSS = """
    LatencyPane #lat-matrix { height: 1fr; }
    LatencyPane #lat-sparks { height: 1fr; border-top: solid $primary-darken-2; }
    LatencyPane .spark-row { height: 1; }
    LatencyPane .spark-row Label { width: 16; }
    LatencyPane .spark-row .spark-value { width: 12; }
    LatencyPane Sparkline { width: 1fr; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.index: NetIndex | None = None
        self.clusters: list[str] = []
        self.cluster: str | None = None
        self.running = False
        self.rounds = 0
        self.history: dict[str, deque[float]] = {}
        self.matrix: Matrix | None = None
        self._hosts_shown: list[str] = []
        self._history_of: tuple[str, str | None] | None = None  # (vCenter, cluster) loaded
        self.history_points = 0
        self.rebalancing = False
        self.last_rebalance: CycleReport | None = None
        self.rebalance_note = ""  # the last cycle's outcome, kept on the state line
        self.page = 0  # which destination columns of the matrix are shown
        self.columns_shown = (0, 0, 0)  # first, last (1-based), of how many

    @property
    def vapp(self) -> AppView:
        return cast("AppView", self.app)

    def compose(self) -> ComposeResult:
        yield PhraseLine(id="lat-state")
        yield FitTable(id="lat-matrix", cursor_type="cell", fixed_columns=1)
        yield VerticalScroll(id="lat-sparks")

    def show(self, index: NetIndex) -> None:
        self.index = index
        self.clusters = sorted({h.cluster for h in index.inv.hosts if h.cluster})
        if self.cluster not in self.clusters:
            self.cluster = self.clusters[0] if self.clusters else None
            self._reset()
        self._load_history()
        self._state()

    def _server_key(self) -> str | None:
        try:
            return str(self.vapp.require_session().instance_key)
        except VnetError:
            return None  # offline snapshot or not connected yet: no history to show

    def _load_history(self) -> None:
        """Start the sparklines from the figures earlier runs kept for this cluster."""
        from vnettool.latency.history import History, series

        key = self._server_key()
        if key is None or self._history_of == (key, self.cluster):
            return
        self._history_of = (key, self.cluster)
        pts = History.for_server(key).load(cluster=self.cluster, hosts=self._hosts_shown)
        self.history_points = len(pts)
        for h, hp in series(pts).items():
            self.history[h] = deque([p.ms for p in hp][-HISTORY:], maxlen=HISTORY)
        # the sparkline rows of a new cluster are mounted on the next refresh
        self.call_after_refresh(self._show_history)

    def _show_history(self) -> None:
        for h, values in self.history.items():
            if values:
                self._show_figure(h, values[-1])

    def _hosts(self) -> list[str]:
        if self.index is None:
            return []
        return sorted(
            (h.name for h in self.index.inv.hosts_in(cluster=self.cluster)), key=natural_key
        )

    def _reset(self) -> None:
        """New cluster: empty matrix and fresh sparklines for its hosts."""
        self.history = {}
        self._history_of = None
        self.history_points = 0
        self.matrix = None
        self.rounds = 0
        hosts = self._hosts()
        self._hosts_shown = hosts
        self.page = 0
        self._matrix_table()
        sparks = self.query_one("#lat-sparks", VerticalScroll)
        sparks.remove_children()
        rows = []
        for h in hosts:
            self.history[h] = deque(maxlen=HISTORY)
            rows.append(
                Horizontal(
                    Label(_short(h)),
                    Label("-", classes="spark-value", id=f"val-{_safe(h)}"),
                    Sparkline([], id=f"spark-{_safe(h)}", summary_function=max),
                    classes="spark-row",
                )
            )
        sparks.mount_all(rows)

    def columns_per_page(self) -> int:
        """How many destination columns fit whole in the table's width: a column cut by the
        edge of the view showed `0` for 0.20 and `1` for host 11."""
        hosts = self._hosts_shown
        numbered = len(hosts) > NAMED_COLUMNS
        label = max([len("from \\ to"), *(len(_short(h)) + (3 if numbered else 0) for h in hosts)])
        m = self.matrix
        figures = [len(latency_cell(c).plain) for c in (m.cells.values() if m else [])]
        heads = [len(str(len(hosts))) if numbered else len(_short(h)) for h in hosts]
        cell = max([4, *figures, *heads])  # "0.20"; wider once a figure is ("12.50 33%")
        width = self.query_one(DataTable).size.width or self.size.width or 80
        return max(1, (width - 2 - (label + 2)) // (cell + 2))

    def _matrix_table(self) -> None:
        """The matrix with the destination columns of the current page; rows are every host.
        Up to 8 hosts the columns carry the names; above, numbers (the row says which host
        each number is), as `latency probe -o matrix` does."""
        hosts = self._hosts_shown
        per = self.columns_per_page()
        pages = max(1, -(-len(hosts) // per))
        self.page = min(self.page, pages - 1)
        cols = hosts[self.page * per : (self.page + 1) * per]
        numbered = len(hosts) > NAMED_COLUMNS
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("from \\ to", key="from")
        for h in cols:
            n = hosts.index(h) + 1
            table.add_column(str(n) if numbered else _short(h), key=h)
        for n, h in enumerate(hosts, 1):
            label = f"{n:>2} {_short(h)}" if numbered else _short(h)
            m = self.matrix
            cells = [latency_cell(m.cells.get((h, d)) if m and h != d else None) for d in cols]
            table.add_row(Text(label, style="bold"), *cells, key=h)
        self.columns_shown = (self.page * per + 1, self.page * per + len(cols), len(hosts))

    def action_next_columns(self) -> None:
        """`]` / `[`: the next / previous destination columns when they do not all fit."""
        per = self.columns_per_page()
        if (self.page + 1) * per < len(self._hosts_shown):
            self.page += 1
            self._matrix_table()
            self._state()

    def action_prev_columns(self) -> None:
        if self.page:
            self.page -= 1
            self._matrix_table()
            self._state()

    @on(FitTable.Resized, "#lat-matrix")
    def _refit(self) -> None:
        if (
            self._hosts_shown
            and self.columns_per_page() != self.columns_shown[1] - self.columns_shown[0] + 1
        ):
            self._matrix_table()
            self._state()

    def _columns_phrase(self) -> list[str]:
        first, last, n = self.columns_shown
        return (
            [f"columns {first}-{last} of {n} ([ ] page)"] if n and (first, last) != (1, n) else []
        )

    def _state(self, extra: str = "") -> None:
        if self.cluster is None:
            phrases = ["no clusters in the inventory"]
        else:
            mode = "[green]probing[/]" if self.running else "stopped (p = start)"
            kept = [f"{self.history_points} kept"] if self.history_points else []
            phrases = [
                f"cluster {self.cluster} ({len(self._hosts_shown)} hosts)",
                mode,
                f"round {self.rounds}",
                *kept,
                f"warn {WARN_MS:g} ms, crit {CRIT_MS:g} ms",
                "c = next cluster",
                *self._columns_phrase(),
                "b = rebalance now",
                *([self.rebalance_note] if self.rebalance_note else []),
            ]
        self.query_one("#lat-state", PhraseLine).set(*phrases, *([extra] if extra else []))

    def action_probe(self) -> None:
        if self.running:
            self.running = False
            self.workers.cancel_group(self, "probe")
            self._state()
            return
        try:
            self.vapp.require_session()
        except VnetError as exc:
            self.app.notify(str(exc), severity="warning")
            return
        if self.cluster is None:
            return
        self.running = True
        self._load_history()
        self._state()
        self._probe(self.cluster)

    def action_next_cluster(self) -> None:
        if not self.clusters:
            return
        i = self.clusters.index(self.cluster) if self.cluster in self.clusters else -1
        self.cluster = self.clusters[(i + 1) % len(self.clusters)]
        self._reset()
        self._load_history()
        if self.running:
            self._probe(self.cluster)
        self._state()

    @work(thread=True, exclusive=True, group="probe", description="probe", exit_on_error=False)
    def _probe(self, cluster: str, every_s: float = 3.0) -> None:
        from vnettool.latency.history import History, points
        from vnettool.latency.mover import RebalanceState
        from vnettool.latency.probe import endpoints, mesh
        from vnettool.latency.rebalance import live_ops
        from vnettool.models.latency import PingSpec

        worker = get_current_worker()
        spec = PingSpec(count=3, interval_s=0.2, wait_s=1.0)
        while not worker.is_cancelled and self.running and self.cluster == cluster:
            started = time.monotonic()
            try:
                inv = self.vapp.inventory
                eps, skipped = endpoints(inv, cluster)
                session = self.vapp.require_session()
                ops = live_ops(session, inv, RebalanceState())
                m = mesh(ops.ping, eps, spec, workers=8)
                m.skipped = skipped
                at = min((x.at for x in m.samples), default=None)
                pts = points(m.samples, at, dict.fromkeys(m.hosts, cluster), "tui") if at else []
                History.for_server(session.instance_key).append(pts)
            except (VnetError, OSError) as exc:
                self.app.call_from_thread(self._state, f"[red]{exc}[/]")
            else:
                if worker.is_cancelled or self.cluster != cluster:
                    return
                figures = {p.host: p.ms for p in pts}
                self.app.call_from_thread(self._round, cluster, m, figures)
            while not worker.is_cancelled and time.monotonic() - started < every_s:
                time.sleep(0.1)

    # -- rebalance now ---------------------------------------------------------------------------
    def action_rebalance(self) -> None:
        """One cycle of `vnettool latency rebalance`: first a dry run (probe, policy, the
        ladder's decisions, nothing changed) shown in a confirmation; yes runs a real cycle."""
        if self.rebalancing:
            self.app.notify("a rebalance cycle is running", severity="warning")
            return
        try:
            session = self.vapp.require_session()
        except VnetError as exc:
            self.app.notify(str(exc), severity="warning")
            return
        self.rebalancing = True
        self._state("[cyan]rebalance: probing every cluster for a dry run…[/]")
        self._rebalance(session, True)

    @work(
        thread=True, exclusive=True, group="rebalance", description="rebalance", exit_on_error=False
    )
    def _rebalance(self, session: Any, dry_run: bool) -> None:
        try:
            report = rebalance_cycle(session, dry_run)
        except VnetError as exc:
            self.app.call_from_thread(self._rebalanced, None, dry_run, str(exc))
            return
        self.app.call_from_thread(self._rebalanced, report, dry_run, "")

    def _rebalanced(self, report: CycleReport | None, dry_run: bool, error: str) -> None:
        if error or report is None:
            self.rebalancing = False
            self._state(f"[red]rebalance failed[/]: {_escape(error)}")
            return
        self.last_rebalance = report
        acts = acting(report)
        if not dry_run:
            self.rebalancing = False
            done = sum(1 for e in report.journal if e.outcome == "moved")
            done += sum(1 for e in report.remedies if e.outcome == "done")
            failed = sum(1 for e in report.journal if e.outcome == "failed")
            failed += sum(1 for e in report.remedies if e.outcome == "failed")
            self.rebalance_note = f"rebalance cycle done: {done} action(s), {failed} failed"
            self._state()
            self.app.notify(f"rebalance: {done} action(s), {failed} failed")
            self.post_message(InventoryStale())
            return
        if not acts:
            self.rebalancing = False
            self.rebalance_note = "rebalance (dry run): nothing to do — " + hosts_summary(report)
            self._state()
            return
        session = self.vapp.session

        def answered(yes: bool | None) -> None:
            if yes:
                self._state("[cyan]rebalance: running one cycle…[/]")
                self._rebalance(session, False)
            else:
                self.rebalancing = False
                self._state("[yellow]cancelled[/]: the rebalance changed nothing")

        title = f"Rebalance now: {len(acts)} action(s) in the dry run — run one cycle?"
        self.app.push_screen(ConfirmScreen(title, rebalance_body(report), "Rebalance"), answered)

    def _show_figure(self, h: str, v: float) -> None:
        try:
            self.query_one(f"#spark-{_safe(h)}", Sparkline).data = list(self.history[h])
            colour = "red" if v >= CRIT_MS else "yellow" if v >= WARN_MS else "green"
            self.query_one(f"#val-{_safe(h)}", Label).update(Text(f"{v:.2f} ms", style=colour))
        except Exception:
            pass  # the host left the cluster

    def _round(self, cluster: str, m: Matrix, figures: dict[str, float]) -> None:
        if cluster != self.cluster:
            return
        self.matrix = m
        self.rounds += 1
        table = self.query_one(DataTable)
        shown = [str(c.key.value) for c in table.columns.values() if c.key.value != "from"]
        for src in self._hosts_shown:
            for dst in shown:
                if src == dst:
                    continue
                try:
                    # the column widens to the figure: a "0.20" in a column laid out for
                    # "·" showed as "0" (a clipped number reads as another)
                    table.update_cell(
                        src, dst, latency_cell(m.cells.get((src, dst))), update_width=True
                    )
                except Exception:
                    pass  # the host left the cluster between rounds
        for h in self._hosts_shown:
            if h not in figures:
                continue
            v = figures[h]
            self.history.setdefault(h, deque(maxlen=HISTORY)).append(v)
            self._show_figure(h, v)
        if self.columns_per_page() != self.columns_shown[1] - self.columns_shown[0] + 1:
            self._matrix_table()  # a wider figure: fewer columns fit whole
        skipped = ", ".join(f"{h}: {why}" for h, why in m.skipped.items())
        self._state(f"{m.wall_s:.1f} s/round" + (f" · skipped {skipped}" if skipped else ""))


def acting(report: CycleReport) -> list[str]:
    """What a cycle does (or, dry run, would do): moves and ladder rungs, one line each."""
    out = [
        f"{e.outcome}: move {e.vm} {e.source} → {e.destination} ({e.reason})"
        for e in report.journal
    ]
    out += [
        f"{e.outcome}: {e.action} {e.step} on {e.host} — {e.reason}"
        for e in report.remedies
        if e.action != "skip" and e.outcome in ("done", "dry-run", "failed")
    ]
    return out


def hosts_summary(report: CycleReport) -> str:
    bad = [v for v in report.view.values() if v.state == "unhealthy"]
    if not bad:
        return f"{len(report.view)} hosts healthy"
    return "unhealthy: " + ", ".join(
        f"{v.host} {v.smoothed_ms:.1f} ms" if v.smoothed_ms is not None else v.host for v in bad
    )


def rebalance_body(report: CycleReport) -> Text:
    """The confirmation of `b`: the dry run's host states and every action it would take."""
    out = Text(f"dry run after {len(report.rounds)} probe round(s): {hosts_summary(report)}\n\n")
    for line in acting(report):
        out.append(f"  {line}\n")
    for h, why in sorted(report.waiting.items()):
        out.append(f"  waiting: {h}: {why}\n", style="dim")
    out.append(
        "\nYes runs one real cycle (`vnettool latency rebalance --once`): it measures again, so "
        "it acts on the figures it finds then; each vMotion is journaled (apply --rollback).",
        style="dim",
    )
    return out


def rebalance_cycle(session: Any, dry_run: bool) -> CycleReport:
    """One cycle as `vnettool latency rebalance --once` runs it, with its defaults and its
    code (`open_state`, `live_cycle`): this vCenter's saved state, probe rounds for the
    policy's samples, the default ladder (nioc, uplink, vmotion), every vMotion written ahead
    in a run journal, the vCenter's run lock held for a real cycle (a running apply makes it
    refuse: LockBusy), the state saved; a dry run changes and saves nothing."""
    from contextlib import AbstractContextManager, nullcontext

    from vnettool import runlock
    from vnettool.engine.journal import Journal
    from vnettool.engine.relocate import journaled
    from vnettool.latency.ladder import LadderConfig
    from vnettool.latency.mover import MoverConfig, RebalanceState
    from vnettool.latency.rebalance import live_cycle, open_state
    from vnettool.models.latency import PingSpec

    key = session.instance_key
    path = RebalanceState.default_path(key)
    state = open_state(path, key, None, None, None)
    journal = None if dry_run else Journal.for_session(session, "rebalance (tui)")

    def wrap(relocate: Any, inv: Any) -> Any:
        return relocate if journal is None else journaled(relocate, journal, inv)

    name = f"{session.creds.host}:{session.creds.port} (tui rebalance)"
    lock: AbstractContextManager[Any] = (
        nullcontext() if dry_run else runlock.hold(key, name, wait=False)
    )
    with lock:
        try:
            report = live_cycle(
                session, state, MoverConfig(), PingSpec(count=3, interval_s=0.2, wait_s=1.0),
                LadderConfig(), wrap, first=True, rounds=None, cluster=None, workers=32,
                per_host=2, dry_run=dry_run,
            )  # fmt: skip
        finally:
            if journal is not None:
                journal.end(verified=None, remaining=None)
        if not dry_run:
            state.save(path)
    return report


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _short(host: str) -> str:
    return fit_middle(host, 14)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
