"""`vnettool audit` as a user runs it, against the lab: names crafted through pyVmomi (another
client) to look like formulas stay text in every tab, headers are RVTools', the file is private,
the default name and the exit codes follow --fail-on, and a baseline gives a Drift tab."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.unit.test_audit_workbook import RVTOOLS
from vnettool.audit.model import at_least

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
EVIL_PG = '=HYPERLINK("http://x","pg")'
EVIL_VM = '=HYPERLINK("x")'
EVIL_DVPG = "+SUM(1,2)"


def _wait(task: Any) -> None:
    while task.info.state not in ("success", "error"):
        time.sleep(0.02)
    if task.info.state == "error":
        raise task.info.error


def _objs(content: Any, kind: type) -> list[Any]:
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return sorted(view.view, key=lambda o: o.name)
    finally:
        view.DestroyView()


def vnettool(
    lab: RunningLab, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    return subprocess.run(
        [VNETTOOL, *args, "--insecure"],
        env=env,
        cwd=cwd,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def craft_names(lab: RunningLab) -> None:
    """A standard port group on every host, a VM and a DV port group renamed to formulas."""
    with lab.session(insecure=True, thumbprint=None) as s:
        content = s.si.RetrieveContent()
        for host in _objs(content, vim.HostSystem):
            host.configManager.networkSystem.AddPortGroup(
                vim.host.PortGroup.Specification(
                    name=EVIL_PG, vswitchName="vSwitch0", vlanId=42, policy=vim.host.NetworkPolicy()
                )
            )
        _wait(_objs(content, vim.VirtualMachine)[0].Rename_Task(EVIL_VM))
        pg = next(
            p for p in _objs(content, vim.dvs.DistributedVirtualPortgroup) if not p.config.uplink
        )
        spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
            name=EVIL_DVPG, configVersion=pg.config.configVersion
        )
        _wait(pg.ReconfigureDVPortgroup_Task(spec))


def test_formula_names_stay_text_with_rvtools_headers_and_drift(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    base = tmp_path / "before.json"
    saved = vnettool(lab, "inventory", "--save", str(base))
    assert saved.returncode == 0, saved.stderr
    craft_names(lab)
    out = tmp_path / "audit.xlsx"
    proc = vnettool(lab, "audit", "--out", str(out), "--baseline", str(base), "--fail-on", "never")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))

    wb = load_workbook(out)
    for tab, want in RVTOOLS.items():
        head = [c.value for c in wb[tab][1]]
        assert head[: len(want)] == want, tab
        assert all(str(h).startswith("x:") for h in head[len(want) :]), tab
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [(c.parent.title, c.coordinate) for c in cells if c.data_type == "f"]
    where: dict[str, set[str]] = {}
    for c in cells:
        if c.value in (EVIL_PG, EVIL_VM, EVIL_DVPG):
            assert c.data_type == "s" and c.quotePrefix, (c.parent.title, c.coordinate)
            where.setdefault(str(c.value), set()).add(c.parent.title)
    assert {"vPort", "PortGroupMatrix"} <= where[EVIL_PG]
    assert "vNetwork" in where[EVIL_VM]
    assert {"dvPort", "PortGroupMatrix"} <= where[EVIL_DVPG]
    drift = {(r[1].value, r[2].value) for r in wb["Drift"].iter_rows(min_row=2)}
    assert (EVIL_VM, "added") in drift
    assert any(obj.endswith(f"/{EVIL_PG}") and ch == "added" for obj, ch in drift)


def test_default_name_json_and_exit_codes_follow_fail_on(lab: RunningLab, tmp_path: Path) -> None:
    proc = vnettool(lab, "audit", "--json", "--fail-on", "never", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    name = Path(report["workbook"])
    assert re.fullmatch(r"vnettool-audit-[A-Za-z0-9_.-]+-\d{8}T\d{6}Z\.xlsx", name.name)
    assert name.parent == Path("reports") and (tmp_path / name).is_file()
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert all(f["state"] != "PASS" for f in report["findings"])
    fails = [f["severity"] for f in report["findings"] if f["state"] == "FAIL"]
    for level in ("critical", "high", "info"):
        expect = 2 if any(at_least(sev, level) for sev in fails) else 0
        run = vnettool(lab, "audit", "--out", str(tmp_path / f"{level}.xlsx"), "--fail-on", level)
        assert run.returncode == expect, (level, run.stdout, run.stderr)
        assert "FAIL" in run.stdout and "workbook written to" in run.stdout  # the summary table
    with_pass = vnettool(
        lab,
        "audit",
        "--json",
        "--include-pass",
        "--fail-on",
        "never",
        "--out",
        "p.xlsx",
        cwd=tmp_path,
    )
    assert any(f["state"] == "PASS" for f in json.loads(with_pass.stdout)["findings"])


def test_bad_fail_on_is_a_usage_error_and_writes_nothing(lab: RunningLab, tmp_path: Path) -> None:
    """A mistyped choice exits 2 like every other usage error (issue 28 item 4), with the
    choices and a guess; nothing is read or written."""
    proc = vnettool(lab, "audit", "--fail-on", "hihg", cwd=tmp_path)
    assert proc.returncode == 2
    flat = " ".join((proc.stderr + proc.stdout).replace("│", " ").split())
    assert "--fail-on" in flat and "Did you mean 'high'?" in flat and "Traceback" not in flat
    assert not (tmp_path / "reports").exists()
