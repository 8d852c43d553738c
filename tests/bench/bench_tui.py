"""The TUI at estate scale: how long the app takes to show, expand and filter 1,000 hosts.

Starts a lab (default 10 clusters x 100 hosts, 10,000 VMs), saves its inventory, then drives
the real app headless (`App.run_test`, read-only over the snapshot) and prints: the index
build (what every live update costs off the UI thread), first screen, expanding a cluster,
and a filter from keystroke to hits, with the same figures at 32 hosts as the baseline.
Run: uv run python tests/bench/bench_tui.py [--clusters 10] [--hosts 100] [--vms 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from tests.bench.bench_apply import session_for
from vnettool.inventory import collect
from vnettool.lab.runner import Lab, Topology
from vnettool.models.inventory import Inventory
from vnettool.tui.app import VnetApp
from vnettool.tui.model import NetIndex
from vnettool.tui.network import NetworkPane


def snapshot(tmp: Path, clusters: int, hosts: int, vms: int) -> Inventory:
    lab = Lab(tmp / f"lab-{clusters}-{hosts}")
    state, _ = lab.start(Topology(cluster=clusters, host=hosts, vm=vms, dvs=1))
    try:
        with session_for(state.url) as s:
            return collect(s)
    finally:
        lab.stop()


async def drive(inv: Inventory) -> dict[str, float]:
    out: dict[str, float] = {}
    t = time.perf_counter()
    NetIndex.build(inv)
    out["index build"] = time.perf_counter() - t
    app = VnetApp(inventory=inv, source="bench")
    t = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        out["first screen"] = time.perf_counter() - t
        pane = app.query_one(NetworkPane)
        t = time.perf_counter()
        await pilot.press("down", "right")  # open the first cluster
        await pilot.pause()
        out["expand a cluster"] = time.perf_counter() - t
        host = inv.hosts[len(inv.hosts) // 2].name
        t = time.perf_counter()
        pane.query_one("#net-filter").value = host  # type: ignore[attr-defined]
        deadline = time.monotonic() + 60
        while (
            not any(host in str(n.label) for n in pane.net_tree.root.children)
            and time.monotonic() < deadline
        ):
            await pilot.pause(0.01)
            if any(host in str(n.label) for n in _walk(pane.net_tree.root)):
                break
        out["filter to hits"] = time.perf_counter() - t
    return out


def _walk(node: object) -> list[object]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(getattr(n, "children", []))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=10)
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--vms", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = snapshot(Path(tmp), 1, 32, 64)
        big = snapshot(Path(tmp), args.clusters, args.hosts, args.vms)
    base, large = asyncio.run(drive(small)), asyncio.run(drive(big))
    print(f"{'':18} {len(small.hosts):>6} hosts {len(big.hosts):>6} hosts  ratio")
    for k in base:
        print(
            f"{k:18} {base[k] * 1000:8.0f} ms {large[k] * 1000:8.0f} ms {large[k] / base[k]:6.1f}x"
        )
    print(f"({len(big.vms)} VMs, {len(big.standard_port_groups)} standard port groups)")


if __name__ == "__main__":
    main()
