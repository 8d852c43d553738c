"""Issue 28 item 6: live and drift output with names, from the user's entry points.

A VLAN changed by another client (plain pyVmomi) shows in `inventory --watch` as
"DC0_C0_H1 port group VM Network VLAN 0 → 122" (not `host-60: config.network`); `vnettool
drift SNAP.json` prints the difference like a grouped plan, with who made it; `inventory
--neighbors` puts CDP/LLDP in the table.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")


def _env(lab: RunningLab, width: int = 80) -> dict[str, str]:
    env = os.environ | lab.env() | {"COLUMNS": str(width)}
    env.pop("VSPHERE_SERVER", None)
    return env


def _cli(lab: RunningLab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VNETTOOL, *args], env=_env(lab), capture_output=True, text=True, timeout=120, check=False
    )


def _set_vlan(lab: RunningLab, hosts: list[str], vlan: int, pg: str = "VM Network") -> None:
    """Another client's change, made with plain pyVmomi."""
    with lab.session() as s:
        content = s.si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
        try:
            for h in view.view:
                if h.name not in hosts:
                    continue
                ns = h.configManager.networkSystem
                spec = next(p for p in ns.networkInfo.portgroup if p.spec.name == pg).spec
                spec.vlanId = vlan
                ns.UpdatePortGroup(pg, spec)
        finally:
            view.DestroyView()


def test_drift_since_a_snapshot_prints_like_a_grouped_plan(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=1, host=3, vm=2)
    snap = tmp_path / "snap.json"
    saved = _cli(lab, "inventory", "--save", str(snap))
    assert saved.returncode == 0, saved.stderr
    none = _cli(lab, "drift", str(snap))
    assert none.returncode == 0, none.stderr
    assert "no drift since" in none.stdout

    _set_vlan(lab, ["DC0_C0_H0", "DC0_C0_H1"], 121)
    r = _cli(lab, "drift", str(snap))
    assert r.returncode == 2, r.stderr
    assert "~ port group VM Network on 2 hosts DC0_C0_H[0-1]" in r.stdout
    assert re.search(r"    VLAN: 0 → 121  \(by \S+\)", r.stdout), r.stdout
    assert "Drift: 0 added, 2 changed, 0 removed" in r.stdout
    per_host = _cli(lab, "drift", str(snap), "--per-host")
    assert per_host.stdout.count("~ port group VM Network on DC0_C0_H") == 2
    as_json = json.loads(_cli(lab, "drift", str(snap), "--json").stdout)
    assert {(d["object"], d["field"], d["before"], d["after"]) for d in as_json} == {
        ("DC0_C0_H0/VM Network", "vlan_id", "0", "121"),
        ("DC0_C0_H1/VM Network", "vlan_id", "0", "121"),
    }
    bad = _cli(lab, "drift", str(tmp_path / "missing.json"))
    assert bad.returncode == 1 and "missing.json" in bad.stderr


def test_watch_prints_host_object_and_values(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=1, host=3, vm=2)
    proc = subprocess.Popen(
        [VNETTOOL, "inventory", "--watch"],
        env=_env(lab),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "watching for changes" in line:
                break
        time.sleep(1.0)
        _set_vlan(lab, ["DC0_C0_H1"], 122)
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "VLAN 0 → 122" in line:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    seen = [x for x in lines if "→" in x]
    assert seen, "".join(lines)
    assert re.fullmatch(r"\d\d:\d\d:\d\d ~ DC0_C0_H1 port group VM Network VLAN 0 → 122\n", seen[0])
    assert not any(re.search(r"host-\d+:", x) for x in lines)


def test_neighbors_are_in_the_table(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    r = _cli(lab, "inventory", "--neighbors")
    assert r.returncode == 0, r.stderr
    assert "CDP/LLDP neighbours" in r.stdout
    rows = [x for x in r.stdout.splitlines() if re.match(r" DC0_C0_H\d +│ vmnic\d", x)]
    assert len(rows) == 12  # 2 hosts x 6 pNICs, one row each: CDP and LLDP agree
    assert all("CDP, LLDP" in x for x in rows)
    assert all(len(x) <= 80 for x in r.stdout.splitlines())


def test_lab_start_with_another_topology_warns(fresh_lab: Callable[..., RunningLab]) -> None:
    """Issue 28 item 11: a second `lab start` reuses the running lab; asked for another
    topology (or a scenario), it says so instead of silently running on another estate."""
    from vnettool.cli.lab import topology_differences
    from vnettool.lab.runner import Topology

    lab = fresh_lab(cluster=1, host=3, vm=2)
    same = _cli(lab, "lab", "start", "--clusters", "1", "--hosts", "3", "--vms", "2")
    assert same.returncode == 0 and "already running" in same.stdout
    assert "warning" not in same.stderr
    other = _cli(lab, "lab", "start", "--hosts", "8", "--scenario", "audit")
    assert other.returncode == 0 and "already running" in other.stdout
    flat = " ".join(other.stderr.split())
    assert "--clusters 2 (running: 1), --hosts 8 (running: 3)" in flat
    assert "--scenario audit was not seeded" in flat
    assert str(lab.state.pid) in other.stdout  # the same simulator, not restarted
    assert topology_differences(Topology(host=3), {"host": 3, "cluster": 2}) == []
