"""kill -9 at random points of a 48-change apply: the write-ahead journal names every change
that reached the server, and `--rollback` of the killed run restores the exact before-state
(a fresh inventory compared) or exits non-zero naming what it could not.

Each call is slowed a little by the lab's fault injection so that kills land before, between
and during calls; the kill point is drawn from the journal's progress (0..48 intents written)
plus a random extra delay.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunningLab
from tests.lab.conftest import FaultRow, record
from tests.lab.test_rollback import network
from vnettool.engine import plan
from vnettool.engine.journal import RunRecord
from vnettool.inventory.collect import collect
from vnettool.lab.faults import add_fault
from vnettool.models.desired import DesiredState

pytestmark = [pytest.mark.lab, pytest.mark.slow]
ROOT = Path(__file__).parents[2]
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
TRIALS = int(os.environ.get("VNETTOOL_KILL_TRIALS", "30"))
BUDGET_S = 900  # the whole test stops starting trials after this (bounded in time)

# 4 hosts x (10 new port groups + the VLAN of an existing one) + 4 DV port groups = 48 changes
DOC = {
    "target": {"cluster": "DC0_C0"},
    "standard_port_groups": [
        {"name": f"pg-kill-{i}", "switch": "vSwitch0", "vlan": 600 + i} for i in range(10)
    ]
    + [{"name": "VM Network", "switch": "vSwitch0", "vlan": 42}],
    "distributed_port_groups": [
        {"name": f"dvpg-kill-{i}", "switch": "DVS0", "vlan": 650 + i, "description": "k"}
        for i in range(4)
    ],
}


def _cli(lab: RunningLab, *args: str) -> subprocess.Popen[str]:
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    return subprocess.Popen(
        # the venv's own entry point, not `uv run`: the signal must reach vnettool itself
        [VNETTOOL, *args, "--insecure"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _runs(lab: RunningLab) -> set[Path]:
    return set((lab.lab.dir.parent / "runs").glob("*.jsonl"))


def _kill_at(proc: subprocess.Popen[str], lab: RunningLab, known: set[Path], intents: int) -> None:
    """SIGKILL once the new journal holds `intents` intents (0: as soon as it exists or at a
    random early moment), after a further random pause of up to 30 ms."""
    end = time.monotonic() + 60
    while time.monotonic() < end and proc.poll() is None:
        new = _runs(lab) - known
        if intents == 0 and (new or random.random() < 0.01):
            break
        if new and next(iter(new)).read_text().count('"type": "intent"') >= intents:
            break
        time.sleep(0.002)
    time.sleep(random.uniform(0, 0.03))
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


def test_kill_9_at_random_points_journal_names_every_change_and_rollback_is_exact(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    rng = random.Random(int(os.environ.get("VNETTOOL_KILL_SEED", "29")))
    random.seed(rng.random())
    lab = fresh_lab(cluster=1, host=4, vm=0)
    file = tmp_path / "kill.yml"
    file.write_text(json.dumps(DOC))  # JSON is YAML
    desired = DesiredState.model_validate(DOC)
    with lab.session(insecure=True, thumbprint=None) as s:
        inv = collect(s)
        baseline = network(inv)
        planned = {c.id for c in plan(desired, inv).changes}
    assert len(planned) == 48
    add_fault("AddPortGroup", "delay", delay_ms=15, count=0, lab=lab.lab)
    add_fault("ReconfigureDVPortgroup_Task", "delay", delay_ms=15, count=0, lab=lab.lab)
    add_fault("CreateDVPortgroup_Task", "delay", delay_ms=15, count=0, lab=lab.lab)
    started = time.monotonic()
    tally = {"trials": 0, "killed_mid_run": 0, "applied": 0, "unknown": 0, "restored": 0}
    for trial in range(TRIALS):
        if time.monotonic() - started > BUDGET_S:
            break
        tally["trials"] += 1
        known = _runs(lab)
        proc = _cli(lab, "apply", str(file), "--yes", "--workers", str(rng.choice([1, 2, 4, 8])))
        _kill_at(proc, lab, known, rng.randint(0, 48))
        new = sorted(_runs(lab) - known)
        with lab.session(insecure=True, thumbprint=None) as s:
            remaining = {c.id for c in plan(desired, collect(s)).changes}
        applied = planned - remaining
        tally["applied"] += len(applied)
        if not new:
            assert not applied, f"trial {trial}: {sorted(applied)} applied with no journal"
            continue
        (path,) = new
        rec = RunRecord(path)
        journaled = {r.change.id for r in rec.results if not r.skipped}
        assert applied <= journaled, f"trial {trial}: not in the journal: {applied - journaled}"
        assert {r.change.id for r in rec.results if r.changed} <= applied
        tally["unknown"] += len(rec.unknown)
        tally["killed_mid_run"] += 0 < len(applied) < 48
        back = _cli(lab, "apply", "--rollback", rec.id, "--yes", "--json")
        out, err = back.communicate(timeout=180)
        with lab.session(insecure=True, thumbprint=None) as s:
            now = network(collect(s))
        if back.returncode == 0:
            assert now == baseline, f"trial {trial}: rollback exit 0 but state differs"
            tally["restored"] += 1
        else:  # allowed only when it names what it could not restore; then stop
            doc = json.loads(out) if out.strip().startswith("{") else {"error": err}
            assert doc.get("unrestorable") or doc.get("remaining") or "cannot" in str(doc)
            pytest.fail(f"trial {trial}: rollback could not restore: {doc}")
    assert tally["trials"] >= min(TRIALS, 30)
    assert tally["restored"] >= 1
    record(
        FaultRow(
            "apply process",
            f"SIGKILL x{tally['trials']} (48 changes), {tally['killed_mid_run']} mid-run",
            tally["trials"],
            f"{tally['restored']} exact rollbacks; {tally['unknown']} unknown outcomes journaled",
            0,
        )
    )
