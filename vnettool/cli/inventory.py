"""`vnettool inventory`: the network of a vCenter as tables, JSON, a snapshot file or a stream."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from vnettool import userfile
from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    console,
    handle_errors,
    session_for,
)
from vnettool.models.inventory import Inventory

if TYPE_CHECKING:
    from vnettool.vsphere.connection import Session


@handle_errors
def inventory(
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
    save: Annotated[
        Path | None, typer.Option("--save", help="Write a JSON snapshot (for drift)")
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Keep running and print changes")] = False,
    neighbors: Annotated[
        bool,
        typer.Option("--neighbors", help="Add CDP/LLDP neighbours (one QueryNetworkHint per host)"),
    ] = False,
) -> None:
    """Read every switch, port group, PVLAN, vmknic, pNIC and VM NIC in one bulk pass."""
    from vnettool.inventory import collect

    if save:  # before connecting: a bad target fails in a second, not after the collect
        userfile.check_writable(save, what="snapshot")
    with session_for(server, insecure, thumbprint) as session:
        if as_json:
            inv = collect(session, neighbors=neighbors)
        else:
            with Progress(
                SpinnerColumn(),
                TextColumn(f"reading the network of {session.creds.host}:"),
                TextColumn("{task.completed} objects"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("read", total=None)
                inv = collect(session, neighbors=neighbors, progress=lambda n: bar.advance(task, n))
        if save:
            inv.save(save)
            if not as_json:
                console.print(f"snapshot saved to {save}")
        if as_json:
            typer.echo(inv.model_dump_json(indent=1))
        else:
            print_summary(inv)
        if watch:
            _watch(session, as_json)


def _watch(session: Session, as_json: bool) -> None:
    """Print each change as it happens, followed by who made it and when (vCenter's events
    since the previous batch), so a change seen live is attributed, not just noticed."""
    from vnettool.inventory import Watcher, recent_changes

    since = session.call(session.si.CurrentTime, op="CurrentTime", obj="ServiceInstance")
    seen: set[int] = set()
    w = Watcher(session)
    console.print("[dim]watching for changes (Ctrl-C to stop)…[/]")
    try:
        first = True
        for ch in w.changes(timeout_s=5):
            if first:
                first = False
                continue
            events = [e for e in recent_changes(session, since=since) if e.key not in seen]
            seen.update(e.key for e in events)
            if as_json:
                out = {
                    "version": ch.version,
                    "entered": ch.entered,
                    "modified": ch.modified,
                    "left": ch.left,
                    "events": [e.model_dump(mode="json") for e in events],
                }
                typer.echo(json.dumps(out))
                continue
            for mo, paths in ch.modified.items():
                console.print(f"[yellow]~[/] {mo}: {', '.join(paths)}")
            for mo in ch.entered:
                console.print(f"[green]+[/] {mo}")
            for mo in ch.left:
                console.print(f"[red]-[/] {mo}")
            for e in events:
                console.print(f"  [dim]by[/] {escape(e.summary())}", highlight=False)
    finally:
        w.close()


def print_summary(inv: Inventory) -> None:
    console.print(
        f"[bold]{inv.vcenter}[/] (API {inv.api_version}): {len(inv.datacenters)} datacenters, "
        f"{len(inv.clusters)} clusters, {len(inv.hosts)} hosts, {len(inv.vms)} VMs, "
        f"{len(inv.distributed_switches)} distributed switches"
    )
    vm_nics = Counter(v.host for v in inv.vms for _ in v.nics)
    clusters = sorted({h.cluster or "(standalone)" for h in inv.hosts})
    for cl in clusters:
        t = Table(title=f"cluster {cl}", title_justify="left")
        for col in (
            "host",
            "state",
            "pNICs up",
            "vSwitches",
            "port groups (VLAN)",
            "vmknics",
            "DVS",
            "VM NICs",
        ):
            t.add_column(col)
        for h in inv.hosts:
            if (h.cluster or "(standalone)") != cl:
                continue
            sws = ", ".join(f"{s.name}({s.mtu})" for s in inv.switches_of(h.name))
            pgs = ", ".join(f"{p.name}({p.vlan_id})" for p in inv.portgroups_of(h.name))
            vmks = ", ".join(
                f"{v.device} {v.ip or 'dhcp'} [{'/'.join(v.services)}]"
                for v in inv.vmknics_of(h.name)
            )
            dvs = ", ".join(
                d.name for d in inv.distributed_switches if any(m.host == h.name for m in d.hosts)
            )
            state = h.connection_state + (" maint" if h.maintenance else "")
            up = sum(1 for p in h.pnics if p.link_up)
            t.add_row(
                h.name,
                state,
                f"{up}/{len(h.pnics)}",
                sws,
                pgs,
                vmks,
                dvs,
                str(vm_nics.get(h.name, 0)),
            )
        console.print(t)
    for d in inv.distributed_switches:
        t = Table(
            title=f"distributed switch {d.name} (v{d.version}, MTU {d.max_mtu}, {len(d.hosts)} hosts)",
            title_justify="left",
        )
        for col in ("port group", "VLAN", "binding", "ports", "promisc", "in-shaping", "uplink"):
            t.add_column(col)
        for pg in inv.dv_portgroups_of(d.name):
            s = pg.setting
            shaping = (
                f"{(s.in_shaping.average_bps or 0) // 1000} kbps" if s.in_shaping.enabled else "-"
            )
            t.add_row(
                pg.name,
                s.vlan.display(),
                pg.binding or "",
                str(pg.num_ports or ""),
                str(s.security.allow_promiscuous),
                shaping,
                "yes" if pg.uplink else "",
            )
        console.print(t)
        if d.pvlans:
            pt = Table(title=f"PVLAN map of {d.name}", title_justify="left")
            for col in ("primary", "secondary", "type"):
                pt.add_column(col)
            for e in d.pvlans:
                pt.add_row(str(e.primary_id), str(e.secondary_id), e.type)
            console.print(pt)
