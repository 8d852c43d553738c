"""`vnettool appliance deploy|status|remove PLAYBOOK`: appliances defined in a playbook.

The definition is the playbook's `appliance` step (the first one, or the one named with
--name), so a playbook and these commands never disagree. deploy and remove print the plan
as an exact diff and apply after confirmation (--yes); exit codes as `vnettool apply`:
0 done or nothing to do, 2 changes pending (--check), 1 any failure.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    WaitOpt,
    confirm,
    console,
    handle_errors,
    run_lock,
    session_for,
)
from vnettool.cli.engine import plan_json, print_plan, print_results, stop_on_sigint
from vnettool.cli.latency import parse_duration
from vnettool.cli.output import Field, Layout, Record, emit
from vnettool.errors import ConfigError

app = typer.Typer(help="Network appliances (firewalls, load balancers, ...) defined in playbooks.")

PlaybookArg = Annotated[Path, typer.Argument(help="Playbook with an `appliance` step")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Which definition (default: first)")]


def _definition(path: Path, name: str | None) -> tuple[Any, Any]:
    """(appliance step body, playbook target) from a validated playbook."""
    from vnettool.playbook.validate import validate

    pb = validate(path).playbook
    bodies = [s.appliance for s in pb.steps if s.appliance is not None]
    if name is not None:
        bodies = [b for b in bodies if b.name == name]
    deploy = [b for b in bodies if b.action == "deploy"] or bodies
    if not deploy:
        raise ConfigError(f"{path}: no appliance step{f' named {name!r}' if name else ''}")
    return deploy[0], pb.target


def _scope(session: Any, body: Any, target: Any) -> tuple[Any, list[Any]]:
    from vnettool.inventory.collect import collect
    from vnettool.playbook.scope import step_hosts

    inv = collect(session)
    hosts = step_hosts(inv, target, body.scope)
    if not hosts:
        raise ConfigError("no host in the playbook's scope")
    return inv, hosts


def _change(
    action: str,
    path: Path,
    name: str | None,
    yes: bool,
    check: bool,
    wait: bool,
    as_json: bool,
    *conn: Any,
) -> None:
    from vnettool.appliances import manager
    from vnettool.appliances.plan import segment_kept
    from vnettool.engine.journal import Journal
    from vnettool.playbook.kinds.appliance import engine_target

    body, target = _definition(path, name)
    with session_for(*conn) as session, _lock(session, check, wait):
        inv, hosts = _scope(session, body, target)
        plan = manager.plan(action, session, body.definition(), inv, hosts, engine_target(hosts))
        kept = segment_kept(body.definition()) if action == "remove" else []
        doc: dict[str, Any] = {"action": action, "appliance": body.name, "plan": plan_json(plan)}
        doc |= {"notes": kept, "run": None, "results": []}
        if not as_json:
            print_plan(plan, title=f"{action} {body.name}")
            for line in kept:
                console.print(f"[yellow]note:[/] {escape(line)}", highlight=False, soft_wrap=True)
        if plan.empty or check:
            if as_json:
                typer.echo(json.dumps(doc, indent=1))
            if check and not plan.empty:
                raise typer.Exit(2)
            return
        confirm(yes, f"{action} {body.name}: apply {len(plan.changes)} change(s)")
        journal = Journal.for_session(session, f"appliance {action} {body.name} ({path})")
        with stop_on_sigint() as stop:
            results = manager.apply(plan, session, stop=stop, journal=journal)
        journal.end(verified=None, remaining=None)
        if as_json:
            doc["run"] = journal.id if journal.written else None
            doc["journal"] = str(journal.path) if journal.written else None
            doc["results"] = [r.model_dump(mode="json") for r in results]
            typer.echo(json.dumps(doc, indent=1))
        else:
            print_results(results)
            if journal.written:
                console.print(f"run {journal.id} recorded in {journal.path}", highlight=False)
        if any(r.failed or r.skipped for r in results):
            raise typer.Exit(1)


def _lock(session: Any, check: bool, wait: bool) -> Any:
    """deploy/remove hold the vCenter's run lock like apply (a plan-only --check does not)."""
    return contextlib.nullcontext() if check else run_lock(session, wait)


YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking")]
CheckOpt = Annotated[bool, typer.Option("--check", help="Plan only (exit 2 if changes)")]


def _change_command(action: str, doc: str) -> None:
    """`deploy` and `remove`: the same options, the same plan → confirm → apply flow."""

    def command(
        playbook: PlaybookArg,
        name: NameOpt = None,
        yes: YesOpt = False,
        check: CheckOpt = False,
        wait: WaitOpt = False,
        as_json: JsonOpt = False,
        server: ServerOpt = None,
        insecure: InsecureOpt = False,
        thumbprint: ThumbprintOpt = None,
    ) -> None:
        _change(action, playbook, name, yes, check, wait, as_json, server, insecure, thumbprint)

    command.__doc__ = doc
    app.command(action)(handle_errors(command))


_change_command(
    "deploy",
    "Plan and deploy the appliances: segment, one pinned VM per host, protected VMs moved.",
)
_change_command(
    "remove", "Move protected VMs off the segment (re-home or unplug), then delete the appliances."
)


FIELDS = [
    Field("VM", key=True),
    Field("host"),
    Field("power"),
    Field("health"),
    Field("pinned"),
    Field("wiring"),
    Field("reservation"),
    Field("latency"),
    Field("protects", numeric=True),
    Field("issues"),
]


def _status_record(st: Any) -> Record:
    """One appliance as a record: the status cells, the wiring one NIC per line (`m:`
    management, `u:` unprotected, `p:` protected), and the columns that are not compliant
    named in words, since colour does not survive a pipe or a ticket."""
    from vnettool.playbook.kinds.appliance import status_cells

    cells = status_cells(st, detail=st.health != "ok")  # the detail of "ok" is noise
    names = [f.name for f in FIELDS[: len(cells)]]
    rec: Record = dict(zip(names, (text for text, _ in cells), strict=True))
    rec["wiring"] = re.split(r" (?=[a-z]:)", st.wiring) if st.wiring else None
    rec["reservation"] = [f"{st.cpu_reservation_mhz} MHz", f"{st.memory_reservation_mb} MB"]
    rec["protects"] = st.protected_vms
    rec["issues"] = [n for n, (_, ok) in zip(names, cells, strict=True) if not ok] or None
    return rec


@app.command()
@handle_errors
def watch(
    playbook: PlaybookArg,
    name: NameOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Apply each plan (default: print it only)")
    ] = False,
    rounds: Annotated[
        int, typer.Option(help="Stop after reacting N times (0 = until Ctrl-C)", min=0)
    ] = 0,
    duration: Annotated[
        str | None, typer.Option(help="Stop after this long, e.g. 8h (default: never)")
    ] = None,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """Keep the appliances deployed as hosts change, when they change: a host entering
    maintenance mode gets its VMs re-homed and its appliance parked at once (vCenter's task
    waits for it), one leaving gets it back, a host joining the cluster gets its appliance.
    Exit 1 when a reaction failed."""
    import time

    from vnettool.appliances.watch import ApplianceWatch
    from vnettool.playbook.kinds.appliance import engine_target
    from vnettool.playbook.scope import step_hosts

    body, target = _definition(playbook, name)
    end = time.monotonic() + parse_duration(duration) if duration else None
    failed = False
    with session_for(server, insecure, thumbprint) as session:
        w = ApplianceWatch(
            session,
            body.definition(),
            lambda inv: step_hosts(inv, target, body.scope),
            engine_target,
            apply=yes,
            title=f"appliance watch {body.name} ({playbook})",
        )
        try:
            with stop_on_sigint() as stop:
                inv = w.start()
                n = len(step_hosts(inv, target, body.scope))
                mode = "applying" if yes else "printing plans only (--yes applies them)"
                console.print(
                    f"watching {n} host(s) for {body.name}: maintenance, joins, removals; {mode}",
                    highlight=False,
                )
                handled = 0
                while not stop.is_set() and (end is None or time.monotonic() < end):
                    rnd = w.step(timeout_s=5)
                    if rnd is None:
                        continue
                    handled += 1
                    stamp = f"{rnd.at:%H:%M:%S}"
                    for r in rnd.reasons:
                        console.print(f"{stamp} [bold]{escape(r)}[/]", highlight=False)
                    for e in rnd.errors:
                        failed = True
                        console.print(f"  [red]cannot plan:[/] {escape(e)}", highlight=False)
                    if not rnd.errors:
                        print_plan(rnd.plan, title=f"deploy {body.name}")
                    if rnd.results is not None:
                        print_results(rnd.results)
                        failed |= any(r.failed or r.skipped for r in rnd.results)
                        if rnd.journal:
                            console.print(f"  run {rnd.journal} recorded", highlight=False)
                    if rounds and handled >= rounds:
                        break
        finally:
            w.close()
    if failed:
        raise typer.Exit(1)


@app.command()
@handle_errors
def status(
    playbook: PlaybookArg,
    name: NameOpt = None,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """Per appliance: host, power, health, wiring, reservations, latency sensitivity, protected
    VMs. Exit 1 when one is unhealthy or not compliant."""
    from vnettool.appliances import manager
    from vnettool.engine.common import natural_key

    body, target = _definition(playbook, name)
    with session_for(server, insecure, thumbprint) as session:
        inv, hosts = _scope(session, body, target)
        sts = manager.status(session, body.definition(), inv, hosts)
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in sts], indent=1))
    else:
        emit(
            console,
            Layout.auto,
            f"appliance {body.name}: {len(sts)} deployed",
            FIELDS,
            [_status_record(s) for s in sorted(sts, key=lambda s: natural_key(s.vm))],
        )
    if any(not s.compliant or s.health != "ok" for s in sts):
        raise typer.Exit(1)
