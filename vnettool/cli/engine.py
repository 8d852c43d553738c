"""`vnettool plan FILE` and `vnettool apply FILE`: the configuration engine from the shell.

Exit codes follow `terraform plan -detailed-exitcode`: 0 = nothing to change (or applied and
verified), 2 = changes pending (plan only), 1 = any error, refusal or failed/unverified apply.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vnettool.cli import fleet_commands
from vnettool.cli.common import (
    VIEW,
    InsecureOpt,
    JsonOpt,
    PerHostOpt,
    ServerOpt,
    ThumbprintOpt,
    WaitOpt,
    confirm,
    console,
    err_console,
    run_lock,
    session_for,
)
from vnettool.cli.fleet import fleet_context
from vnettool.engine.render import render_failures, render_plan
from vnettool.errors import UNREACHABLE, ConfigError, VnetError
from vnettool.models.plan import Plan, Result


def _say(text: str, **kw: Any) -> None:
    """Print without wrapping: plans and results are read in terminals, logs and CI output."""
    kw.setdefault("soft_wrap", True)
    console.print(text, **kw)


WorkersOpt = Annotated[
    int, typer.Option("--workers", min=1, max=64, help="Changes applied at once (across hosts)")
]


def fail(exc: BaseException, as_json: bool) -> typer.Exit:
    """Every error exits 1 here (2 means 'changes pending' for these commands), except an
    unreachable vCenter: 5, as for every command."""
    if as_json:
        typer.echo(json.dumps({"error": str(exc)}))
    else:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
    return typer.Exit(UNREACHABLE if getattr(exc, "exit_code", 1) == UNREACHABLE else 1)


def print_plan(plan: Plan, title: str = "Plan") -> None:
    """The plan as a diff in apply order, identical changes across hosts grouped (the TUI
    shows the same text)."""
    console.print(render_plan(plan, title, per_host=VIEW.per_host), soft_wrap=True)


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "pending": len(plan.changes),
        "unsafe": [c.id for c in plan.changes if c.unsafe],
        "impact": plan.impact.model_dump(mode="json") if plan.impact else None,
        "changes": [c.model_dump(mode="json") for c in plan.changes],
    }


def plan(
    file: Annotated[Path, typer.Argument(help="Desired-state YAML file")],
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
    per_host: PerHostOpt = False,
) -> None:
    """Show what `apply` would change. Exit 0 = no changes, 2 = changes pending, 1 = error."""
    VIEW.per_host = per_host
    from vnettool import engine
    from vnettool.inventory import collect
    from vnettool.playbook.desired_file import check_against, load_desired

    try:
        fc = fleet_context([("--server", server)])
        if fc is not None:
            return fleet_commands.plan(fc, file, as_json)
        desired = load_desired(file)
        with session_for(server, insecure, thumbprint) as session:
            inv = collect(session)
        check_against(file, inv)
        p = engine.plan(desired, inv)
    except VnetError as exc:
        raise fail(exc, as_json) from None
    if as_json:
        typer.echo(json.dumps(plan_json(p), indent=1))
    else:
        print_plan(p)
    raise typer.Exit(0 if p.empty else 2)


def print_results(results: list[Result]) -> None:
    failures = render_failures(results)
    if failures:
        console.print(failures, soft_wrap=True)
    ok = sum(1 for r in results if r.changed)
    failed = sum(1 for r in results if r.failed)
    skipped = sum(1 for r in results if r.skipped)
    colour = "green" if not failed and not skipped else "red"
    _say(f"[{colour}]{ok} applied, {failed} failed, {skipped} skipped[/]")


def run_plan(
    plan_: Plan,
    session: Any,
    *,
    source: str,
    workers: int,
    force: bool,
    as_json: bool,
    rollback_of: str | None,
) -> tuple[Any, list[Result]]:
    """Apply `plan_` with a journal and print per-change results: the one path of `apply`,
    `rollback` and the health-check window, so all three are journaled alike."""
    from vnettool import engine
    from vnettool.engine.journal import Journal

    journal = Journal.for_session(session, source, rollback_of)
    with stop_on_sigint() as stop:
        if as_json:
            return journal, engine.apply(
                plan_, session, workers=workers, force=force, journal=journal, stop=stop
            )
        return journal, _apply_with_progress(plan_, session, journal, workers, force, stop)


@contextlib.contextmanager
def stop_on_sigint() -> Iterator[threading.Event]:
    """First Ctrl-C: start nothing new, let the changes in flight finish (a half-sent vSphere
    call cannot be taken back), report the rest as not started. Second Ctrl-C: abort now."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err_console.print(
            "[yellow]interrupted:[/] finishing the changes in flight, starting no more "
            "(Ctrl-C again to abort at once)"
        )

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _apply_with_progress(
    plan_: Plan, session: Any, journal: Any, workers: int, force: bool, stop: threading.Event
) -> list[Result]:
    from vnettool import engine

    with Progress(
        TextColumn("applying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("apply", total=len(plan_.changes))

        def on_result(r: Result) -> None:
            bar.advance(task)

        return engine.apply(
            plan_,
            session,
            workers=workers,
            force=force,
            on_result=on_result,
            stop=stop,
            journal=journal,
        )


def apply(
    file: Annotated[
        Path | None, typer.Argument(help="Desired-state YAML file (not with --rollback)")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Apply changes the safety checks refuse; roll back over conflicting changes",
        ),
    ] = False,
    rollback: Annotated[
        str | None,
        typer.Option("--rollback", help="Undo a run: its id, 'last', or journal path"),
    ] = None,
    workers: WorkersOpt = 8,
    wait: WaitOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
    per_host: PerHostOpt = False,
) -> None:
    """Plan, confirm, apply with bounded concurrency, then re-read and verify. One run per
    vCenter at a time: another one running is named and this one refused (or waits, --wait)."""
    VIEW.per_host = per_host
    from vnettool.engine.journal import find_run
    from vnettool.playbook.desired_file import load_desired

    try:
        fc = fleet_context([("--server", server), ("--rollback", rollback)])
        if fc is not None and file is not None:
            return fleet_commands.apply(fc, file, yes, force, as_json, wait)
        if (file is None) == (rollback is None):
            raise ConfigError("give a desired-state FILE, or --rollback RUN (not both)")
        if file is not None:
            outcome = _apply_file(
                load_desired(file),
                file,
                yes,
                force,
                workers,
                as_json,
                wait,
                server,
                insecure,
                thumbprint,
            )
        else:
            assert rollback is not None
            outcome = _apply_rollback(
                find_run(rollback), yes, force, workers, as_json, wait, server, insecure, thumbprint
            )
    except VnetError as exc:
        raise fail(exc, as_json) from None
    _report(outcome, file, as_json)


class Outcome:
    """What an apply or a rollback did, for the report and the exit code."""

    def __init__(
        self,
        journal: Any,
        results: list[Result],
        remaining: Plan,
        unrestorable: list[str] | None = None,
    ) -> None:
        self.journal = journal
        self.results = results
        self.remaining = remaining
        self.unrestorable = unrestorable or []
        self.verified = remaining.empty
        journal.end(verified=self.verified, remaining=len(remaining.changes))


def _apply_file(
    desired: Any,
    file: Path,
    yes: bool,
    force: bool,
    workers: int,
    as_json: bool,
    wait: bool,
    *conn: Any,
) -> Outcome:
    from vnettool import engine
    from vnettool.inventory import collect
    from vnettool.playbook.desired_file import check_against

    with session_for(*conn) as session, run_lock(session, wait):
        inv = collect(session)
        check_against(file, inv)
        p = engine.plan(desired, inv)
        if not as_json:
            print_plan(p, "Plan")
        if p.empty:
            _nothing(as_json)
        _check_unsafe(p, force)
        confirm(yes, f"apply {len(p.changes)} changes" + _irreversible_note(p))
        journal, results = run_plan(
            p,
            session,
            source=str(file),
            workers=workers,
            force=force,
            as_json=as_json,
            rollback_of=None,
        )
        return Outcome(journal, results, engine.verify(desired, session))


def _apply_rollback(
    record: Any, yes: bool, force: bool, workers: int, as_json: bool, wait: bool, *conn: Any
) -> Outcome:
    """Undo a recorded run: same vCenter only; objects changed since stop it unless forced;
    what cannot be restored is named before the confirmation and makes the exit non-zero."""
    from vnettool import engine
    from vnettool.inventory import collect

    with session_for(*conn) as session, run_lock(session, wait):
        _same_instance(record, session, force)
        rb = engine.rollback(record.results, collect(session))
        if rb.conflicts and not force:
            raise ConfigError(
                f"rollback of {record.id} stopped: {len(rb.conflicts)} object(s) changed since "
                "that run (roll back anyway with --force):\n  " + "\n  ".join(rb.conflicts)
            )
        if not as_json:
            for line in rb.conflicts:  # only with --force
                _say(f"[yellow]forced over a conflict:[/] {escape(line)}", highlight=False)
            if not (rb.plan.empty and rb.unrestorable):  # never "No changes" then
                print_plan(rb.plan, "Rollback")
            _print_unrestorable(rb.unrestorable)
        if rb.plan.empty:
            if rb.unrestorable:
                raise ConfigError(
                    f"rollback of {record.id} incomplete: {len(rb.unrestorable)} change(s) "
                    "cannot be restored (listed above)"
                    if not as_json
                    else "cannot be restored:\n  " + "\n  ".join(rb.unrestorable)
                )
            _nothing(as_json)
        _check_unsafe(rb.plan, force)
        confirm(yes, f"apply {len(rb.plan.changes)} changes")
        journal, results = run_plan(
            rb.plan,
            session,
            source=f"rollback of {record.id}",
            workers=workers,
            force=force,
            as_json=as_json,
            rollback_of=record.id,
        )
        after = engine.rollback(record.results, collect(session))
        return Outcome(journal, results, after.plan, after.unrestorable)


def _same_instance(record: Any, session: Any, force: bool) -> None:
    from vnettool.engine.journal import instance_uuid

    here = instance_uuid(session)
    there = record.instance_uuid
    if there is None:
        if not force:
            raise ConfigError(
                f"run {record.id} does not record which vCenter it changed (a journal written "
                "before instance UUIDs were recorded); roll it back anyway with --force"
            )
        return
    if there != here:
        raise ConfigError(
            f"run {record.id} changed another vCenter (instance {there}, recorded as "
            f"{record.header.get('vcenter')}); this one is instance {here}: refusing to roll "
            "it back here"
        )


def _nothing(as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"run": None, "results": [], "verified": True}))
    raise typer.Exit(0)


def _check_unsafe(p: Plan, force: bool) -> None:
    from vnettool import engine
    from vnettool.engine.core import unsafe_changes

    unsafe = unsafe_changes(p)
    if unsafe and not force:
        raise engine.UnsafePlan(unsafe)


def _irreversible_note(p: Plan) -> str:
    n = sum(1 for c in p.changes if c.irreversible)
    return f" ({n} of them cannot be undone by --rollback)" if n else ""


def _print_unrestorable(lines: list[str]) -> None:
    if not lines:
        return
    _say(f"[bold red]cannot be restored ({len(lines)}):[/]")
    for line in lines:
        _say(f"  [red]{escape(line)}[/]", highlight=False)


def _report(o: Outcome, file: Path | None, as_json: bool) -> None:
    results = o.results
    failed = any(r.failed or r.skipped for r in results)
    interrupted = any(r.skipped and (r.error or "").startswith("interrupted") for r in results)
    if as_json:
        out = {
            "run": o.journal.id,
            "journal": str(o.journal.path),
            "results": [r.model_dump(mode="json") for r in results],
            "verified": o.verified,
            "remaining": [c.model_dump(mode="json") for c in o.remaining.changes],
            "unrestorable": o.unrestorable,
        }
        typer.echo(json.dumps(out, indent=1))
    else:
        print_results(results)
        if o.verified:
            _say("[green]verified:[/] a fresh inventory matches (second plan is empty)")
        else:
            _say("[red]not verified:[/] still different after applying:")
            print_plan(o.remaining, "Remaining")
        _print_unrestorable(o.unrestorable)
        _say(
            f"run {o.journal.id} recorded in {o.journal.path}"
            + f"; undo with: vnettool apply --rollback {o.journal.id}"
        )
        if interrupted:
            again = f"vnettool apply {file}" if file else "the same command"
            _say(
                "[yellow]interrupted:[/] the changes not started are listed above as skipped; "
                f"resume with `{again}` (it plans only what is left)"
            )
    if interrupted:
        raise typer.Exit(130)
    raise typer.Exit(0 if o.verified and not failed and not o.unrestorable else 1)
