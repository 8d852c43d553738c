"""The STIG scenario closes the loop (issue 23's "done when"): on the audit lab plus seeded
STIG violations, the audit finds each violation once with its control ID; `audit --fix-plan`
→ `plan` → `apply` → a re-audit has none of them; a second fix plan fixes nothing.

Seeding is `vnettool lab start --scenario stig` (plain pyVmomi, vnettool/vsphere/seed.py);
everything after it goes through the CLI, as a user would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from vnettool.vsphere.seed import STIG_PROBLEMS

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")

# rule -> the STIG vSphere 8 control its finding must name
STIG_IDS = {
    "SEC-06": "VCSA-80-000268",
    "SEC-13": "VCSA-80-000301",
    "SEC-15": "VCSA-80-000271",
    "SEC-16": "VCSA-80-000300",
    "SEC-19": "ESXI-80-000215",
    "SEC-28": "VMCH-80-000200",
    "SEC-29": "VMCH-80-000203",
}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VNETTOOL, *args], check=False, env=env, capture_output=True, text=True, timeout=600
    )


def _audit(env: dict[str, str], tmp: Path, name: str) -> tuple[list[dict[str, Any]], Path]:
    fix = tmp / f"{name}.yml"
    r = _run(
        env, "audit", "--json", "--fail-on", "never", "--out", str(tmp / f"{name}.xlsx"),
        "--fix-plan", str(fix),
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    return [f for f in json.loads(r.stdout)["findings"] if f["state"] == "FAIL"], fix


def test_stig_scenario_audit_fix_plan_apply_reaudit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = os.environ | {"VNETTOOL_HOME": str(home), "COLUMNS": "250"}  # no wrapped lines
    for k in ("VSPHERE_SERVER", "GOVC_URL"):
        env.pop(k, None)
    started = _run(env, "lab", "start", "--vms", "4", "--scenario", "stig")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        seeded = {
            line.split()[0]: line.rsplit(": ", 1)[1]
            for line in started.stdout.splitlines()
            if line.startswith(("  SEC-", "  HC-"))
        }
        assert set(STIG_PROBLEMS) <= set(seeded), started.stdout
        assert STIG_IDS.keys() == STIG_PROBLEMS.keys()

        # each seeded STIG violation: exactly one FAIL, naming its object and its STIG ID
        fails, fix = _audit(env, tmp_path, "before")
        for rule, stig in STIG_IDS.items():
            hits = [f for f in fails if f["rule_id"] == rule]
            assert len(hits) == 1, (rule, hits)
            assert hits[0]["object"].endswith(seeded[rule]), (rule, hits[0]["object"])
            assert any(stig in c for c in hits[0]["controls"]), (rule, hits[0]["controls"])

        # the fix plan fixes every one of them, and the plan shows it as changes
        doc = YAML(typ="safe").load(fix.read_text())
        fixed_lines = [ln for ln in fix.read_text().splitlines() if ln.startswith("#   ")]
        for rule in STIG_IDS:
            assert any(ln.split()[1] == rule for ln in fixed_lines), (rule, fixed_lines)
        assert doc["absent"]["mirrors"] == [seeded["SEC-16"]]
        planned = _run(env, "plan", str(fix))
        assert planned.returncode == 2, planned.stdout + planned.stderr
        applied = _run(env, "apply", str(fix), "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        again = _run(env, "plan", str(fix))
        assert again.returncode == 0, again.stdout + again.stderr

        # the re-audit has none of them; a second fix plan fixes nothing
        after, fix2 = _audit(env, tmp_path, "after")
        left = [(f["rule_id"], f["object"]) for f in after if f["rule_id"] in STIG_IDS]
        assert left == [], left
        before_ids = {(f["rule_id"], f["object"]) for f in fails}
        assert {(f["rule_id"], f["object"]) for f in after} <= before_ids
        assert "# fixes 0 finding(s):" in fix2.read_text()
        assert YAML(typ="safe").load(fix2.read_text()) == {}  # an empty document
        second = _run(env, "plan", str(fix2))
        assert second.returncode == 0, second.stdout + second.stderr
    finally:
        _run(env, "lab", "stop")
