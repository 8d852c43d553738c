"""Interrupted apply: Ctrl-C lets the changes in flight finish and starts no more; a killed
process leaves a journal of what completed. Either way the re-plan is exactly the remainder.

Each AddPortGroup is slowed by the lab's fault injection (delay) so the run is mid-way when
the signal arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunningLab
from tests.lab.conftest import FaultRow, record
from vnettool.engine import plan
from vnettool.engine.journal import RunRecord
from vnettool.inventory.collect import collect
from vnettool.lab.faults import add_fault
from vnettool.models.desired import DesiredState

pytestmark = pytest.mark.lab
ROOT = Path(__file__).parents[2]
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
DOC = {
    "target": {"cluster": "DC0_C0"},
    "standard_port_groups": [
        {"name": f"pg-int-{i}", "switch": "vSwitch0", "vlan": 700 + i} for i in range(4)
    ],
}


def _start_apply(lab: RunningLab, file: Path) -> subprocess.Popen[str]:
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    return subprocess.Popen(
        # the venv's own entry point, not `uv run`: a signal must reach vnettool itself
        [VNETTOOL, "apply", str(file), "--yes", "--insecure", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _journal(lab: RunningLab) -> RunRecord:
    runs = sorted((lab.lab.dir.parent / "runs").glob("*.jsonl"))
    assert len(runs) == 1, runs
    return RunRecord(runs[0])


def _wait_for_results(lab: RunningLab, n: int, timeout: float = 60) -> None:
    """Until the journal holds `n` results (the run is really mid-way)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        runs = list((lab.lab.dir.parent / "runs").glob("*.jsonl"))
        if runs and runs[0].read_text().count('"type": "result"') >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the apply did not get going")


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"]
)
def test_interrupted_apply_leaves_exactly_the_remainder(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path, sig: signal.Signals
) -> None:
    lab = fresh_lab(cluster=1, host=4, vm=2)
    file = tmp_path / "pgs.yml"
    file.write_text(json.dumps(DOC))  # JSON is YAML
    add_fault("AddPortGroup", "delay", delay_ms=400, count=0, lab=lab.lab)
    with lab.session(insecure=True, thumbprint=None) as s:
        sessions = len(s.content.sessionManager.sessionList)
    proc = _start_apply(lab, file)
    _wait_for_results(lab, 2)
    os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=120)
    graceful = sig in (signal.SIGINT, signal.SIGTERM)
    if graceful:
        with lab.session(insecure=True, thumbprint=None) as s:
            left_open = len(s.content.sessionManager.sessionList) - sessions
        assert left_open == 0, "the interrupted run logged its session out"

    journal = _journal(lab)
    done = {r.change.id for r in journal.results if r.changed}
    desired = DesiredState.model_validate(DOC)
    with lab.session(insecure=True, thumbprint=None) as s:
        remaining = {c.id for c in plan(desired, collect(s)).changes}
    total = 16  # 4 port groups x 4 hosts
    assert 2 <= len(done) < total
    # nothing half-done: what the journal says was applied is applied, the rest is the re-plan;
    # a change killed during its call is in the journal as "outcome unknown" (write-ahead)
    assert remaining.isdisjoint(done)
    unknown = {r.change.id for r in journal.unknown}
    assert total - len(remaining) - len(done) <= len(unknown)
    if graceful:
        assert len(remaining) + len(done) == total and not unknown
        assert proc.returncode == 130, (out, err)
        assert "finishing the changes in flight" in err
        assert "resume with" in out
        assert journal.end is not None  # the journal was closed cleanly
        not_started = {
            r.change.id
            for r in journal.results
            if r.skipped and (r.error or "").startswith("interrupted")
        }
        assert not_started == remaining
    else:
        assert proc.returncode != 0
    # resuming applies exactly the remainder, then nothing is left
    again = _start_apply(lab, file)
    out2, err2 = again.communicate(timeout=180)
    assert again.returncode == 0, (out2, err2)
    with lab.session(insecure=True, thumbprint=None) as s:
        left = len(plan(desired, collect(s)).changes)
    assert left == 0
    how = "in-flight finished, rest skipped, logged out" if graceful else "killed"
    record(
        FaultRow(
            "apply process", f"{sig.name} after {len(done)} of {total}", 2, f"{how}; resumed", left
        )
    )
