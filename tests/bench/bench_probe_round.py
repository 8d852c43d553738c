"""One `latency probe` round of a 32-host cluster: before and after bounded concurrency.

Issue 28 item 2: the round took ~50 s for 992 probes (8 probes in flight, handed out
source-major). The round now keeps up to --workers (32) probes in flight across hosts and at
most --per-host (2) involving any one host, handed out in rounds that touch every host once.
This script starts a private lab (1 cluster x 32 hosts, one host slow), lets pings take as
long as on ESXi (time_scale 1: (count-1) x interval + RTT, the CLI's count 3 / interval 0.2 s)
and runs the same mesh with each setting; it prints wall time, the serial sum of the probe
durations, the peak number of probes on one host and the ratio to the old setting.
Run: flock /tmp/heavy.lock uv run python tests/bench/bench_probe_round.py [--hosts 32]
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.meshlab import mesh_lab
from vnettool.lab.netem import set_netem
from vnettool.latency.probe import Endpoint, critical, mesh
from vnettool.models.latency import PingResult, PingSpec

SETTINGS = [  # (label, workers, per_host)
    ("before: 8 in flight, no per-host bound", 8, 0),
    ("after: 32 in flight, 2 per host (default)", 32, 2),
    ("64 in flight, 4 per host", 64, 4),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=32)
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--interval", type=float, default=0.2)
    args = ap.parse_args()
    with mesh_lab(args.hosts) as ml:
        eps, esx = ml.endpoints, ml.esx
        set_netem(eps[3].host, rtt_ms=12.0, lab=ml.lab)
        spec = PingSpec(count=args.count, interval_s=args.interval, wait_s=1.0)
        busy: dict[str, int] = {}
        peak: dict[str, int] = {}
        lock = threading.Lock()

        def ping(src: Endpoint, target: str, sp: PingSpec) -> PingResult:
            dst = next(e.host for e in eps if e.ip == target)
            with lock:
                for h in (src.host, dst):
                    busy[h] = busy.get(h, 0) + 1
                    peak[h] = max(peak.get(h, 0), busy[h])
            try:
                return esx.ping(src.host_moref, target, sp)
            finally:
                with lock:
                    for h in (src.host, dst):
                        busy[h] -= 1

        n = len(eps)
        print(
            f"one probe round of {n} hosts: {n * (n - 1)} probes, count={args.count}, "
            f"interval={args.interval} s, ARP warm-up each; {eps[3].host} at 12 ms"
        )
        print(
            f"{'setting':<44} {'wall s':>7} {'serial s':>9} {'speed-up':>9} "
            f"{'max/host':>8} {'vs before':>9} {'critical':>8}"
        )
        first = None
        for label, workers, per_host in SETTINGS:
            peak.clear()
            m = mesh(ping, eps, spec, workers=workers, per_host=per_host)
            first = first or m.wall_s
            print(
                f"{label:<44} {m.wall_s:>7.1f} {m.serial_s:>9.1f} "
                f"{m.serial_s / m.wall_s:>8.1f}x {max(peak.values()):>8} "
                f"{first / m.wall_s:>8.1f}x {len(critical(m, 10.0)):>8}"
            )


if __name__ == "__main__":
    main()
