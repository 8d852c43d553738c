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

from vnettool.cli import fleet_ops
from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    console,
    handle_errors,
    session_for,
)
from vnettool.cli.fleet import FleetContext, fleet_context
from vnettool.cli.impact_view import impact_json, print_impact
from vnettool.models.impact import Impact
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


def _report(what: str, imp: Impact, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(impact_json(what, imp), indent=1))
    else:
        print_impact(what, imp)
    raise typer.Exit(2 if imp.dark else 0)


def _fleet(snapshot: Path | None, server: str | None) -> FleetContext | None:
    return fleet_context([("--server", server), ("--snapshot", snapshot)])


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
    """Predict the effect of physical failures (pNIC, LAG, neighbour switch or port).

    With the global --fleet: every vCenter is read (one process each) and the failure is
    predicted in each vCenter that has the targets (a neighbour switch may serve several)."""
    from vnettool.impact.whatif import parse_failures, whatif

    fc = _fleet(snapshot, server)
    if fc is not None:

        def resolve_fail(inv: Inventory) -> tuple[str, Impact]:
            failures = parse_failures(targets, inv)
            return " + ".join(f.describe() for f in failures), whatif(inv, failures)[0]

        return fleet_ops.whatif(fc, " ".join(targets), resolve_fail, as_json)
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
    """Predict where the host's VMs would go and which of them lose their networks.

    With the global --fleet: predicted in each vCenter that has the host."""
    from vnettool.impact.whatif import maintenance as failure
    from vnettool.impact.whatif import whatif

    fc = _fleet(snapshot, server)
    if fc is not None:

        def resolve_host(inv: Inventory) -> tuple[str, Impact]:
            f = failure(host, inv)
            return f.describe(), whatif(inv, [f])[0]

        return fleet_ops.whatif(fc, host, resolve_host, as_json)
    inv = load_inventory(snapshot, server, insecure, thumbprint)
    f = failure(host, inv)
    imp, _ = whatif(inv, [f])
    _report(f.describe(), imp, as_json)


FORMATS = ("svg", "png", "dot", "pdf")


@handle_errors
def topology(
    out: Annotated[Path, typer.Option("--out", "-o", help="F.svg, F.png, F.pdf or F.dot")],
    cluster: Annotated[str | None, typer.Option("--cluster", help="Only this cluster")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Only this host")] = None,
    fail: Annotated[
        list[str] | None,
        typer.Option(
            "--fail", help="Overlay a what-if: HOST/vmnicN, HOST/LAG or 'neighbour SW[:PORT]'"
        ),
    ] = None,
    maintenance_of: Annotated[
        str | None, typer.Option("--maintenance", help="Overlay: this host in maintenance")
    ] = None,
    snapshot: SnapshotOpt = None,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """Draw hosts -> switches -> uplinks -> neighbour switches per cluster (Graphviz)."""
    import shlex

    from vnettool.errors import ConfigError
    from vnettool.impact.paths import analyze
    from vnettool.impact.topology import build_topology
    from vnettool.impact.whatif import apply_failures, maintenance, parse_failures

    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ConfigError(f"--out {out}: the name must end in .{', .'.join(FORMATS)}")
    inv = load_inventory(snapshot, server, insecure, thumbprint)
    if cluster and not inv.hosts_in(cluster=cluster):
        raise ConfigError(
            f"no cluster {cluster!r} (clusters: {', '.join(c.name for c in inv.clusters)})"
        )
    if host and host not in inv.host_by_name:
        raise ConfigError(f"unknown host {host!r}")
    failures = parse_failures([t for f in fail or [] for t in shlex.split(f)], inv) if fail else []
    if maintenance_of:
        failures.append(maintenance(maintenance_of, inv))
    failed = apply_failures(inv, failures) if failures else None
    g = build_topology(
        inv, cluster=cluster, host=host, after=analyze(failed) if failed else None, failed=failed
    )
    _render(g, out, fmt)
    console.print(f"wrote {escape(str(out))}", highlight=False)


def _render(g: Any, out: Path, fmt: str) -> None:
    """DOT is written as is; other formats need Graphviz's `dot` program (scripts/setup.sh)."""
    import graphviz

    from vnettool.errors import ConfigError

    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        out.write_text(g.source)
        return
    try:
        data = g.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise ConfigError(
            "Graphviz's `dot` program is not installed (apt-get install graphviz, as "
            "scripts/setup.sh does); --out F.dot works without it"
        ) from None
    out.write_bytes(data)
