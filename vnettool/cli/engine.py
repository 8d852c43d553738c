"""`vnettool plan FILE` and `vnettool apply FILE`: the configuration engine from the shell.

Exit codes follow `terraform plan -detailed-exitcode`: 0 = nothing to change (or applied and
verified), 2 = changes pending (plan only), 1 = any error, refusal or failed/unverified apply.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    console,
    err_console,
    session_for,
)
from vnettool.engine.render import render_plan
from vnettool.errors import ConfigError, VnetError
from vnettool.models.plan import Plan, Result


def _say(text: str, **kw: Any) -> None:
    """Print without wrapping: plans and results are read in terminals, logs and CI output."""
    kw.setdefault("soft_wrap", True)
    console.print(text, **kw)


WorkersOpt = Annotated[
    int, typer.Option("--workers", min=1, max=64, help="Changes applied at once (across hosts)")
]


def _fail(exc: BaseException, as_json: bool) -> typer.Exit:
    """Every error exits 1 here: 2 means 'changes pending' for these commands."""
    if as_json:
        typer.echo(json.dumps({"error": str(exc)}))
    else:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
    return typer.Exit(1)


def print_plan(plan: Plan, title: str = "Plan") -> None:
    """The plan as a diff grouped by host, in apply order (the TUI shows the same text)."""
    console.print(render_plan(plan, title), soft_wrap=True)


def _plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "pending": len(plan.changes),
        "unsafe": [c.id for c in plan.changes if c.spec.get("unsafe")],
        "changes": [c.model_dump(mode="json") for c in plan.changes],
    }


def plan(
    file: Annotated[Path, typer.Argument(help="Desired-state YAML file")],
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what `apply` would change. Exit 0 = no changes, 2 = changes pending, 1 = error."""
    from vnettool import engine
    from vnettool.inventory import collect
    from vnettool.playbook.desired_file import load_desired

    try:
        desired = load_desired(file)
        with session_for(server, insecure, thumbprint) as session:
            p = engine.plan(desired, collect(session))
    except VnetError as exc:
        raise _fail(exc, as_json) from None
    if as_json:
        typer.echo(json.dumps(_plan_json(p), indent=1))
    else:
        print_plan(p)
    raise typer.Exit(0 if p.empty else 2)


def confirm(yes: bool, what: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"{what}: confirmation needed; pass --yes to apply without asking")
    if not typer.confirm(f"{what}?", default=False):
        raise ConfigError("cancelled; nothing was changed")


def print_results(results: list[Result]) -> None:
    for r in results:
        if r.failed:
            _say(
                f"[bold red]failed[/]  {escape(r.change.summary())}: {escape(r.error or '')}",
                highlight=False,
            )
        elif r.skipped:
            _say(
                f"[cyan]skipped[/] {escape(r.change.summary())}: {escape(r.error or '')}",
                highlight=False,
            )
    ok = sum(1 for r in results if r.changed)
    failed = sum(1 for r in results if r.failed)
    skipped = sum(1 for r in results if r.skipped)
    colour = "green" if not failed and not skipped else "red"
    _say(f"[{colour}]{ok} applied, {failed} failed, {skipped} skipped[/]")


def _run(
    plan_: Plan,
    session: Any,
    *,
    source: str,
    workers: int,
    force: bool,
    as_json: bool,
    rollback_of: str | None,
) -> tuple[Any, list[Result]]:
    from vnettool import engine
    from vnettool.engine.journal import Journal

    journal = Journal()
    journal.start(
        source=source,
        vcenter=session.creds.host,
        changes=len(plan_.changes),
        rollback_of=rollback_of,
    )
    with stop_on_sigint() as stop:
        if as_json:
            return journal, engine.apply(
                plan_, session, workers=workers, force=force, on_result=journal.result, stop=stop
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
            journal.result(r)
            bar.advance(task)

        return engine.apply(
            plan_, session, workers=workers, force=force, on_result=on_result, stop=stop
        )


def apply(
    file: Annotated[
        Path | None, typer.Argument(help="Desired-state YAML file (not with --rollback)")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Apply changes the safety checks refuse")
    ] = False,
    rollback: Annotated[
        str | None,
        typer.Option("--rollback", help="Undo a run: its id, 'last', or journal path"),
    ] = None,
    workers: WorkersOpt = 8,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan, confirm, apply with bounded concurrency, then re-read and verify."""
    from vnettool import engine
    from vnettool.engine.core import unsafe_changes
    from vnettool.engine.journal import find_run
    from vnettool.inventory import collect
    from vnettool.playbook.desired_file import load_desired

    try:
        if (file is None) == (rollback is None):
            raise ConfigError("give a desired-state FILE, or --rollback RUN (not both)")
        desired = load_desired(file) if file is not None else None
        record = find_run(rollback) if rollback is not None else None
        with session_for(server, insecure, thumbprint) as session:
            inv = collect(session)
            if desired is not None:
                p = engine.plan(desired, inv)
            else:
                assert record is not None
                p = engine.rollback_plan(record.results, inv)
            if not as_json:
                print_plan(p, "Rollback" if record else "Plan")
            if p.empty:
                if as_json:
                    typer.echo(json.dumps({"run": None, "results": [], "verified": True}))
                raise typer.Exit(0)
            unsafe = unsafe_changes(p)
            if unsafe and not force:
                raise engine.UnsafePlan(unsafe)
            confirm(yes, f"apply {len(p.changes)} changes")
            journal, results = _run(
                p,
                session,
                source=str(file) if file else f"rollback of {record.id if record else ''}",
                workers=workers,
                force=force,
                as_json=as_json,
                rollback_of=record.id if record else None,
            )
            if desired is not None:
                remaining = engine.verify(desired, session)
            else:
                assert record is not None
                remaining = engine.rollback_plan(record.results, collect(session))
    except VnetError as exc:
        raise _fail(exc, as_json) from None
    verified = remaining.empty
    journal.end(verified=verified, remaining=len(remaining.changes))
    failed = any(r.failed or r.skipped for r in results)
    interrupted = any(r.skipped and (r.error or "").startswith("interrupted") for r in results)
    if as_json:
        out = {
            "run": journal.id,
            "journal": str(journal.path),
            "results": [r.model_dump(mode="json") for r in results],
            "verified": verified,
            "remaining": [c.model_dump(mode="json") for c in remaining.changes],
        }
        typer.echo(json.dumps(out, indent=1))
    else:
        print_results(results)
        if verified:
            _say("[green]verified:[/] a fresh inventory matches (second plan is empty)")
        else:
            _say("[red]not verified:[/] still different after applying:")
            print_plan(remaining, "Remaining")
        _say(
            f"run {journal.id} recorded in {journal.path}"
            + f"; undo with: vnettool apply --rollback {journal.id}"
        )
        if interrupted:
            again = f"vnettool apply {file}" if file else "the same command"
            _say(
                "[yellow]interrupted:[/] the changes not started are listed above as skipped; "
                f"resume with `{again}` (it plans only what is left)"
            )
    if interrupted:
        raise typer.Exit(130)
    raise typer.Exit(0 if verified and not failed else 1)
