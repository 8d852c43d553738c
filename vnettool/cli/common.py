"""What every command shares: connection options, error handling, console output."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from vnettool.errors import ConfigError, VnetError

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        help="vCenter/ESXi host or URL (default: $VSPHERE_SERVER, $GOVC_URL, the lab)",
    ),
]
InsecureOpt = Annotated[
    bool, typer.Option("--insecure", help="Accept an unverified TLS certificate (explicit opt-out)")
]
ThumbprintOpt = Annotated[
    str | None,
    typer.Option("--thumbprint", help="Pin the server certificate's SHA-256 fingerprint"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output")]


PerHostOpt = Annotated[
    bool,
    typer.Option(
        "--per-host",
        help="List each host's changes under the host (default: one entry per logical change "
        "with the hosts it is made on)",
    ),
]


@dataclass
class PlanView:
    """How this command prints plans: set once from its `--per-host` flag, read by every
    plan it prints (the plan, a rollback, what remains, each playbook step)."""

    per_host: bool = False


VIEW = PlanView()


@dataclass
class FleetSelection:
    """The global --fleet FILE and --only, set once by the root command before any command
    runs. Here, below every command, because `session_for` must refuse to connect under
    --fleet and the fleet sides (cli/fleet.py) read it to load the fleet."""

    path: Path | None = None
    only: str | None = None


FLEET = FleetSelection()


def select_fleet(path: Path | None, only: str | None) -> None:
    """Called by the root command with its global --fleet and --only, before any command."""
    FLEET.path, FLEET.only = path, only


def fleet_selected() -> bool:
    return FLEET.path is not None


WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="If another vnettool run is changing the same vCenter, wait for it to finish "
        "(then plan against what it left) instead of refusing",
    ),
]


def handle_errors(fn: F) -> F:
    """Turn vnettool errors into one red line and the error's exit code — no tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VnetError as exc:
            # Escaped (a file name like 'a[b].yml' is not markup) and never wrapped: a path
            # broken over two lines cannot be copied.
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


FLEET_COMMANDS = "inventory, audit, plan, apply, latency probe, run, rebalance, whatif and tui"


@contextmanager
def session_for(server: str | None, insecure: bool, thumbprint: str | None) -> Iterator[Any]:
    """A logged-in session, logged out on exit.

    Under the global --fleet every fleet command has handed its work to the children before
    this point; a command that reaches it works on one vCenter, and connecting to the default
    one (the lab profile, the environment) would look like a fleet run and not be one."""
    from vnettool.vsphere.connection import connect
    from vnettool.vsphere.credentials import resolve

    if fleet_selected():
        raise ConfigError(
            "this command works on one vCenter: run it without --fleet (with --server); "
            f"--fleet works with {FLEET_COMMANDS}"
        )

    creds = resolve(
        server, insecure=insecure, thumbprint=thumbprint, interactive=sys.stdin.isatty()
    )
    warn_insecure(creds)
    with connect(creds) as session:
        yield session


def confirm(yes: bool, what: str) -> None:
    """Ask before changing vSphere unless --yes; with no terminal to ask on, refuse (a CI
    job must say --yes, not hang on a prompt). Shared by plan/apply, appliances and the
    fleet sides (one question for all vCenters)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"{what}: confirmation needed; pass --yes to apply without asking")
    if not typer.confirm(f"{what}?", default=False):
        raise ConfigError("cancelled; nothing was changed")


def warn_insecure(creds: Any) -> None:
    """Say so whenever TLS is not verified: a man in the middle would see the password."""
    if creds.insecure and not creds.thumbprint:
        err_console.print(
            f"[yellow]warning:[/] the TLS certificate of {creds.host} is NOT verified "
            "(--insecure or GOVC_INSECURE); pin it with --thumbprint or trust its CA with "
            "VSPHERE_CA_FILE",
            highlight=False,
        )


def setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@contextmanager
def run_lock(session: Any, wait: bool) -> Iterator[None]:
    """Hold the vCenter's run lock (see vnettool.runlock) around planning and applying, so a
    concurrent run is refused or, with --wait, plans only after this one has finished."""
    from vnettool import paths, runlock

    def waiting(holder: Any) -> None:
        err_console.print(
            f"[yellow]waiting:[/] another vnettool run is changing this vCenter: "
            f"{escape(holder.describe())}",
            highlight=False,
            soft_wrap=True,
        )

    def stale(holder: Any) -> None:
        err_console.print(
            f"[yellow]note:[/] took over the run lock of {escape(holder.describe())}, which "
            f"is no longer running (killed?); its journal in {paths.runs_dir()} shows what it did",
            highlight=False,
            soft_wrap=True,
        )

    name = f"{session.creds.host}:{session.creds.port}, instance {session.instance_key}"
    with runlock.hold(session.instance_key, name, wait=wait, on_wait=waiting, on_stale=stale):
        yield


def machine_progress() -> Callable[..., None] | None:
    """Under a fleet run, a callback that reports progress as JSON lines on stderr (the
    parent draws this vCenter's progress line from them); None otherwise. `report(n)` adds
    n objects read (told once per page of the PropertyCollector, so the lines are few);
    `report(n, "steps")` says n playbook steps are done."""
    import json
    import os

    if os.environ.get("VNETTOOL_PROGRESS") != "jsonl":
        return None
    total = [0]

    def report(n: int, unit: str = "objects") -> None:
        if unit == "objects":
            total[0] += n
            n = total[0]
        sys.stderr.write(json.dumps({"vnettool_progress": {unit: n}}) + "\n")
        sys.stderr.flush()

    return report
