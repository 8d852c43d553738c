"""Lab-test plumbing: the fault suite's summary table (tests/lab/test_faults.py).

Rows are appended to a file per process (xdist workers included) and printed together in the
terminal summary, so CI output shows what was injected and that nothing was lost.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROWS_DIR = Path(os.environ.get("VNETTOOL_FAULT_ROWS", "/tmp/vnettool-fault-rows"))


@dataclass
class FaultRow:
    area: str
    fault: str
    runs: int
    outcome: str
    lost: int
    unsafe_moves: int = 0
    # "fault" (injected), "lost answer" (runs = answers lost, lost = wrong outcomes),
    # "bad input" (runs = inputs tried, lost = not refused cleanly), "concurrent" (runs =
    # concurrent runs, lost = runs whose verified result was wrong)
    kind: str = "fault"


def _run_dir() -> Path:
    """One directory per pytest run: xdist workers are children of the controller."""
    controller = os.getppid() if "PYTEST_XDIST_WORKER" in os.environ else os.getpid()
    return ROWS_DIR / str(controller)


def record(row: FaultRow) -> None:
    d = _run_dir()
    d.mkdir(parents=True, exist_ok=True)
    with (d / f"rows-{os.getpid()}.jsonl").open("a") as f:
        f.write(json.dumps(asdict(row)) + "\n")


def fault_summary(terminalreporter: Any) -> None:
    """Printed from the root conftest: an xdist controller never collects tests/lab, so a hook
    here would not run in a whole-suite run (the table was missing from CI)."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        return  # the controller prints the table for all workers
    files = sorted(_run_dir().glob("rows-*.jsonl"))
    rows = [
        FaultRow(**json.loads(line))
        for p in files
        for line in p.read_text().splitlines()
        if line.strip()
    ]
    for p in files:
        p.unlink()
    if not rows:
        return
    tr = terminalreporter
    tr.section("fault suite")
    tr.write_line(
        f"{'area':<28} {'fault injected':<44} {'runs':>4}  {'lost':>4}  {'unsafe':>6}  outcome"
    )
    for r in sorted(rows, key=lambda r: (r.area, r.fault)):
        tr.write_line(
            f"{r.area:<28} {r.fault:<44} {r.runs:>4}  {r.lost:>4}  {r.unsafe_moves:>6}  {r.outcome}"
        )
    tr.write_line(
        f"{len(rows)} fault scenarios, {sum(r.runs for r in rows)} runs, "
        f"changes lost: {sum(r.lost for r in rows)}, unsafe migrations: "
        f"{sum(r.unsafe_moves for r in rows)}"
    )
    tr.write_line(red_team_totals(rows))


def red_team_totals(rows: list[FaultRow]) -> str:
    """One line for CI: what the red team's findings are tested with, and how it went."""

    def of(kind: str) -> tuple[int, int]:
        mine = [r for r in rows if r.kind == kind]
        return sum(r.runs for r in mine), sum(r.lost for r in mine)

    bad, bad_wrong = of("bad input")
    faults, faults_lost = of("fault")
    lost, lost_wrong = of("lost answer")
    conc, conc_wrong = of("concurrent")
    unsafe = sum(r.unsafe_moves for r in rows)
    return (
        f"red-team totals: bad inputs tried {bad} / failed {bad_wrong}; faults injected "
        f"{faults} / survived {faults - faults_lost}; lost responses correct "
        f"{lost - lost_wrong}/{lost}; concurrent runs correct {conc - conc_wrong}/{conc}; "
        f"unsafe migrations {unsafe}"
    )
