"""`vnettool audit`: the audit workbook of a vCenter's network, with a findings summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from vnettool.cli import fleet_commands
from vnettool.cli.choices import FailOn, Profile
from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    console,
    handle_errors,
    session_for,
)
from vnettool.cli.fleet import fleet_context
from vnettool.models.events import ChangeEvent
from vnettool.models.inventory import Inventory

if TYPE_CHECKING:
    from vnettool.audit.model import Finding
    from vnettool.audit.run import AuditReport

_STYLE = {
    "critical": "bold white on red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
FailOnOpt = typer.Option(
    "--fail-on",
    help="Exit 2 when FAIL findings of this severity or worse exist (or never)",
    case_sensitive=False,
)


OutOpt = Annotated[Path | None, typer.Option("--out", help="Workbook path (.xlsx)")]
BaselineOpt = Annotated[
    Path | None, typer.Option("--baseline", help="Snapshot (inventory --save) for a Drift tab")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Audit config YAML (rules, waivers)")
]
IncludePassOpt = Annotated[
    bool, typer.Option("--include-pass", help="Also list PASS results in the Findings tab")
]
SnapshotOpt = Annotated[
    Path | None, typer.Option("--snapshot", help="Audit a saved snapshot instead of vCenter")
]
AppliancesOpt = Annotated[
    Path | None,
    typer.Option("--appliances", help="Playbook whose appliances fill the Appliances tab"),
]
ProfileOpt = Annotated[
    Profile | None,
    typer.Option(
        "--profile",
        help="Only this benchmark's rules; names the controls vnettool does not check",
        case_sensitive=False,
    ),
]
FixPlanOpt = Annotated[
    Path | None,
    typer.Option(
        "--fix-plan",
        help="Write the fixes of the FAIL findings as a desired-state "
        "file (review: vnettool plan FILE)",
    ),
]
LatencyDaysOpt = Annotated[
    float,
    typer.Option(
        "--latency-days",
        min=0,
        help="Chart the latency history of the last N days on a Latency tab (0: none)",
    ),
]


@dataclass
class Gathered:
    """What an audit reads besides the rules' snapshot: who changed what since the
    baseline, the appliances' live health, the latency history (each only when asked)."""

    inv: Inventory
    changes: list[ChangeEvent] = field(default_factory=list)
    statuses: Any = None
    latency: list[Any] | None = None


@handle_errors
def audit(
    out: OutOpt = None,
    baseline: BaselineOpt = None,
    config: ConfigOpt = None,
    fail_on: Annotated[FailOn, FailOnOpt] = FailOn.high,
    include_pass: IncludePassOpt = False,
    snapshot: SnapshotOpt = None,
    appliances_of: AppliancesOpt = None,
    profile: ProfileOpt = None,
    fix_plan: FixPlanOpt = None,
    latency_days: LatencyDaysOpt = 7,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the security and health rules and write an RVTools-compatible workbook."""
    from vnettool.audit.run import run_audit

    fc = fleet_context(
        [
            ("--server", server),
            ("--snapshot", snapshot),
            ("--baseline", baseline),
            ("--appliances", appliances_of),
            ("--config", config),
            ("--include-pass", include_pass),
            ("--profile", profile),
        ]
    )
    if fc is not None:
        return fleet_commands.audit(fc, out, fail_on, as_json)
    _check_args(out, appliances_of, snapshot, profile, config)
    started = datetime.now(UTC)
    with _progress(as_json) as bar:
        task = bar.add_task("reading the snapshot", total=None)
        conn = (server, insecure, thumbprint)
        got = _gather(bar, task, snapshot, conn, baseline, appliances_of, latency_days, started)
        report = run_audit(
            got.inv, out=out, baseline=baseline, config=config, fail_on=fail_on,
            started=started, include_pass=include_pass, appliances=got.statuses,
            progress=lambda phase: bar.update(task, description=phase), changes=got.changes,
            profile=profile, latency=got.latency,
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(report.as_json(include_pass), indent=1))
    else:
        _print_report(report, got.inv.vcenter, baseline)
    if fix_plan is not None:
        _write_fix_plan(fix_plan, got.inv, report, config, quiet=as_json)
    if report.failing:
        if not as_json:
            console.print(
                f"[red]{len(report.failing)} finding(s) at or above {fail_on}[/]", highlight=False
            )
        raise typer.Exit(2)


def _check_args(
    out: Path | None,
    appliances_of: Path | None,
    snapshot: Path | None,
    profile: Profile | None,
    config: Path | None,
) -> None:
    """Option errors, and a bad profile or config, fail before vCenter is read."""
    from vnettool.audit.config import load_config
    from vnettool.audit.run import check_profile
    from vnettool.errors import ConfigError

    if out is not None and out.suffix.lower() != ".xlsx":
        # `--json --out x.json` used to write a workbook named x.json
        raise ConfigError(
            f"--out {out}: the workbook must end in .xlsx; the --json report goes to stdout "
            f"(redirect it: > {out.with_suffix('.json').name})"
        )
    if appliances_of is not None and snapshot is not None:
        raise ConfigError(
            "--appliances needs vCenter (their health is checked live), not --snapshot"
        )
    if profile is not None:
        check_profile(profile)
    if config is not None:
        load_config(config)  # a bad or endless config fails before vCenter is read


def _progress(quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} objects"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    )


def _gather(
    bar: Progress,
    task: TaskID,
    snapshot: Path | None,
    conn: tuple[str | None, bool, str | None],
    baseline: Path | None,
    appliances_of: Path | None,
    latency_days: float,
    started: datetime,
) -> Gathered:
    """Read what the audit judges: a saved snapshot, or vCenter (the audit package works on
    snapshots only, so the CLI collects), with the extras the options ask for."""
    from vnettool.audit.run import load_baseline

    if snapshot is not None:
        return Gathered(inv=load_baseline(snapshot))
    from vnettool.inventory import collect

    with session_for(*conn) as session:
        bar.update(task, description=f"reading the network of {session.creds.host}")
        got = Gathered(collect(session, neighbors=True, progress=lambda n: bar.advance(task, n)))
        if baseline is not None:
            # who changed what since the baseline: the Drift tab's "changed by, when"
            from vnettool.inventory import recent_changes

            bar.update(task, description="reading the changes since the baseline")
            got.changes = recent_changes(session, since=load_baseline(baseline).collected_at)
        if appliances_of is not None:
            bar.update(task, description="checking the appliances")
            from vnettool.playbook.appliance_status import playbook_statuses

            got.statuses = playbook_statuses(session, got.inv, appliances_of)
        if latency_days > 0:  # kept by every latency probe round (latency/history.py)
            from vnettool.latency.history import History

            since = started - timedelta(days=latency_days)
            got.latency = History.for_server(session.instance_key).load(since=since)
    return got


def _print_compliance(report: AuditReport) -> None:
    """Per profile: the percentage and counts; with --profile, also each failing or unknown
    control and the controls vnettool does not check."""
    from vnettool.audit.controls import compliance_pct

    t = Table(title="compliance by benchmark (controls)")
    for col in ("profile", "compliant", "PASS", "FAIL", "UNKNOWN", "not checked"):
        t.add_column(col, justify="left" if col == "profile" else "right")
    for profile, rs in report.compliance.items():
        n = {
            s: sum(1 for r in rs if r.state == s)
            for s in ("PASS", "FAIL", "UNKNOWN", "NOT CHECKED")
        }
        pct = compliance_pct(rs)
        t.add_row(profile, "-" if pct is None else f"{pct}%", *(str(v) for v in n.values()))
    console.print(t)
    if report.profile is None:
        return
    rs = report.compliance[report.profile]
    for state, style in (("FAIL", "red"), ("UNKNOWN", "yellow")):
        for r in (x for x in rs if x.state == state):
            vid = f" ({r.control.vid})" if r.control.vid else ""
            console.print(
                f"[{style}]{state}[/] {escape(r.control.id)}{vid} {escape(r.control.title)}"
                f" — rules {', '.join(r.control.rules)}",
                highlight=False,
            )
    missing = [r.control for r in rs if r.state == "NOT CHECKED"]
    if missing:
        names = ", ".join(f"{c.id} ({c.title})" for c in missing)
        console.print(f"not checked by vnettool ({len(missing)}): {escape(names)}", highlight=False)


def _write_fix_plan(
    path: Path, inv: Inventory, report: AuditReport, config: Path | None, *, quiet: bool
) -> None:
    from vnettool.audit.config import load_config
    from vnettool.audit.fixplan import fix_plan, write_fix_plan
    from vnettool.audit.model import AuditConfig

    cfg = load_config(config) if config is not None else AuditConfig()
    plan = fix_plan(inv, report.findings, cfg)
    write_fix_plan(path, plan)
    if quiet:
        return
    console.print(
        f"fix plan written to {escape(str(path))}: fixes {len(plan.fixed)} finding(s), "
        f"{len(plan.not_fixed)} left to a person (listed in its header); "
        f"review with `vnettool plan {escape(str(path))}`",
        highlight=False,
    )


def _print_remedies(report: AuditReport) -> None:
    """What to set, per failing rule: its first failing object's vnettool snippet and the
    esxcli / PowerCLI equivalents (every object's are in the Findings tab and --json)."""
    first: dict[str, tuple[Finding, int]] = {}
    for f in report.findings:
        if f.state == "FAIL" and f.remedy is not None:
            seen, n = first.get(f.rule_id, (f, 0))
            first[f.rule_id] = (seen, n + 1)
    if not first:
        return
    console.print(
        "what to set (the first object of each failing rule; every object's in the Findings "
        "tab and in --json):",
        highlight=False,
    )
    for rid, (f, n) in first.items():
        r = f.remedy
        assert r is not None
        more = f" (+{n - 1} more)" if n > 1 else ""
        head = f"[{_STYLE[f.severity]}]{rid}[/] {escape(f.object)}{more}"
        console.print(head + (f": {escape(r.note)}" if r.note else ""), highlight=False)
        for label, text in (("vnettool", r.yaml), ("esxcli", r.esxcli), ("PowerCLI", r.powercli)):
            if text:
                console.print(f"  {label}:", highlight=False)
                for line in text.splitlines():
                    console.print(f"    {escape(line)}", highlight=False, soft_wrap=True)


def _print_report(report: AuditReport, vcenter: str, baseline: Path | None) -> None:
    """Counts by severity, the failing rules, compliance per benchmark, where it was written."""
    t = Table(title=f"audit of {escape(vcenter)}: score {report.score} ({report.grade})")
    for col in ("severity", "FAIL", "EXCEPTION", "UNKNOWN", "PASS"):
        t.add_column(col, justify="right" if col != "severity" else "left")
    for sev, c in report.counts().items():
        t.add_row(
            f"[{_STYLE[sev]}]{sev}[/]",
            *(str(c.get(s, 0)) for s in ("FAIL", "EXCEPTION", "UNKNOWN", "PASS")),
        )
    console.print(t)
    top: dict[str, tuple[str, str, int]] = {}
    for f in report.findings:
        if f.state == "FAIL":
            _, _, n = top.get(f.rule_id, ("", "", 0))
            top[f.rule_id] = (f.title, f.severity, n + 1)
    if top:
        r = Table(title="failing rules")
        for col in ("rule", "severity", "title", "objects"):
            r.add_column(col)
        for rid, (title, sev, n) in top.items():
            r.add_row(rid, f"[{_STYLE[sev]}]{sev}[/]", escape(title), str(n))
        console.print(r)
    _print_remedies(report)
    _print_compliance(report)
    if report.drift is not None:
        console.print(f"drift against {baseline}: {len(report.drift)} difference(s)")
    console.print(f"workbook written to {report.path}", highlight=False)
