"""`vnettool run`, `vnettool playbook schema|validate`: scripted playbooks from the shell.

Validation always completes before anything connects or runs: a playbook with an error
exits 1 with every error listed as ``file:line:col: message`` and nothing is applied.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vnettool import userfile
from vnettool.cli import fleet_ops
from vnettool.cli.common import (
    VIEW,
    InsecureOpt,
    JsonOpt,
    PerHostOpt,
    ServerOpt,
    ThumbprintOpt,
    WaitOpt,
    console,
    err_console,
    handle_errors,
    machine_progress,
    run_lock,
    session_for,
)
from vnettool.cli.engine import print_plan
from vnettool.cli.fleet import fleet_context
from vnettool.errors import ConfigError
from vnettool.models.plan import Plan
from vnettool.playbook.errors import PlaybookError, PlaybookIssue

app = typer.Typer(help="Playbook tools: JSON Schema for editors, offline validation.")

VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", "-e", help="Set a variable: NAME=VALUE (repeatable; YAML scalar)"),
]
TagsOpt = Annotated[
    str | None, typer.Option("--tags", "-t", help="Only steps with one of these tags (a,b)")
]
SkipTagsOpt = Annotated[
    str | None, typer.Option("--skip-tags", help="Skip steps with one of these tags (a,b)")
]

STATUS_STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "skipped": "cyan"}


def _vars(options: list[str] | None) -> dict[str, Any]:
    from vnettool.playbook.loader import parse_var_option

    return dict(parse_var_option(o) for o in options or [])


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


IncludeAnywhereOpt = Annotated[
    bool,
    typer.Option(
        "--include-anywhere",
        help="Allow include: of files outside the playbook's directory tree",
    ),
]


def _excerpt(issue: PlaybookIssue, cache: dict[str, list[str]]) -> list[str]:
    """The offending source line with a caret under the column, as compilers show it."""
    loc = issue.location
    if loc.file not in cache:
        try:
            raw = userfile.read_bytes(loc.file)
            cache[loc.file] = raw.decode("utf-8", errors="replace").splitlines()
        except userfile.UserFileError:
            cache[loc.file] = []
    lines = cache[loc.file] if issue.excerpt else []
    if not 0 < loc.line <= len(lines):
        return []
    text = lines[loc.line - 1]
    if len(text) > 200 or any(ord(c) < 32 and c != "\t" for c in text):
        return []
    pad = "".join("\t" if c == "\t" else " " for c in text[: loc.col - 1])
    return [f"  {text}", f"  {pad}^"]


def _report_invalid(exc: PlaybookError, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps({"valid": False, "errors": [i.as_dict() for i in exc.issues]}, indent=1)
        )
    else:
        sources: dict[str, list[str]] = {}
        for issue in exc.issues:
            err_console.print(str(issue), markup=False, highlight=False, soft_wrap=True)
            for line in _excerpt(issue, sources):
                err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        n = len(exc.issues)
        err_console.print(
            f"[bold red]playbook is invalid[/] ({n} error{'s' if n != 1 else ''}); nothing was run"
        )
    raise typer.Exit(1)


def _changes_vsphere(vp: Any, tags: list[str], skip_tags: list[str]) -> bool:
    """Whether a real run of the selected steps may change vSphere (then it is confirmed)."""
    from vnettool.playbook.runner import selected

    for step in vp.playbook.steps:
        if not selected(step, tags, skip_tags):
            continue
        if step.kind == "configure" or (
            step.kind == "appliance" and step.appliance.action != "status"
        ):
            return True
        if step.kind == "rebalance" and not step.rebalance.dry_run:
            return True
    return False


def _approver(yes: bool, as_json: bool) -> Any:
    """Before each changing step: its exact plan, then the question `apply` asks."""
    if yes:
        return None

    def approve(plan: Plan) -> bool:
        if not as_json:
            print_plan(plan)
        return typer.confirm(f"apply {len(plan.changes)} change(s)?", default=False)

    return approve


def _shower(as_json: bool, planned_shown: bool) -> Any:
    """One line per step; a planned step's diff exactly as `vnettool plan` prints it."""
    from vnettool.playbook.runner import StepResult

    done = [0]
    progress = machine_progress()

    def show(r: StepResult) -> None:
        done[0] += 1
        if progress is not None:  # a fleet child: the parent's progress line counts steps
            progress(done[0], "steps")
        if as_json:
            return
        style = STATUS_STYLE.get(r.status, "")
        host = f" [{r.host}]" if r.host else ""
        msg = f" - {r.message}" if r.message else ""
        console.print(
            f"[{style}]{r.status:<8}[/] {r.name}{host}{msg}  [dim]({r.location})[/]",
            highlight=False,
            soft_wrap=True,
        )
        details = r.details
        if r.plan is not None and not r.plan.empty and not planned_shown:
            print_plan(r.plan)
        if r.plan is not None and r.status != "failed":
            # the plan says it change by change; keep what it cannot say (e.g. what is left)
            per_change = {c.summary() for c in r.plan.changes}
            details = [
                d
                for d in details
                if d not in per_change and not d.startswith(("changed: ", "skipped: "))
            ]
        for line in details[:50]:
            console.print(f"           {line}", markup=False, highlight=False, soft_wrap=True)
        if len(details) > 50:
            console.print(f"           … {len(details) - 50} more", highlight=False)

    return show


PlaybookArg = Annotated[Path, typer.Argument(help="Playbook YAML file")]
CheckOpt = Annotated[
    bool, typer.Option("--check", help="Plan configure steps; run only read-only steps")
]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Apply each step's changes without asking")
]
OutputsOpt = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Directory the playbook's snapshot and audit files go to; paths outside it "
        "are refused",
    ),
]


@handle_errors
def run(
    playbook: PlaybookArg,
    check: CheckOpt = False,
    yes: YesOpt = False,
    tags: TagsOpt = None,
    skip_tags: SkipTagsOpt = None,
    var: VarOpt = None,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    outputs: OutputsOpt = Path("reports"),
    include_anywhere: IncludeAnywhereOpt = False,
    wait: WaitOpt = False,
    per_host: PerHostOpt = False,
) -> None:
    """Run a playbook's steps in order; each step that changes vSphere shows its plan and asks
    first (as `apply` does) unless --yes. Exit 0 = ok, 1 = failed/invalid/cancelled,
    2 = changes pending (under --check). Like `apply`, one changing run per vCenter at a time.

    With the global --fleet: on every vCenter, one process each, confirmed once; a recap per
    vCenter; exit 4 when some vCenters failed and the others finished."""
    VIEW.per_host = per_host
    from vnettool.playbook import validate

    fc = fleet_context([("--server", server)])
    try:
        variables = _vars(var)
        offline = validate(
            playbook,
            variables if fc is None else {"vcenter": fc.entries[0].name, **variables},
            includes_anywhere=include_anywhere,
        )  # offline first: no connection for a broken file
    except PlaybookError as exc:
        _report_invalid(exc, as_json)
    changes = _changes_vsphere(offline, _split(tags), _split(skip_tags))
    if fc is not None:
        passthrough = [
            *(["--tags", tags] if tags else []),
            *(["--skip-tags", skip_tags] if skip_tags else []),
            *[a for v in var or [] for a in ("--var", v)],
            *(["--include-anywhere"] if include_anywhere else []),
            *(["--wait"] if wait else []),
        ]
        return fleet_ops.run_playbook(
            fc, playbook, check=check, yes=yes, passthrough=passthrough, variables=variables,
            outputs=outputs, changes_vsphere=changes, as_json=as_json,
        )  # fmt: skip
    ask = not check and not yes and changes
    if ask and not sys.stdin.isatty():
        raise ConfigError(
            f"{playbook} changes vSphere: confirmation needed; pass --yes to run it without "
            "asking, or --check to plan only (nothing was run)"
        )
    opts = RunOptions(check, bool(ask), _split(tags), _split(skip_tags), as_json, outputs)
    with (
        session_for(server, insecure, thumbprint) as session,
        contextlib.nullcontext() if check else run_lock(session, wait),
    ):
        name, report, journal = _run_live(session, playbook, variables, include_anywhere, opts)
    _recap(playbook, name, report, journal, as_json)
    raise typer.Exit(report.exit_code)


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a playbook runs on one vCenter, as the command line said."""

    check: bool
    ask: bool  # each changing step shows its plan and asks first
    tags: list[str]
    skip_tags: list[str]
    as_json: bool
    outputs: Path


def _run_live(
    session: Any, playbook: Path, variables: dict[str, Any], anywhere: bool, o: RunOptions
) -> tuple[str | None, Any, Any]:
    """Validate against the live inventory (references to hosts, switches …), then run the
    steps through the playbook runner; the first step reuses that inventory. Returns the
    playbook's name, the runner's report and the run journal (None under --check)."""
    from vnettool.engine.journal import Journal
    from vnettool.inventory import collect
    from vnettool.playbook import run as run_playbook
    from vnettool.playbook import validate

    inventory = collect(session)
    try:
        vp = validate(playbook, variables, inventory=inventory, includes_anywhere=anywhere)
    except PlaybookError as exc:
        _report_invalid(exc, o.as_json)
    first = [inventory]

    def cached(s: Any) -> Any:
        return first.pop() if first else collect(s)

    # check mode writes nothing, so no journal either
    journal = None if o.check else Journal.for_session(session, f"playbook {playbook}")
    mode = " (check mode: nothing is changed)" if o.check else ""
    if not o.as_json:
        console.print(f"[bold]PLAY[/] {vp.playbook.name or playbook}{mode}", highlight=False)
    report = run_playbook(
        vp, session, check=o.check, tags=o.tags, skip_tags=o.skip_tags, collect=cached,
        on_result=_shower(o.as_json, planned_shown=o.ask),
        approve=_approver(not o.ask, o.as_json), journal=journal, outputs=o.outputs,
    )  # fmt: skip
    return vp.playbook.name, report, journal


def _recap(playbook: Path, name: str | None, report: Any, journal: Any, as_json: bool) -> None:
    """The run's end: its journal closed, then the JSON report or the RECAP line and how
    to undo it."""
    run_id = journal.id if journal is not None and journal.written else None
    if journal is not None:
        journal.end(verified=None, remaining=None)
    if as_json:
        out = {"playbook": str(playbook), "name": name, "run": run_id, **report.as_dict()}
        typer.echo(json.dumps(out, indent=1))
        return
    parts = [
        f"[{STATUS_STYLE[s]}]{s}={report.count(s)}[/]"
        for s in ("ok", "changed", "failed", "skipped")
    ]
    console.print("[bold]RECAP[/] " + "  ".join(parts))
    if run_id is not None and journal is not None:
        console.print(
            f"run {run_id} recorded in {journal.path}; undo with: "
            f"vnettool apply --rollback {run_id}",
            highlight=False,
            soft_wrap=True,
        )
    if report.exit_code == 2:
        console.print("changes pending (exit code 2)")


@app.command("schema")
@handle_errors
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to a file instead of stdout")
    ] = None,
) -> None:
    """Print the playbook JSON Schema (for yaml-language-server and other editors)."""
    from vnettool.playbook.schema import schema_text

    text = schema_text()
    if out:
        userfile.write_text(out, text, what="schema")
        console.print(f"schema written to {out}")
    else:
        typer.echo(text, nl=False)


@app.command("validate")
@handle_errors
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="Playbook files")],
    var: VarOpt = None,
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory", "-i", help="Also check references against a saved snapshot (JSON)"
        ),
    ] = None,
    as_json: JsonOpt = False,
    include_anywhere: IncludeAnywhereOpt = False,
) -> None:
    """Check playbooks without connecting; every error as file:line:col. Exit 1 if invalid."""
    from vnettool.models.inventory import Inventory
    from vnettool.playbook import validate

    inv = None
    if inventory:
        try:
            inv = Inventory.load(inventory)
        except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            raise ConfigError(f"cannot read inventory snapshot {inventory}: {exc}") from None
    issues = []
    for f in files:
        try:
            vp = validate(f, _vars(var), inventory=inv, includes_anywhere=include_anywhere)
            if not as_json:
                n = len(vp.playbook.steps)
                console.print(f"[green]ok[/] {f}: {n} step{'s' if n != 1 else ''}", highlight=False)
        except PlaybookError as exc:
            issues.extend(exc.issues)
    if issues:
        _report_invalid(PlaybookError(issues), as_json)
    if as_json:
        typer.echo(json.dumps({"valid": True, "errors": []}))
