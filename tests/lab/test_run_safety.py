"""`vnettool run` has the safety model of `apply`, and `--check` shows what `plan` shows.

- Without --yes and without a terminal to ask on, a playbook that changes vSphere is refused
  before connecting; with a terminal, each changing step prints its plan and asks; "n" leaves
  vSphere unchanged (fresh inventory), "y" applies.
- `run --check FILE` prints the same diff, line for line, as `plan FILE`.
- Under --check, an assert that fails only on hosts that earlier configure steps would change
  is reported as skipped (it depends on pending changes, exit 2); one that fails elsewhere
  fails (exit 1).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningLab
from tests.lab.test_scope import ROOT, changed_hosts, vnettool
from vnettool.inventory import collect

pytestmark = pytest.mark.lab


def vnettool_tty(lab: RunningLab, cwd: Path, answer: str, *args: str) -> tuple[int, str]:
    """Run with a terminal on stdin (so it may ask) and `answer` typed in advance."""
    env = os.environ | lab.env() | {"COLUMNS": "200"}
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    master, slave = pty.openpty()
    try:
        os.write(master, answer.encode())
        proc = subprocess.run(
            ["uv", "run", "--project", str(ROOT), "vnettool", *args],
            cwd=cwd,
            env=env,
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        os.close(slave)
        os.close(master)
    return proc.returncode, proc.stdout + proc.stderr


def _desired(tmp_path: Path, cluster: str, pg: str) -> Path:
    path = tmp_path / f"{pg}.yml"
    path.write_text(
        f"target: {{cluster: {cluster}}}\n"
        f"standard_port_groups: [{{name: {pg}, switch: vSwitch0, vlan: 42}}]\n"
    )
    return path


def test_run_without_yes_needs_a_terminal_and_changes_nothing(
    lab: RunningLab, session: Any, tmp_path: Path
) -> None:
    before = collect(session)
    path = _desired(tmp_path, before.clusters[0].name, "pg-safety-noyes")
    proc = vnettool(lab, tmp_path, "run", str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "confirmation needed; pass --yes" in proc.stderr
    assert "PLAY" not in proc.stdout  # refused before connecting
    assert not changed_hosts(before, collect(session))


def test_run_shows_the_plan_asks_and_no_changes_nothing(
    lab: RunningLab, session: Any, tmp_path: Path
) -> None:
    before = collect(session)
    cluster = before.clusters[1].name
    path = _desired(tmp_path, cluster, "pg-safety-ask")
    code, out = vnettool_tty(lab, tmp_path, "n\n", "run", str(path))
    assert code == 1, out
    assert "+ standard port group pg-safety-ask" in out
    assert "vlan: 42" in out
    assert "apply 4 change(s)?" in out
    assert "cancelled: 4 change(s) not applied" in out
    assert not changed_hosts(before, collect(session))

    code, out = vnettool_tty(lab, tmp_path, "y\n", "run", str(path))
    assert code == 0, out
    assert changed_hosts(before, collect(session)) == {
        h.name for h in before.hosts_in(cluster=cluster)
    }


def test_run_check_prints_the_same_diff_as_plan(
    lab: RunningLab, session: Any, tmp_path: Path
) -> None:
    inv = collect(session)
    path = _desired(tmp_path, inv.clusters[0].name, "pg-safety-diff")
    plan = vnettool(lab, tmp_path, "plan", str(path))
    check = vnettool(lab, tmp_path, "run", "--check", str(path))
    assert plan.returncode == check.returncode == 2, plan.stdout + check.stdout + check.stderr
    assert "pg-safety-diff on " in plan.stdout  # one entry naming its hosts
    assert plan.stdout in check.stdout

    as_json = vnettool(lab, tmp_path, "run", "--check", "--json", str(path))
    planned = json.loads(vnettool(lab, tmp_path, "plan", "--json", str(path)).stdout)
    step = json.loads(as_json.stdout)["steps"][0]
    assert step["plan"]["changes"] == planned["changes"]
