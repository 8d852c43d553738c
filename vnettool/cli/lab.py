"""`vnettool lab`: the embedded vCenter simulator."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vnettool.cli.choices import FaultAction, Scenario
from vnettool.cli.common import JsonOpt, console, err_console, handle_errors, session_for
from vnettool.cli.lab_fleet import SiteStatus, fleet_status, start_fleet, stop_fleet
from vnettool.cli.output import duration_text
from vnettool.errors import VnetError
from vnettool.lab.runner import Lab, LabError, Topology

app = typer.Typer(help="Start, stop and inspect the embedded vCenter simulator (vcsim, extended).")


class LabFailed(VnetError):
    pass


@app.command()
@handle_errors
def start(
    dc: Annotated[int, typer.Option(help="Datacenters")] = 1,
    clusters: Annotated[int, typer.Option(help="Clusters per datacenter")] = 2,
    hosts: Annotated[int, typer.Option(help="Hosts per cluster")] = 4,
    vms: Annotated[int, typer.Option(help="VMs per cluster")] = 8,
    dvs: Annotated[int, typer.Option(help="Distributed switches per datacenter")] = 1,
    portgroups: Annotated[int, typer.Option(help="DV port groups per DVS")] = 2,
    pnics: Annotated[
        int,
        typer.Option(help="Physical NICs per host (vmnic0/1 vSwitch0, vmnic2/3 DVS, rest free)"),
    ] = 6,
    seed: Annotated[
        Scenario | None,
        typer.Option(
            "--scenario",
            help="audit: seed known network problems (and a ToR port mismatch the vDS health "
            "check reports) for the audit to find; stig: those plus seven STIG violations "
            "(forged transmits, overrides allowed, NetFlow to an unlisted collector, a mirror "
            "session, BPDU filter off, a VM dvFilter, vMotion encryption off)",
            case_sensitive=False,
        ),
    ] = None,
    fleet: Annotated[
        int,
        typer.Option(
            "--fleet",
            min=0,
            max=16,
            help="Start N labs as N sites (own port, state, password) and write their fleet.yml",
        ),
    ] = 0,
) -> None:
    """Build (if needed) and start the lab; a second start reuses the running one."""
    scenario = str(seed) if seed else ""
    if fleet and scenario:
        raise LabFailed("--scenario and --fleet cannot be combined (fleet labs have their own)")
    t0 = time.monotonic()
    try:
        topo = Topology(
            dc=dc,
            cluster=clusters,
            host=hosts,
            vm=vms,
            dvs=dvs,
            pg=portgroups,
            pnics=pnics,
            scenario=scenario,
        )
        if fleet:
            return _start_fleet(fleet, topo, t0)
        with console.status("starting the lab (building the simulator if needed)…"):
            st, started = Lab().start(topo)
    except LabError as exc:
        raise LabFailed(str(exc)) from exc
    verb = "started" if started else "already running"
    console.print(
        f"lab {verb} at [bold]{st.url}[/] (pid {st.pid}, {duration_text(time.monotonic() - t0)})"
    )
    if not started:
        _warn_reused(topo, st.topology)
    if scenario and started:
        _seed(scenario)


OPTION = {
    "dc": "--dc",
    "cluster": "--clusters",
    "host": "--hosts",
    "vm": "--vms",
    "dvs": "--dvs",
    "pg": "--portgroups",
    "pnics": "--pnics",
}


def topology_differences(asked: Topology, running: dict[str, object]) -> list[str]:
    """`--hosts 16 (running: 4)` for each setting the running lab does not have."""
    return [
        f"{flag} {getattr(asked, key)} (running: {running[key]})"
        for key, flag in OPTION.items()
        if key in running and running[key] != getattr(asked, key)
    ]


def _warn_reused(asked: Topology, running: dict[str, object]) -> None:
    """A second `lab start` reuses the running lab; when the topology asked for is not the
    running one (or a scenario cannot be seeded into it), say so instead of letting tests
    and demos run against another estate than the command line says."""
    diff = topology_differences(asked, running)
    if diff:
        err_console.print(
            "[yellow]warning:[/] the running lab was reused as it is, not with "
            + ", ".join(diff)
            + "; run `vnettool lab stop` first to start that topology",
            highlight=False,
            soft_wrap=True,
        )
    if asked.scenario:
        err_console.print(
            f"[yellow]warning:[/] --scenario {asked.scenario} was not seeded: the lab was "
            "already running (`vnettool lab stop`, then start it again)",
            highlight=False,
            soft_wrap=True,
        )


def _start_fleet(n: int, topo: Topology, t0: float) -> None:
    with console.status(f"starting {n} labs…"):
        path, labs = start_fleet(n, topo)
    for site, st, new in labs:
        verb = "started" if new else "already running"
        console.print(f"{site.name}: {verb} at [bold]{st.url}[/] (pid {st.pid})", highlight=False)
    console.print(f"fleet file: {path} ({duration_text(time.monotonic() - t0)})", highlight=False)
    console.print(f"try: vnettool --fleet {path} inventory", highlight=False)


def _seed(scenario: str) -> None:
    """Put a scenario's problems into the fresh lab, as another vSphere client would."""
    from vnettool.vsphere.seed import (
        AUDIT_PROBLEMS,
        PHYSICAL_PROBLEMS,
        STIG_PROBLEMS,
        seed_audit,
        seed_stig,
    )

    with session_for(None, False, None) as session:
        try:
            seeded = (
                seed_stig(session) if scenario == "stig" else seed_audit(session, physical=True)
            )
        except ValueError as exc:
            raise LabFailed(
                f"scenario {scenario} not seeded: {exc} (the lab runs without it; "
                "`vnettool lab stop`, then start it with another topology)"
            ) from exc
    console.print(f"scenario {scenario}: seeded {len(seeded)} problems")
    what = AUDIT_PROBLEMS | STIG_PROBLEMS | PHYSICAL_PROBLEMS
    for rule, obj in sorted(seeded.items()):
        console.print(f"  {rule} {what[rule]}: {obj}", highlight=False)


@app.command()
@handle_errors
def stop(
    site: Annotated[
        list[str] | None,
        typer.Option(
            "--site",
            help="Stop only this fleet lab (repeatable); the fleet file keeps it, so fleet "
            "runs report it down",
        ),
    ] = None,
) -> None:
    """Stop the lab, and the labs of `lab start --fleet`, and remove their files."""
    if site:
        try:
            stopped = stop_fleet(site)
        except LabError as exc:
            raise LabFailed(str(exc)) from exc
        was = ", ".join(stopped) or "none of them was running"
        console.print(f"fleet labs stopped: {was}", highlight=False)
        return
    single = Lab().stop()
    if single:
        console.print("lab stopped")
    stopped = stop_fleet()
    if stopped:
        console.print(f"fleet labs stopped: {', '.join(stopped)}", highlight=False)
    if not single and not stopped:
        console.print("no lab was running")


@app.command()
@handle_errors
def status(as_json: JsonOpt = False) -> None:
    """Show the lab (URL, PID, topology, uptime) and every fleet lab (URL, hosts, up or down).

    Exit 0 when what exists is up, 4 when some fleet lab is down (as a fleet run's partial),
    1 when no lab runs at all."""
    st = Lab().state()
    sites = fleet_status()
    up = [s for s in sites if s.up]
    code = 1 if st is None and not up else 4 if len(up) < len(sites) else 0
    if as_json:
        single = None
        if st is not None:
            single = {"url": st.url, "pid": st.pid, "started": st.started, "topology": st.topology}
        doc = {"lab": single, "fleet": [s.as_json() for s in sites]}
        typer.echo(json.dumps(doc, indent=1))
        raise typer.Exit(code)
    if st is None and not sites:
        console.print("no lab running — start one with [bold]vnettool lab start[/]")
        raise typer.Exit(1)
    if st is not None:
        started = datetime.fromisoformat(st.started.replace("Z", "+00:00"))
        uptime = datetime.now(UTC) - started
        t = Table(show_header=False, box=None)
        t.add_row("URL", st.url)
        t.add_row("PID", str(st.pid))
        t.add_row("topology", ", ".join(f"{k}={v}" for k, v in st.topology.items()))
        t.add_row("uptime", str(uptime).split(".")[0])
        t.add_row("profile", str(Lab().profile_file))
        console.print(t)
    if sites:
        _print_fleet(sites)
    raise typer.Exit(code)


def _print_fleet(sites: list[SiteStatus]) -> None:
    from vnettool.paths import fleet_lab_dir

    t = Table(title=f"fleet labs ({fleet_lab_dir() / 'fleet.yml'})", title_justify="left")
    for col in ("vCenter", "URL", "hosts", "PID", "state", "uptime"):
        t.add_column(col, no_wrap=True)
    now = datetime.now(UTC)
    for s in sites:
        uptime = ""
        if s.started:
            started = datetime.fromisoformat(s.started.replace("Z", "+00:00"))
            uptime = str(now - started).split(".")[0]
        state = "[green]up[/]" if s.up else "[bold red]down[/]"
        t.add_row(
            escape(s.name),
            escape(s.url or "-"),
            str(s.hosts) if s.hosts is not None else "-",
            str(s.pid or "-"),
            state,
            uptime,
        )
    console.print(t)
    for s in sites:
        if not s.up:
            console.print(f"  {escape(s.name)}: {escape(s.why)}", highlight=False)
    down = [s.name for s in sites if not s.up]
    if down:
        console.print(
            f"{len(down)} of {len(sites)} fleet labs down: {escape(', '.join(down))} "
            f"(start them again with `vnettool lab start --fleet {len(sites)}`)",
            highlight=False,
        )


@app.command()
@handle_errors
def netem(
    host: Annotated[str, typer.Argument(help="Host name (or moref) in the lab")],
    rtt_ms: Annotated[float | None, typer.Option("--rtt-ms", help="Round-trip time (ms)")] = None,
    jitter_ms: Annotated[float | None, typer.Option("--jitter-ms", help="± jitter (ms)")] = None,
    loss: Annotated[float | None, typer.Option("--loss", help="Packet loss (%)")] = None,
    mtu: Annotated[int | None, typer.Option("--mtu", help="Path MTU (bytes)")] = None,
    peer: Annotated[str | None, typer.Option("--peer", help="Only between HOST and PEER")] = None,
    uplink: Annotated[
        str | None,
        typer.Option(
            "--uplink", help="Congest one pNIC of HOST (--rtt-ms only); NIOC and teaming apply"
        ),
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Back to healthy defaults")] = False,
) -> None:
    """Emulate a slow, lossy or small-MTU network for a lab host's esxcli pings."""
    from vnettool.lab.netem import reset_netem, set_netem

    try:
        if reset:
            view = reset_netem(host, peer, uplink=uplink)
        else:
            view = set_netem(
                host,
                peer=peer,
                uplink=uplink,
                rtt_ms=rtt_ms,
                jitter_ms=jitter_ms,
                loss_pct=loss,
                mtu=mtu,
            )
    except LabError as exc:
        raise LabFailed(str(exc)) from exc
    if uplink:
        up = next(
            (u for u in view.get("uplinks") or [] if (u["host"], u["uplink"]) == (host, uplink)),
            None,
        )
        rtt = up["rtt_ms"] if up else 0
        console.print(f"{host}/{uplink}: congestion {rtt} ms (before NIOC)", highlight=False)
        return
    cur = (
        next(
            (p for p in view.get("pairs") or [] if peer and {p["host"], p["peer"]} == {host, peer}),
            None,
        )
        or (view.get("hosts") or {}).get(host)
        or view.get("defaults", {})
    )
    what = f"{host} <-> {peer}" if peer else host
    console.print(
        f"{what}: rtt {cur.get('rtt_ms')} ms, jitter {cur.get('jitter_ms')} ms, "
        f"loss {cur.get('loss_pct')} %, mtu {cur.get('mtu')}",
        highlight=False,
    )


@app.command()
@handle_errors
def link(
    target: Annotated[
        str | None,
        typer.Argument(help="HOST/vmnicN, or a neighbour switch SWITCH[:PORT] with --switch"),
    ] = None,
    down: Annotated[bool, typer.Option("--down", help="Take the link(s) down")] = False,
    up: Annotated[bool, typer.Option("--up", help="Bring the link(s) back up")] = False,
    switch: Annotated[
        bool,
        typer.Option("--switch", help="TARGET is a neighbour switch (every pNIC cabled to it)"),
    ] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Every link up again")] = False,
) -> None:
    """Take a lab pNIC's physical link down or up (or a whole neighbour switch's), to check
    `vnettool whatif` against what vCenter then shows."""
    from vnettool.lab.links import down_links, reset_links, set_link

    try:
        if reset:
            now = reset_links()
        elif target is None:
            now = down_links()
        else:
            if down == up:
                raise LabFailed("say --down or --up")
            if switch:
                name, _, port = target.partition(":")
                now = set_link(up, switch=name, port=port or None)
            else:
                host, sep, pnic = target.partition("/")
                if not sep or not host or not pnic:
                    raise LabFailed(f"{target!r}: expected HOST/vmnicN (or --switch SWITCH[:PORT])")
                now = set_link(up, host=host, pnic=pnic)
    except LabError as exc:
        raise LabFailed(str(exc)) from exc
    if not now:
        console.print("every lab link is up")
    for d in now:
        console.print(f"{d['host']}/{d['pnic']}: link down", highlight=False)


fault_app = typer.Typer(
    help="Inject faults into the lab: 503s, drops, delays, expiry, vim faults, failed tasks."
)
app.add_typer(fault_app, name="fault")


@fault_app.command("add")
@handle_errors
def fault_add(
    method: Annotated[str, typer.Argument(help="SOAP method, e.g. ReconfigureDvs_Task, or '*'")],
    action: Annotated[
        FaultAction,
        typer.Option("--action", help="What the matching calls get", case_sensitive=False),
    ] = FaultAction("fault"),
    fault: Annotated[
        str | None,
        typer.Option(
            "--fault", help="Vim fault for --action fault/task_fail, e.g. ConcurrentAccess"
        ),
    ] = None,
    obj: Annotated[str | None, typer.Option("--object", help="Only calls on this moref")] = None,
    count: Annotated[int, typer.Option(help="Fire this many times (0 = until cleared)")] = 1,
    probability: Annotated[
        float | None, typer.Option(help="Fire on this fraction of matching calls (0-1)")
    ] = None,
    delay_ms: Annotated[int | None, typer.Option("--delay-ms", help="For --action delay")] = None,
) -> None:
    """Make matching calls fail (or wait) the next COUNT times."""
    from vnettool.lab.faults import add_fault

    try:
        rule = add_fault(
            method,
            str(action),  # type: ignore[arg-type]
            fault=fault,
            obj=obj,
            count=count,
            probability=probability,
            delay_ms=delay_ms,
        )
    except LabError as exc:
        raise LabFailed(str(exc)) from exc
    console.print(f"fault rule {rule['id']}: {_describe(rule)}", highlight=False)


def _describe(r: dict[str, object]) -> str:
    what = r["fault"] if r["action"] == "fault" else r["action"]
    if r["action"] == "task_fail":
        what = f"task fails with {r['fault']}"
    if r["action"] == "delay":
        what = f"delay {r['delay_ms']} ms"
    on = f" on {r['object']}" if r.get("object") else ""
    times = "until cleared" if not r["count"] else f"{r['count']}x"
    p = f", p={r['probability']}" if r.get("probability") else ""
    return f"{r['method']}{on} -> {what} ({times}{p}, hits {r.get('hits', 0)})"


@fault_app.command("list")
@handle_errors
def fault_list() -> None:
    """The active fault rules and how often each fired."""
    from vnettool.lab.faults import list_faults

    try:
        rules = list_faults()
    except LabError as exc:
        raise LabFailed(str(exc)) from exc
    if not rules:
        console.print("no fault rules")
    for r in rules:
        console.print(f"{r['id']}: {_describe(r)}", highlight=False)


@fault_app.command("clear")
@handle_errors
def fault_clear() -> None:
    """Remove every fault rule."""
    from vnettool.lab.faults import clear_faults

    try:
        n = clear_faults()
    except LabError as exc:
        raise LabFailed(str(exc)) from exc
    console.print(f"cleared {n} fault rule(s)")


@app.command()
@handle_errors
def template(
    name: Annotated[str, typer.Argument(help="Name of the new template, e.g. fw-template")],
    source: Annotated[
        str | None, typer.Option("--from", help="VM to clone (default: the lab's first VM)")
    ] = None,
) -> None:
    """Create a VM template in the lab (what an appliance playbook clones from)."""
    from vnettool.lab.control import request

    try:
        out = request(Lab(), "POST", "template", {"name": name, "from": source or ""})
    except LabError as exc:
        raise LabFailed(str(exc)) from exc
    console.print(f"template {name} created ({out.get('moref')})")
