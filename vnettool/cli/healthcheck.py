"""`vnettool healthcheck run DVS --for 10m`: a time-boxed distributed switch health check.

Benchmarks want the health check off (its frames tell the physical network about hosts, the
switch and its ports: STIG VCSA-70-000267 / VCSA-80-000267), yet its results are the only way
vCenter tells you that a ToR port misses a VLAN, has a smaller MTU or a port channel that the
teaming does not expect. So: switch both checks on, wait, read the results per host and uplink,
report them, and switch the checks back to what they were.

Both switches are ordinary journaled runs of the `health_check` resource (the run id is
printed first): Ctrl-C or SIGTERM during the wait ends the wait early and still restores;
killed outright (SIGKILL), `vnettool apply --rollback RUN --yes` restores. Checks that were
already on are left on (there is then nothing to restore). The run lock is held only while
switching, not during the wait, so other runs are not blocked for the window; a change of
the health check by someone else in the meantime is a conflict the restore reports instead
of overwriting.

Exit codes: 0 no mismatch, 2 mismatches found, 1 error (including a restore that failed),
5 vCenter unreachable or login refused.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    WaitOpt,
    console,
    err_console,
    run_lock,
    session_for,
)
from vnettool.cli.engine import run_plan
from vnettool.errors import UNREACHABLE, ConfigError, VnetError
from vnettool.models.inventory import DistributedSwitch
from vnettool.models.plan import Result

app = typer.Typer(help="Distributed switch health check: run it for a while, report, switch off")

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """`90s`, `10m`, `1h`, `1h30m` or plain seconds; at least 1 s, at most a day."""
    t = text.strip().lower()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t):
        secs = float(t)
    else:
        parts = re.findall(r"([0-9]+)([smh])", t)
        if not parts or "".join(n + u for n, u in parts) != t:
            raise ConfigError(f"--for {text!r}: give a duration like 90s, 10m or 1h")
        secs = float(sum(int(n) * _UNITS[u] for n, u in parts))
    if not 1 <= secs <= 86400:
        raise ConfigError(f"--for {text!r}: between 1 second and 24 hours")
    return secs


def results_table(sw: DistributedSwitch) -> Table:
    t = Table(title=f"{sw.name}: health check results", title_justify="left")
    for col in ("host", "uplink", "pnic", "check", "state", "result"):
        t.add_column(col, overflow="fold")
    for r in sw.health:
        t.add_row(
            r.host,
            r.uplink or "-",
            r.pnic or "-",
            r.check,
            r.state,
            escape(r.text),
            style="red" if r.ok is False else None,
        )
    return t


def _switch(inv: Any, name: str) -> DistributedSwitch:
    sw = inv.dvs_by_name.get(name)
    if sw is None:
        known = ", ".join(sorted(inv.dvs_by_name)) or "none"
        raise ConfigError(f"no distributed switch {name!r} (switches: {known})")
    assert isinstance(sw, DistributedSwitch)
    return sw


def _wait(seconds: float) -> bool:
    """Sleep out the window; Ctrl-C / SIGTERM end it early. True when it ran to the end."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()
        err_console.print("[yellow]interrupted:[/] collecting the results and switching off")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        return not stop.wait(seconds)
    finally:
        signal.signal(signal.SIGINT, previous)


def _failed(results: list[Result]) -> list[str]:
    return [f"{r.change.summary()}: {r.error}" for r in results if r.failed]


@app.command("run")
def run(
    switch: Annotated[str, typer.Argument(help="Distributed switch name")],
    duration: Annotated[
        str, typer.Option("--for", help="How long the checks stay on: 90s, 10m, 1h")
    ] = "10m",
    interval: Annotated[
        int | None,
        typer.Option(
            "--check-interval",
            min=1,
            max=1440,
            help="vCenter's check interval in minutes (default: the switch's)",
        ),
    ] = None,
    wait: WaitOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Switch the VLAN/MTU and teaming checks on, wait, report the results per host and
    uplink, then switch them back to what they were (journaled; Ctrl-C safe)."""
    try:
        code = _run(
            switch, parse_duration(duration), interval, wait, as_json, server, insecure, thumbprint
        )
    except VnetError as exc:
        if as_json:
            typer.echo(json.dumps({"error": str(exc)}))
        else:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        # an unreachable vCenter is 5 on every command, never read as "mismatches" (2)
        raise typer.Exit(UNREACHABLE if exc.exit_code == UNREACHABLE else 1) from None
    raise typer.Exit(code)


def _run(
    name: str, seconds: float, interval: int | None, wait: bool, as_json: bool, *conn: Any
) -> int:
    from vnettool import engine
    from vnettool.inventory import collect
    from vnettool.models.desired import DesiredState

    on: dict[str, Any] = {"vlan_mtu": True, "teaming": True}
    if interval is not None:
        on |= {"vlan_mtu_interval": interval, "teaming_interval": interval}
    desired = DesiredState.model_validate(
        {"distributed_switches": [{"name": name, "health_check": on}]}
    )

    def say(text: str) -> None:
        if not as_json:
            console.print(text, soft_wrap=True)

    with session_for(*conn) as session:
        with run_lock(session, wait):
            before = _switch(collect(session), name)
            p = engine.plan(desired, collect(session))
            journal: Any = None
            enabled: list[Result] = []
            if p.empty:
                say(f"{name}: the health check is already on; it is left on afterwards")
            else:
                journal, enabled = run_plan(
                    p,
                    session,
                    source=f"healthcheck run {name}",
                    workers=1,
                    force=False,
                    as_json=True,
                    rollback_of=None,
                )
                failed = _failed(enabled)
                journal.end(verified=not failed, remaining=len(failed))
                if failed:
                    raise VnetError("switching the health check on failed: " + "; ".join(failed))
                say(
                    f"{name}: health check on (run {journal.id}); if this process is killed, "
                    f"switch it off with: vnettool apply --rollback {journal.id} --yes"
                )
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        say(f"collecting until {until:%H:%M:%S} UTC (Ctrl-C to stop early)")
        full = _wait(seconds)
        sw = _switch(collect(session), name)
        collected = datetime.now(UTC)
        restore = _restore(session, journal, enabled, wait) if journal is not None else None
    mismatches = [r for r in sw.health if r.ok is False]
    run_id = journal.id if journal else None
    _show(name, sw, before, run_id, full, collected, restore, as_json)
    return 2 if mismatches else 0


def _show(
    name: str,
    sw: Any,
    before: Any,
    run_id: str | None,
    full: bool,
    collected: datetime,
    restore: str | None,
    as_json: bool,
) -> None:
    """The results per host and uplink (or the JSON document) and how the run ended."""
    mismatches = [r for r in sw.health if r.ok is False]

    def say(text: str) -> None:
        if not as_json:
            console.print(text, soft_wrap=True)

    if as_json:
        typer.echo(
            json.dumps(
                {
                    "switch": name,
                    "run": run_id,
                    "window_complete": full,
                    "collected": collected.isoformat(),
                    "before": before.health_check.model_dump(),
                    "results": [
                        {**r.model_dump(mode="json"), "ok": r.ok, "text": r.text} for r in sw.health
                    ],
                    "mismatches": len(mismatches),
                    "restored": restore,
                }
            )
        )
    else:
        if sw.health:
            console.print(results_table(sw))
        else:
            say(
                f"{name}: no results yet (vCenter publishes them after the first round of a "
                f"check, within its interval of {sw.health_check.vlan_mtu_interval or 1} min)"
            )
        say(f"{len(mismatches)} mismatch(es) in {len(sw.health)} result(s)")
        if restore is not None:
            say(f"{name}: health check switched back ({restore})")


def _restore(session: Any, journal: Any, enabled: list[Result], wait: bool) -> str:
    """Roll back the run that switched the checks on; a failed restore is an error."""
    from vnettool import engine
    from vnettool.inventory import collect

    with run_lock(session, wait):
        rb = engine.rollback(enabled, collect(session))
        if rb.conflicts:
            raise VnetError(
                "the health check was changed by someone else during the window; left as it "
                "is: " + "; ".join(rb.conflicts) + f" (restore anyway: vnettool apply "
                f"--rollback {journal.id} --force --yes)"
            )
        if rb.plan.empty:
            return "nothing to restore"
        back_journal, back = run_plan(
            rb.plan,
            session,
            source=f"rollback of {journal.id}",
            workers=1,
            force=False,
            as_json=True,
            rollback_of=journal.id,
        )
        left = engine.rollback(enabled, collect(session)).plan
        back_journal.end(verified=left.empty, remaining=len(left.changes))
        failed = _failed(back)
        if failed or not left.empty:
            raise VnetError(
                "switching the health check back failed: "
                + "; ".join(failed or ["not verified"])
                + f" (retry: vnettool apply --rollback {journal.id} --yes)"
            )
        return f"run {back_journal.id}"
