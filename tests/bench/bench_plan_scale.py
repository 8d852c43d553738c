"""Plan and apply at scale: P standard port groups on every host, at several lab sizes.

For each size (default 32, 128, 256 hosts; one cluster, no VMs) a lab is started and read,
then the desired state "P port groups on vSwitch0 of every host" (P x hosts changes) is
planned: client CPU and wall seconds, and the plan's peak memory (tracemalloc, in a separate
pass so that tracing does not slow the timed one). The growth from the smallest size is
printed per change, so linear growth reads as ratios near 1.0. On the sizes listed in
--apply (default the largest) the plan is applied through the lab with --workers changes at
once at most, then proven: a separate inventory read plans nothing, and every host has its P
port groups with their VLANs. The port groups are removed again before the lab stops.

Run (labs over 64 hosts: under the machine's heavy-command lock):
    flock /tmp/heavy.lock uv run python tests/bench/bench_plan_scale.py [--sizes 32,128,256]
        [--portgroups 100] [--workers 8] [--apply 256]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_apply import session_for  # noqa: E402
from vnettool.engine import apply, plan  # noqa: E402
from vnettool.inventory import collect  # noqa: E402
from vnettool.lab.runner import Lab, Topology  # noqa: E402
from vnettool.models.desired import DesiredState  # noqa: E402


def desired_states(n: int) -> tuple[DesiredState, DesiredState]:
    pgs = [{"name": f"scale-{i:03d}", "switch": "vSwitch0", "vlan": 100 + i} for i in range(n)]
    create = DesiredState.model_validate({"standard_port_groups": pgs})
    remove = DesiredState.model_validate(
        {"absent": {"standard_port_groups": [p["name"] for p in pgs]}}
    )
    return create, remove


def measure_plan(desired: DesiredState, inv: Any) -> dict[str, Any]:
    c, t = time.process_time(), time.perf_counter()
    p = plan(desired, inv)
    cpu, wall = time.process_time() - c, time.perf_counter() - t
    tracemalloc.start()
    plan(desired, inv)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"plan": p, "changes": len(p.changes), "cpu": cpu, "wall": wall, "peak_mb": peak / 2**20}


def apply_and_prove(s: Any, p: Any, create: DesiredState, n_pgs: int, workers: int) -> str:
    c, t = time.process_time(), time.perf_counter()
    results = apply(p, s, workers=workers)
    cpu, wall = time.process_time() - c, time.perf_counter() - t
    failed = [r for r in results if not r.changed]
    after = collect(s)  # the proof is a separate read, not the apply's own results
    again = plan(create, after)
    want = {f"scale-{i:03d}": 100 + i for i in range(n_pgs)}
    short = [
        h.name
        for h in after.hosts
        if {p.name: p.vlan_id for p in after.portgroups_of(h.name) if p.name in want} != want
    ]
    return (
        f"applied {len(results)} changes with at most {workers} at once in {wall:.1f} s "
        f"({len(results) / wall:.0f} changes/s, client CPU {cpu:.1f} s); failed {len(failed)}; "
        f"re-read: second plan {len(again.changes)} changes, hosts missing port groups "
        f"{len(short)}"
    )


def bench_size(hosts: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    create, remove = desired_states(args.portgroups)
    lab = Lab(work / f"lab-{hosts}")
    lab.start(Topology(cluster=1, host=hosts, vm=0, dvs=0), timeout=3600)
    try:
        with session_for(lab.state().url) as s:  # type: ignore[union-attr]
            inv = collect(s)
            res = measure_plan(create, inv)
            res["hosts"] = len(inv.hosts)
            if hosts in args.apply:
                res["applied"] = apply_and_prove(
                    s, res["plan"], create, args.portgroups, args.workers
                )
                apply(plan(remove, collect(s)), s, workers=args.workers)
            return res
    finally:
        lab.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="32,128,256", help="host counts")
    ap.add_argument("--portgroups", type=int, default=100)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--apply", default="", help="sizes to apply at (default: the largest)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    args.apply = [int(x) for x in args.apply.split(",") if x] or [max(sizes)]
    print(f"plan {args.portgroups} standard port groups on every host, sizes {sizes}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="vnettool-bench-") as tmp:
        for hosts in sizes:
            rows.append(bench_size(hosts, args, Path(tmp)))
            r = rows[-1]
            first = rows[0]
            per = r["cpu"] / r["changes"]
            growth = per / (first["cpu"] / first["changes"])
            mem = (r["peak_mb"] / r["changes"]) / (first["peak_mb"] / first["changes"])
            print(
                f"  {r['hosts']:>4} hosts: {r['changes']:>6} changes planned in "
                f"{r['cpu']:.2f} s CPU ({r['wall']:.2f} s wall), {per * 1e6:.0f} us/change "
                f"(x{growth:.2f} of the {first['hosts']}-host figure); peak "
                f"{r['peak_mb']:.0f} MiB, {r['peak_mb'] * 1024 / r['changes']:.1f} KiB/change "
                f"(x{mem:.2f})"
            )
            if "applied" in r:
                print(f"        {r['applied']}")


if __name__ == "__main__":
    main()
