"""`vnettool --fleet`: four labs started by `lab start --fleet 4`, read, audited and planned in
one run, compared with four single runs; a lab stopped mid-run; no password anywhere.

Each test starts its own four small labs (1 cluster x 2 hosts) under its own VNETTOOL_HOME
and stops them at the end, so the tests can run on any xdist worker.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from vnettool.audit.fleet_drift import KINDS
from vnettool.lab.faults import add_fault
from vnettool.lab.runner import Lab

DESIRED = """\
target:
  cluster: DC0_C0
standard_port_groups:
  - name: fleet-test
    switch: vSwitch0
    vlan: 42
"""


@dataclass
class Fleet:
    home: Path
    file: Path
    sites: list[dict[str, Any]]

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VSPHERE_", "GOVC_"))}
        return env | {"VNETTOOL_HOME": str(self.home), "COLUMNS": "200"} | extra

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vnettool", *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def password(self, site: str) -> str:
        data = YAML(typ="safe").load((self.home / "fleet" / site / "credentials.yml").read_text())
        return str(data["password"])

    def single(self, site: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
        """The same command on one lab, the way a user runs it against one vCenter."""
        return self.run(
            *args,
            "--thumbprint",
            site["thumbprint"],
            VSPHERE_SERVER=site["url"],
            VSPHERE_USER="administrator@vsphere.local",
            VSPHERE_PASSWORD=self.password(site["name"]),
        )


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path / "home", tmp_path / "home" / "fleet" / "fleet.yml", [])
    out = f.run("lab", "start", "--fleet", "4", "--clusters", "1", "--hosts", "2", "--vms", "2")
    try:
        assert out.returncode == 0, out.stderr
        f.sites = YAML(typ="safe").load(f.file.read_text())["vcenters"]
        assert [s["name"] for s in f.sites] == ["ams", "fra", "nyc", "sfo"]
        yield f
    finally:
        f.run("lab", "stop")


def _stable(inv: dict[str, Any]) -> dict[str, Any]:
    """An inventory without what differs between two reads of an unchanged vCenter."""
    return {k: v for k, v in inv.items() if k not in ("collected_at", "version")}


def _findings(audit: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((f["finding_id"], f["state"], f["actual"] or "") for f in audit["findings"])


def test_fleet_results_equal_four_single_runs(fleet: Fleet, tmp_path: Path) -> None:
    desired = tmp_path / "desired.yml"
    desired.write_text(DESIRED)
    inv = fleet.run("--fleet", str(fleet.file), "inventory", "--json")
    audit = fleet.run(
        "--fleet", str(fleet.file), "audit", "--json", "--out", str(tmp_path / "f.xlsx")
    )
    plan = fleet.run("--fleet", str(fleet.file), "plan", str(desired), "--json")
    # audit: 2, each site's seeded trunk port group is a SEC-09 finding (high)
    assert (inv.returncode, audit.returncode, plan.returncode) == (0, 2, 2), audit.stderr
    inv_doc, audit_doc, plan_doc = (json.loads(p.stdout) for p in (inv, audit, plan))
    kinds = {d["kind"] for d in inv_doc["drift"]}
    assert kinds == set(KINDS)
    for site in fleet.sites:
        name = site["name"]
        single_inv = json.loads(fleet.single(site, "inventory", "--json").stdout)
        assert _stable(inv_doc["vcenters"][name]["result"]) == _stable(single_inv)
        assert single_inv["datacenters"][0]["name"] == f"{name}-DC0"
        single_audit = fleet.single(site, "audit", "--json", "--out", str(tmp_path / "s.xlsx"))
        assert _findings(audit_doc["vcenters"][name]["result"]) == _findings(
            json.loads(single_audit.stdout)
        )
        single_plan = fleet.single(site, "plan", str(desired), "--json")
        assert single_plan.returncode == 2
        assert plan_doc["vcenters"][name]["result"] == json.loads(single_plan.stdout)
    _check_workbook(tmp_path / "f.xlsx")


def _check_workbook(path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames[:3] == ["Summary", "FleetDrift", "Findings"]
    summary = list(wb["Summary"].iter_rows(values_only=True))
    assert [r[0] for r in summary[1:]] == ["ams", "fra", "nyc", "sfo"]
    for ws in wb.worksheets[2:]:
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0] == "vCenter", ws.title
        assert {r[0] for r in rows[1:]} <= {"ams", "fra", "nyc", "sfo"}, ws.title
    vnic = list(wb["vNIC"].iter_rows(values_only=True))
    assert {r[0] for r in vnic[1:]} == {"ams", "fra", "nyc", "sfo"}


def test_a_lab_stopped_mid_run_fails_alone(fleet: Fleet) -> None:
    fra = Lab(fleet.home / "fleet" / "fra")
    add_fault("RetrievePropertiesEx", "delay", delay_ms=60_000, count=0, lab=fra)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnettool", "--fleet", str(fleet.file), "inventory", "--json"],
        env=fleet.env(VNETTOOL_RETRY_BUDGET="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(8)  # the four children are connected; fra's is waiting on its delayed read
    assert proc.poll() is None
    assert fra.stop()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 4, err
    doc = json.loads(out)["vcenters"]
    assert doc["fra"]["status"] == "failed" and doc["fra"]["error"]
    for name in ("ams", "nyc", "sfo"):
        assert doc[name]["status"] == "ok"
        assert len(doc[name]["result"]["hosts"]) == 2


def _argv_watch(stop: threading.Event, seen: list[bytes]) -> None:
    """Every process's argument list, read over and over while the fleet runs."""
    while not stop.is_set():
        for p in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                seen.append(p.read_bytes())
            except OSError:
                continue
        time.sleep(0.05)


def test_no_password_in_output_files_or_argv(fleet: Fleet, tmp_path: Path) -> None:
    secrets = [fleet.password(s["name"]) for s in fleet.sites]
    assert all(len(s) >= 20 for s in secrets)
    desired = tmp_path / "desired.yml"
    desired.write_text(DESIRED)
    out = tmp_path / "out"
    out.mkdir()
    stop, argv = threading.Event(), []  # type: ignore[var-annotated]
    watcher = threading.Thread(target=_argv_watch, args=(stop, argv))
    watcher.start()
    try:
        runs = [
            fleet.run("--fleet", str(fleet.file), "inventory", "--save", str(out / "inv.json")),
            fleet.run(
                "--fleet", str(fleet.file), "-v", "-v", "audit", "--out", str(out / "a.xlsx")
            ),
            fleet.run("--fleet", str(fleet.file), "plan", str(desired), "--json"),
            fleet.run("--fleet", str(fleet.file), "apply", str(desired), "--yes"),
            fleet.run("fleet", "merge", str(out / "inv.json"), "--out", str(out / "m.xlsx")),
        ]
    finally:
        stop.set()
        watcher.join()
    assert [r.returncode for r in runs] == [0, 2, 2, 0, 2], runs[3].stderr
    assert any(b"vnettool" in a and b"--thumbprint" in a for a in argv)  # children were seen
    texts = [r.stdout + r.stderr for r in runs]
    texts += [_file_text(p) for p in out.iterdir()]
    texts += [
        _file_text(p)
        for p in fleet.home.rglob("*")
        if p.is_file() and p.name not in ("credentials.yml", "profile.json")
    ]
    for secret in secrets:
        assert not any(secret in t for t in texts)
        assert not any(secret.encode() in a for a in argv)


def _file_text(p: Path) -> str:
    if p.suffix == ".xlsx":
        with zipfile.ZipFile(p) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return re.sub(r"\s+", " ", p.read_bytes().decode("utf-8", "replace"))
