"""The fleet side of `run PLAYBOOK`, `rebalance` and `whatif` (see cli/fleet.py).

`run` and `rebalance` change vSphere: each vCenter's child runs the single command with
--json (and --yes, asked once here), so the per-vCenter result is what a single run prints.
`whatif` never talks to vSphere once the inventory is read: as `--fleet audit` does, each
child reads its vCenter and the parent predicts on the snapshots, so a target (a host, a
neighbour switch) is looked for in every vCenter and judged where it exists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape

from vnettool.cli.common import confirm, console, err_console
from vnettool.cli.fleet import (
    FleetContext,
    document,
    finish,
    inventories,
    print_json,
    run_fleet,
    safe_name,
    status_table,
)
from vnettool.cli.impact_view import impact_json, print_impact
from vnettool.errors import ConfigError
from vnettool.fleet.runner import Job, Outcome
from vnettool.models.fleet import VCenterEntry
from vnettool.models.impact import Impact
from vnettool.models.inventory import Inventory

STATUS_STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "skipped": "cyan"}
RECAP = ("ok", "changed", "failed", "skipped")


def run_playbook(
    fc: FleetContext,
    playbook: Path,
    *,
    check: bool,
    yes: bool,
    passthrough: Sequence[str],
    variables: dict[str, Any],
    outputs: Path,
    changes_vsphere: bool,
    as_json: bool,
) -> None:
    """The playbook on every selected vCenter, one child each.

    Each child gets `--var vcenter=NAME` (the fleet name, unless --var sets it) and runs in
    OUTPUTS/NAME/, so the files a playbook writes (snapshot, audit) land per vCenter instead
    of overwriting each other. A playbook that changes vSphere is confirmed once for all."""
    if changes_vsphere and not check:
        names = ", ".join(vc.name for vc in fc.entries)
        confirm(yes, f"run {playbook} on {len(fc.entries)} vCenters ({names})")
    root = outputs.resolve()
    args = ["run", str(playbook.resolve()), "--json", *passthrough]
    args += ["--check"] if check else ["--yes"]

    def extra(vc: VCenterEntry) -> list[str]:
        return [] if "vcenter" in variables else ["--var", f"vcenter={vc.name}"]

    def workdir(vc: VCenterEntry) -> Path:
        return root / safe_name(vc.name)

    job = Job(args, frozenset({0, 2}), extra_args=extra, workdir=workdir)
    outcomes = run_fleet(fc, job, quiet=as_json)
    for o in outcomes.values():
        if not o.ok:
            o.error = _run_error(o) or o.error
    pending = any(o.ok and o.exit_code == 2 for o in outcomes.values())
    if as_json:
        print_json(document(fc, outcomes, outputs=str(root)))
    else:
        for name, o in outcomes.items():
            _print_steps(name, o)
        _print_recap(outcomes)
        console.print(f"files of each vCenter under {root}/<vCenter>/", highlight=False)
        if pending:
            console.print("changes pending (exit code 2)")
    finish(outcomes, 2 if pending else 0, as_json)


def _run_error(o: Outcome) -> str:
    """Why a vCenter's run failed, from its own JSON: the first failed step (with its
    message) or the first playbook error against that vCenter's inventory."""
    r = o.result if isinstance(o.result, dict) else {}
    for step in r.get("steps") or []:
        if step.get("status") == "failed":
            host = f" [{step['host']}]" if step.get("host") else ""
            why = ": ".join(
                str(x) for x in (step.get("message"), *step.get("details", [])[:1]) if x
            )
            return f"step {step.get('name')!r}{host} failed: {why}".strip()
    errors = r.get("errors") or []
    if errors:
        e = errors[0]
        where = f"{e.get('file')}:{e.get('line')}:{e.get('column')}: " if e.get("file") else ""
        return f"playbook invalid here: {where}{e.get('message')}"
    return ""


def _print_steps(name: str, o: Outcome) -> None:
    r = o.result if isinstance(o.result, dict) else {}
    steps = r.get("steps")
    if not steps:
        return
    mode = " (check mode: nothing is changed)" if r.get("check") else ""
    title = r.get("name") or r.get("playbook") or ""
    console.print(f"[bold]PLAY[/] {escape(str(title))} \\[{escape(name)}]{mode}", highlight=False)
    for s in steps:
        style = STATUS_STYLE.get(s["status"], "")
        host = f" [{escape(s['host'])}]" if s.get("host") else ""
        msg = f" - {escape(s['message'])}" if s.get("message") else ""
        console.print(
            f"[{style}]{s['status']:<8}[/] {escape(s['name'])}{host}{msg}",
            highlight=False,
            soft_wrap=True,
        )
        if s["status"] == "failed":
            for line in (s.get("details") or [])[:10]:
                console.print(f"           {line}", markup=False, highlight=False, soft_wrap=True)


def _print_recap(outcomes: dict[str, Outcome]) -> None:
    """Ansible's PLAY RECAP, one line per vCenter; one that could not run is unreachable."""
    console.print("[bold]PLAY RECAP[/]")
    width = max(len(n) for n in outcomes)
    for name, o in outcomes.items():
        r = o.result if isinstance(o.result, dict) else {}
        recap = r.get("recap") or ({"failed": 1} if r.get("errors") else {})
        unreachable = 0 if recap else 1  # never ran: no recap, no playbook error either
        parts = [f"[{STATUS_STYLE[s]}]{s}={recap.get(s, 0)}[/]" for s in RECAP]
        parts.append(f"[{'bold red' if unreachable else 'green'}]unreachable={unreachable}[/]")
        line = f"{escape(name.ljust(width))} : " + "  ".join(parts)
        if r.get("run"):
            line += f"  run {escape(str(r['run']))}"
        console.print(line, highlight=False, soft_wrap=True)
        if not o.ok:
            err_console.print(f"  {escape(name)}: {escape(o.error)}", highlight=False)


def rebalance(fc: FleetContext, args: list[str], dry_run: bool, as_json: bool) -> None:
    """One rebalance cycle per vCenter; each child keeps its vCenter's own state file (the
    default path is per vCenter instance), so cooldowns hold across fleet and single runs."""
    job = Job(["rebalance", "--json", "--once", *args])
    outcomes = run_fleet(fc, job, quiet=as_json)
    if as_json:
        print_json(document(fc, outcomes, dry_run=dry_run))
    else:
        for name, o in outcomes.items():
            if o.ok:
                _print_rebalance(name, o.result)
        cols = {
            "hosts": lambda o: len(o.result["hosts"]),
            "unhealthy": lambda o: _unhealthy(o.result),
            "remedies": lambda o: sum(1 for e in o.result["remedies"] if e["outcome"] == "done"),
            "moved": lambda o: sum(1 for e in o.result["journal"] if e["outcome"] == "moved"),
        }
        title = f"rebalance{' (dry run: nothing moved)' if dry_run else ''} on {fc.path}"
        console.print(status_table(title, outcomes, cols))
    finish(outcomes, 0, as_json)


def _unhealthy(result: dict[str, Any]) -> str:
    return ", ".join(h["host"] for h in result["hosts"] if h["state"] == "unhealthy") or "-"


def _print_rebalance(name: str, result: dict[str, Any]) -> None:
    """What a single cycle decided, one line each, titled with its vCenter."""
    lines = [
        f"{e['outcome']} {e['host']}: {e['action']} {e['step']} — {e['reason']}"
        for e in result["remedies"]
    ]
    for d in result["decisions"]:
        to = f" → {d['destination']}" if d.get("destination") else ""
        lines.append(f"{d['action']} {d['vm']}: {d['source']}{to} — {d['reason']}")
    lines += [
        f"{e['outcome']} {e['vm']}: {e['source']} → {e['destination']}" for e in result["journal"]
    ]
    if not lines:
        return
    console.print(f"[bold]{escape(name)}[/]", highlight=False)
    for line in lines:
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


def whatif(
    fc: FleetContext,
    target: str,
    predict: Callable[[Inventory], tuple[str, Impact]],
    as_json: bool,
) -> None:
    """Each vCenter read by its child (with CDP/LLDP neighbours), the what-if predicted here
    on the snapshots, as `whatif --snapshot` would. A vCenter without the target is not
    affected ("not here"); a target in no vCenter read is bad input (exit 1)."""
    outcomes = run_fleet(fc, Job(["inventory", "--json", "--neighbors"]), quiet=as_json)
    invs = inventories(outcomes)
    absent: dict[str, str] = {}
    found: dict[str, tuple[str, Impact]] = {}
    for name, o in outcomes.items():
        o.result = None  # the inventory was the means; the prediction is the result
        if name not in invs:
            continue
        try:
            found[name] = predict(invs[name])
        except ConfigError as exc:
            absent[name] = str(exc)
        else:
            o.result = impact_json(*found[name])
    if invs and not found:
        first = next(iter(absent.values()), "")
        unread = [n for n, o in outcomes.items() if not o.ok]
        also = f"; not read: {', '.join(unread)}" if unread else ""
        raise ConfigError(f"{target!r} is in none of the vCenters read: {first}{also}")
    dark = any(imp.dark for _, imp in found.values())
    if as_json:
        print_json(document(fc, outcomes, target=target, not_here=absent))
    else:
        for name, (what, imp) in found.items():
            print_impact(f"{what} in {name}", imp)
        cols = {
            "dark": lambda o: len(found[o.name][1].dark) if o.name in found else "not here",
            "degraded": lambda o: len(found[o.name][1].degraded) if o.name in found else "",
            "moved": lambda o: len(found[o.name][1].moved) if o.name in found else "",
        }
        console.print(status_table(f"what if {target} on {fc.path}", outcomes, cols))
    finish(outcomes, 2 if dark else 0, as_json)
