"""Audit workbook at scale: rules + workbook for a 1,000-host / 10,000-VM lab.

Starts a lab of that size (about a minute), reads it once with the fast reader (time printed
but excluded), saves the snapshot, then in a fresh process times the audit rules and the
workbook from the snapshot and prints seconds and peak RSS (target: <= 30 s, <= 1 GiB).

Run: uv run python tests/bench/bench_audit.py [--hosts 1000 --vms 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def measure(snapshot: Path, out: Path) -> dict[str, float]:
    from vnettool.audit.rules import RULES
    from vnettool.audit.runner import audit
    from vnettool.audit.workbook import write_workbook
    from vnettool.models.inventory import Inventory

    t0 = time.perf_counter()
    inv = Inventory.load(snapshot)
    t1 = time.perf_counter()
    findings = audit(inv)
    t2 = time.perf_counter()
    write_workbook(out, inv, findings, rules=RULES)
    t3 = time.perf_counter()
    size = out.stat().st_size
    write_workbook(out, inv, findings, rules=RULES, include_pass=True)  # every rule x object row
    t4 = time.perf_counter()
    return {
        "workbook_pass_s": t4 - t3,
        "size_pass_mb": out.stat().st_size / 1e6,
        "load_s": t1 - t0,
        "rules_s": t2 - t1,
        "workbook_s": t3 - t2,
        "findings": len(findings),
        "rows": len(inv.vms) + len(inv.standard_port_groups),
        "size_mb": size / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--vms", type=int, default=10000)
    ap.add_argument("--child", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.out)))
        return
    from pydantic import SecretStr

    from vnettool.inventory.collect import collect
    from vnettool.lab.runner import LAB_PASSWORD, LAB_USER, Lab, Topology
    from vnettool.vsphere.connection import connect
    from vnettool.vsphere.credentials import Credentials, parse_server

    with tempfile.TemporaryDirectory(prefix="vnettool-bench-audit-") as tmp:
        lab = Lab(Path(tmp) / "lab")
        t = time.perf_counter()
        st, _ = lab.start(Topology(cluster=1, host=args.hosts, vm=args.vms), timeout=3600)
        print(f"lab {args.hosts} hosts / {args.vms} VMs started in {time.perf_counter() - t:.0f} s")
        try:
            host, port, path, _, _ = parse_server(st.url)
            creds = Credentials(
                host=host,
                port=port,
                path=path,
                user=LAB_USER,
                password=SecretStr(LAB_PASSWORD),
                insecure=True,
                source="bench",
            )
            with connect(creds) as s:
                t = time.perf_counter()
                inv = collect(s)
                print(f"inventory read in {time.perf_counter() - t:.1f} s (not counted)")
            snap = Path(tmp) / "snap.json"
            inv.save(snap)
        finally:
            lab.stop()
        out = Path(tmp) / "audit.xlsx"
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(snap), "--out", str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    total = r["rules_s"] + r["workbook_s"]
    print(
        f"rules {r['rules_s']:.1f} s ({r['findings']} findings), workbook {r['workbook_s']:.1f} s "
        f"({r['size_mb']:.1f} MB); total {total:.1f} s (target <= 30 s, {30 / total:.1f}x under); "
        f"peak RSS {r['peak_rss_mb']:.0f} MB (target <= 1024 MB); snapshot load {r['load_s']:.1f} s"
    )
    print(
        f"with --include-pass: workbook {r['workbook_pass_s']:.1f} s ({r['size_pass_mb']:.1f} MB, "
        f"{r['findings']} Findings rows); peak RSS above includes this write"
    )


if __name__ == "__main__":
    main()
