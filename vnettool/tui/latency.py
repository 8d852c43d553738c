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
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Sparkline, Static
from textual.worker import get_current_worker

from vnettool.errors import VnetError
from vnettool.latency.render import CRIT_MS, WARN_MS, latency_cell
from vnettool.tui.messages import AppView
from vnettool.tui.model import NetIndex

if TYPE_CHECKING:
    from vnettool.latency.probe import Matrix

HISTORY = 60


class LatencyPane(Vertical):
    BINDINGS = [
        Binding("p", "probe", "Probe on/off"),
        Binding("c", "next_cluster", "Cluster"),
    ]
    DEFAULT_CSS = """
    LatencyPane #lat-state { height: 1; color: $text-muted; }
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

    @property
    def vapp(self) -> AppView:
        return cast("AppView", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="lat-state")
        yield DataTable(id="lat-matrix", cursor_type="cell")
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
        return sorted(h.name for h in self.index.inv.hosts_in(cluster=self.cluster))

    def _reset(self) -> None:
        """New cluster: empty matrix and fresh sparklines for its hosts."""
        self.history = {}
        self._history_of = None
        self.history_points = 0
        self.matrix = None
        self.rounds = 0
        hosts = self._hosts()
        self._hosts_shown = hosts
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("from \\ to", key="from")
        for h in hosts:
            table.add_column(_short(h), key=h)
        for h in hosts:
            table.add_row(
                Text(_short(h), style="bold"), *[latency_cell(None) for _ in hosts], key=h
            )
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

    def _state(self, extra: str = "") -> None:
        if self.cluster is None:
            text = "no clusters in the inventory"
        else:
            mode = "[green]probing[/]" if self.running else "stopped (p = start)"
            kept = f" · {self.history_points} kept" if self.history_points else ""
            text = (
                f"cluster {self.cluster} ({len(self._hosts_shown)} hosts) · {mode} · "
                f"round {self.rounds}{kept} · warn {WARN_MS:g} ms, crit {CRIT_MS:g} ms · "
                "c = next cluster"
            )
        self.query_one("#lat-state", Static).update(text + (f" · {extra}" if extra else ""))

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
        for src in self._hosts_shown:
            for dst in self._hosts_shown:
                if src == dst:
                    continue
                try:
                    table.update_cell(src, dst, latency_cell(m.cells.get((src, dst))))
                except Exception:
                    pass  # the host left the cluster between rounds
        for h in self._hosts_shown:
            if h not in figures:
                continue
            v = figures[h]
            self.history.setdefault(h, deque(maxlen=HISTORY)).append(v)
            self._show_figure(h, v)
        skipped = ", ".join(f"{h}: {why}" for h, why in m.skipped.items())
        self._state(f"{m.wall_s:.1f} s/round" + (f" · skipped {skipped}" if skipped else ""))


def _short(host: str) -> str:
    return host if len(host) <= 14 else host[:6] + "…" + host[-7:]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
