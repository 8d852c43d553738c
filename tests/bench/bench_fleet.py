"""Fleet benchmark: 8 labs x 128 hosts, `--fleet` inventory and audit against the same
commands run one vCenter after another; wall time and peak RSS.

Starts the labs with `vnettool lab start --fleet 8 --clusters 2 --hosts 64` in a temporary
VNETTOOL_HOME (not timed), then for each mode runs the commands and samples, every 50 ms, the
summed RSS of the vnettool process tree (the fleet parent and its children; the simulators are
not in the tree). Prints a table; stops the labs at the end.

Run (it loads the machine): flock /tmp/heavy.lock uv run python tests/bench/bench_fleet.py
    [--labs 8 --clusters 2 --hosts 64 --vms 16 --workers 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for p in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = p.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(p.parent.name)] = int(fields[1])
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += [c for c, pp in parents.items() if pp == pid]
    return out


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Seconds, peak summed RSS (MiB) of the process tree, exit code."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(_rss_kib(p) for p in _tree(proc.pid)))
            time.sleep(0.05)

    t = threading.Thread(target=sample)
    t.start()
    code = proc.wait()
    done.set()
    t.join()
    return time.perf_counter() - t0, peak // 1024, code


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labs", type=int, default=8)
    ap.add_argument("--clusters", type=int, default=2)
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=16)
    args = ap.parse_args()
    vt = [sys.executable, "-m", "vnettool"]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VSPHERE_", "GOVC_"))}
        env |= {"VNETTOOL_HOME": str(home)}
        start = [*vt, "lab", "start", "--fleet", str(args.labs), "--clusters", str(args.clusters)]
        start += ["--hosts", str(args.hosts), "--vms", str(args.vms)]
        t0 = time.perf_counter()
        subprocess.run(start, env=env, check=True, stdout=subprocess.DEVNULL)
        print(
            f"{args.labs} labs x {args.clusters * args.hosts} hosts started in "
            f"{time.perf_counter() - t0:.0f} s (not timed below)"
        )
        try:
            rows = run_all(vt, env, home, Path(tmp))
        finally:
            subprocess.run([*vt, "lab", "stop"], env=env, check=False, stdout=subprocess.DEVNULL)
    print(f"{'command':<10} {'mode':<11} {'seconds':>8} {'peak RSS MiB':>13} {'exit':>5}")
    for r in rows:
        print(
            f"{r['command']:<10} {r['mode']:<11} {r['seconds']:>8.1f} {r['rss']:>13} {r['exit']:>5}"
        )
    for cmd in ("inventory", "audit"):
        f = next(r for r in rows if r["command"] == cmd and r["mode"] == "fleet")
        s = next(r for r in rows if r["command"] == cmd and r["mode"] == "sequential")
        print(f"{cmd}: fleet {s['seconds'] / f['seconds']:.1f}x faster than sequential")
    print(json.dumps(rows))


def run_all(vt: list[str], env: dict[str, str], home: Path, tmp: Path) -> list[dict[str, Any]]:
    fleet_file = home / "fleet" / "fleet.yml"
    sites = YAML(typ="safe").load(fleet_file.read_text())["vcenters"]
    rows: list[dict[str, Any]] = []
    commands = {
        "inventory": ["inventory", "--json"],
        "audit": ["audit", "--json", "--fail-on", "never"],
    }
    for cmd, words in commands.items():
        out = ["--out", str(tmp / "fleet.xlsx")] if cmd == "audit" else []
        s, rss, code = timed([*vt, "--fleet", str(fleet_file), *words, *out], env)
        rows.append({"command": cmd, "mode": "fleet", "seconds": s, "rss": rss, "exit": code})
        total, peak, worst = 0.0, 0, 0
        for site in sites:
            creds = YAML(typ="safe").load(
                (home / "fleet" / site["name"] / "credentials.yml").read_text()
            )
            one = env | {
                "VSPHERE_SERVER": site["url"],
                "VSPHERE_USER": creds["user"],
                "VSPHERE_PASSWORD": creds["password"],
            }
            out = ["--out", str(tmp / f"{site['name']}.xlsx")] if cmd == "audit" else []
            s, rss, code = timed([*vt, *words, *out, "--thumbprint", site["thumbprint"]], one)
            total, peak, worst = total + s, max(peak, rss), max(worst, code)
        rows.append(
            {"command": cmd, "mode": "sequential", "seconds": total, "rss": peak, "exit": worst}
        )
    return rows


if __name__ == "__main__":
    main()
