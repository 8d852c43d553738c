"""Mesh probe of a 32-host cluster: wall time against the serial sum of the probes.

Starts a private lab (1 cluster x 32 hosts), lets pings take as long as on ESXi
(time_scale 1: (count-1) x interval + RTT), probes the 32 x 31 = 992 host pairs with
1, 4, 8 and 16 workers and prints wall time, the serial sum of the probe durations and
their ratio (the speed-up; the target is >= 6x with 8 workers).
Run: uv run python tests/bench/bench_mesh.py [--hosts 32] [--count 2] [--interval 0.2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.meshlab import mesh_lab
from vnettool.lab.netem import set_netem
from vnettool.latency.probe import mesh
from vnettool.models.latency import PingSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=32)
    ap.add_argument("--count", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 4, 8, 16])
    args = ap.parse_args()
    with mesh_lab(args.hosts) as ml:
        eps, skipped, esx = ml.endpoints, ml.skipped, ml.esx
        set_netem(eps[0].host, rtt_ms=2.0, lab=ml.lab)
        spec = PingSpec(count=args.count, interval_s=args.interval, wait_s=1.0)

        def ping(src, target, sp):  # type: ignore[no-untyped-def]
            return esx.ping(src.host_moref, target, sp)

        print(
            f"mesh of {len(eps)} hosts ({len(eps) * (len(eps) - 1)} probes, "
            f"count={args.count}, interval={args.interval}s, ARP warm-up each); "
            f"skipped {len(skipped)}"
        )
        print(f"{'workers':>7} {'wall s':>8} {'serial s':>9} {'speed-up':>9} {'per probe ms':>13}")
        for w in args.workers:
            m = mesh(ping, eps, spec, workers=w)
            bad = sum(1 for x in m.samples if not x.ok)
            print(
                f"{w:>7} {m.wall_s:>8.2f} {m.serial_s:>9.2f} "
                f"{m.serial_s / m.wall_s:>8.1f}x {1000 * m.serial_s / len(m.cells):>13.1f}"
                + (f"  ({bad} failed)" if bad else "")
            )


if __name__ == "__main__":
    main()
