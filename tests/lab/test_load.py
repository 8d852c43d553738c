"""Load: 8 concurrent `vnettool apply --wait` processes with disjoint desired states against one
lab. One run changes a vCenter at a time (the run lock): the others wait their turn.

Every process must succeed and every change must be there afterwards (no lost updates: the
DV port groups all go through the one DVS, whose configVersion changes under each of them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunningLab
from tests.lab.conftest import FaultRow, record
from vnettool.engine import plan
from vnettool.inventory.collect import collect
from vnettool.models.desired import DesiredState

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
N = 8


def _doc(i: int) -> dict[str, object]:
    return {
        "target": {"cluster": "DC0_C0"},
        "standard_port_groups": [{"name": f"pg-load-{i}", "switch": "vSwitch0", "vlan": 1100 + i}],
        "distributed_port_groups": [{"name": f"dvpg-load-{i}", "switch": "DVS0", "vlan": 1200 + i}],
    }


def test_eight_concurrent_applies_lose_nothing(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    env = os.environ | lab.env() | {"COLUMNS": "200"}
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    files = []
    for i in range(N):
        f = tmp_path / f"d{i}.yml"
        f.write_text(json.dumps(_doc(i)))
        files.append(f)
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [VNETTOOL, "apply", str(f), "--yes", "--insecure", "--wait"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    elapsed = time.monotonic() - t0
    failed = [(i, o) for i, (p, o) in enumerate(zip(procs, outs, strict=True)) if p.returncode]
    assert failed == [], failed
    with lab.session(insecure=True, thumbprint=None) as s:
        inv = collect(s)
        left = sum(len(plan(DesiredState.model_validate(_doc(i)), inv).changes) for i in range(N))
    names = {p.name for p in inv.standard_port_groups} | {
        p.name for p in inv.distributed_port_groups
    }
    assert {f"pg-load-{i}" for i in range(N)} <= names
    assert {f"dvpg-load-{i}" for i in range(N)} <= names
    assert left == 0
    print(f"{N} concurrent applies in {elapsed:.1f} s")
    record(
        FaultRow(
            "load",
            f"{N} concurrent apply processes (--wait)",
            N,
            f"all ok in {elapsed:.0f} s",
            left,
            kind="concurrent",
        )
    )
