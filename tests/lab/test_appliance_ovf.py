"""Appliances from an OVA built by the test: one per host of a 4-host cluster, imported through
OvfManager.CreateImportSpec + ResourcePool.ImportVApp + the NFC lease upload, pinned,
reserved, latency-sensitive and wired by OVF network -> role, with vApp property values; a
second plan is empty; removal leaves nothing. Read back through a separate inventory pass,
plain pyVmomi and the lab's record of what the NFC upload received.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.lab.test_appliances import CLUSTER, failures, obj, replan, run
from tests.ovfbuild import build_ova, vmdk
from vnettool.inventory import collect
from vnettool.lab.control import request
from vnettool.models.appliance import ApplianceSpec
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab

PASSWORD_ENV = "VNETTOOL_TEST_FW_PASSWORD"


def ovf_spec(source: str, **over: Any) -> ApplianceSpec:
    return ApplianceSpec.model_validate(
        {
            "name": "ofw",
            "role": "firewall",
            "source": {
                "ovf": source,
                "networks": {
                    "Management": "management",
                    "Outside": "unprotected",
                    "Inside": "protected",
                },
                "properties": {
                    "fw.hostname": "edge-fw",
                    "fw.admin_password": {"env": PASSWORD_ENV},
                },
            },
            "resources": {"cpus": 2, "memory_mb": 1024, "cpu_reservation_mhz": 1500},
            "networks": {
                "management": "VM Network",
                "unprotected": "DC0_DVPG0",
                "protected": "ofw-protected",
            },
            "segment": {"kind": "vss", "switch": "vSwitch-ofw"},
            **over,
        }
    )


@pytest.fixture
def lab4(fresh_lab: Any) -> Iterator[tuple[RunningLab, Session]]:
    running = fresh_lab(cluster=2, host=4, vm=4)
    with running.session() as s:
        yield running, s


def leases(running: RunningLab) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = request(running.lab, "GET", "nfc")["leases"]
    return out


def test_ova_deploys_one_pinned_wired_appliance_per_host_idempotent_and_removable(
    lab4: tuple[RunningLab, Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, s = lab4
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-Pw")
    disk = vmdk(200 * 1024)
    ova = build_ova(tmp_path / "tinyfw.ova", disk=disk)
    sp = ovf_spec(str(ova))

    p, results = run(s, sp)
    assert not failures(results), failures(results)
    created = [c for c in p.changes if c.resource == "appliance" and c.kind == "create"]
    assert len(created) == 4
    assert all(c.appliance and c.appliance.ovf for c in created)
    shown = " ".join(str(d.after) for c in created for d in c.diffs)
    assert "s3cret" not in shown and "(secret from $VNETTOOL_TEST_FW_PASSWORD)" in shown
    assert "s3cret" not in p.model_dump_json(), "a secret property value must not be in the plan"
    assert replan(s, sp).empty, "second plan must be empty"

    # what the lab's NFC side received: every disk whole, progress reported, lease completed
    got = leases(running)
    assert len(got) == 4
    for lease in got:
        assert lease["state"] == "done"
        files = list(lease["files"].values())
        assert [f["received"] for f in files if f["disk"]] == [len(disk)]
        assert [f["method"] for f in files if f["disk"]] == ["POST"]
        assert lease["progress"][-1] == 100
        stored = next(Path(f["path"]) for f in files if f["disk"])
        assert stored.read_bytes() == disk

    # a separate inventory pass and plain pyVmomi
    inv = collect(s)
    names = sorted(v.name for v in inv.vms if v.name.startswith("ofw-"))
    hosts = sorted(h.name for h in inv.hosts if h.cluster == CLUSTER)
    assert names == [f"ofw-{h}" for h in hosts]
    cluster = obj(s, vim.ClusterComputeResource, CLUSTER)
    rules = {r.name: r for r in cluster.configurationEx.rule}
    groups = {g.name: g for g in cluster.configurationEx.group}
    for host in cluster.host:
        vm = obj(s, vim.VirtualMachine, f"ofw-{host.name}")
        assert vm.runtime.host == host
        assert vm.runtime.powerState == "poweredOn"
        assert vm.config.cpuAllocation.reservation == 1500
        assert vm.config.memoryAllocation.reservation == 1024
        assert vm.config.latencySensitivity.level == "high"
        assert vm.config.hardware.numCPU == 2 and vm.config.hardware.memoryMB == 1024
        rule = rules[f"vnettool-ofw-{host.name}-pin"]
        assert rule.mandatory and rule.enabled
        assert groups[rule.affineHostGroupName].host == [host]
        nics = [
            d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
        ]
        assert [type(n).__name__ for n in nics] == ["vim.vm.device.VirtualVmxnet3"] * 3
        assert [n.key for n in nics] == [4000, 4001, 4002]
        assert nics[0].backing.deviceName == "VM Network"
        assert isinstance(
            nics[1].backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo
        )
        assert nics[2].backing.deviceName == "ofw-protected"
        assert all(n.connectable.connected for n in nics)
        disks = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]
        assert len(disks) == 1 and disks[0].capacityInKB == 1024 * 1024
        props = {p.id: p for p in vm.config.vAppConfig.property}
        assert props["fw.hostname"].value == "edge-fw"
        assert props["fw.admin_password"].value == "s3cret-Pw"
        assert props["fw.admin_password"].type == "password"
        tags = {o.key: o.value for o in vm.config.extraConfig}
        assert tags["vnettool.appliance"] == "ofw"
        assert "fw.hostname" not in tags  # properties are vApp properties, not extraConfig

    p, results = run(s, sp, action="remove")
    assert not failures(results), failures(results)
    assert sorted(c.name for c in p.changes if c.kind == "delete") == names
    inv = collect(s)
    assert not [v for v in inv.vms if v.name.startswith("ofw-")]
    assert replan(s, sp, action="remove").empty


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_ova_from_url_and_a_refused_disk_leaves_nothing(
    lab4: tuple[RunningLab, Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, s = lab4
    monkeypatch.setenv(PASSWORD_ENV, "x")
    build_ova(tmp_path / "good.ova")
    build_ova(tmp_path / "bad.ova", disk=vmdk(magic=b"NOPE"))
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        one_host = {"per": "cluster", "count": 1}
        # a disk the host refuses: the lease is aborted and the half-imported VM is gone
        bad = ovf_spec(f"{base}/bad.ova", placement=one_host)
        _, results = run(s, bad)
        failed = [r for r in results if r.failed]
        assert len(failed) == 1 and "HTTP 400" in str(failed[0].error), failures(results)
        assert leases(running)[-1]["state"] == "aborted"
        assert not [v for v in collect(s).vms if v.name.startswith("ofw-")]
        # streamed from a URL, the import works and a re-plan is empty
        good = ovf_spec(f"{base}/good.ova", placement=one_host)
        _, results = run(s, good)
        assert not failures(results), failures(results)
        assert leases(running)[-1]["state"] == "done"
        assert replan(s, good).empty
    finally:
        server.shutdown()
