"""The audit's fix plan closes the loop on the seeded audit lab: audit → --fix-plan → plan →
apply → re-audit without the fixed findings, and a second fix plan has nothing left to fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunningLab
from vnettool.vsphere.seed import seed_audit

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VNETTOOL, *args], check=False, env=env, capture_output=True, text=True, timeout=300
    )


def _failing(env: dict[str, str], out: Path, fix: Path) -> set[tuple[str, str]]:
    r = _run(
        env, "audit", "--insecure", "--json", "--fail-on", "never", "--out", str(out),
        "--fix-plan", str(fix),
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    return {(f["rule_id"], f["object"]) for f in doc["findings"] if f["state"] == "FAIL"}


def test_fix_plan_apply_then_reaudit_is_clean(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(scenario="audit")
    with lab.session() as s:  # the simulator only records the scenario: the client seeds it
        seed_audit(s)
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    fix = tmp_path / "fix.yml"
    before = _failing(env, tmp_path / "a.xlsx", fix)
    assert before, "the audit scenario seeds failures"
    text = fix.read_text()
    plan = _run(env, "plan", str(fix), "--insecure")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    applied = _run(env, "apply", str(fix), "--insecure", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _run(env, "plan", str(fix), "--insecure").returncode == 0
    fix2 = tmp_path / "fix2.yml"
    after = _failing(env, tmp_path / "b.xlsx", fix2)
    fixed = before - after
    assert fixed, text
    assert after <= before, after - before
    # every finding still failing is one the fix plan leaves to a person (named in its header)
    for rule, _obj in after:
        assert rule in text, (rule, text)
    second = _run(env, "plan", str(fix2), "--insecure")
    assert second.returncode == 0, second.stdout + second.stderr
