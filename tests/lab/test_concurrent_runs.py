"""Two vnettool runs changing the same vCenter at once: no change is lost, no run lies.

Without a lock, two applies planned from the same inventory overwrite each other's vSwitch
spec and both may still report "verified". With the per-vCenter run lock:
- a run that finds another one running is refused before planning, names it (command, PID,
  user, machine, since) and changes nothing;
- with --wait it waits, then plans against what the first left, so both changes hold;
- a lock left by a killed run (PID gone, or PID reused by a process started at another time)
  is taken over with a note;
- the lock is per vCenter instance, not per spelling of the server's address.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningLab
from tests.lab.conftest import FaultRow, record
from tests.lab.test_scope import ROOT
from vnettool import runlock
from vnettool.inventory import collect
from vnettool.lab.runner import LAB_PASSWORD, LAB_USER

pytestmark = pytest.mark.lab

SWITCH = "vSwitch-lock"
HOST_DOC = "target: {{cluster: '*'}}\nstandard_switches: [{{name: {sw}, {fields}}}]\n"


def _doc(tmp_path: Path, name: str, fields: str) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(HOST_DOC.format(sw=SWITCH, fields=fields))
    return path


def _cli(lab: RunningLab, *args: str) -> list[str]:
    return ["uv", "run", "--project", str(ROOT), "vnettool", *args]


def _env(lab: RunningLab) -> dict[str, str]:
    env = os.environ | lab.env() | {"COLUMNS": "200"}
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    return env


def _start(
    lab: RunningLab, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _cli(lab, *args),
        cwd=cwd,
        env=_env(lab) | (env or {}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out + err


def _switch(lab: RunningLab) -> dict[str, tuple[int | None, bool | None]]:
    """Each host's vSwitch-lock as (MTU, promiscuous), read by a separate inventory pass."""
    with lab.session() as s:
        inv = collect(s)
    return {
        sw.host: (sw.mtu, sw.policy.security.allow_promiscuous)
        for sw in inv.standard_switches
        if sw.name == SWITCH
    }


@pytest.fixture
def small(fresh_lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningLab]:
    """A private lab with vSwitch-lock (MTU 1500, promiscuous off) on each host; this test
    process shares the CLI's home, so it can hold the lock as another run would."""
    lab = fresh_lab(cluster=1, host=2, dvs=0)
    monkeypatch.setenv("VNETTOOL_HOME", lab.env()["VNETTOOL_HOME"])
    base = _doc(tmp_path, "base", "mtu: 1500, security: {promiscuous: false}")
    code, out = _finish(_start(lab, tmp_path, "apply", str(base), "--yes"))
    assert code == 0, out
    yield lab


def _instance(lab: RunningLab) -> str:
    with lab.session() as s:
        return str(s.instance_key)


def test_a_second_run_is_refused_naming_the_first_and_changes_nothing(
    small: RunningLab, tmp_path: Path
) -> None:
    jumbo = _doc(tmp_path, "jumbo", "mtu: 9000")
    before = _switch(small)
    with runlock.hold(_instance(small), "the lab") as me:
        code, out = _finish(_start(small, tmp_path, "apply", str(jumbo), "--yes"))
        assert code == 1, out
        assert "another vnettool run is changing this vCenter" in out
        assert f"pid {me.pid}" in out and me.command in out
        assert "--wait" in out and "nothing was changed" in out
        # addressed another way (localhost, not 127.0.0.1): the same vCenter, the same lock
        other = small.url.replace("127.0.0.1", "localhost")
        assert other != small.url
        code, out = _finish(
            _start(
                small,
                tmp_path,
                "apply",
                str(jumbo),
                "--yes",
                "--server",
                other,
                "--thumbprint",
                small.thumbprint,
                env={"VSPHERE_USER": LAB_USER, "VSPHERE_PASSWORD": LAB_PASSWORD},
            )
        )
        assert code == 1 and f"pid {me.pid}" in out, out
        # a playbook run is refused the same way; its --check (which changes nothing) is not
        play = tmp_path / "play.yml"
        play.write_text(
            "target: {cluster: '*'}\nsteps:\n  - name: jumbo\n    configure:\n"
            f"      standard_switches: [{{name: {SWITCH}, mtu: 9000}}]\n"
        )
        code, out = _finish(_start(small, tmp_path, "run", str(play), "--yes"))
        assert code == 1 and f"pid {me.pid}" in out, out
        code, out = _finish(_start(small, tmp_path, "run", str(play), "--check"))
        assert code == 2, out
    assert _switch(small) == before


def test_wait_starts_once_the_other_run_has_finished(small: RunningLab, tmp_path: Path) -> None:
    jumbo = _doc(tmp_path, "jumbo", "mtu: 9000")
    before = _switch(small)
    with runlock.hold(_instance(small), "the lab"):
        proc = _start(small, tmp_path, "apply", str(jumbo), "--yes", "--wait")
        time.sleep(6)
        assert proc.poll() is None, "--wait must wait while the lock is held"
        assert _switch(small) == before
    code, out = _finish(proc)
    assert code == 0, out
    assert "waiting:" in out and "verified" in out
    assert all(mtu == 9000 for mtu, _ in _switch(small).values())


def _two_at_once(lab: RunningLab, tmp_path: Path, wait: bool, trial: int) -> int:
    """Start two applies on the same switch together; return how many runs lied: exited 0
    while their own change is not in the end state, or were refused yet changed something."""
    mtu = 9000 - trial
    a = _doc(tmp_path, f"a{trial}", f"mtu: {mtu}")
    b = _doc(
        tmp_path, f"b{trial}", f"security: {{promiscuous: {'true' if trial % 2 else 'false'}}}"
    )
    before = _switch(lab)
    extra = ["--wait"] if wait else []
    procs = [_start(lab, tmp_path, "apply", str(p), "--yes", *extra) for p in (a, b)]
    (ca, oa), (cb, ob) = (_finish(p) for p in procs)
    after = _switch(lab)
    mtu_held = all(m == mtu for m, _ in after.values())
    promisc_held = all(p == bool(trial % 2) for _, p in after.values())
    wrong = 0
    for code, out, held, field in ((ca, oa, mtu_held, 0), (cb, ob, promisc_held, 1)):
        if code == 0:
            wrong += not held
        else:
            assert "another vnettool run is changing this vCenter" in out, out
            assert not wait, out
            # refused: its own field is as before (the other run does not touch it)
            wrong += any(after[h][field] != before[h][field] for h in after)
    return wrong


@pytest.mark.parametrize("wait", [True, False], ids=["wait", "no-wait"])
def test_two_applies_at_once_lose_nothing(small: RunningLab, tmp_path: Path, wait: bool) -> None:
    trials = 3
    wrong = sum(_two_at_once(small, tmp_path, wait, t) for t in range(1, trials + 1))
    record(
        FaultRow(
            area="apply",
            fault=f"two applies at once{' (--wait)' if wait else ''}",
            runs=2 * trials,
            outcome="serialised" if wait else "second refused or serialised",
            lost=wrong,
            kind="concurrent",
        )
    )
    assert wrong == 0


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("how", ["pid gone", "pid reused"])
def test_a_killed_runs_lock_is_taken_over(small: RunningLab, tmp_path: Path, how: str) -> None:
    path = runlock.lock_path(_instance(small))
    me = runlock._me("the lab")
    if how == "pid gone":
        stale = me.model_copy(update={"pid": _dead_pid(), "command": "vnettool apply old.yml"})
    else:  # our own PID, but recorded for a process started at another time
        assert me.started is not None
        stale = me.model_copy(update={"started": me.started - 1, "command": "vnettool apply x"})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stale.model_dump_json())
    jumbo = _doc(tmp_path, "jumbo", "mtu: 9000")
    code, out = _finish(_start(small, tmp_path, "apply", str(jumbo), "--yes"))
    assert code == 0, out
    assert "took over the run lock" in out and stale.command in out
    assert all(mtu == 9000 for mtu, _ in _switch(small).values())
    assert path.read_text() == "", "the run released its lock"


def test_appliance_and_rebalance_take_the_lock_too(small: RunningLab, tmp_path: Path) -> None:
    """Every command that changes the vCenter holds the same lock: `appliance deploy` is
    refused like apply; `rebalance` (a daemon) queues behind it instead; a dry run does not."""
    state = tmp_path / "rebalance.json"
    with runlock.hold(_instance(small), "the lab") as me:
        deploy = ROOT / "playbooks" / "appliance-firewall.yml"
        code, out = _finish(_start(small, tmp_path, "appliance", "deploy", str(deploy), "--yes"))
        assert code == 1 and f"pid {me.pid}" in out, out
        assert "another vnettool run is changing this vCenter" in out
        args = ("rebalance", "--once", "--rounds", "1", "--count", "1", "--state", str(state))
        code, out = _finish(_start(small, tmp_path, *args, "--dry-run"))
        assert code == 0 and "waiting:" not in out, out
        proc = _start(small, tmp_path, *args)
        assert proc.stderr is not None
        said = proc.stderr.readline()  # its first word on stderr, however slow it starts
        assert said.startswith("waiting:") and f"pid {me.pid}" in said, said
        time.sleep(2)
        assert proc.poll() is None, "rebalance must wait while another run holds the lock"
        assert not state.exists()
    code, out = _finish(proc)
    assert code == 0, out
    assert state.exists(), out
