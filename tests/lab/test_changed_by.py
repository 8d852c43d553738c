"""'Changed by, when' from vCenter's events: a change made by another client (plain pyVmomi)
shows its user and time in the audit's Drift tab and under the change in `inventory --watch`."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.lab.test_audit_cli import VNETTOOL, vnettool
from vnettool.lab.runner import LAB_USER

pytestmark = pytest.mark.lab


def _set_vlan(lab: RunningLab, host: str, vlan: int) -> None:
    with lab.session() as s:
        view = s.content.viewManager.CreateContainerView(
            s.content.rootFolder, [vim.HostSystem], True
        )
        try:
            ns = next(h for h in view.view if h.name == host).configManager.networkSystem
        finally:
            view.DestroyView()
        spec = next(p for p in ns.networkInfo.portgroup if p.spec.name == "VM Network").spec
        spec.vlanId = vlan
        ns.UpdatePortGroup("VM Network", spec)


def test_drift_rows_say_who_changed_the_object_and_when(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    base = tmp_path / "before.json"
    assert vnettool(lab, "inventory", "--save", str(base)).returncode == 0
    _set_vlan(lab, "DC0_C0_H1", 321)
    out = tmp_path / "audit.xlsx"
    proc = vnettool(lab, "audit", "--out", str(out), "--baseline", str(base), "--fail-on", "never")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ws = load_workbook(out)["Drift"]
    head = [c.value for c in ws[1]]
    assert head[-2:] == ["Changed by", "When"]
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    vlan = [r for r in rows if r["Field"] == "vlan_id" and "VM Network" in r["Object"]]
    assert [(r["Object"].split("/")[0], r["After"]) for r in vlan] == [("DC0_C0_H1", "321")]
    assert vlan[0]["Changed by"] == LAB_USER and vlan[0]["When"]


def test_watch_prints_who_made_the_change(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    env["COLUMNS"] = "200"
    proc = subprocess.Popen(
        [VNETTOOL, "inventory", "--watch", "--insecure"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def until(pred: Callable[[str], bool], seconds: float) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            if pred(line):
                return seen
        raise AssertionError("not seen in time:\n" + "".join(seen))

    try:
        until(lambda x: "watching for changes" in x, 120)
        time.sleep(1)  # the watcher's first (initial state) batch
        _set_vlan(lab, "DC0_C0_H0", 123)
        seen = until(lambda x: x.strip().startswith("by ") and LAB_USER in x, 60)
        # the change with names and values (issue 28 item 6), then who made it
        assert any("~ DC0_C0_H0 port group VM Network VLAN 0 → 123" in x for x in seen), seen
        by = next(x for x in seen if x.strip().startswith("by "))
        assert "DC0_C0_H0" in by and "updatePortGroup" in by
    finally:
        proc.terminate()
        proc.wait(timeout=20)
