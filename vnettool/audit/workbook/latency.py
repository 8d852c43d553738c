"""The Latency tab: the latency history kept between runs (latency/history.py) as a table —
one row per probe round, one column per host (its figure in ms) — and a line chart of it.

The caller loads the points (the audit never talks to vSphere or reads state itself) and the
tab appears only when there are some. The chart shows the `CHART_HOSTS` hosts with the highest
peak figure (all hosts are in the table): thirty lines on one chart read as none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.utils import get_column_letter

from vnettool.audit.workbook.sheet import Sheet
from vnettool.models.latency import HistoryPoint

CHART_HOSTS = 8


def latency_rows(
    points: Sequence[HistoryPoint],
) -> tuple[list[str], list[list[datetime | str | float | None]]]:
    """(hosts, rows): one row per (round time, cluster), the hosts' figures in host order."""
    hosts = sorted({p.host for p in points})
    col = {h: i for i, h in enumerate(hosts)}
    rounds: dict[tuple[datetime, str], list[float | None]] = {}
    for p in sorted(points, key=lambda p: p.at):
        key = (p.at.replace(microsecond=0), p.cluster or "")
        rounds.setdefault(key, [None] * len(hosts))[col[p.host]] = p.ms
    rows: list[list[datetime | str | float | None]] = [
        [at, cluster, *figs] for (at, cluster), figs in rounds.items()
    ]
    return hosts, rows


def write_latency(wb: Workbook, points: Sequence[HistoryPoint]) -> None:
    hosts, rows = latency_rows(points)
    sheet = Sheet(wb, "Latency", ["Time (UTC)", "Cluster", *hosts], rows, freeze="C2")
    ws = sheet.ws
    if not rows:
        return
    peak: dict[str, float] = {}
    for i, h in enumerate(hosts):
        figs = [v for r in rows if isinstance(v := r[2 + i], float)]
        peak[h] = max(figs, default=0.0)
    shown = sorted(hosts, key=lambda h: (-peak[h], h))[:CHART_HOSTS]
    chart = LineChart()
    chart.title = "Host latency per probe round (ms; median of its paths, loss counted)"
    chart.y_axis.title = "ms"
    chart.x_axis.title = "probe round (UTC)"
    chart.x_axis.number_format = "mm-dd hh:mm"
    n = len(rows)
    for h in sorted(shown, key=hosts.index):
        c = 3 + hosts.index(h)
        chart.add_data(Reference(ws, min_col=c, min_row=1, max_row=n + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
    chart.height, chart.width = 9, 22
    ws.add_chart(chart, f"{get_column_letter(len(hosts) + 4)}2")
