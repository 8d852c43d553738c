"""Counts of the hostile-input corpus for the pytest terminal summary (CI output).

Rows go to a file per process (xdist workers included) and are printed together by the
controller, like the fault table of tests/lab/conftest.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROWS_DIR = Path(os.environ.get("VNETTOOL_CORPUS_ROWS", "/tmp/vnettool-corpus-rows"))


@dataclass
class CorpusRow:
    family: str
    where: str
    """'in-process' (validate/plan through typer's CliRunner) or 'lab apply'."""
    cases: int
    located: int
    exit_1: int
    tracebacks: int
    changed: int


def _run_dir() -> Path:
    controller = os.getppid() if "PYTEST_XDIST_WORKER" in os.environ else os.getpid()
    return ROWS_DIR / str(controller)


def record(row: CorpusRow) -> None:
    d = _run_dir()
    d.mkdir(parents=True, exist_ok=True)
    with (d / f"rows-{os.getpid()}.jsonl").open("a") as f:
        f.write(json.dumps(asdict(row)) + "\n")


def summary(write_line: Callable[[str], None], section: Callable[[str], None]) -> None:
    if "PYTEST_XDIST_WORKER" in os.environ:
        return
    files = sorted(_run_dir().glob("rows-*.jsonl"))
    rows = [CorpusRow(**json.loads(ln)) for p in files for ln in p.read_text().splitlines() if ln]
    for p in files:
        p.unlink()
    if not rows:
        return
    section("hostile-input corpus")
    write_line(
        f"{'family':<12} {'where':<11} {'cases':>5} {'located':>7} {'exit 1':>6} "
        f"{'tracebacks':>10} {'changed':>7}"
    )
    for r in sorted(rows, key=lambda r: (r.where, r.family)):
        write_line(
            f"{r.family:<12} {r.where:<11} {r.cases:>5} {r.located:>7} {r.exit_1:>6} "
            f"{r.tracebacks:>10} {r.changed:>7}"
        )
    total = {
        k: sum(getattr(r, k) for r in rows)
        for k in ("cases", "located", "exit_1", "tracebacks", "changed")
    }
    write_line(
        f"hostile-input corpus: {total['cases']} cases, {total['located']} located errors, "
        f"{total['exit_1']} exit 1, {total['tracebacks']} tracebacks, {total['changed']} changed"
    )
