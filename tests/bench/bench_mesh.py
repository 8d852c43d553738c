"""Mesh probe of a 32-host cluster: wall time against the serial sum of the probes.

Starts a private lab (1 cluster x 32 hosts), lets pings take as long as on ESXi
(time_scale 1: (count-1) x interval + RTT), probes the 32 x 31 = 992 host pairs with
1, 4, 8 and 16 workers and prints wall time, the serial sum of the probe durations and
their ratio (the speed-up; the target is >= 6x with 8 workers).
Run: uv run python tests/bench/bench_mesh.py [--hosts 32] [--count 2] [--interval 0.2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from vnettool.inventory.collect import collect
from vnettool.lab.netem import set_netem, set_time_scale
from vnettool.lab.runner import LAB_PASSWORD, LAB_USER, Lab, Topology
from vnettool.latency.probe import endpoints, mesh
from vnettool.models.latency import PingSpec
from vnettool.vsphere.connection import connect
from vnettool.vsphere.credentials import Credentials, parse_server
from vnettool.vsphere.esxcli import Esxcli


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=32)
    ap.add_argument("--count", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 4, 8, 16])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(Path(tmp) / "lab")
        st, _ = lab.start(Topology(dc=1, cluster=1, host=args.hosts, vm=args.hosts, dvs=1, pg=1))
        try:
            set_time_scale(1.0, lab=lab)
            host, port, path, _, _ = parse_server(st.url)
            creds = Credentials(
                host=host,
                port=port,
                path=path,
                user=LAB_USER,
                password=LAB_PASSWORD,
                insecure=True,
                source="bench",
            )  # type: ignore[arg-type]
            with connect(creds) as s:
                inv = collect(s)
                eps, skipped = endpoints(inv)
                set_netem(eps[0].host, rtt_ms=2.0, lab=lab)
                esx = Esxcli(s)
                spec = PingSpec(count=args.count, interval_s=args.interval, wait_s=1.0)

                def ping(src, target, sp):  # type: ignore[no-untyped-def]
                    return esx.ping(src.host_moref, target, sp)

                print(
                    f"mesh of {len(eps)} hosts ({len(eps) * (len(eps) - 1)} probes, "
                    f"count={args.count}, interval={args.interval}s, ARP warm-up each); "
                    f"skipped {len(skipped)}"
                )
                print(
                    f"{'workers':>7} {'wall s':>8} {'serial s':>9} {'speed-up':>9} {'per probe ms':>13}"
                )
                for w in args.workers:
                    m = mesh(ping, eps, spec, workers=w)
                    bad = sum(1 for x in m.samples if not x.ok)
                    print(
                        f"{w:>7} {m.wall_s:>8.2f} {m.serial_s:>9.2f} "
                        f"{m.serial_s / m.wall_s:>8.1f}x {1000 * m.serial_s / len(m.cells):>13.1f}"
                        + (f"  ({bad} failed)" if bad else "")
                    )
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
