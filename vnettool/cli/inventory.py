"""`vnettool inventory`: the network of a vCenter as tables, JSON, a snapshot file or a stream."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from vnettool import userfile
from vnettool.cli import fleet_commands
from vnettool.cli import inventory_views as views
from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    console,
    err_console,
    handle_errors,
    machine_progress,
    session_for,
)
from vnettool.cli.drift import MARK, line, names_by_moref
from vnettool.cli.fleet import fleet_context
from vnettool.cli.output import Field, Layout, OutputOpt, Record, emit
from vnettool.engine.common import natural_key
from vnettool.models.inventory import DistributedSwitch, Inventory

if TYPE_CHECKING:
    from vnettool.vsphere.connection import Session


app = typer.Typer(
    help="Read the network of a vCenter: a summary, or one kind of object with --filter.",
    invoke_without_command=True,
)
FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        "-f",
        help="FIELD=GLOB, case-insensitive, repeatable (all must match), e.g. cluster=DC0_C1",
    ),
]


@app.callback()
@handle_errors
def inventory(
    ctx: typer.Context,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = Layout.auto,
    save: Annotated[
        Path | None, typer.Option("--save", help="Write a JSON snapshot (for drift)")
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Keep running and print changes")] = False,
    neighbors: Annotated[
        bool,
        typer.Option("--neighbors", help="Add CDP/LLDP neighbours (one QueryNetworkHint per host)"),
    ] = False,
) -> None:
    """Read every switch, port group, PVLAN, vmknic, pNIC and VM NIC in one bulk pass; above
    a screenful of hosts, print a summary per cluster (the detail: `inventory hosts`)."""
    if ctx.invoked_subcommand:
        return
    as_json = as_json or output is Layout.json
    fc = fleet_context([("--server", server), ("--watch", watch)])
    if fc is not None:
        return fleet_commands.inventory(fc, as_json, save, neighbors)
    if save:  # before connecting: a bad target fails in a second, not after the collect
        userfile.check_writable(save, what="snapshot")
    with session_for(server, insecure, thumbprint) as session:
        inv = _collect(session, neighbors=neighbors, quiet=as_json)
        if save:
            inv.save(save)
            if not as_json:
                console.print(f"snapshot saved to {save}")
        if as_json:
            typer.echo(inv.model_dump_json(indent=1))
        else:
            print_summary(inv, output)
            if neighbors:
                print_neighbors(inv, output)
        if watch:
            _watch(session, as_json)


def _collect(session: Session, *, neighbors: bool, quiet: bool) -> Inventory:
    from vnettool.inventory import collect

    if quiet:
        return collect(session, neighbors=neighbors, progress=machine_progress())
    with Progress(
        SpinnerColumn(),
        TextColumn(f"reading the network of {session.creds.host}:"),
        TextColumn("{task.completed} objects"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("read", total=None)
        return collect(session, neighbors=neighbors, progress=lambda n: bar.advance(task, n))


def _kind_command(name: str) -> None:
    kind = views.KINDS[name]

    @handle_errors
    def command(
        server: ServerOpt = None,
        insecure: InsecureOpt = False,
        thumbprint: ThumbprintOpt = None,
        output: OutputOpt = Layout.auto,
        filters: FilterOpt = None,
    ) -> None:
        wanted = views.parse_filters(filters or [], kind.fields)
        with session_for(server, insecure, thumbprint) as session:
            inv = _collect(session, neighbors=False, quiet=output is Layout.json)
        rows = views.select(views.ordered(kind.records(inv), kind.fields), wanted)
        if not rows and wanted:
            err_console.print(
                f"[yellow]no {kind.noun} match:[/] {escape(views.no_match_hint(kind.records(inv), wanted))}",
                highlight=False,
            )
        title = f"{len(rows)} {kind.one if len(rows) == 1 else kind.noun}" + (
            " where " + ", ".join(f"{f}={p}" for f, p in wanted) if wanted else ""
        )
        emit(console, output, title, kind.fields, rows)

    command.__doc__ = f"List {kind.noun}, one per row (or per block below 120 columns)."
    app.command(name)(command)


for _name in views.KINDS:
    _kind_command(_name)


def _watch(session: Session, as_json: bool) -> None:
    """Print each change as it happens, followed by who made it and when (vCenter's events
    since the previous batch), so a change seen live is attributed, not just noticed."""
    from vnettool.audit.drift import drift
    from vnettool.inventory import Watcher, recent_changes

    since = session.call(session.si.CurrentTime, op="CurrentTime", obj="ServiceInstance")
    seen: set[int] = set()
    w = Watcher(session)
    console.print("[dim]watching for changes (Ctrl-C to stop)…[/]")
    try:
        before = None
        for ch in w.changes(timeout_s=5):
            if before is None:  # the first update is the whole estate
                before = ch.inventory
                continue
            rows = drift(before, ch.inventory) if ch.inventory and before else []
            before = ch.inventory
            events = [e for e in recent_changes(session, since=since) if e.key not in seen]
            seen.update(e.key for e in events)
            if as_json:
                out = {
                    "version": ch.version,
                    "entered": ch.entered,
                    "modified": ch.modified,
                    "left": ch.left,
                    "drift": [r.model_dump(mode="json") for r in rows],
                    "events": [e.model_dump(mode="json") for e in events],
                }
                typer.echo(json.dumps(out))
                continue
            stamp = datetime.now().strftime("%H:%M:%S")
            for r in sorted(rows, key=lambda r: natural_key(r.object)):
                colour = MARK[r.change][1]
                console.print(f"[dim]{stamp}[/] [{colour}]{escape(line(r))}[/]", highlight=False)
            if not rows:  # a change outside what the inventory compares (e.g. runtime state)
                names = names_by_moref(ch.inventory) if ch.inventory else {}
                for mo, paths in ch.modified.items():
                    console.print(
                        f"[dim]{stamp} ~ {escape(names.get(mo, mo))}: {', '.join(paths)} "
                        "(no network difference)[/]",
                        highlight=False,
                    )
            for e in events:
                console.print(
                    f"  [dim]by[/] {escape(e.summary())}", highlight=False, soft_wrap=True
                )
    finally:
        w.close()


NEIGHBOR_FIELDS = (
    Field("host", key=True),
    Field("pnic"),
    Field("neighbour"),
    Field("seen by"),
    Field("vlan", numeric=True),
    Field("mtu", numeric=True),
)


def neighbor_rows(inv: Inventory) -> list[Record]:
    """One row per pNIC and physical switch port: CDP and LLDP naming the same port are one
    row (`seen by CDP, LLDP`); a pNIC that hears nothing is a row too, so a silent cable
    shows."""
    rows: list[Record] = []
    for h in sorted(inv.hosts, key=lambda h: natural_key(h.name)):
        for p in sorted(h.pnics, key=lambda p: natural_key(p.device)):
            ports: dict[str, Record] = {}
            for n in p.neighbors:
                where = " ".join(x for x in (n.switch_id, n.port_id) if x) or "?"
                r = ports.setdefault(
                    where,
                    {"host": h.name, "pnic": p.device, "neighbour": where, "seen by": []},
                )
                seen = r["seen by"]
                assert isinstance(seen, list)
                seen.append(n.protocol.upper())
                r["vlan"] = r.get("vlan") or n.vlan
                r["mtu"] = r.get("mtu") or n.mtu
            if not ports:
                link = "link up" if p.link_up else "link down"
                rows.append({"host": h.name, "pnic": p.device, "neighbour": f"none ({link})"})
            rows.extend(ports.values())
    return rows


def print_neighbors(inv: Inventory, output: Layout = Layout.auto) -> None:
    """`inventory --neighbors`: what the physical switches say is at the other end."""
    rows = neighbor_rows(inv)
    seen = sum(1 for r in rows if r.get("seen by"))
    emit(
        console,
        output,
        f"CDP/LLDP neighbours ({seen} switch ports seen, {len(rows) - seen} pNICs hear none)",
        NEIGHBOR_FIELDS,
        rows,
    )


def print_summary(inv: Inventory, output: Layout = Layout.auto) -> None:
    p = views.plural
    console.print(
        f"[bold]{escape(inv.vcenter)}[/] (API {inv.api_version}): "
        f"{p(len(inv.datacenters), 'datacenter')}, {p(len(inv.clusters), 'cluster')}, "
        f"{p(len(inv.hosts), 'host')}, {p(len(inv.vms), 'VM')}, "
        f"{p(len(inv.distributed_switches), 'DVS')}".replace("DVSs", "DVSes"),
        highlight=False,
    )
    if len(inv.hosts) > views.SUMMARY_ABOVE:
        emit(console, output, "clusters", views.CLUSTER_FIELDS, views.cluster_summary(inv))
        console.print(
            "[dim]detail: vnettool inventory hosts|switches|portgroups|vmknics|vms -f cluster=X[/]",
            highlight=False,
        )
    else:
        rows = views.ordered(views.hosts(inv), views.HOST_FIELDS)
        for cl in sorted({str(r["cluster"]) for r in rows}, key=natural_key):
            mine = [r for r in rows if r["cluster"] == cl]
            emit(console, output, f"cluster {cl}", views.HOST_FIELDS, mine)
    for d in inv.distributed_switches:
        title = f"distributed switch {d.name} (v{d.version}, MTU {d.max_mtu}, {len(d.hosts)} hosts)"
        emit(console, output, title, DVPG_FIELDS, _dvpg_rows(inv, d.name))
        if d.pvlans:
            pvlans: list[Record] = [
                {"secondary": e.secondary_id, "primary": e.primary_id, "type": e.type}
                for e in d.pvlans
            ]
            emit(console, output, f"PVLAN map of {d.name}", PVLAN_FIELDS, pvlans)
        _services(inv, d, output)


def _services(inv: Inventory, d: DistributedSwitch, output: Layout) -> None:
    """NetFlow, port mirroring and traffic rules of a switch, each only when it has some
    (most switches have none: three "none" lines per switch would bury the port groups)."""
    n = d.netflow
    if n.collector_ip:
        exporting = [pg.name for pg in inv.dv_portgroups_of(d.name) if pg.setting.netflow]
        sampling = f"1 in {n.sampling_rate}" if n.sampling_rate else "every packet"
        console.print(
            f"[bold]NetFlow of {escape(d.name)}[/]: collector {views.netflow_text(d)}, "
            f"observation domain {n.observation_domain}, {sampling}, timeouts "
            f"{n.active_timeout_s}/{n.idle_timeout_s} s"
            + (", internal flows only" if n.internal_only else "")
            + f"; exporting: {escape(', '.join(exporting) or 'no port group')}",
            highlight=False,
        )
    # the switch is in the title: its column would only repeat it
    sessions = [r for r in views.mirrors(inv) if r["switch"] == d.name]
    if sessions:
        fields = [f for f in views.MIRROR_FIELDS if f.name != "switch"]
        emit(console, output, f"port mirroring of {d.name}", fields, sessions)
    rules = [r for r in views.rules(inv) if r["switch"] == d.name]
    if rules:
        fields = [f for f in views.RULE_FIELDS if f.name != "switch"]
        emit(console, output, f"traffic rules of {d.name}", fields, rules)


BINDING = {"earlyBinding": "static", "lateBinding": "dynamic", "ephemeral": "ephemeral"}
"""The vSphere Client's words for a port binding (the API's `earlyBinding` is "static")."""

DVPG_FIELDS = (
    Field("portgroup", key=True),
    Field("vlan", numeric=True),
    Field("binding"),
    Field("ports", numeric=True),
    Field("promisc"),
    Field("in-shaping", numeric=True),
    Field("uplink"),
)
PVLAN_FIELDS = (
    Field("secondary", key=True, numeric=True),
    Field("primary", numeric=True),
    Field("type"),
)


def _dvpg_rows(inv: Inventory, dvs: str) -> list[Record]:
    rows: list[Record] = []
    for pg in inv.dv_portgroups_of(dvs):
        s = pg.setting
        rows.append(
            {
                "portgroup": pg.name,
                "vlan": s.vlan.display(),
                "binding": BINDING.get(pg.binding or "", pg.binding),
                "ports": pg.num_ports,
                "promisc": views.yes_no(s.security.allow_promiscuous),
                "in-shaping": (
                    f"{(s.in_shaping.average_bps or 0) // 1000} kbps"
                    if s.in_shaping.enabled
                    else "-"
                ),
                "uplink": views.yes_no(pg.uplink),
            }
        )
    return rows
