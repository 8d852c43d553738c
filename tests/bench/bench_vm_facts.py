"""What the compliance facts of VMs cost the inventory read: `config.extraConfig`,
`config.migrateEncryption` and `guest.ipAddress` (SEC-20/28/29) against the read without them.

Starts one lab (hosts x VMs, one cluster), gives every VM a realistic extraConfig (ENTRIES
entries, as a VM created by vCenter carries: nvram, pciBridge*, svga, tools..., the lab's VMs
have one), then times `collect(session)` with the fast reader, best of --repeat, with the
VM properties as shipped and with the three removed, alternating, and prints seconds, XML
size and the ratio. Each reading runs in this process, one after the other.

Run: uv run python tests/bench/bench_vm_facts.py [--hosts 64 --vms 1000 --entries 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

NEW = ("config.migrateEncryption", "config.extraConfig", "guest.ipAddress")


def _extra(n: int) -> list[tuple[str, str]]:
    base = [
        ("nvram", "vm.nvram"), ("svga.present", "TRUE"), ("tools.guest.desktop.autolock", "FALSE"),
        ("vmware.tools.internalversion", "12352"), ("migrate.hostLog", "vm-1.hlog"),
        ("sched.cpu.latencySensitivity", "normal"), ("numa.autosize.cookie", "40012"),
        ("monitor.phys_bits_used", "45"), ("softPowerOff", "FALSE"), ("vmci0.pciSlotNumber", "32"),
    ]  # fmt: skip
    bridges = [(f"pciBridge{i}.present", "TRUE") for i in range(8)]
    slots = [(f"pciBridge{i}.pciSlotNumber", str(17 + i)) for i in range(8)]
    more = [(f"guestinfo.meta{i}", "x" * 24) for i in range(max(0, n))]
    return (base + bridges + slots + more)[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--entries", type=int, default=40, help="extraConfig entries per VM")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from pyVmomi import vim

    from tests.conftest import RunningLab
    from vnettool.inventory import collect
    from vnettool.lab.runner import Lab, Topology
    from vnettool.vsphere import collector, fastxml
    from vnettool.vsphere.tasks import wait_task

    work = Path(tempfile.mkdtemp(prefix="bench-vm-facts-"))
    lab = Lab(work / "lab")
    t = time.perf_counter()
    state, _ = lab.start(Topology(cluster=1, host=args.hosts, vm=args.vms), timeout=3600)
    running = RunningLab(lab, state)
    print(f"{args.hosts} hosts / {args.vms} VMs, lab started in {time.perf_counter() - t:.0f} s")
    try:
        with running.session() as s:
            content = s.content
            view = content.viewManager.CreateContainerView(
                content.rootFolder, [vim.VirtualMachine], True
            )
            vms = list(view.view)
            view.DestroyView()
            entries = [vim.option.OptionValue(key=k, value=v) for k, v in _extra(args.entries)]
            t = time.perf_counter()
            for vm in vms:
                spec = vim.vm.ConfigSpec(extraConfig=entries)
                wait_task(s, vm.ReconfigVM_Task(spec), "ReconfigVM_Task", vm.name)
            print(f"{len(entries)} extraConfig entries on {len(vms)} VMs in "
                  f"{time.perf_counter() - t:.0f} s")  # fmt: skip
            paths = collector.PROPERTIES["VirtualMachine"]
            shipped = list(paths)
            without = [p for p in paths if p not in NEW]
            best: dict[str, float] = {}
            floor: dict[str, float] = {}
            mb: dict[str, float] = {}
            for _ in range(args.repeat):
                for name, chosen in (("without", without), ("with", shipped)):
                    paths[:] = chosen
                    t = time.perf_counter()
                    mb[name] = fastxml.FastRetrieval(s).fetch_only() / 1e6
                    dt = time.perf_counter() - t
                    floor[name] = min(floor.get(name, dt), dt)
                    t = time.perf_counter()
                    inv = collect(s)
                    dt = time.perf_counter() - t
                    best[name] = min(best.get(name, dt), dt)
                    kept = sum(len(v.extra_config) for v in inv.vms)
                    modes = sum(v.migrate_encryption is not None for v in inv.vms)
            paths[:] = shipped
            print(f"kept extraConfig entries: {kept}; VMs with a vMotion mode: {modes}")
            print(f"{'reading':<34} {'XML MB':>7} {'floor s':>8} {'collect s':>10}")
            for name, label in (("without", "without the three VM properties"),
                                ("with", "with them (as shipped)")):  # fmt: skip
                print(f"{label:<34} {mb[name]:>7.1f} {floor[name]:>8.2f} {best[name]:>10.2f}")
            print(f"ratio with/without: collect {best['with'] / best['without']:.2f}x, floor "
                  f"{floor['with'] / floor['without']:.2f}x (best of {args.repeat}, load "
                  f"average {_load()})")  # fmt: skip
    finally:
        lab.stop()


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
