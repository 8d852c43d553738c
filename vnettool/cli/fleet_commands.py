"""The fleet side of inventory, audit, plan, apply and latency probe (see cli/fleet.py), and
`vnettool fleet schema|validate|merge`.

Each function runs the single-vCenter command in one child per vCenter with --json, then
merges: the per-vCenter results stay exactly what a single run prints, under the vCenter's name.
The commands call down into this module; it never calls a command (what it shares with one,
such as the confirmation or an audit report's JSON, lives below both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from vnettool import userfile
from vnettool.cli.choices import FailOn
from vnettool.cli.common import JsonOpt, confirm, console, handle_errors
from vnettool.cli.fleet import (
    FleetContext,
    check_xlsx,
    default_workbook,
    document,
    finish,
    fleet_context,
    inventories,
    print_json,
    run_fleet,
    status_table,
)
from vnettool.fleet.runner import Job, Outcome
from vnettool.models.inventory import Inventory

app = typer.Typer(help="Fleet files: JSON Schema, offline validation, merging per-vCenter results.")


def _drift_json(fc: FleetContext, invs: dict[str, Inventory]) -> list[dict[str, Any]]:
    from vnettool.audit.fleet_drift import fleet_drift

    return [d.as_json() for d in fleet_drift(invs, fc.l2_domains())]


def _print_drift(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no drift across the vCenters")
        return
    console.print(f"[yellow]drift across the vCenters ({len(rows)}):[/]")
    for d in rows:
        console.print(f"  {escape(d['kind'])}: {escape(d['detail'])}", highlight=False)


def inventory(fc: FleetContext, as_json: bool, save: Path | None, neighbors: bool) -> None:
    if save is not None:
        userfile.check_writable(save, what="fleet snapshot")
    job = Job(["inventory", "--json", *(["--neighbors"] if neighbors else [])])
    outcomes = run_fleet(fc, job, quiet=as_json)
    invs = inventories(outcomes)
    doc = document(fc, outcomes, drift=_drift_json(fc, invs))
    if save is not None:
        userfile.write_text(save, _dumps(doc), what="fleet snapshot")
    if as_json:
        print_json(doc)
    else:
        cols = {
            "hosts": lambda o: len(invs[o.name].hosts),
            "VMs": lambda o: len(invs[o.name].vms),
            "vDS": lambda o: len(invs[o.name].distributed_switches),
            "DV port groups": lambda o: len(invs[o.name].distributed_port_groups),
        }
        console.print(status_table(f"inventory of {fc.path}", outcomes, cols))
        _print_drift(doc["drift"])
        if save is not None:
            console.print(f"fleet snapshot saved to {save}", highlight=False)
    finish(outcomes, 0, as_json)


def _dumps(doc: dict[str, Any]) -> str:
    import json

    return json.dumps(doc, indent=1, default=str)


def audit(fc: FleetContext, out: Path | None, fail_on: str, as_json: bool) -> None:
    """Every vCenter read by its own child; the rules and the one workbook run here, on the
    snapshots (the audit never talks to vSphere, so this is the same as `audit --snapshot`)."""
    check_xlsx(out)
    job = Job(["inventory", "--json", "--neighbors"])
    outcomes = run_fleet(fc, job, quiet=as_json)
    invs = inventories(outcomes)
    path = out or default_workbook()
    doc, worst = audit_merge(fc.l2_domains(), outcomes, invs, path, fail_on)
    doc["fleet"] = str(fc.path)
    if as_json:
        print_json(doc)
    else:
        cols = {
            "score": lambda o: o.result["score"],
            "grade": lambda o: o.result["grade"],
            f"FAIL ≥ {fail_on}": lambda o: o.result["failing"],
        }
        console.print(status_table(f"audit of {fc.path}", outcomes, cols))
        _print_drift(doc["drift"])
        console.print(f"fleet workbook written to {path}", highlight=False)
    finish(outcomes, worst, as_json)


def audit_merge(
    l2_domains: dict[str, str | None],
    outcomes: dict[str, Outcome],
    invs: dict[str, Inventory],
    path: Path,
    fail_on: str,
) -> tuple[dict[str, Any], int]:
    """Audit each snapshot, write the fleet workbook; the JSON and the worst exit (2 = some
    vCenter has findings at or above `fail_on`). Shared by `--fleet audit` and `fleet merge`."""
    from vnettool.audit.fleet_drift import fleet_drift
    from vnettool.audit.run import run_audit
    from vnettool.audit.workbook.fleet import FleetMember, write_fleet_workbook

    members: list[FleetMember] = []
    worst = 0
    for name, o in outcomes.items():
        m = FleetMember(name, o.url, o.status, o.error, o.seconds)
        if name in invs:
            report = run_audit(invs[name], out=path, fail_on=fail_on, write=False)
            m.inventory, m.findings = invs[name], report.findings
            o.result = report.as_json(include_pass=False)
            worst = max(worst, 2 if report.failing else 0)
        members.append(m)
    drift = fleet_drift(invs, l2_domains)
    write_fleet_workbook(path, members, drift)
    doc = {
        "workbook": str(path),
        "vcenters": {n: o.as_json() for n, o in outcomes.items()},
        "drift": [d.as_json() for d in drift],
    }
    return doc, worst


def plan(fc: FleetContext, file: Path, as_json: bool) -> None:
    from vnettool.playbook.desired_file import load_desired

    load_desired(file)  # a bad file is one error here, not one per vCenter
    job = Job(["plan", str(file.resolve()), "--json"], frozenset({0, 2}))
    outcomes = run_fleet(fc, job, quiet=as_json)
    pending = any(o.ok and o.result.get("pending") for o in outcomes.values())
    if as_json:
        print_json(document(fc, outcomes))
    else:
        for name, o in outcomes.items():
            if o.ok and o.result.get("pending"):
                _print_plan(name, o.result)
        cols = {
            "pending": lambda o: o.result["pending"],
            "unsafe": lambda o: len(o.result["unsafe"]),
        }
        console.print(status_table(f"plan {file} on {fc.path}", outcomes, cols))
    finish(outcomes, 2 if pending else 0, as_json)


def _print_plan(name: str, result: dict[str, Any]) -> None:
    """The plan as `vnettool plan` shows it, titled with its vCenter."""
    from vnettool.engine.render import render_plan
    from vnettool.models.plan import Plan

    p = Plan.model_validate({"changes": result["changes"], "impact": result["impact"]})
    console.print(render_plan(p, f"Plan for {escape(name)}"), soft_wrap=True)


def apply(
    fc: FleetContext, file: Path, yes: bool, force: bool, as_json: bool, wait: bool = False
) -> None:
    from vnettool.playbook.desired_file import load_desired

    load_desired(file)
    names = ", ".join(vc.name for vc in fc.entries)
    confirm(yes, f"apply {file} to {len(fc.entries)} vCenters ({names})")
    args = [
        "apply",
        str(file.resolve()),
        "--yes",
        "--json",
        *(["--force"] if force else []),
        *(["--wait"] if wait else []),
    ]
    outcomes = run_fleet(fc, Job(args), quiet=as_json)
    if as_json:
        print_json(document(fc, outcomes))
    else:
        cols = {
            "changed": lambda o: sum(1 for r in o.result["results"] if r.get("changed")),
            "verified": lambda o: o.result["verified"],
            "run": lambda o: o.result["run"],
        }
        console.print(status_table(f"apply {file} on {fc.path}", outcomes, cols))
    finish(outcomes, 0, as_json)


def probe(fc: FleetContext, args: list[str], as_json: bool) -> None:
    """Exit 3 (a path below --mtu) and 2 (a path over --crit-ms) of a single probe are
    results, not failures; the fleet exits with the worse of them, like one vCenter would."""
    job = Job(["latency", "probe", "--json", *args], frozenset({0, 2, 3}))
    outcomes = run_fleet(fc, job, as_json)
    limited = any(o.ok and o.result.get("failing_paths") for o in outcomes.values())
    crit = any(o.ok and o.result.get("critical_paths") for o in outcomes.values())
    if as_json:
        print_json(document(fc, outcomes))
    else:
        cols = {
            "clusters": lambda o: len(o.result["clusters"]),
            "failing paths": lambda o: o.result["failing_paths"],
            "MTU-limited hosts": lambda o: ", ".join(o.result["mtu_limited_hosts"]) or "-",
            "critical paths": lambda o: o.result.get("critical_paths", 0),
        }
        console.print(status_table(f"latency probe on {fc.path}", outcomes, cols))
    mtu_fail = limited and any(a.startswith("--mtu=") for a in args)
    finish(outcomes, 3 if mtu_fail else 2 if crit else 0, as_json)


def _read_results(files: list[str]) -> tuple[dict[str, Outcome], dict[str, Inventory]]:
    """Per-vCenter snapshots (`inventory --save`/`--json`, named NAME=FILE or by the file's
    stem) and fleet documents (`--fleet inventory --json`/`--save`) → outcomes, snapshots."""
    import json

    from vnettool.errors import ConfigError

    outcomes: dict[str, Outcome] = {}
    invs: dict[str, Inventory] = {}
    for spec in files:
        name, sep, where = spec.partition("=")
        path = Path(where if sep else spec)
        text = userfile.read_text(path, what="result file")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: not JSON ({exc})") from None
        found = data.get("vcenters") if isinstance(data, dict) and "fleet" in data else None
        parts = found.items() if isinstance(found, dict) else [(name if sep else path.stem, data)]
        for vc, entry in parts:
            if vc in outcomes:
                raise ConfigError(f"{path}: vCenter {vc!r} is in two of the files")
            result = entry.get("result") if found is not None else entry
            o = Outcome(vc, "", "ok", 0, float(entry.get("seconds") or 0) if found else 0.0)
            if found is not None and entry.get("status") != "ok":
                o.status, o.error, o.url = (
                    "failed",
                    str(entry.get("error") or ""),
                    entry.get("url", ""),
                )
            outcomes[vc] = o
            if o.ok:
                try:
                    invs[vc] = Inventory.model_validate(result)
                except ValueError as exc:
                    raise ConfigError(
                        f"{path}: {vc}: not an inventory snapshot ({str(exc).splitlines()[0]})"
                    ) from None
                o.url = invs[vc].vcenter
    return outcomes, invs


def merge(files: list[str], out: Path | None, fail_on: str, as_json: bool) -> None:
    """Join per-vCenter results written by any scheduler into the fleet workbook."""
    check_xlsx(out)
    fc = fleet_context()
    outcomes, invs = _read_results(files)
    domains = fc.l2_domains() if fc is not None else {}
    path = out or default_workbook()
    doc, worst = audit_merge(domains, outcomes, invs, path, fail_on)
    if as_json:
        print_json(doc)
    else:
        cols = {"score": lambda o: o.result["score"], "grade": lambda o: o.result["grade"]}
        console.print(status_table(f"merged {len(outcomes)} vCenters", outcomes, cols))
        _print_drift(doc["drift"])
        console.print(f"fleet workbook written to {path}", highlight=False)
    finish(outcomes, worst, as_json)


@app.command("schema")
def schema() -> None:
    """Print the fleet file's JSON Schema (for editors: yaml-language-server)."""
    from vnettool.playbook.fleet_file import schema_text

    typer.echo(schema_text(), nl=False)


@app.command("validate")
@handle_errors
def validate(file: Annotated[Path, typer.Argument(help="Fleet file (fleet.yml)")]) -> None:
    """Check a fleet file offline: every error with file:line:col; credentials not read."""
    from vnettool.playbook.fleet_file import load_fleet

    fleet = load_fleet(file)
    console.print(f"{file}: valid, {len(fleet.vcenters)} vCenters", highlight=False)


@app.command("merge")
@handle_errors
def merge_command(
    files: Annotated[
        list[str],
        typer.Argument(help="Snapshots (NAME=FILE or FILE: named by its stem) or fleet JSON files"),
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Fleet workbook (.xlsx)")] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Exit 2 when FAIL findings of this severity or worse exist (or never)",
            case_sensitive=False,
        ),
    ] = FailOn.high,
    as_json: JsonOpt = False,
) -> None:
    """Merge per-vCenter JSON (one scheduled job per vCenter) into the fleet workbook; with
    the global --fleet, its l2_domain values drive the VLAN-collision check."""
    merge(files, out, str(fail_on), as_json)
