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


def _untimed(out: str) -> str:
    """The one line that changes from run to run: how long the round took."""
    return re.sub(r"probes in [^(]+ \(serial sum [^;]+;", "probes in T (serial sum T;", out)


@pytest.mark.parametrize("width", WIDTHS)
def test_latency_probe_summary_above_eight_hosts(lab32: RunningLab, width: int, snapshot) -> None:  # type: ignore[no-untyped-def]
    """16 hosts per cluster: per-host median / p95 and the worst pairs instead of a 16 x 16
    matrix of cut cells; a path over --crit-ms makes it exit 2 (Nagios CRITICAL)."""
    from vnettool.lab.netem import reset_netem, set_netem, set_time_scale

    set_time_scale(0, lab=lab32.lab)  # the figures, not the waiting, are under test
    set_netem("DC0_C1_H3", rtt_ms=12.0, lab=lab32.lab)
    try:
        r = run(lab32, width, "latency", "probe")
        assert r.returncode == 2, r.stderr
        out = readable(_untimed(r.stdout), width)
        assert re.search(r"DC0_C1_H3\s+│\s+12\.00\s+│", out)  # its median: every path slow
        assert "CRITICAL: 30 path(s) at or above 10 ms or lost" in out
        assert "worst 10 of 240 paths" in out
        healthy = run(lab32, width, "latency", "probe", "--cluster", "DC0_C0", "--crit-ms", "50")
        assert healthy.returncode == 0, healthy.stderr
        matrix = run(lab32, width, "latency", "probe", "--cluster", "DC0_C1", "-o", "matrix")
        assert matrix.returncode == 2
        readable(matrix.stdout, 10_000)  # a 16-column matrix: wide, but no head cut
        assert " 16 DC0_C1_H15 " in matrix.stdout  # numbered columns, names on the rows
    finally:
        reset_netem(lab=lab32.lab)
        set_time_scale(1, lab=lab32.lab)
    assert out == snapshot


def test_latency_probe_json_has_the_matrix_and_summary(lab32: RunningLab) -> None:
    import json

    from vnettool.lab.netem import reset_netem, set_netem, set_time_scale

    set_time_scale(0, lab=lab32.lab)
    set_netem("DC0_C0_H5", rtt_ms=30.0, lab=lab32.lab)
    try:
        r = run(lab32, 80, "latency", "probe", "-c", "DC0_C0", "--json", "--top", "3")
    finally:
        reset_netem(lab=lab32.lab)
        set_time_scale(1, lab=lab32.lab)
    assert r.returncode == 2, r.stderr
    doc = json.loads(r.stdout)
    assert doc["critical_paths"] == 30 and doc["crit_ms"] == 10.0
    c = doc["clusters"]["DC0_C0"]
    assert len(c["matrix_ms"]) == 16 and c["matrix_ms"]["DC0_C0_H0"]["DC0_C0_H5"] == 30.0
    assert c["matrix_ms"]["DC0_C0_H0"]["DC0_C0_H1"] == 0.2
    by = {h["host"]: h for h in c["hosts_summary"]}
    assert by["DC0_C0_H5"]["median_ms"] == 30.0 and by["DC0_C0_H0"]["worst_peer"] == "DC0_C0_H5"
    assert [p["rtt_ms"] for p in c["worst_pairs"]] == [30.0] * 3


@pytest.mark.parametrize("width", WIDTHS)
def test_appliance_status_on_sixteen_hosts(lab32: RunningLab, width: int, snapshot) -> None:  # type: ignore[no-untyped-def]
    """Last in this module: it deploys appliances (the inventory snapshots above are taken
    before). Deployed once, read at both widths."""
    example = str(Path(__file__).resolve().parents[2] / "playbooks" / "appliance-firewall.yml")
    if width == WIDTHS[0]:
        env = os.environ | lab32.env()
        t = subprocess.run(
            [VNETTOOL, "lab", "template", "fw-template"],
            check=False,
            env=env,
            capture_output=True,
            text=True,
        )
        assert t.returncode == 0, t.stderr
        d = run(lab32, width, "appliance", "deploy", example, "--yes", "--json")
        assert d.returncode == 0, d.stderr
        import json

        assert len(json.loads(d.stdout)["results"]) > 16
    r = run(lab32, width, "appliance", "status", example)
    assert r.returncode == 0, r.stderr
    out = readable(r.stdout, width)
    for h in HOSTS[:16]:
        assert f"fw-{h}\n" in out or f"fw-{h} " in out
    assert out == snapshot
