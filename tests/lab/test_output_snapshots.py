"""What people read, at 80 and 120 columns, on a 32-host lab: the CLI run as a user runs it
(a subprocess, output piped, COLUMNS set) and compared with reviewed snapshots.

Besides the snapshot, each capture is checked for what the snapshots exist to prevent: a cut
key column (`DC0_C0…`), a line wider than the terminal. Update after an intended change with
`uv run pytest tests/lab/test_output_snapshots.py --snapshot-update` and read the diff.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningLab, _start
from vnettool.lab.runner import Topology

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
WIDTHS = [80, 120]
HOSTS = [f"DC0_C{c}_H{h}" for c in range(2) for h in range(16)]


@pytest.fixture(scope="module")
def lab32(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    running = _start(tmp_path_factory.mktemp("vnettool-home"), Topology(cluster=2, host=16))
    yield running
    running.stop()


def run(lab: RunningLab, width: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | lab.env() | {"COLUMNS": str(width), "LINES": "24"}
    env.pop("VSPHERE_SERVER", None)
    return subprocess.run(
        [VNETTOOL, *args, "--insecure"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def readable(out: str, width: int) -> str:
    """The capture, checked: nothing cut with an ellipsis, no line past the width."""
    assert "…" not in out
    too_wide = [line for line in out.splitlines() if len(line) > width]
    assert not too_wide, too_wide
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_inventory_summary_per_cluster(lab32: RunningLab, width: int, snapshot) -> None:  # type: ignore[no-untyped-def]
    r = run(lab32, width, "inventory")
    assert r.returncode == 0, r.stderr
    assert "32 hosts" in r.stdout
    assert readable(r.stdout, width) == snapshot


@pytest.mark.parametrize("width", WIDTHS)
def test_inventory_hosts_every_name_whole(lab32: RunningLab, width: int, snapshot) -> None:  # type: ignore[no-untyped-def]
    r = run(lab32, width, "inventory", "hosts")
    assert r.returncode == 0, r.stderr
    out = readable(r.stdout, width)
    for h in HOSTS:
        assert f"{h} " in out or f"{h}\n" in out
    assert "10.0.1.16" in out  # a whole IP, not `10.0.1…`
    assert out == snapshot


@pytest.mark.parametrize("width", WIDTHS)
def test_inventory_filtered_kinds(lab32: RunningLab, width: int, snapshot) -> None:  # type: ignore[no-untyped-def]
    outs = []
    for kind in ("switches", "portgroups", "vmknics", "vms"):
        r = run(lab32, width, "inventory", kind, "--filter", "host=DC0_C1_H1*")
        assert r.returncode == 0, r.stderr
        outs.append(readable(r.stdout, width))
    assert "Management Network" in outs[1]
    assert "10.0.1.2 " in outs[2] or "10.0.1.2\n" in outs[2]
    assert "\n".join(outs) == snapshot


def test_inventory_filter_typo_is_a_usage_error_with_a_guess(lab32: RunningLab) -> None:
    r = run(lab32, 80, "inventory", "hosts", "--filter", "clustr=DC0_C1")
    assert r.returncode == 2
    assert "did you mean 'cluster'" in re.sub(r"[\s│]+", " ", r.stderr)
    r = run(lab32, 80, "inventory", "hosts", "--filter", "cluster=DC0_C7", "-o", "json")
    assert r.returncode == 0
    assert r.stdout.strip() == "[]"
    assert "did you mean cluster=DC0_C1" in r.stderr


def test_inventory_json_records_are_filtered(lab32: RunningLab) -> None:
    import json

    r = run(lab32, 80, "inventory", "vmknics", "-o", "json", "-f", "services=vmotion")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 32
    assert {row["device"] for row in rows} == {"vmk1"}


@pytest.mark.parametrize("width", WIDTHS)
def test_plan_grouped_across_hosts(lab32: RunningLab, width: int, snapshot) -> None:  # type: ignore[no-untyped-def]
    example = str(Path(__file__).resolve().parents[2] / "playbooks" / "standard-vmotion.yml")
    grouped = run(lab32, width, "plan", example)
    assert grouped.returncode == 2, grouped.stderr
    out = readable(grouped.stdout, width)
    assert "+ standard port group vmotion-9k on 16 hosts DC0_C0_H[0-15]" in out
    per_host = run(lab32, width, "plan", example, "--per-host")
    assert per_host.returncode == 2, per_host.stderr
    assert per_host.stdout.count("+ standard port group vmotion-9k\n") == 16
    assert len(out.splitlines()) * 3 < len(per_host.stdout.splitlines())
    assert out == snapshot
