"""The `vnettool` command: one sub-command module per feature, registered here."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from vnettool import __version__
from vnettool.cli import (
    appliance,
    audit,
    drift,
    dvs,
    engine,
    fleet_commands,
    healthcheck,
    impact,
    inventory,
    lab,
    latency,
    playbook,
    tui,
)
from vnettool.cli.common import select_fleet, setup_logging


def _flags_without_type() -> None:
    """Typer 0.29's help prints a `<bool>` type next to every on/off flag (`--yes <bool>`),
    which reads as if the flag took a value; a flag shows no type, as in click and govc."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def _choices_with_a_guess() -> None:
    """A mistyped choice (`--fail-on hihg`) gets the closest valid one, as a mistyped
    playbook key or filter field does; still a usage error, exit 2."""
    import difflib
    from enum import Enum

    from typer import _adapters

    coerce = _adapters.coerce_cli_choice  # type: ignore[attr-defined]

    def coerce_cli_choice(value: Any, *, choices: Any, **kw: Any) -> Any:
        try:
            return coerce(value, choices=choices, **kw)
        except ValueError as exc:
            names = [str(c.value if isinstance(c, Enum) else c) for c in choices]
            guess = difflib.get_close_matches(str(value), names, n=1, cutoff=0.5)
            if not guess:
                raise
            raise ValueError(f"{exc} Did you mean {guess[0]!r}?") from None

    _adapters.coerce_cli_choice = coerce_cli_choice  # type: ignore[attr-defined]


_flags_without_type()
_choices_with_a_guess()

app = typer.Typer(
    name="vnettool",
    help="Network-aware vSphere inventory, configuration, latency-aware vMotion and audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(lab.app, name="lab")
app.add_typer(inventory.app, name="inventory")
app.command("run")(playbook.run)
app.add_typer(playbook.app, name="playbook")
app.add_typer(latency.app, name="latency")
app.command("rebalance")(latency.rebalance)
app.command("plan")(engine.plan)
app.command("apply")(engine.apply)
app.command("tui")(tui.tui)
app.command("audit")(audit.audit)
app.command("drift")(drift.drift)
app.add_typer(appliance.app, name="appliance")
app.add_typer(impact.app, name="whatif")
app.command("topology")(impact.topology)
app.add_typer(fleet_commands.app, name="fleet")
app.add_typer(healthcheck.app, name="healthcheck")
app.add_typer(dvs.app, name="dvs")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vnettool {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging")] = 0,
    fleet_file: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            help="Run inventory, audit, plan, apply, latency probe, run, rebalance or whatif on "
            "every vCenter of this fleet file, one process each (tui: pick one)",
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option("--only", help="With --fleet: only these vCenters (names or tags, a,b)"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version")
    ] = False,
) -> None:
    setup_logging(verbose)
    select_fleet(fleet_file, only)
    signal.signal(signal.SIGTERM, _as_interrupt)


def _as_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM (kill, systemd, a CI timeout) ends a command the way Ctrl-C does: changes in
    flight finish, the journal is closed and the session is logged out, not left open."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:
        raise KeyboardInterrupt
