"""`vnettool run` against the lab: the examples under --check, recap, exit codes, JSON.

The CLI runs as a subprocess (`uv run vnettool ...`) pointed at the worker's lab, exactly as
CI and users run it. Examples whose step kinds are not in this build must be *rejected* (exit
1, one "not available yet" error per such step) rather than half-run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningLab
from vnettool.inventory import collect
from vnettool.models.inventory import Inventory
from vnettool.playbook.kinds import unavailable_reason
from vnettool.playbook.steps import STEP_KINDS

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "playbooks").glob("*.yml"))

pytestmark = pytest.mark.lab


def vnettool(lab: RunningLab, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    return subprocess.run(
        ["uv", "run", "--project", str(ROOT), "vnettool", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def kinds_in(path: Path) -> set[str]:
    text = path.read_text()
    return {k for k in STEP_KINDS if f"\n    {k}:" in text or f"\n  - {k}:" in text}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_passes_check_on_the_lab(
    lab: RunningLab, fresh_lab: Any, tmp_path: Path, example: Path
) -> None:
    if "appliance" in kinds_in(example):  # needs the template it clones: a private lab
        from vnettool.lab.control import request

        lab = fresh_lab()
        request(lab.lab, "POST", "template", {"name": "fw-template"})
    proc = vnettool(lab, tmp_path, "run", str(example), "--check", "--json")
    missing = {k for k in kinds_in(example) if unavailable_reason(k)}
    out = json.loads(proc.stdout)
    if missing:
        assert proc.returncode == 1, proc.stderr
        assert out["valid"] is False
        assert {e["message"] for e in out["errors"]} == {
            f"step kind {k!r} is not available yet" for k in missing
        }
        return
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr
    assert out["recap"]["failed"] == 0, out
    assert out["steps"], "an example runs at least one step"
    assert out["exit_code"] == proc.returncode


def test_assert_failure_lists_hosts_and_exits_1(
    lab: RunningLab, session: object, tmp_path: Path
) -> None:
    inv = collect(session)  # type: ignore[arg-type]
    cluster = inv.clusters[0].name
    hosts = sorted(h.name for h in inv.hosts_in(cluster=cluster))
    pb = tmp_path / "vlan.yml"
    pb.write_text(
        f"target: {{cluster: {cluster}}}\n"
        "steps:\n"
        "  - name: management on 77\n"
        "    assert: {that: [{portgroup: {name: Management Network, vlan: '${vlan}'}}]}\n"
        "  - name: never reached\n"
        "    snapshot: {path: never.json}\n"
    )
    proc = vnettool(lab, tmp_path, "run", str(pb), "--var", "vlan=77", "--json")
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    first, second = out["steps"]
    assert first["status"] == "failed"
    assert sorted(d.split(":")[0] for d in first["details"]) == hosts
    assert all("expected 77" in d for d in first["details"])
    assert second["status"] == "skipped"
    assert not (tmp_path / "never.json").exists()


def test_snapshot_matches_a_fresh_collect(lab: RunningLab, session: object, tmp_path: Path) -> None:
    pb = tmp_path / "snap.yml"
    pb.write_text("steps:\n  - snapshot: {path: reports/inv.json}\n")
    proc = vnettool(lab, tmp_path, "run", str(pb))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RECAP ok=1" in proc.stdout
    saved = Inventory.load(tmp_path / "reports" / "inv.json")
    fresh = collect(session)  # type: ignore[arg-type]
    assert {h.name for h in saved.hosts} == {h.name for h in fresh.hosts}
    assert {p.ident() for p in saved.standard_port_groups} == {
        p.ident() for p in fresh.standard_port_groups
    }


def test_inventory_checks_reject_a_misspelled_cluster_before_running(
    lab: RunningLab, session: object, tmp_path: Path
) -> None:
    inv = collect(session)  # type: ignore[arg-type]
    real = inv.clusters[0].name
    typo = real[:-1] + "X"
    pb = tmp_path / "typo.yml"
    pb.write_text(
        "steps:\n  - snapshot: {path: s.json}\n"
        f"  - assert:\n      scope: {{cluster: {typo}}}\n      that: [{{hosts: {{min: 1}}}}]\n"
    )
    proc = vnettool(lab, tmp_path, "run", str(pb))
    assert proc.returncode == 1
    assert f"typo.yml:4:24: cluster {typo!r} matches nothing in the inventory" in proc.stderr
    assert "did you mean" in proc.stderr
    assert not (tmp_path / "s.json").exists(), "no step runs until the whole playbook validates"


def test_check_mode_writes_nothing_and_outputs_stay_in_the_reports_directory(
    lab: RunningLab, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    pb = work / "out.yml"
    pb.write_text(
        "steps:\n  - snapshot: {path: reports/inv.json}\n  - audit: {out: reports/audit.xlsx}\n"
    )
    proc = vnettool(lab, work, "run", str(pb), "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "would save" in proc.stdout and "--check writes nothing" in proc.stdout
    assert list(work.iterdir()) == [pb], "check mode wrote a file"

    for bad in ("../victim.txt", str(victim)):
        pb.write_text(f"steps:\n  - snapshot: {{path: '{bad}'}}\n")
        proc = vnettool(lab, work, "run", str(pb))
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "outside the reports directory" in " ".join(proc.stdout.split())
        assert victim.read_text() == "keep me\n"
    # a link inside reports/ pointing out of it is resolved first, and refused too
    (work / "reports").mkdir()
    (work / "reports" / "out").symlink_to(tmp_path)
    pb.write_text("steps:\n  - snapshot: {path: reports/out/victim.txt}\n")
    proc = vnettool(lab, work, "run", str(pb))
    assert proc.returncode == 1 and victim.read_text() == "keep me\n"
    # an explicit --out moves the directory the playbook may write to
    pb.write_text(f"steps:\n  - snapshot: {{path: '{tmp_path}/elsewhere/inv.json'}}\n")
    proc = vnettool(lab, work, "run", str(pb), "--out", str(tmp_path / "elsewhere"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Inventory.load(tmp_path / "elsewhere" / "inv.json").hosts
