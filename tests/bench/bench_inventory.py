"""Network inventory at scale: the fast reader next to pyVmomi and a naive walk, same run.

Starts one lab per size (hosts x VMs, one cluster), then measures, each in its own
subprocess (so peak RSS is the method's own):

- floor    the same RetrievePropertiesEx requests as the fast path, bytes read, nothing parsed
- naive    (a) a pyVmomi attribute walk, object by object (`host.config.network`...);
           past --naive-cap seconds it stops and extrapolates from the objects it did read
- pyvmomi  (b) one plain pyVmomi PropertyCollector retrieval of the same properties
- fast     (c) vnettool's inventory: `collect(session)` with the fast reader
- fastgc   (c) as it was before the garbage collector was paused during the read and the
           model build (`collector.PAUSE_GC = False`): the before/after ratio in one run
- go       the Go peer (`gopeer/main.go`): the same views, properties, pages and parallel
           groups read by govmomi and decoded into its typed objects (no models); built by
           this script with Debian's govmomi in GOPATH mode if absent (cached by source hash)
- watch    the live refresh: a Watcher's initial sync, then one DV port group changed by plain
           pyVmomi and delivered by the next WaitForUpdatesEx (bytes, requests, seconds)

and prints seconds (retrieval, model building, total), peak RSS, the ratios to the floor
and to (b), and checks that the inventories of (b) and (c) are equal and that every method
counted the same objects.

Run: uv run python tests/bench/bench_inventory.py [--sizes 256x400,1000x10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

METHODS = ("floor", "naive", "pyvmomi", "fast", "fastgc", "go", "watch")
HERE = Path(__file__).resolve().parent
GOPATH = "/usr/share/gocode"  # Debian's golang-github-vmware-govmomi-dev, as mocks/vcsim builds


def gopeer_binary() -> Path:
    """The Go peer, built once per source version (the build is not part of any figure)."""
    import hashlib

    src = HERE / "gopeer" / "main.go"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    home = Path(os.environ.get("VNETTOOL_HOME", Path.home() / ".cache" / "vnettool"))
    target = home / "bench" / f"gopeer-{digest}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}")
        env = {**os.environ, "GOPATH": GOPATH, "GO111MODULE": "off"}
        subprocess.run(["go", "build", "-o", str(tmp), "."], cwd=src.parent, env=env, check=True)
        tmp.rename(target)
    return target


def run_go(lab_dir: Path, work: Path) -> dict[str, Any]:
    """The Go peer against the lab: same requests as the floor, decoded by govmomi."""
    from vnettool.lab.runner import LAB_PASSWORD, LAB_USER, Lab
    from vnettool.vsphere.collector import PROPERTIES
    from vnettool.vsphere.fastxml import GROUPS, PAGE_SIZE

    st = Lab(lab_dir).state()
    assert st is not None, f"no lab running in {lab_dir}"
    spec = work / "gopeer.json"
    spec.write_text(
        json.dumps(
            {"groups": [list(g) for g in GROUPS], "properties": PROPERTIES, "page": PAGE_SIZE}
        )
    )
    out = subprocess.run(
        [str(gopeer_binary()), "-url", st.url, "-user", LAB_USER, "-spec", str(spec)],
        env={**os.environ, "GOPEER_PASSWORD": LAB_PASSWORD},
        check=True,
        capture_output=True,
        text=True,
    )
    res = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    res.update(method="go", retrieve_s=res["seconds"], build_s=0.0)
    return res


def counts(inv: Any) -> dict[str, int]:
    return {
        "hosts": len(inv.hosts),
        "vms": len(inv.vms),
        "vm_nics": sum(len(v.nics) for v in inv.vms),
        "standard_port_groups": len(inv.standard_port_groups),
        "dv_port_groups": len(inv.distributed_port_groups),
        "vmknics": len(inv.vmkernel_adapters),
        "pvlans": sum(len(d.pvlans) for d in inv.distributed_switches),
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, lab_dir: Path, out: Path, naive_cap: float) -> None:
    """One measurement in this process; writes a JSON result (and the inventory) to `out`."""
    from pydantic import SecretStr

    from tests.reference import naive_objects, naive_read
    from vnettool.lab.runner import LAB_PASSWORD, LAB_USER, Lab
    from vnettool.vsphere import collector, fastxml
    from vnettool.vsphere.connection import connect
    from vnettool.vsphere.credentials import DEFAULT_TIMEOUT_S, Credentials, parse_server
    from vnettool.vsphere.reader import build_inventory

    st = Lab(lab_dir).state()
    assert st is not None, f"no lab running in {lab_dir}"
    host, port, path, _, _ = parse_server(st.url)
    # The lab's certificate is Go's 1024-bit test certificate, which OpenSSL will not verify.
    creds = Credentials(
        host=host,
        port=port,
        path=path,
        user=LAB_USER,
        password=SecretStr(LAB_PASSWORD),
        insecure=True,
        source="bench",
        # the Watcher's initial sync at 1,000 hosts is one ~90 MB answer
        timeout_s=600.0 if method == "watch" else DEFAULT_TIMEOUT_S,
    )
    session = connect(creds)
    base = rss_mb()
    res: dict[str, Any] = {"method": method, "base_rss_mb": base}
    build = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    if method == "watch":
        res.update(watch_refresh(session))
        session.logout()
        out.write_text(json.dumps(res))
        return
    if method == "floor":
        retrieval = fastxml.FastRetrieval(session)
        res["xml_mb"] = retrieval.fetch_only() / 1e6
        res["requests"] = retrieval.transport.requests
        inv = None
    else:
        if method == "pyvmomi":
            raw = collector.retrieve(session)
        elif method in ("fast", "fastgc"):
            collector.PAUSE_GC = method == "fast"
            raw = fastxml.retrieve(session)
        else:
            objects = naive_objects(session)
            random.Random(7).shuffle(objects)  # a cut-off sample has the estate's type mix
            raw = {}
            for mo in objects:
                r = naive_read(mo)
                raw[r.moref] = r
                if time.perf_counter() - t0 > naive_cap:
                    break
            res["objects_read"], res["objects_total"] = len(raw), len(objects)
        t1 = time.perf_counter()
        inv = build_inventory(raw, vcenter=host, api_version=session.about.apiVersion)
        build = time.perf_counter() - t1
    total = time.perf_counter() - t0
    res.update(
        cpu_s=time.process_time() - c0,
        seconds=total,
        retrieve_s=total - build,
        build_s=build,
        peak_rss_mb=rss_mb(),
    )
    if method == "naive" and res["objects_read"] < res["objects_total"]:
        res["estimated_s"] = total * res["objects_total"] / res["objects_read"]
    if inv is not None:
        res["counts"] = counts(inv)
        (out.with_suffix(".inventory.json")).write_text(
            inv.model_dump_json(exclude={"collected_at"})
        )
    session.logout()
    out.write_text(json.dumps(res))


def _wait(task: Any) -> None:
    while task.info.state not in ("success", "error"):
        time.sleep(0.01)


def _timed_poll(w: Any) -> tuple[Any, float, float, int, int]:
    """One Watcher poll: (change, client CPU s, wall s, bytes, requests) — CPU is this whole
    process's (parse, merge, model rebuild, the request's serialization), not the server's."""
    tr = w.stream.transport
    b, n = tr.bytes_xml, tr.requests
    c, t = time.process_time(), time.perf_counter()
    change = w.poll(timeout_s=30)
    cpu, wall = time.process_time() - c, time.perf_counter() - t
    assert change is not None
    return change, cpu, wall, tr.bytes_xml - b, tr.requests - n


def watch_refresh(session: Any) -> dict[str, Any]:
    """Live refresh cost: a Watcher's initial sync; one DV port group change made by plain
    pyVmomi and delivered by the next WaitForUpdatesEx; then 100 VM renames delivered in one
    poll. Client CPU and wall time of each, and what a full model rebuild would cost."""
    from pyVmomi import vim

    from vnettool.inventory.collect import Watcher
    from vnettool.vsphere.reader import build_inventory

    w = Watcher(session)
    first, _, initial_s, initial_bytes, initial_requests = _timed_poll(w)
    assert len(first.entered) > 0
    content = session.si.RetrieveContent()
    view = content.viewManager.CreateContainerView(
        content.rootFolder, [vim.dvs.DistributedVirtualPortgroup, vim.VirtualMachine], True
    )
    objects = list(view.view)
    view.DestroyView()
    pg = next(
        p
        for p in objects
        if isinstance(p, vim.dvs.DistributedVirtualPortgroup) and not p.config.uplink
    )
    vms = [v for v in objects if isinstance(v, vim.VirtualMachine)][:100]
    spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        configVersion=pg.config.configVersion,
        defaultPortConfig=vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
            vlan=vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(vlanId=321, inherited=False)
        ),
    )
    _wait(pg.ReconfigureDVPortgroup_Task(spec))
    change, one_cpu, one_wall, one_bytes, one_requests = _timed_poll(w)
    vlan = next(p for p in change.inventory.distributed_port_groups if p.moref == pg._moId)
    one_rebuilt = w.live.rebuilt.count()
    for vm in vms:
        _wait(vm.Rename_Task(f"{vm.name}-renamed"))
    many, many_cpu, many_wall, many_bytes, many_requests = _timed_poll(w)
    renamed = sum(1 for v in many.inventory.vms if v.name.endswith("-renamed"))
    t = time.process_time()
    build_inventory(w.raw, vcenter="bench")
    rebuild_cpu = time.process_time() - t
    w.close()
    return {
        "initial_s": initial_s,
        "initial_mb": initial_bytes / 1e6,
        "initial_requests": initial_requests,
        "one_cpu_s": one_cpu,
        "one_wall_s": one_wall,
        "one_bytes": one_bytes,
        "one_requests": one_requests,
        "one_rebuilt": one_rebuilt,
        "many": len(vms),
        "many_objects": len(many.modified) + len(many.entered),
        "many_cpu_s": many_cpu,
        "many_wall_s": many_wall,
        "many_bytes": many_bytes,
        "many_requests": many_requests,
        "many_rebuilt": w.live.rebuilt.count(),
        "renamed_seen": renamed,
        "full_rebuild_cpu_s": rebuild_cpu,
        "modified": sorted(change.modified),
        "vlan_seen": vlan.setting.vlan.vlan_id,
        "seconds": initial_s,
    }


def run_child(method: str, lab_dir: Path, work: Path, naive_cap: float) -> dict[str, Any]:
    if method == "go":
        return run_go(lab_dir, work)
    out = work / f"{method}.json"
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            method,
            "--lab-dir",
            str(lab_dir),
            "--out",
            str(out),
            "--naive-cap",
            str(naive_cap),
        ],
        check=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.read_text()))


def bench_size(hosts: int, vms: int, pgs: int, args: argparse.Namespace, work: Path) -> None:
    from vnettool.lab.runner import Lab, Topology

    if "go" in args.methods:
        gopeer_binary()  # built before the lab starts, outside every figure
    lab = Lab(work / "lab")
    t = time.perf_counter()
    lab.start(Topology(cluster=1, host=hosts, vm=vms, pg=pgs), timeout=3600)
    print(
        f"\n== {hosts} hosts / {vms} VMs / {pgs} DV port groups "
        f"(lab started in {time.perf_counter() - t:.0f} s, {load()})"
    )
    try:
        results = {}
        for m in args.methods:
            # the floor and the fast path are short and sensitive to the machine's other load:
            # best of --repeat runs each (the slow methods once)
            n = args.repeat if m in ("floor", "fast", "fastgc", "go") else 1
            runs = [run_child(m, lab.dir, work, args.naive_cap) for _ in range(n)]
            results[m] = min(runs, key=lambda r: r.get("seconds", 0.0))
            results[m]["runs"] = n
    finally:
        if not args.keep_labs:
            lab.stop()
    floor = results.get("floor", {}).get("seconds")
    ref = results.get("pyvmomi", {}).get("seconds")
    if "floor" in results:
        f = results["floor"]
        print(f"   floor: {f['xml_mb']:.1f} MB of XML in {f['requests']} requests")
    print(
        f"   {'method':<9} {'total s':>8} {'retrieve':>9} {'build':>7} {'CPU s':>6} "
        f"{'peak RSS':>9} {'x floor':>8} {'(b)/x':>7}  (floor, fast*, go: best of {args.repeat})"
    )
    for m, r in results.items():
        if m == "watch":
            continue
        secs = r.get("estimated_s", r["seconds"])
        est = "~" if "estimated_s" in r else " "
        print(
            f"   {m:<9} {est}{secs:>7.2f} {r['retrieve_s']:>9.2f} {r['build_s']:>7.2f} "
            f"{r.get('cpu_s', float('nan')):>6.2f} {r['peak_rss_mb']:>6.0f} MB "
            f"{secs / floor if floor else float('nan'):>8.1f} "
            f"{ref / secs if ref else float('nan'):>7.1f}"
        )
        if "estimated_s" in r:
            print(
                f"             naive walk capped at {args.naive_cap:.0f} s: read "
                f"{r['objects_read']} of {r['objects_total']} objects, total extrapolated"
            )
    full = {m: r["counts"] for m, r in results.items() if "counts" in r}
    complete = {
        m: c
        for m, c in full.items()
        if m != "naive" or results[m]["objects_read"] == results[m]["objects_total"]
    }
    same = len({json.dumps(c, sort_keys=True) for c in complete.values()}) <= 1
    shown = next(iter(complete.values()), {})
    if "fast" in results and "fastgc" in results:
        f, g = results["fast"], results["fastgc"]
        print(
            f"   garbage collector paused (fast) vs running (fastgc): total {f['seconds']:.2f} vs "
            f"{g['seconds']:.2f} s ({g['seconds'] / f['seconds']:.2f}x), client CPU "
            f"{f['cpu_s']:.2f} vs {g['cpu_s']:.2f} s ({g['cpu_s'] / f['cpu_s']:.2f}x)"
        )
    if "fast" in results and "go" in results:
        g, f = results["go"], results["fast"]
        objs = g["objects"]
        c = f["counts"]
        same_go = (objs.get("HostSystem"), objs.get("VirtualMachine")) == (c["hosts"], c["vms"])
        print(
            f"   go peer: {sum(objs.values())} objects in {g['requests']} requests "
            f"(hosts, VMs {'equal' if same_go else 'DIFFER'} to (c)); "
            f"(c) / go = {f['seconds'] / g['seconds']:.2f}"
        )
    if "watch" in results:
        print_watch(results["watch"])
    print(f"   counts {'equal' if same else 'DIFFER'} across {', '.join(complete)}: {shown}")
    if not same:
        for m, c in complete.items():
            print(f"     {m}: {c}")
    if "fast" in results and "pyvmomi" in results:
        a = json.loads((work / "fast.inventory.json").read_text())
        b = json.loads((work / "pyvmomi.inventory.json").read_text())
        print(f"   inventories (c) and (b) {'identical' if a == b else 'DIFFER'}")


def print_watch(r: dict[str, Any]) -> None:
    print(
        f"   live refresh: initial sync {r['initial_mb']:.1f} MB in {r['initial_requests']} "
        f"request(s), {r['initial_s']:.2f} s\n"
        f"     1 DV port group change: {r['one_bytes']} B in {r['one_requests']} request(s), "
        f"client CPU {r['one_cpu_s'] * 1000:.1f} ms (wall {r['one_wall_s']:.2f} s), "
        f"{r['one_rebuilt']} object(s) rebuilt, VLAN seen {r['vlan_seen']}\n"
        f"     {r['many']} VM renames in one poll: {r['many_bytes']} B in "
        f"{r['many_requests']} request(s), client CPU {r['many_cpu_s'] * 1000:.1f} ms "
        f"({r['many_cpu_s'] / r['one_cpu_s']:.1f}x one change; wall {r['many_wall_s']:.2f} s), "
        f"{r['many_rebuilt']} object(s) rebuilt, {r['renamed_seen']} renames seen\n"
        f"     a full model rebuild instead: {r['full_rebuild_cpu_s'] * 1000:.0f} ms CPU"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--sizes", default="256x400,1000x10000", help="HOSTSxVMS[xDVPORTGROUPS],... (default 2)"
    )
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--naive-cap", type=float, default=180.0, help="seconds before sampling")
    ap.add_argument("--keep-labs", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for floor and fast")
    ap.add_argument("--child", choices=METHODS)
    ap.add_argument("--lab-dir", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.lab_dir, args.out, args.naive_cap)
        return
    args.methods = [m for m in args.methods.split(",") if m]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )
    for size in args.sizes.split(","):
        hosts, vms, *pg = (int(x) for x in size.lower().split("x"))
        with tempfile.TemporaryDirectory(prefix="vnettool-bench-") as tmp:
            bench_size(hosts, vms, pg[0] if pg else 2, args, Path(tmp))


if __name__ == "__main__":
    main()
