"""Distributed switching: DV port group + PVLAN creation and vSS->vDS migration rollout times.

On a private lab of H hosts (all members of DVS0 with vmnic2/vmnic3): (1) a PVLAN map and P DV
port groups created, then removed; (2) every host's vMotion and management VMkernel adapters
moved to DV port groups and back, with batch sizes 1 host, 4 hosts and all hosts (8 workers).
Each once against the lab directly and once behind a relay adding --latency-ms per request.
Run: uv run python tests/bench/bench_dvs.py [--hosts 32] [--portgroups 40] [--latency-ms 25]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_apply import session_for

from vnettool.engine import apply, plan
from vnettool.inventory import collect
from vnettool.lab.runner import Lab, Topology
from vnettool.models.desired import DesiredState
from vnettool.vsphere.connection import Session


def timed(s: Session, doc: dict[str, Any], workers: int = 8) -> tuple[float, int]:
    p = plan(DesiredState.model_validate(doc), collect(s))
    t = time.perf_counter()
    results = apply(p, s, workers=workers)
    elapsed = time.perf_counter() - t
    bad = [r for r in results if not r.changed]
    if bad:
        raise SystemExit(f"{len(bad)} changes failed: {bad[0].change.id}: {bad[0].error}")
    return elapsed, len(results)


def run(url: str, hosts: int, portgroups: int, latency_ms: int) -> None:
    proxy = via = None
    if latency_ms:
        relay = Path(__file__).with_name("latency_proxy.py")
        proxy = subprocess.Popen(
            [sys.executable, str(relay), url.split("://", 1)[1].split("/", 1)[0], str(latency_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proxy.stdout is not None
        via = int(proxy.stdout.readline())
    where = f"lab + {latency_ms} ms per request" if latency_ms else "lab, direct"
    try:
        with session_for(url, via) as s:
            pgs = [
                {
                    "name": f"dvpg-{i:02d}",
                    "switch": "DVS0",
                    "pvlan": 101 + i % 3,
                    "ingress_shaping": {"average_kbps": 10000 + i},
                }
                for i in range(portgroups)
            ]
            create = {
                "pvlans": [
                    {"switch": "DVS0", "primary": 100, "isolated": 101, "community": [102, 103]}
                ],
                "distributed_port_groups": pgs,
            }
            remove = {
                "absent": {
                    "distributed_port_groups": [p["name"] for p in pgs],
                    "pvlans": [{"switch": "DVS0", "primary": 100}],
                }
            }
            t1, n1 = timed(s, create)
            t2, n2 = timed(s, remove)
            print(f"{where}: {hosts} hosts")
            print(
                f"  PVLAN map + {portgroups} DV port groups: {n1} changes in {t1:.2f} s; removed ({n2}) in {t2:.2f} s"
            )
            base = {
                "distributed_port_groups": [
                    {"name": "dv-mgmt", "switch": "DVS0"},
                    {"name": "dv-vmotion", "switch": "DVS0"},
                ]
            }
            timed(s, base)
            for batch in (1, 4, hosts):
                there = {
                    "migrations": {
                        "batch": batch,
                        "vmkernel_adapters": [
                            {"from_portgroup": "vMotion", "to_portgroup": "dv-vmotion"},
                            {"from_portgroup": "Management Network", "to_portgroup": "dv-mgmt"},
                        ],
                    }
                }
                back = {
                    "migrations": {
                        "batch": batch,
                        "vmkernel_adapters": [
                            {"from_portgroup": "dv-vmotion", "to_portgroup": "vMotion"},
                            {"from_portgroup": "dv-mgmt", "to_portgroup": "Management Network"},
                        ],
                    }
                }
                ta, na = timed(s, there)
                tb, _ = timed(s, back)
                print(
                    f"  migrate {na} vmknics, batch {batch:>2} hosts: {ta:6.2f} s (back {tb:6.2f} s)"
                )
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=32)
    ap.add_argument("--portgroups", type=int, default=40)
    ap.add_argument("--latency-ms", type=int, default=25)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(Path(tmp) / "lab")
        state, _ = lab.start(Topology(cluster=1, host=args.hosts, vm=0, dvs=1, pg=0))
        try:
            for latency in (0, args.latency_ms):
                run(state.url, args.hosts, args.portgroups, latency)
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
