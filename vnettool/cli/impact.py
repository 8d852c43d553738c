"""`vnettool whatif`: what a failure would cut off, before it happens.

Exit codes are for CI gates: 0 = nothing goes dark, 2 = something goes dark, 1 = error (an
unknown host, pNIC or switch names what exists instead).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    console,
    handle_errors,
    session_for,
)
from vnettool.models.impact import Impact, Transition
from vnettool.models.inventory import Inventory

app = typer.Typer(
    help="What goes dark, what loses redundancy and what stays if a pNIC, a LAG, a "
    "neighbour switch fails or a host enters maintenance. Exit 2 when something goes dark."
)

SnapshotOpt = Annotated[
    Path | None,
    typer.Option(
        "--snapshot", help="Use a saved inventory (`inventory --neighbors --save`), not vCenter"
    ),
]


def load_inventory(
    snapshot: Path | None, server: str | None, insecure: bool, thumbprint: str | None
) -> Inventory:
    """A snapshot file, or a fresh read with CDP/LLDP neighbours (what the paths end on)."""
    if snapshot is not None:
        from vnettool.errors import ConfigError

        try:
            return Inventory.load(snapshot)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{snapshot}: not an inventory snapshot ({exc})") from None
    from vnettool.inventory import collect

    with session_for(server, insecure, thumbprint) as session:
        return collect(session, neighbors=True)


def _rows(title: str, items: list[Transition], colour: str) -> None:
    if not items:
        return
    t = Table(title=f"[{colour}]{title} ({len(items)})[/]", title_justify="left", box=None)
    for col in ("", "endpoint", "host", "port group"):
        t.add_column(col, no_wrap=True)
    t.add_column("why")
    for it in items:
        t.add_row(
            "[bold red]![/]" if it.marked else "",
            escape(it.label),
            escape(it.host),
            escape(it.portgroup_after or it.portgroup_before or "-"),
            escape(it.reason),
        )
    console.print(t)


def print_impact(what: str, imp: Impact) -> None:
    console.print(f"[bold]what if[/] {escape(what)}:", highlight=False)
    _rows("goes dark", imp.dark, "bold red")
    _rows("loses redundancy", imp.degraded, "yellow")
    _rows("moves", imp.moved, "cyan")
    _rows("changes VLAN", imp.vlan_changed, "cyan")
    console.print(
        f"{imp.summary()}; {imp.stays} stay as they are"
        + ("  ([bold red]![/] = management or vMotion adapter)" if _any_marked(imp) else ""),
        highlight=False,
        soft_wrap=True,
    )


def _any_marked(imp: Impact) -> bool:
    return any(t.marked for t in imp.dark + imp.degraded)


def _report(what: str, imp: Impact, as_json: bool) -> None:
    if as_json:
        out: dict[str, Any] = {"what": what, "summary": imp.summary()} | imp.model_dump(mode="json")
        typer.echo(json.dumps(out, indent=1))
    else:
        print_impact(what, imp)
    raise typer.Exit(2 if imp.dark else 0)


@app.command()
@handle_errors
def fail(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="HOST/vmnicN, HOST/LAG or `neighbour SWITCH[:PORT]`; several fail together"
        ),
    ],
    snapshot: SnapshotOpt = None,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Predict the effect of physical failures (pNIC, LAG, neighbour switch or port)."""
    from vnettool.impact.whatif import parse_failures, whatif

    inv = load_inventory(snapshot, server, insecure, thumbprint)
    failures = parse_failures(targets, inv)
    imp, _ = whatif(inv, failures)
    _report(" + ".join(f.describe() for f in failures), imp, as_json)


@app.command()
@handle_errors
def maintenance(
    host: Annotated[str, typer.Argument(help="Host that would enter maintenance mode")],
    snapshot: SnapshotOpt = None,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Predict where the host's VMs would go and which of them lose their networks."""
    from vnettool.impact.whatif import maintenance as failure
    from vnettool.impact.whatif import whatif

    inv = load_inventory(snapshot, server, insecure, thumbprint)
    f = failure(host, inv)
    imp, _ = whatif(inv, [f])
    _report(f.describe(), imp, as_json)
