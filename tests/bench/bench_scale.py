"""The three scale benchmarks of docs/performance.md in one command, with the machine and
its load average printed next to each, since on a shared machine a figure means little
without the load it was taken under.

1. read: `bench_inventory.py` at 1,000 hosts / 10,000 VMs — the floor (requests, bytes read,
   nothing parsed), plain pyVmomi, vnettool's reader, the Go peer (govmomi, built if absent),
   ratios to the floor and pyVmomi, identical inventories
2. live: the same script's `watch` — one change, then 100 in one poll: client CPU each
3. plan/apply: `bench_plan_scale.py` — 100 port groups on 32, 128, 256 hosts: growth per
   change, then applied at 256 hosts with bounded concurrency and proven by a re-read

Run (every lab here is over 64 hosts):
    flock /tmp/heavy.lock uv run python tests/bench/bench_scale.py [--hosts 1000 --vms 10000 --dv-portgroups 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} CPUs)"


def step(title: str, argv: list[str]) -> None:
    print(f"\n### {title} — {time.strftime('%H:%M:%S')}, {load()}", flush=True)
    subprocess.run([sys.executable, *argv], check=True, cwd=HERE.parents[1])
    print(f"### done {time.strftime('%H:%M:%S')}, {load()}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--vms", type=int, default=10000)
    ap.add_argument("--dv-portgroups", type=int, default=200)
    ap.add_argument("--plan-sizes", default="32,128,256")
    ap.add_argument("--portgroups", type=int, default=100)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    size = f"{args.hosts}x{args.vms}x{args.dv_portgroups}"
    step(
        "read and live refresh",
        [
            str(HERE / "bench_inventory.py"),
            "--sizes", size,
            "--methods", "floor,pyvmomi,fast,fastgc,go,watch",
            "--repeat", str(args.repeat),
        ],
    )  # fmt: skip
    step(
        "plan and apply",
        [
            str(HERE / "bench_plan_scale.py"),
            "--sizes", args.plan_sizes,
            "--portgroups", str(args.portgroups),
            "--workers", str(args.workers),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
