"""Appliance deployment: one firewall per host, serial vs concurrent, on a private lab.

A lab of H hosts (one cluster, a DVS) gets the example firewall definition (playbooks/
appliance-firewall.yml without protected VMs: the appliances themselves are measured): plan,
apply with 1 worker, re-plan (must be empty), remove; then the same with W workers. Prints the
times, appliances per second and the ratio. Each appliance is ~8 vSphere calls in sequence
(clone, pin, power on, read back, 3 NIC reconfigurations, health read), so concurrency across
hosts is what makes a 100-host rollout practical.
Run: uv run python tests/bench/bench_appliances.py [--hosts 32] [--workers 4]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_apply import session_for
from vnettool.appliances import manager
from vnettool.inventory import collect
from vnettool.lab.control import request
from vnettool.lab.runner import Lab, Topology
from vnettool.models.appliance import ApplianceSpec
from vnettool.playbook.validate import validate
from vnettool.vsphere.connection import Session

BOOK = Path(__file__).parents[2] / "playbooks" / "appliance-firewall.yml"


def cycle(s: Session, spec: ApplianceSpec, workers: int) -> tuple[float, float, int]:
    """Deploy (timed), check the second plan is empty, remove. (plan s, apply s, appliances)."""
    inv = collect(s)
    t = time.perf_counter()
    p = manager.plan("deploy", s, spec, inv, inv.hosts, {"cluster": "DC0_C0"})
    plan_s = time.perf_counter() - t
    t = time.perf_counter()
    results = manager.apply(p, s, workers=workers)
    apply_s = time.perf_counter() - t
    bad = [r for r in results if not r.changed]
    if bad:
        raise SystemExit(f"{len(bad)} changes failed: {bad[0].error}")
    inv = collect(s)
    assert manager.plan("deploy", s, spec, inv, inv.hosts, {"cluster": "DC0_C0"}).empty
    gone = manager.plan("remove", s, spec, inv, inv.hosts, {"cluster": "DC0_C0"})
    manager.apply(gone, s, workers=workers)
    return plan_s, apply_s, sum(1 for c in p.changes if c.resource == "appliance")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=32)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--latency-ms", type=int, default=25)
    args = ap.parse_args()
    body = next(s.appliance for s in validate(BOOK).playbook.steps if s.appliance)
    assert body is not None
    spec = body.definition().model_copy(update={"protect": None})
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(Path(tmp) / "lab")
        state, _ = lab.start(Topology(cluster=1, host=args.hosts, vm=4, dvs=1))
        try:
            request(lab, "POST", "template", {"name": "fw-template"})
            with session_for(state.url) as s:
                cycle(s, spec, args.workers)  # creates the segment once; then only appliances
            for latency in (0, args.latency_ms):
                relay, via = relay_to(state.url, latency)
                try:
                    with session_for(state.url, via) as s:
                        where = f"lab + {latency} ms per request" if latency else "lab, direct"
                        rows = []
                        for workers in (1, args.workers):
                            plan_s, apply_s, n = cycle(s, spec, workers)
                            rows.append(apply_s)
                            print(
                                f"{where}: workers={workers}: plan {plan_s:.2f} s; {n} appliances "
                                f"in {apply_s:.2f} s = {n / apply_s:.1f}/s; second plan empty"
                            )
                        print(
                            f"{where}: concurrent vs serial: {rows[0]:.2f} s / {rows[1]:.2f} s"
                            f" = {rows[0] / rows[1]:.1f}x with {args.workers} workers"
                        )
                finally:
                    if relay is not None:
                        relay.terminate()
                        relay.wait()
        finally:
            lab.stop()


def relay_to(url: str, latency_ms: int) -> tuple[subprocess.Popen[str] | None, int | None]:
    """The bench_apply latency relay in front of the lab (None for a direct connection)."""
    if not latency_ms:
        return None, None
    script = Path(__file__).with_name("latency_proxy.py")
    target = url.split("://", 1)[1].split("/", 1)[0]
    proc = subprocess.Popen(
        [sys.executable, str(script), target, str(latency_ms)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


if __name__ == "__main__":
    main()
