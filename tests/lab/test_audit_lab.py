"""The audit against the lab: seeded problems each appear exactly once as a FAIL with evidence,
a clean lab has none of them, and `vnettool audit` writes a safe workbook and exits 2 on them.

Seeding uses plain pyVmomi (another client), on a private lab.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pyVmomi import vim

from tests.conftest import RunningLab
from vnettool.audit.engine import audit
from vnettool.inventory.collect import collect

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
SEEDED_RULES = {"SEC-01", "SEC-08", "HC-05", "HC-06", "HC-07", "HC-08", "HC-11", "HC-12"}


def _wait(task: Any) -> None:
    while task.info.state not in ("success", "error"):
        time.sleep(0.02)
    if task.info.state == "error":
        raise task.info.error


def _objs(content: Any, kind: type) -> dict[str, Any]:
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return {o.name: o for o in view.view}
    finally:
        view.DestroyView()


def _pg(ns: Any, name: str, vlan: int, policy: Any = None) -> None:
    ns.AddPortGroup(
        vim.host.PortGroup.Specification(
            name=name,
            vswitchName="vSwitch0",
            vlanId=vlan,
            policy=policy or vim.host.NetworkPolicy(),
        )
    )


def seed(s: Any) -> dict[str, str]:
    """Create the eight problems; returns rule id -> the object the finding must name."""
    content = s.si.RetrieveContent()
    hosts = _objs(content, vim.HostSystem)
    h = sorted(hosts)
    ns = {n: hosts[n].configManager.networkSystem for n in h}
    # SEC-01 promiscuous port group; SEC-08 VGT on a VM port group (H0 only)
    _pg(
        ns[h[0]],
        "pg-promisc",
        10,
        vim.host.NetworkPolicy(
            security=vim.host.NetworkPolicy.SecurityPolicy(allowPromiscuous=True)
        ),
    )
    _pg(ns[h[0]], "pg-vgt", 4095)
    # HC-05 a vmknic above its switch's MTU
    vmk = next(v for v in ns[h[1]].networkInfo.vnic if v.device == "vmk1")
    spec = vmk.spec
    spec.mtu = 9000
    ns[h[1]].UpdateVirtualNic("vmk1", spec)
    # HC-06 / HC-07: pg-app used by a VM, missing on H3, VLAN 21 on H2 instead of 20
    for n, vlan in ((h[0], 20), (h[1], 20), (h[2], 21)):
        _pg(ns[n], "pg-app", vlan)
    vm = next(v for v in _objs(content, vim.VirtualMachine).values() if v.runtime.host.name == h[0])
    net = next(n for n in hosts[h[0]].network if n.name == "pg-app")
    nic = next(
        d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
    )
    nic.backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
        deviceName="pg-app", network=net
    )
    _wait(
        vm.ReconfigVM_Task(
            vim.vm.ConfigSpec(
                deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic)]
            )
        )
    )
    # HC-08 a port group teamed on a single uplink (H2)
    _pg(
        ns[h[2]],
        "pg-single",
        30,
        vim.host.NetworkPolicy(
            nicTeaming=vim.host.NetworkPolicy.NicTeamingPolicy(
                nicOrder=vim.host.NetworkPolicy.NicOrderPolicy(activeNic=["vmnic0"], standbyNic=[])
            )
        ),
    )
    # HC-11 a powered-on VM's NIC disconnected
    other = next(
        v
        for v in _objs(content, vim.VirtualMachine).values()
        if v.name != vm.name and v.runtime.powerState == "poweredOn"
    )
    onic = next(
        d for d in other.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
    )
    onic.connectable.connected = False
    _wait(
        other.ReconfigVM_Task(
            vim.vm.ConfigSpec(
                deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="edit", device=onic)]
            )
        )
    )
    # HC-12 a PVLAN primary also used as a plain VLAN on the same switch
    dvs = next(iter(_objs(content, vim.DistributedVirtualSwitch).values()))
    entry = vim.dvs.VmwareDistributedVirtualSwitch.PvlanMapEntry
    _wait(
        dvs.ReconfigureDvs_Task(
            vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(
                configVersion=dvs.config.configVersion,
                pvlanConfigSpec=[
                    vim.dvs.VmwareDistributedVirtualSwitch.PvlanConfigSpec(
                        operation="add",
                        pvlanEntry=entry(
                            primaryVlanId=200, secondaryVlanId=200, pvlanType="promiscuous"
                        ),
                    )
                ],
            )
        )
    )
    _wait(
        dvs.AddDVPortgroup_Task(
            [
                vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
                    name="pg-clash",
                    type="earlyBinding",
                    numPorts=8,
                    defaultPortConfig=vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
                        vlan=vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(
                            vlanId=200, inherited=False
                        )
                    ),
                )
            ]
        )
    )
    return {
        "SEC-01": f"{h[0]}/vSwitch0/pg-promisc",
        "SEC-08": f"{h[0]}/vSwitch0/pg-vgt",
        "HC-05": f"{h[1]}/vmk1",
        "HC-06": f"{h[3]}",
        "HC-07": "pg-app",
        "HC-08": f"{h[2]}/vSwitch0/pg-single",
        "HC-11": f"{other.name}/",
        "HC-12": f"{dvs.name}/200",
    }


def test_each_seeded_problem_is_found_exactly_once(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=1, host=4, vm=4)
    with lab.session(insecure=True, thumbprint=None) as s:
        expect = seed(s)
        findings = audit(collect(s, neighbors=True))
    fails = [f for f in findings if f.state == "FAIL"]
    for rid, obj in expect.items():
        hits = [f for f in fails if f.rule_id == rid and obj in f.object]
        assert len(hits) == 1, (rid, obj, [(f.object, f.actual) for f in fails if f.rule_id == rid])
        f = hits[0]
        assert f.actual and f.remediation and f.severity  # evidence, not just a flag
    by_rule = {rid: [f for f in fails if f.rule_id == rid] for rid in expect}
    assert by_rule["HC-05"][0].actual == "9000"
    assert "VLAN 20" in by_rule["HC-07"][0].actual and "VLAN 21" in by_rule["HC-07"][0].actual


def test_a_clean_lab_has_none_of_the_seeded_problems(lab: RunningLab) -> None:
    with lab.session(insecure=True, thumbprint=None) as s:
        findings = audit(collect(s, neighbors=True))
    assert findings
    assert not [
        (f.rule_id, f.object) for f in findings if f.state == "FAIL" and f.rule_id in SEEDED_RULES
    ]


def test_cli_writes_a_safe_private_workbook_and_fails_on_high(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=1, host=4, vm=4)
    evil = '=HYPERLINK("http://x","y")'
    with lab.session(insecure=True, thumbprint=None) as s:
        seed(s)
        content = s.si.RetrieveContent()
        vm = next(iter(_objs(content, vim.VirtualMachine).values()))
        _wait(vm.Rename_Task(evil))
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    base = tmp_path / "base.json"
    out = tmp_path / "audit.xlsx"
    run = [VNETTOOL]
    snap = subprocess.run(
        [*run, "inventory", "--save", str(base), "--insecure"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert snap.returncode == 0, snap.stderr
    proc = subprocess.run(
        [
            *run,
            "audit",
            "--out",
            str(out),
            "--baseline",
            str(base),
            "--fail-on",
            "high",
            "--insecure",
        ],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "SEC-01" in proc.stdout and str(out) in proc.stdout.replace("\n", "")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    wb = load_workbook(out)
    assert wb.sheetnames[:3] == ["Summary", "Findings", "Rules"]
    for tab in ("vNetwork", "vNIC", "vSwitch", "vPort", "dvSwitch", "dvPort", "vSC_VMK", "Drift"):
        assert tab in wb.sheetnames
    assert [c.value for c in wb["vNetwork"][1]][:4] == [
        "VM",
        "Powerstate",
        "Template",
        "SRM Placeholder",
    ]
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(c.value == evil for c in cells)  # the name is there, as text
