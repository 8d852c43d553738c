"""`vnettool latency probe|watch` and `vnettool rebalance`: measure, then move VMs off slow hosts."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from vnettool import userfile
from vnettool.cli import fleet_commands, fleet_ops
from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    console,
    err_console,
    handle_errors,
    run_lock,
    session_for,
)
from vnettool.cli.fleet import FleetContext, fleet_context
from vnettool.cli.output import Field, Layout, Record, duration_text, emit, fits
from vnettool.errors import ConfigError
from vnettool.latency.render import latency_cell

app = typer.Typer(help="Network latency between hosts (vmkping through the API).")

ClusterOpt = Annotated[str | None, typer.Option("--cluster", "-c", help="Only this cluster")]
WorkersOpt = Annotated[
    int, typer.Option(help="Probes in flight at once, across all hosts", min=1, max=128)
]
PerHostProbesOpt = Annotated[
    int,
    typer.Option(
        "--per-host",
        help="Probes in flight that involve one host, as source or target (0 = no bound)",
        min=0,
        max=16,
    ),
]
CountOpt = Annotated[int, typer.Option(help="Echo requests per probe", min=1, max=100)]
PingIntervalOpt = Annotated[
    float, typer.Option("--ping-interval", help="Seconds between echo requests", min=0.01)
]
VmkOpt = Annotated[
    str | None, typer.Option("--vmk", help="Probe from this vmknic (default: the vMotion one)")
]
ServiceOpt = Annotated[str, typer.Option(help="vmknic service that picks the adapter")]
WarnOpt = Annotated[float, typer.Option(help="Yellow at or above this RTT (ms)")]
CritOpt = Annotated[
    float, typer.Option(help="Red at or above this RTT (ms); probe exits 2 (CRITICAL)")
]


EveryOpt = Annotated[str, typer.Option("--every", help="Time between rounds, e.g. 5s, 1m")]
OldIntervalOpt = Annotated[float | None, typer.Option("--interval", hidden=True)]


def _old_ping_interval(old: float | None, new: float) -> float:
    """`--interval` meant the echo spacing here and the cycle period in rebalance; it is
    `--ping-interval` now and `--every` for repeats. The old spelling still works, with a
    warning, so scripts do not break."""
    if old is None:
        return new
    err_console.print(
        "[yellow]warning:[/] --interval is now --ping-interval (seconds between echo "
        "requests); --every is the time between rounds",
        highlight=False,
    )
    return old


def parse_duration(text: str) -> float:
    """'30s', '2m', '1h', '7d', '1.5' (seconds) -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", text)
    if not m:
        raise ConfigError(f"not a duration: {text!r} (use e.g. 30s, 2m, 1h, 7d)")
    value, unit = float(m.group(1)), m.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def matrix_table(m: Any, warn: float, crit: float, title: str, width: int = 1_000) -> Table:
    """Host x host, full names as column heads when they fit `width`, else numbered columns
    with the number in front of each row's name (a column head is never cut)."""
    cells = max((len(latency_cell(c, warn, crit)) for c in m.cells.values()), default=4)
    name_w = max((len(h) for h in m.hosts), default=4)
    full = name_w + 4 + len(m.hosts) * (max(name_w, cells) + 3) <= width
    t = Table(
        title=title,
        caption="RTT avg in ms (row → column)" if full else "RTT avg in ms (row → column #)",
        title_justify="left",
        caption_justify="left",
    )
    t.add_column("from \\ to", style="bold", no_wrap=True)
    for i, h in enumerate(m.hosts, 1):
        t.add_column(h if full else str(i), justify="right", no_wrap=True)
    for i, src in enumerate(m.hosts, 1):
        label = src if full else f"{i:>2} {src}"
        t.add_row(label, *[latency_cell(m.cells.get((src, dst)), warn, crit) for dst in m.hosts])
    return t


def print_wide(t: Table) -> None:
    """A matrix asked for on a narrow terminal prints at its own width (the terminal wraps
    the lines) rather than squeezed until every cell reads `0…`."""
    from rich.console import Console

    if fits(console, t):
        console.print(t)
        return
    from rich.measure import Measurement

    need = Measurement.get(console, console.options.update_width(1_000_000), t).maximum
    Console(file=console.file, width=need, force_terminal=console.is_terminal).print(t)


def _too_long(s: Any) -> bool:
    return "message too long" in (s.error or "").lower()


def vmk_limited(m: Any) -> list[str]:
    """Hosts whose own vmknic refused the frame ("Message too long"): its MTU is too small."""
    return sorted({s.host for s in m.cells.values() if _too_long(s)})


def mtu_limited(m: Any) -> list[str]:
    """Hosts whose every DF probe on the path (as source or target) got nothing back.

    Probes refused by a source vmknic are left out: they say nothing about the path.
    """
    out = []
    for h in m.hosts:
        pairs = [s for (a, b), s in m.cells.items() if h in (a, b) and not _too_long(s)]
        if pairs and all(s.received == 0 for s in pairs):
            out.append(h)
    return out


def _probing(
    session: Any, cluster: str | None, count: int, interval: float
) -> tuple[Any, list[str], Any, Any]:
    """What every probe starts from: the inventory, the clusters to probe (all, or the one
    named: an unknown name is an error), the live ping and the echo spec."""
    from vnettool.inventory.collect import collect
    from vnettool.latency.mover import RebalanceState
    from vnettool.latency.rebalance import live_ops
    from vnettool.models.latency import PingSpec

    inv = collect(session)
    clusters = sorted({h.cluster for h in inv.hosts if h.cluster and cluster in (None, h.cluster)})
    if cluster and not clusters:
        raise ConfigError(f"no cluster named {cluster!r}")
    ops = live_ops(session, inv, RebalanceState())
    return inv, clusters, ops.ping, PingSpec(count=count, interval_s=interval, wait_s=1.0)


def _measure(
    session: Any,
    cluster: str | None,
    mtu: int | None,
    count: int,
    interval: float,
    vmk: str | None,
    service: str,
    workers: int,
    per_host: int = 2,
) -> list[Any]:
    from vnettool.latency.probe import endpoints, mesh

    inv, clusters, ping, spec = _probing(session, cluster, count, interval)
    out = []
    for c in clusters:
        eps, skipped = endpoints(inv, c, vmk, service)
        m = mesh(ping, eps, spec, workers=workers, mtu=mtu, per_host=per_host)
        m.skipped = skipped
        out.append((c, m))
    return out


def _record(session: Any, results: list[Any], source: str) -> None:
    """Append the rounds' host figures to this vCenter's latency history."""
    from vnettool.latency.history import record

    record(session.instance_key, results, source)


def _sweep(
    session: Any,
    cluster: str | None,
    count: int,
    interval: float,
    vmk: str | None,
    service: str,
    workers: int,
) -> tuple[list[Any], dict[str, dict[str, str]]]:
    from vnettool.latency.probe import endpoints, sweep

    inv, clusters, ping, spec = _probing(session, cluster, count, interval)
    paths, skipped = [], {}
    for c in clusters:
        eps, skipped[c] = endpoints(inv, c, vmk, service)
        paths += sweep(ping, eps, spec, workers=workers, cluster=c)
    return paths, skipped


_OUTCOME = {
    "ok": ("ok", "green"),
    "vmknic_mtu": ("vmknic MTU", "yellow"),
    "dropped": ("DROPPED", "bold red"),
    "error": ("error", "red"),
}


def sweep_table(paths: list[Any], title: str) -> Table:
    from vnettool.models.latency import SWEEP_MTUS

    t = Table(
        title=title, caption="DF pings of a full frame: per path, the largest that got through"
    )
    for col in ("from", "to", "vmknic (MTU)", "target MTU"):
        t.add_column(col, style="bold" if col in ("from", "to") else None)
    for m in SWEEP_MTUS:
        t.add_column(str(m), justify="center")
    t.add_column("path MTU", justify="right")
    for p in paths:
        cells = []
        for m in SWEEP_MTUS:
            r = next((r for r in p.results if r.mtu == m), None)
            text, style = _OUTCOME[r.outcome] if r else ("·", "dim")
            if r is not None and r.outcome == "ok" and r.rtt_ms is not None:
                text = f"ok {r.rtt_ms:.2f} ms"
            cells.append(Text(text, style=style))
        t.add_row(
            p.source,
            p.target,
            f"{p.vmk} ({p.source_mtu or '?'})",
            str(p.target_mtu or "?"),
            *cells,
            Text(str(p.path_mtu or "none"), style="bold red" if p.black_hole else ""),
        )
    return t


def _print_sweep(paths: list[Any], skipped: dict[str, dict[str, str]], json_out: bool) -> None:
    from vnettool.models.latency import SWEEP_MTUS

    holes = [p for p in paths if p.black_hole]
    if json_out:
        doc = {
            "sweep": list(SWEEP_MTUS),
            "black_holes": len(holes),
            "skipped": skipped,
            "paths": [
                p.model_dump(mode="json") | {"path_mtu": p.path_mtu, "black_hole": p.black_hole}
                for p in paths
            ],
        }
        typer.echo(json.dumps(doc, indent=1))
        return
    for c in sorted({p.cluster for p in paths} | set(skipped)):
        mine = [p for p in paths if p.cluster == c]
        console.print(sweep_table(mine, f"{c}: MTU sweep of {len(mine)} paths"))
        for h, why in sorted(skipped.get(c, {}).items()):
            console.print(f"  [yellow]skipped[/] {h}: {why}")
    if holes:
        console.print(
            f"[bold red]{len(holes)} path(s) drop frames their vmknic sends[/] (an MTU "
            "below the adapter's along the path): "
            + ", ".join(f"{p.source}→{p.target} carries {p.path_mtu or 'nothing'}" for p in holes),
            highlight=False,
        )
    else:
        console.print("[green]no path drops a frame its vmknic sends[/]")


class ProbeView(StrEnum):
    auto = "auto"
    matrix = "matrix"
    summary = "summary"
    json = "json"


SUMMARY_ABOVE = 8  # hosts in a cluster; above this the matrix is unreadable on a terminal


def _ms(v: float | None) -> str | None:
    return None if v is None else f"{v:.2f}"


def _pair_ms(s: Any) -> str:
    if s.mtu_ok is False:
        return "MTU fail"
    if not s.ok:
        return "lost"
    return f"{s.rtt_avg_ms:.2f}" + (f" ({s.loss_pct:.0f}% loss)" if s.loss_pct else "")


def print_summary(m: Any, title: str, top: int, warn_ms: float, crit_ms: float) -> None:
    """Per-host median / p95 / max and the worst pairs: readable at 80 columns for any
    cluster size (the full matrix goes to --json / --csv)."""
    from vnettool.latency.probe import host_summaries, worst_pairs

    rows: list[Record] = [
        {
            "host": h.host,
            "median ms": _ms(h.median_ms),
            "p95 ms": _ms(h.p95_ms),
            "max ms": _ms(h.max_ms),
            "lost": h.lost,
            "worst peer": h.worst_peer,
        }
        for h in host_summaries(m)
    ]
    fields = [
        Field("host", key=True),
        Field("median ms", numeric=True),
        Field("p95 ms", numeric=True),
        Field("max ms", numeric=True),
        Field("lost", numeric=True),
        Field("worst peer"),
    ]
    emit(console, Layout.auto, title + " (RTT of each host's paths, both directions)", fields, rows)
    worst = worst_pairs(m, top)
    rtts = sorted(x.rtt_avg_ms for x in m.cells.values() if x.ok and x.rtt_avg_ms is not None)
    if rtts and len(rtts) == len(m.cells) and rtts[0] == rtts[-1]:
        # every path alike: ten arbitrary pairs would suggest a difference there is not
        console.print(
            f"no path stands out: all {len(m.cells)} at {rtts[0]:.2f} ms", highlight=False
        )
        return
    pairs: list[Record] = [
        {
            "from": s.host,
            "to": s.target_host or s.target,
            "RTT ms": _pair_ms(s),
            "level": "CRITICAL"
            if not s.ok or (s.rtt_avg_ms or 0.0) >= crit_ms
            else "warning"
            if (s.rtt_avg_ms or 0.0) >= warn_ms
            else "ok",
        }
        for s in worst
    ]
    pf = [Field("from", key=True), Field("to"), Field("RTT ms", numeric=True), Field("level")]
    emit(console, Layout.auto, f"worst {len(worst)} of {len(m.cells)} paths", pf, pairs)


MtuOpt = Annotated[
    int | None,
    typer.Option(help="Verify this path MTU: DF pings with a payload of MTU-28 bytes"),
]
SweepOpt = Annotated[
    bool,
    typer.Option(
        "--sweep",
        help="DF-bit MTU sweep (1500, 9000) on every path, reported per path; exit 3 "
        "when a path drops a frame its vmknic sends",
    ),
]
TopOpt = Annotated[
    int, typer.Option(help="Worst pairs listed in the summary view", min=0, show_default=True)
]
ProbeViewOpt = Annotated[
    ProbeView,
    typer.Option(
        "--output",
        "-o",
        help=f"matrix: host x host; summary: per-host median/p95 and the worst pairs; "
        f"auto: the matrix up to {SUMMARY_ABOVE} hosts per cluster, else the summary",
        case_sensitive=False,
    ),
]
CsvOpt = Annotated[
    Path | None, typer.Option("--csv", help="Also write every sample (the matrix) as CSV")
]


@dataclasses.dataclass(frozen=True)
class ProbeArgs:
    """The options of one `latency probe` command line, as parsed."""

    cluster: str | None
    mtu: int | None
    sweep: bool
    count: int
    ping_interval: float
    old_interval: float | None
    vmk: str | None
    service: str
    workers: int
    per_host: int
    warn_ms: float
    crit_ms: float
    top: int
    output: ProbeView
    csv_out: Path | None
    json_out: bool
    server: str | None
    insecure: bool
    thumbprint: str | None


@app.command()
@handle_errors
def probe(
    cluster: ClusterOpt = None,
    mtu: MtuOpt = None,
    sweep: SweepOpt = False,
    count: CountOpt = 3,
    ping_interval: PingIntervalOpt = 0.2,
    old_interval: OldIntervalOpt = None,
    vmk: VmkOpt = None,
    service: ServiceOpt = "vmotion",
    workers: WorkersOpt = 32,
    per_host: PerHostProbesOpt = 2,
    warn_ms: WarnOpt = 1.0,
    crit_ms: CritOpt = 10.0,
    top: TopOpt = 10,
    output: ProbeViewOpt = ProbeView.auto,
    csv_out: CsvOpt = None,
    json_out: JsonOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """Mesh-ping every host of each cluster from its vMotion vmknic; print the matrix, or
    above 8 hosts per-host median / p95 and the worst pairs.

    Exit codes (Nagios style): 0 all paths below --crit-ms; 2 some path at or above
    --crit-ms or lost (CRITICAL); 3 with --mtu, some path cannot carry that MTU (the hosts
    are named), or with --sweep a path drops a frame its vmknic sends; 1 an error.
    """
    a = ProbeArgs(**locals())  # first: locals() are the parameters only here
    from vnettool.latency.probe import critical, to_csv

    a = dataclasses.replace(
        a,
        json_out=a.json_out or a.output is ProbeView.json,
        ping_interval=_old_ping_interval(a.old_interval, a.ping_interval),
    )
    fc = fleet_context([("--server", a.server), ("--csv", a.csv_out)])
    if fc is not None:
        return _probe_fleet(fc, a)
    if a.sweep:
        return _probe_sweep(a)
    with session_for(a.server, a.insecure, a.thumbprint) as s:
        results = _measure(
            s, a.cluster, a.mtu, a.count, a.ping_interval, a.vmk, a.service, a.workers, a.per_host
        )
        if a.mtu is None:  # a DF probe's figures are about the MTU, not the latency
            _record(s, results, "probe")
    samples = [x for _, m in results for x in m.samples]
    if a.csv_out:
        userfile.write_text(a.csv_out, to_csv(samples), what="CSV")
    failing = [x for x in samples if x.mtu_ok is False or (a.mtu and x.received == 0)]
    crit = [x for _, m in results for x in critical(m, a.crit_ms)]
    if a.json_out:
        typer.echo(json.dumps(_probe_json(a, results, len(failing), len(crit)), indent=1))
    else:
        _print_probe(a, results, failing, crit)
    if a.mtu and failing:
        raise typer.Exit(3)
    if crit:
        raise typer.Exit(2)


def _probe_fleet(fc: FleetContext, a: ProbeArgs) -> None:
    """The same probe on every vCenter, one child process each."""
    if a.sweep:
        raise ConfigError("--sweep is not available with --fleet yet: run it per vCenter")
    opts = {"--cluster": a.cluster, "--mtu": a.mtu, "--vmk": a.vmk}
    args = [f"--count={a.count}", f"--ping-interval={a.ping_interval}", f"--service={a.service}"]
    args += [f"--workers={a.workers}", f"--per-host={a.per_host}", f"--crit-ms={a.crit_ms}"]
    args += [*(f"{k}={v}" for k, v in opts.items() if v is not None)]
    fleet_commands.probe(fc, args, a.json_out)


def _probe_sweep(a: ProbeArgs) -> None:
    """`--sweep`: DF pings of 1500 and 9000 on every path; exit 3 on a black hole."""
    if a.mtu is not None or a.csv_out is not None:
        raise ConfigError("--sweep probes 1500 and 9000 itself: leave out --mtu and --csv")
    with session_for(a.server, a.insecure, a.thumbprint) as s:
        paths, skipped = _sweep(s, a.cluster, a.count, a.ping_interval, a.vmk, a.service, a.workers)
    _print_sweep(paths, skipped, a.json_out)
    if any(p.black_hole for p in paths):
        raise typer.Exit(3)


def _probe_json(a: ProbeArgs, results: list[Any], failing: int, critical: int) -> dict[str, Any]:
    """What `latency probe --json` prints: the verdicts, then per cluster the matrix, the
    per-host summary and the worst pairs."""
    from vnettool.latency.probe import host_summaries, matrix_dict, worst_pairs

    def pair(x: Any) -> dict[str, Any]:
        to = x.target_host or x.target
        return {"from": x.host, "to": to, "rtt_ms": x.rtt_avg_ms, "loss_pct": x.loss_pct}

    return {
        "mtu": a.mtu,
        "mtu_limited_hosts": _limited(a, results, mtu_limited),
        "vmknic_mtu_too_small": _limited(a, results, vmk_limited),
        "failing_paths": failing,
        "crit_ms": a.crit_ms,
        "critical_paths": critical,
        "clusters": {
            c: json.loads(m.to_json())
            | {
                "matrix_ms": matrix_dict(m),
                "hosts_summary": [dataclasses.asdict(h) for h in host_summaries(m)],
                "worst_pairs": [pair(x) | {"error": x.error} for x in worst_pairs(m, a.top)],
            }
            for c, m in results
        },
    }


def _limited(a: ProbeArgs, results: list[Any], which: Any) -> list[str]:
    """Hosts that `which` (mtu_limited / vmk_limited) names in any cluster, under --mtu."""
    return sorted({h for _, m in results for h in which(m)}) if a.mtu else []


def _print_probe(a: ProbeArgs, results: list[Any], failing: list[Any], crit: list[Any]) -> None:
    """Per cluster the matrix (or the summary above 8 hosts) and how the probes ran, then
    the verdicts: critical paths, and under --mtu the hosts that limit it."""
    limited, small_vmk = _limited(a, results, mtu_limited), _limited(a, results, vmk_limited)
    for c, m in results:
        what = f" with DF payload {a.mtu - 28} B (MTU {a.mtu})" if a.mtu else ""
        title = f"{c}: {len(m.hosts)} hosts{what}"
        as_matrix = a.output is ProbeView.matrix or (
            a.output is ProbeView.auto and len(m.hosts) <= SUMMARY_ABOVE
        )
        if as_matrix:
            print_wide(matrix_table(m, a.warn_ms, a.crit_ms, title, console.width))
        else:
            print_summary(m, title, a.top, a.warn_ms, a.crit_ms)
        for h, why in sorted(m.skipped.items()):
            console.print(f"  [yellow]skipped[/] {h}: {why}", highlight=False)
        console.print(
            f"  {len(m.cells)} probes in {duration_text(m.wall_s)} "
            f"(serial sum {duration_text(m.serial_s)}; "
            f"at most {a.workers} at once, {a.per_host or 'any number'} per host)",
            highlight=False,
        )
    if crit:
        console.print(
            f"[bold red]CRITICAL[/]: {len(crit)} path(s) at or above {a.crit_ms:g} ms or lost",
            highlight=False,
        )
    if a.mtu:
        if small_vmk:
            console.print(
                f"[bold red]vmknic MTU below {a.mtu}[/] (Message too long) on: "
                + ", ".join(small_vmk),
                highlight=False,
            )
        if limited:
            console.print(
                f"[bold red]path MTU below {a.mtu}[/] on: {', '.join(limited)}", highlight=False
            )
        if not failing:
            console.print(f"[green]all paths carry MTU {a.mtu}[/]")
        elif not limited and not small_vmk:
            console.print(
                f"[yellow]{len(failing)} paths fail MTU {a.mtu}[/] (no single host explains them)"
            )


@app.command()
@handle_errors
def watch(
    cluster: ClusterOpt = None,
    every: EveryOpt = "5s",
    rounds: Annotated[int, typer.Option(help="Stop after N rounds (0 = until Ctrl-C)")] = 0,
    count: CountOpt = 3,
    ping_interval: PingIntervalOpt = 0.2,
    old_interval: OldIntervalOpt = None,
    vmk: VmkOpt = None,
    service: ServiceOpt = "vmotion",
    workers: WorkersOpt = 32,
    per_host: PerHostProbesOpt = 2,
    warn_ms: WarnOpt = 1.0,
    crit_ms: CritOpt = 10.0,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """Re-probe the mesh every --every and keep the matrix on screen."""
    from rich.console import Group

    ping_interval = _old_ping_interval(old_interval, ping_interval)
    pause = parse_duration(every)
    with session_for(server, insecure, thumbprint) as s, Live(console=console) as live:
        n = 0
        while True:
            n += 1
            results = _measure(
                s, cluster, None, count, ping_interval, vmk, service, workers, per_host
            )
            _record(s, results, "watch")
            stamp = time.strftime("%H:%M:%S")
            live.update(
                Group(
                    *[
                        matrix_table(
                            m, warn_ms, crit_ms, f"{c} — round {n} at {stamp}", console.width
                        )
                        for c, m in results
                    ]
                )
            )
            if rounds and n >= rounds:
                break
            time.sleep(pause)


@app.command()
@handle_errors
def history(
    cluster: ClusterOpt = None,
    since: Annotated[str, typer.Option(help="How far back, e.g. 24h or 7d")] = "24h",
    width: Annotated[int, typer.Option(help="Points in each sparkline", min=5, max=400)] = 40,
    json_out: JsonOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """The latency kept between runs: per host, its figures over time as a sparkline.

    Every `latency probe`, `latency watch` round, `rebalance` round and TUI round adds to it
    (docs/latency.md, "History")."""
    import statistics
    from datetime import UTC, datetime, timedelta

    from vnettool.latency.history import History, series, sparkline

    start = datetime.now(UTC) - timedelta(seconds=parse_duration(since))
    with session_for(server, insecure, thumbprint) as s:
        store = History.for_server(s.instance_key)
    pts = store.load(since=start, cluster=cluster)
    if json_out:
        doc = {
            "file": str(store.path),
            "since": start.isoformat(),
            "points": [p.model_dump(mode="json") for p in pts],
        }
        typer.echo(json.dumps(doc, indent=1))
        return
    if not pts:
        console.print(
            f"no latency history since {start:%Y-%m-%d %H:%M} UTC in {store.path} "
            "(run `vnettool latency probe`)",
            highlight=False,
        )
        return
    for c in sorted({p.cluster or "" for p in pts}):
        mine = series(p for p in pts if (p.cluster or "") == c)
        t = Table(title=f"{c or '(no cluster)'}: latency since {start:%Y-%m-%d %H:%M} UTC")
        for col in ("host", "rounds", "last ms", "min", "median", "max", "loss %"):
            t.add_column(col, justify="left" if col == "host" else "right")
        t.add_column(f"last {width} rounds (own min..max)")
        for host, hp in sorted(mine.items()):
            ms = [p.ms for p in hp]
            t.add_row(
                host,
                str(len(hp)),
                f"{ms[-1]:.2f}",
                f"{min(ms):.2f}",
                f"{statistics.median(ms):.2f}",
                f"{max(ms):.2f}",
                f"{hp[-1].loss_pct:.0f}",
                sparkline(ms, width),
            )
        console.print(t)
    console.print(f"  {len(pts)} points from {store.path}", highlight=False)


def _state_path(explicit: Path | None, server_key: str) -> Path:
    from vnettool.latency.mover import RebalanceState

    return explicit or RebalanceState.default_path(server_key)


DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Decide and explain; move nothing")]
OnceOpt = Annotated[bool, typer.Option("--once", help="One cycle, then exit (default)")]
RepeatOpt = Annotated[str | None, typer.Option("--every", help="Repeat every DURATION (e.g. 30s)")]
OldEveryOpt = Annotated[str | None, typer.Option("--interval", hidden=True)]
VmGlobOpt = Annotated[str | None, typer.Option("--vm", help="Only VMs whose name matches (glob)")]
RoundsOpt = Annotated[
    int | None, typer.Option(help="Probe rounds per cycle (default: the minimum samples)")
]
EnterMsOpt = Annotated[
    float | None,
    typer.Option(help="Unhealthy at or above (ms)", show_default="10 or the saved state's"),
]
ExitMsOpt = Annotated[
    float | None,
    typer.Option(help="Healthy again at or below (ms)", show_default="5 or the saved state's"),
]
MinSamplesOpt = Annotated[
    int | None,
    typer.Option(help="Samples before judging a host", show_default="3 or the saved state's"),
]
MaxMovesOpt = Annotated[int, typer.Option(help="Moves per cycle at most", min=0)]
ConcurrentOpt = Annotated[int, typer.Option(help="vMotions at once at most", min=1)]
VmCooldownOpt = Annotated[str, typer.Option(help="No second move of a VM within")]
HostCooldownOpt = Annotated[str, typer.Option(help="No moves to a recovered host within")]
RttBudgetOpt = Annotated[
    float, typer.Option(help="No vMotion over a path slower than this (ms)", min=0.1)
]
StepsOpt = Annotated[
    str, typer.Option(help="Remedies allowed, cheapest first: nioc, uplink, sensitivity, vmotion")
]
SettleRoundsOpt = Annotated[
    int, typer.Option(help="Probe rounds after a remedy before the next", min=1)
]
StepCooldownOpt = Annotated[str, typer.Option(help="No next remedy on a host within")]
ExitWindowOpt = Annotated[
    str, typer.Option(help="Healthy this long before the last remedy is undone")
]
SensitiveVmsOpt = Annotated[
    str | None, typer.Option(help="Latency-sensitive appliance VMs (glob), for sensitivity")
]
ReturnVmsOpt = Annotated[
    bool, typer.Option(help="Undo vMotion: move VMs back after their cooldown")
]
StateFileOpt = Annotated[
    Path | None, typer.Option("--state", help="State file (default under $VNETTOOL_HOME)")
]


@dataclasses.dataclass(frozen=True)
class RebalanceArgs:
    """The options of one `rebalance` command line, as parsed (names as the parameters)."""

    dry_run: bool
    once: bool
    every: str | None
    old_every: str | None
    cluster: str | None
    vm: str | None
    rounds: int | None
    enter_ms: float | None
    exit_ms: float | None
    min_samples: int | None
    max_moves: int
    concurrent: int
    vm_cooldown: str
    host_cooldown: str
    rtt_budget_ms: float
    count: int
    ping_interval: float
    workers: int
    per_host: int
    steps: str
    settle_rounds: int
    step_cooldown: str
    exit_window: str
    sensitive_vms: str | None
    return_vms: bool
    state_file: Path | None
    json_out: bool
    server: str | None
    insecure: bool
    thumbprint: str | None


@handle_errors
def rebalance(
    dry_run: DryRunOpt = False,
    once: OnceOpt = False,
    every: RepeatOpt = None,
    old_every: OldEveryOpt = None,
    cluster: ClusterOpt = None,
    vm: VmGlobOpt = None,
    rounds: RoundsOpt = None,
    enter_ms: EnterMsOpt = None,
    exit_ms: ExitMsOpt = None,
    min_samples: MinSamplesOpt = None,
    max_moves: MaxMovesOpt = 4,
    concurrent: ConcurrentOpt = 2,
    vm_cooldown: VmCooldownOpt = "30m",
    host_cooldown: HostCooldownOpt = "10m",
    rtt_budget_ms: RttBudgetOpt = 150.0,
    count: CountOpt = 3,
    ping_interval: PingIntervalOpt = 0.2,
    workers: WorkersOpt = 32,
    per_host: PerHostProbesOpt = 2,
    steps: StepsOpt = "nioc,uplink,vmotion",
    settle_rounds: SettleRoundsOpt = 3,
    step_cooldown: StepCooldownOpt = "5m",
    exit_window: ExitWindowOpt = "10m",
    sensitive_vms: SensitiveVmsOpt = None,
    return_vms: ReturnVmsOpt = True,
    state_file: StateFileOpt = None,
    json_out: JsonOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """Work a ladder of remedies on hosts whose network latency stays high, explaining each.

    Each cycle probes the host mesh and smooths per-host latency (loss counts as latency).
    A host over --enter-ms for the required samples gets the cheapest allowed remedy first:
    NIOC shares for its traffic class, then its ports on another uplink, then latency
    sensitivity for named appliances, then vMotion of its VMs to healthy hosts. Remedies are
    undone in reverse once the host stays healthy for --exit-window. State (latency,
    cooldowns, remedies, journal) persists between runs, so a second --once does nothing new.

    With the global --fleet: one cycle on every vCenter, one process each (each vCenter keeps
    its own state file); --every and --state name one loop and one file, and are refused.
    """
    a = RebalanceArgs(**locals())  # first: locals() are the parameters only here
    ladder = _ladder_config(
        a.steps, a.settle_rounds, a.step_cooldown, a.exit_window, a.sensitive_vms, a.return_vms
    )
    if a.old_every is not None:
        err_console.print(
            "[yellow]warning:[/] rebalance --interval is now --every (--ping-interval is the "
            "echo spacing)",
            highlight=False,
        )
        a = dataclasses.replace(a, every=a.every or a.old_every)
    if a.once and a.every:
        raise ConfigError("--once and --every exclude each other")
    fc = fleet_context(
        [
            ("--server", a.server),
            ("--state", a.state_file, "one state file belongs to one vCenter"),
            ("--every", a.every, "a fleet run is one cycle: repeat it from cron or a timer"),
        ]
    )
    if fc is not None:
        return _rebalance_fleet(fc, a)
    _rebalance_cycles(a, ladder)


def _rebalance_fleet(fc: FleetContext, a: RebalanceArgs) -> None:
    """One cycle per vCenter, each a child process given the same options."""
    for d in (a.vm_cooldown, a.host_cooldown, a.step_cooldown, a.exit_window):
        parse_duration(d)  # a bad value is one error here, not one per vCenter
    if a.exit_ms is not None and a.enter_ms is not None and a.exit_ms > a.enter_ms:
        raise ConfigError("--exit-ms must not be above --enter-ms")
    opts: dict[str, object] = {
        "--cluster": a.cluster,
        "--vm": a.vm,
        "--rounds": a.rounds,
        "--enter-ms": a.enter_ms,
        "--exit-ms": a.exit_ms,
        "--min-samples": a.min_samples,
        "--max-moves": a.max_moves,
        "--concurrent": a.concurrent,
        "--vm-cooldown": a.vm_cooldown,
        "--host-cooldown": a.host_cooldown,
        "--rtt-budget-ms": a.rtt_budget_ms,
        "--count": a.count,
        "--ping-interval": a.ping_interval,
        "--workers": a.workers,
        "--per-host": a.per_host,
        "--steps": a.steps,
        "--settle-rounds": a.settle_rounds,
        "--step-cooldown": a.step_cooldown,
        "--exit-window": a.exit_window,
        "--sensitive-vms": a.sensitive_vms,
    }
    args = [f"{k}={v}" for k, v in opts.items() if v is not None]
    args += ["--dry-run"] if a.dry_run else []
    args += ["--return-vms" if a.return_vms else "--no-return-vms"]
    fleet_ops.rebalance(fc, args, a.dry_run, a.json_out)


def _rebalance_cycles(a: RebalanceArgs, ladder: Any) -> None:
    """Cycles on one vCenter until --once is done or Ctrl-C: the work is the latency
    package's (`live_cycle`); here the run lock, the journal of moves and the printing."""
    from vnettool.latency.mover import MoverConfig, RebalanceState
    from vnettool.latency.rebalance import live_cycle, open_state
    from vnettool.models.latency import PingSpec

    pause = parse_duration(a.every) if a.every else None
    mover = MoverConfig(
        vm_pattern=a.vm,
        max_moves_per_cycle=a.max_moves,
        max_concurrent=a.concurrent,
        vm_cooldown_s=parse_duration(a.vm_cooldown),
        host_cooldown_s=parse_duration(a.host_cooldown),
        rtt_budget_ms=a.rtt_budget_ms,
    )
    spec = PingSpec(count=a.count, interval_s=a.ping_interval, wait_s=1.0)
    if a.state_file:  # a corrupt file or a directory fails before connecting
        RebalanceState.load(a.state_file)
    with session_for(a.server, a.insecure, a.thumbprint) as s:
        path = _state_path(a.state_file, s.instance_key)
        state = open_state(path, s.instance_key, a.enter_ms, a.exit_ms, a.min_samples)
        journals: list[Any] = []  # the cycle's run journal (None on a dry run)

        def journaled(relocate: Any, inv: Any) -> Any:
            journal, move = _journaled_moves(s, relocate, inv, a.dry_run)
            journals[:] = [journal]
            return move

        first = True
        while True:
            # A cycle that may move or re-tune holds the vCenter's run lock, released between
            # cycles; it queues behind a running apply rather than fail (rebalance is a daemon).
            with contextlib.nullcontext() if a.dry_run else run_lock(s, wait=True):
                journals.clear()
                report = live_cycle(
                    s, state, mover, spec, ladder, journaled, first=first, rounds=a.rounds,
                    cluster=a.cluster, workers=a.workers, per_host=a.per_host, dry_run=a.dry_run,
                )  # fmt: skip
                if not a.dry_run:
                    state.save(path)
                _print_report(report, a.dry_run, a.json_out, path)
                _close(journals[0] if journals else None, a.json_out)
            first = False
            if pause is None:
                break
            time.sleep(pause)


def _ladder_config(
    steps: str,
    settle_rounds: int,
    step_cooldown: str,
    exit_window: str,
    sensitive_vms: str | None,
    return_vms: bool,
) -> Any:
    from pydantic import ValidationError

    from vnettool.latency.ladder import ORDER, LadderConfig

    names = [x.strip() for x in steps.split(",") if x.strip()]
    bad = [x for x in names if x not in ORDER]
    if bad or not names:
        raise ConfigError(f"--steps: {', '.join(bad) or 'none'} not among {', '.join(ORDER)}")
    if "sensitivity" in names and not sensitive_vms:
        raise ConfigError("--steps sensitivity needs --sensitive-vms GLOB")
    try:
        return LadderConfig(
            steps=names,  # type: ignore[arg-type]
            settle_rounds=settle_rounds,
            step_cooldown_s=parse_duration(step_cooldown),
            exit_window_s=parse_duration(exit_window),
            sensitive_vms=sensitive_vms,
            return_vms=return_vms,
        )
    except ValidationError as exc:
        raise ConfigError(f"--steps: {exc.errors()[0]['msg']}") from None


def _journaled_moves(s: Any, relocate: Any, inv: Any, dry_run: bool) -> tuple[Any, Any]:
    """Every vMotion is also a change in a run journal (written ahead), so that a killed
    cycle names the moves that may have happened and --rollback can move them back."""
    if dry_run:
        return None, relocate
    from vnettool.engine.journal import Journal
    from vnettool.engine.relocate import journaled

    journal = Journal.for_session(s, "rebalance")
    return journal, journaled(relocate, journal, inv)


def _close(journal: Any, json_out: bool) -> None:
    if journal is None:
        return
    journal.end(verified=None, remaining=None)
    if journal.written and not json_out:
        console.print(
            f"[dim]run {journal.id}; undo the moves with: vnettool apply --rollback {journal.id}[/]"
        )


def _print_report(report: Any, dry_run: bool, json_out: bool, path: Path) -> None:
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "hosts": [v.model_dump(mode="json") for v in report.view.values()],
                    "decisions": [d.model_dump(mode="json") for d in report.decisions],
                    "journal": [e.model_dump(mode="json") for e in report.journal],
                    "remedies": [e.model_dump(mode="json") for e in report.remedies],
                    "waiting": report.waiting,
                    "skipped_hosts": report.skipped_hosts,
                    "check_relocate": report.check_note,
                },
                indent=1,
            )
        )
        return
    t = Table(title=f"host latency after {len(report.rounds)} probe round(s)")
    for col in ("host", "samples", "smoothed ms", "last ms", "loss %", "state", "why"):
        t.add_column(col)
    for v in report.view.values():
        style = {"unhealthy": "red", "healthy": "green"}.get(v.state, "yellow")
        t.add_row(
            v.host,
            str(v.samples),
            f"{v.smoothed_ms:.2f}" if v.smoothed_ms is not None else "-",
            f"{v.last_ms:.2f}" if v.last_ms is not None else "-",
            f"{v.loss_pct:.0f}",
            Text(v.state, style=style),
            v.reason,
        )
    console.print(t)
    for h, why in sorted(report.skipped_hosts.items()):
        console.print(f"[yellow]not probed[/] {h}: {why}")
    if report.check_note:
        console.print(f"[dim]{report.check_note}[/]")
    _print_remedies(report)
    if not report.decisions:
        console.print("no unhealthy host with VMs to move: nothing to do")
        return
    d = Table(title="decisions" + (" (dry run: nothing moved)" if dry_run else ""))
    for col in ("VM", "from", "to", "action", "reason"):
        d.add_column(col)
    for x in report.decisions:
        reason = x.reason
        if x.rejected:
            reason += "\n" + "\n".join(f"  {h}: {why}" for h, why in sorted(x.rejected.items()))
        d.add_row(x.vm, x.source, x.destination or "-", x.action, reason)
    console.print(d)
    for e in report.journal:
        colour = {"moved": "green", "failed": "red"}.get(e.outcome, "cyan")
        console.print(
            f"[{colour}]{e.outcome}[/] {e.vm}: {e.source} → {e.destination}"
            + (f" ({e.error})" if e.error else f" in {duration_text(e.duration_s)}"),
            highlight=False,
        )
    if not dry_run:
        console.print(f"[dim]journal and state: {path}[/]")


def _print_remedies(report: Any) -> None:
    colour = {"done": "green", "failed": "red", "dry-run": "cyan", "kept": "yellow"}
    for e in report.remedies:
        what = f"{e.action} {e.step}" if e.action != "skip" else f"skip {e.step}"
        line = f"[{colour.get(e.outcome, 'dim')}]{e.outcome}[/] {e.host}: {what} — {e.reason}"
        if e.detail:
            line += f" ({e.detail})"
        console.print(line, highlight=False)
        for t in e.targets:
            console.print(f"    {t}", highlight=False)
    for h, why in sorted(report.waiting.items()):
        console.print(f"[dim]{h}: {why}[/]", highlight=False)
