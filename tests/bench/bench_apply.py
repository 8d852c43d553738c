"""Apply throughput: serial vs concurrent apply of the same plan, on a private lab.

A lab of H hosts gets P standard port groups on every host (H*P AddPortGroup calls); the plan
is applied with 1 worker (serial) and with W workers, the port groups removed in between, and
the times, calls per second and the ratio printed. Also times plan and verify (collect+plan).

Two rows: the lab directly (a call costs ~1 ms, so the client's own CPU — pyVmomi's SOAP
serialization under the GIL, on 2 cores — is the limit), and the lab behind a relay adding
--latency-ms to every request, as a remote vCenter/hostd whose calls take tens of ms does.
Run: uv run python tests/bench/bench_apply.py [--hosts 32] [--portgroups 20] [--workers 8]
     [--latency-ms 25]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

from vnettool.engine import apply, plan, verify
from vnettool.inventory import collect
from vnettool.lab.runner import LAB_PASSWORD, LAB_USER, Lab, Topology
from vnettool.lab.tls import fetch_thumbprint
from vnettool.models.desired import DesiredState
from vnettool.vsphere.connection import Session, connect
from vnettool.vsphere.credentials import Credentials, parse_server


def session_for(lab_url: str, via_port: int | None = None) -> Session:
    host, port, path, _, _ = parse_server(lab_url)
    thumbprint = fetch_thumbprint(f"{host}:{port}")
    creds = Credentials(
        host=host,
        port=via_port or port,
        path=path,
        user=LAB_USER,
        password=SecretStr(LAB_PASSWORD),
        thumbprint=thumbprint,
        insecure=True,  # CA check only; the thumbprint stays pinned (weak lab key, see docs)
        source="bench",
    )
    return connect(creds)


def timed_apply(s: Session, desired: DesiredState, workers: int) -> tuple[float, int]:
    p = plan(desired, collect(s))
    t = time.perf_counter()
    results = apply(p, s, workers=workers)
    elapsed = time.perf_counter() - t
    bad = [r for r in results if not r.changed]
    if bad:
        raise SystemExit(f"{len(bad)} changes failed: {bad[0].error}")
    return elapsed, len(results)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=32)
    ap.add_argument("--portgroups", type=int, default=20)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--latency-ms", type=int, default=25)
    args = ap.parse_args()

    pgs = [
        {"name": f"pg-{i:02d}", "switch": "vSwitch0", "vlan": 100 + i}
        for i in range(args.portgroups)
    ]
    create = DesiredState.model_validate({"standard_port_groups": pgs})
    remove = DesiredState.model_validate(
        {"absent": {"standard_port_groups": [p["name"] for p in pgs]}}
    )
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(Path(tmp) / "lab")
        state, _ = lab.start(Topology(cluster=1, host=args.hosts, vm=0, dvs=0))
        try:
            for latency in (0, args.latency_ms):
                run(state.url, create, remove, args.workers, latency)
        finally:
            lab.stop()


def run(
    url: str, create: DesiredState, remove: DesiredState, workers_max: int, latency_ms: int
) -> None:
    proxy = None
    via = None
    if latency_ms:
        relay = Path(__file__).with_name("latency_proxy.py")
        proxy = subprocess.Popen(
            [sys.executable, str(relay), url.split("://", 1)[1].split("/", 1)[0], str(latency_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proxy.stdout is not None
        via = int(proxy.stdout.readline())
    try:
        with session_for(url, via) as s:
            inv = collect(s)
            t = time.perf_counter()
            p = plan(create, inv)
            plan_s = time.perf_counter() - t
            where = f"lab + {latency_ms} ms per request" if latency_ms else "lab, direct"
            print(
                f"{where}: {len(inv.hosts)} hosts; plan of {len(p.changes)} changes: {plan_s * 1000:.0f} ms"
            )
            rows = []
            for workers in (1, workers_max):
                elapsed, n = timed_apply(s, create, workers)
                t = time.perf_counter()
                left = verify(create, s)
                verify_s = time.perf_counter() - t
                assert left.empty, "not verified"
                rows.append((workers, elapsed, n))
                print(
                    f"  workers={workers:>2}: {n} AddPortGroup in {elapsed:6.2f} s "
                    f"({n / elapsed:6.1f} changes/s); verify (collect+plan) {verify_s:.2f} s"
                )
                timed_apply(s, remove, workers_max)
            serial, concurrent = rows[0][1], rows[1][1]
            print(
                f"  concurrent vs serial: {serial:.2f} s / {concurrent:.2f} s = "
                f"{serial / concurrent:.1f}x with {workers_max} workers"
            )
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait()


if __name__ == "__main__":
    main()
