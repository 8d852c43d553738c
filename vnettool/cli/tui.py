"""`vnettool tui`: the terminal UI, live against vCenter (or the lab), or over a saved snapshot."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vnettool.cli.common import (
    InsecureOpt,
    ServerOpt,
    ThumbprintOpt,
    handle_errors,
    warn_insecure,
)
from vnettool.cli.fleet import fleet_context
from vnettool.errors import ConfigError


@handle_errors
def tui(
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot", help="Browse a saved inventory (vnettool inventory --save) read-only"
        ),
    ] = None,
    playbook: Annotated[
        Path | None,
        typer.Option("--playbook", "-p", help="Desired-state file to open in the Plan screen"),
    ] = None,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """Open the cockpit: network tree, findings, latency, plan/apply, vMotion — kept live.

    With the global --fleet: a vCenter picker first (its credentials from the fleet file's
    references), `v` switches to another vCenter."""
    from vnettool.models.inventory import Inventory
    from vnettool.tui.app import VnetApp
    from vnettool.vsphere.credentials import resolve

    fc = fleet_context([("--server", server), ("--snapshot", snapshot, "it is one vCenter's")])
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(
            "vnettool tui needs a terminal (stdin and stdout); for scripts use "
            "`vnettool inventory --json`, `plan`, `apply` or `run`"
        )
    if fc is not None:
        from vnettool.fleet.connect import FleetTargets

        targets = FleetTargets(fc.fleet, fc.path.resolve().parent, fc.entries)
        VnetApp(fleet=targets, source=str(fc.path), playbook=playbook).run()
        return
    if snapshot is not None:
        try:
            inv = Inventory.load(snapshot)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read inventory snapshot {snapshot}: {exc}") from None
        VnetApp(inventory=inv, source=str(snapshot), playbook=playbook).run()
        return
    creds = None
    error = ""
    try:
        # never prompt on the terminal the TUI is about to take over: the connect screen asks
        creds = resolve(server, insecure=insecure, thumbprint=thumbprint, interactive=False)
        warn_insecure(creds)
    except ConfigError as exc:
        error = str(exc)
    app = VnetApp(creds, source=creds.url if creds else "", playbook=playbook, connect_error=error)
    app.run()
