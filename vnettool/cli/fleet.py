"""`vnettool --fleet fleet.yml …`: what the fleet sides of the commands share.

Each vCenter is one child process (see vnettool.fleet.runner); this module loads the fleet the
global --fleet/--only name, draws a progress line per vCenter, merges what comes back (one JSON
document keyed by vCenter, the status table) and chooses the exit code: what a single run would
say, 4 when some vCenters failed and the others finished, 1 when all failed.

The CLI's order, one direction only: the commands (audit, plan, whatif, …) hand a fleet run to
their fleet side (cli/fleet_commands.py, cli/fleet_ops.py), which builds on this module, which
builds on cli/common.py. Nothing here imports a command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from vnettool import userfile
from vnettool.cli.common import FLEET, err_console
from vnettool.errors import ConfigError
from vnettool.fleet.runner import FleetRun, Job, Outcome, exit_code
from vnettool.models.fleet import Fleet, VCenterEntry
from vnettool.models.inventory import Inventory

_STYLE = {"queued": "dim", "running": "cyan", "ok": "green", "failed": "bold red"}


@dataclass(frozen=True)
class FleetContext:
    path: Path
    fleet: Fleet
    entries: list[VCenterEntry]

    def l2_domains(self) -> dict[str, str | None]:
        return {vc.name: vc.l2_domain for vc in self.fleet.vcenters}


def fleet_context(refused: Sequence[tuple[Any, ...]] = ()) -> FleetContext | None:
    """The fleet named by the global --fleet (and --only) options, or None without one.

    `refused` are (option, value[, why]) of the sub-command that make no sense for a fleet
    (--server names one vCenter): given with --fleet they are an error, not ignored."""
    from vnettool.playbook.fleet_file import load_fleet, select

    path, only = FLEET.path, FLEET.only
    if path is None:
        if only:
            raise ConfigError("--only selects vCenters of a fleet: give --fleet FILE too")
        return None
    for option, value, *why in refused:
        if value:
            reason = why[0] if why else "it names one vCenter"
            raise ConfigError(f"{option} cannot be used with --fleet ({reason})")
    fleet = load_fleet(path)
    entries = select(fleet, only, path)
    if not entries:
        raise ConfigError(f"--only {only!r} selects no vCenter of {path}")
    return FleetContext(Path(path), fleet, entries)


def run_fleet(fc: FleetContext, job: Job, quiet: bool) -> dict[str, Outcome]:
    """Run `job` on the selected vCenters with one progress line each (none when `quiet`)."""
    with Progress(
        TextColumn("{task.fields[name]}"),
        TextColumn("{task.fields[state]}"),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[objects]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[error]}"),
        console=err_console,
        disable=quiet,
    ) as bar:
        width = max(len(vc.name) for vc in fc.entries)
        tasks: dict[str, TaskID] = {
            vc.name: bar.add_task(
                vc.name,
                total=None,
                start=False,
                name=vc.name.ljust(width),
                state="[dim]queued [/]",
                objects="",
                error="",
            )
            for vc in fc.entries
        }

        def changed(o: Outcome) -> None:
            t = tasks[o.name]
            if o.status == "running":
                bar.start_task(t)
            done = o.status in ("ok", "failed")
            bar.update(
                t,
                state=f"[{_STYLE[o.status]}]{o.status:7}[/]",
                objects=_count(o),
                error=escape(o.error[:100]) if o.error else "",
                total=1 if done else None,
                completed=1 if done else 0,
            )
            if done:
                bar.stop_task(t)

        return FleetRun(fc.fleet, fc.path.resolve().parent, job, changed).run(fc.entries)


def _count(o: Outcome) -> str:
    if o.objects:
        return f"{o.objects} objects"
    return f"{o.steps} step{'s' if o.steps != 1 else ''}" if o.steps else ""


def document(fc: FleetContext, outcomes: dict[str, Outcome], **extra: Any) -> dict[str, Any]:
    """The fleet's JSON: one entry per vCenter (a single run's --json under "result")."""
    return {
        "fleet": str(fc.path),
        "vcenters": {name: o.as_json() for name, o in outcomes.items()},
        **extra,
    }


def status_table(title: str, outcomes: dict[str, Outcome], cols: dict[str, Any]) -> Table:
    """One row per vCenter: status, time, the command's own columns, the error."""
    t = Table(title=title, title_justify="left")
    for col in ("vCenter", "status", "seconds", *cols, "error"):
        t.add_column(col)
    for name, o in outcomes.items():
        values = [str(get(o)) if o.ok else "" for get in cols.values()]
        t.add_row(
            escape(name),
            f"[{_STYLE[o.status]}]{o.status}[/]",
            f"{o.seconds:.1f}",
            *values,
            escape(o.error),
        )
    return t


def finish(outcomes: dict[str, Outcome], worst_ok: int, quiet: bool) -> None:
    code = exit_code(list(outcomes.values()), worst_ok)
    failed = [n for n, o in outcomes.items() if not o.ok]
    if failed and not quiet:
        err_console.print(
            f"[bold red]{len(failed)} of {len(outcomes)} vCenters failed:[/] "
            f"{escape(', '.join(failed))} (exit {code})",
            highlight=False,
        )
    raise typer.Exit(code)


def inventories(outcomes: dict[str, Outcome]) -> dict[str, Inventory]:
    """The snapshots the children printed; one that does not parse fails its vCenter."""
    out: dict[str, Inventory] = {}
    for name, o in outcomes.items():
        if not o.ok:
            continue
        try:
            out[name] = Inventory.model_validate(o.result)
        except ValueError as exc:
            o.status, o.error = "failed", f"not an inventory: {str(exc).splitlines()[0]}"
    return out


def default_workbook(now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("reports") / f"vnettool-fleet-audit-{stamp}.xlsx"


def check_xlsx(out: Path | None) -> None:
    if out is not None and out.suffix.lower() != ".xlsx":
        raise ConfigError(f"--out {out}: the workbook must end in .xlsx")
    if out is not None:
        userfile.check_writable(out, what="workbook")


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def print_json(doc: dict[str, Any]) -> None:
    typer.echo(json.dumps(doc, indent=1, default=str))
