"""VM compliance facts on the lab, set by plain pyVmomi and read back by vnettool's bulk pass
(both readers): vMotion encryption, dvFilter extraConfig entries, vnettool's appliance tag
and guest IP; then the audit judges them (SEC-20 with the appliance authorised automatically,
SEC-28, SEC-29) and the live watcher sees an extraConfig change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from vnettool.audit.model import AuditConfig
from vnettool.audit.runner import audit
from vnettool.inventory import Watcher, collect
from vnettool.vsphere.tasks import TaskFailed, wait_task

pytestmark = pytest.mark.lab


def _objs(s: Any, kind: type) -> dict[str, Any]:
    view = s.content.viewManager.CreateContainerView(s.content.rootFolder, [kind], True)
    try:
        return {o.name: o for o in view.view}
    finally:
        view.DestroyView()


def _reconfig(s: Any, vm: Any, **spec: Any) -> None:
    wait_task(s, vm.ReconfigVM_Task(vim.vm.ConfigSpec(**spec)), "ReconfigVM_Task", vm.name)


def _bind(host: Any, ip: str) -> None:
    opt = vim.option.OptionValue(key="Net.DVFilterBindIpAddress", value=ip)
    host.configManager.advancedOption.UpdateOptions(changedValue=[opt])


def test_vm_facts_read_in_the_bulk_pass_and_judged(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab()
    ov = vim.option.OptionValue
    with lab.session() as s:
        si = s.content
        assert si is not None
        vms = _objs(s, vim.VirtualMachine)
        hosts = _objs(s, vim.HostSystem)
        fw = next(v for n, v in sorted(vms.items()) if n.startswith("DC0_C0_"))
        hooked = vms["DC0_C1_RP0_VM1"]
        plain = vms["DC0_C1_RP0_VM2"]
        # what an appliance deploy tags (appliances/plan.py), and a guest IP (vcsim's alias)
        tags = [
            ov(key="vnettool.appliance", value="fw"),
            ov(key="SET.guest.ipAddress", value="10.0.0.50"),
        ]
        _reconfig(s, fw, extraConfig=tags)
        _reconfig(s, hooked, extraConfig=[ov(key="ethernet0.filter0.name", value="sniff")])
        _reconfig(s, plain, migrateEncryption="disabled")
        c0 = next(h for n, h in sorted(hosts.items()) if n.startswith("DC0_C0_"))
        c1 = next(h for n, h in sorted(hosts.items()) if n.startswith("DC0_C1_"))
        _bind(c0, "10.0.0.50")
        _bind(c1, "10.0.0.50")
        with pytest.raises(TaskFailed, match="InvalidArgument"):  # and nothing changes
            _reconfig(s, plain, migrateEncryption="sometimes")

        fast = collect(s, reader="fast")
        ref = collect(s, reader="pyvmomi")
        fw_name, c0_name, c1_name = fw.name, c0.name, c1.name  # while the session lives
    assert [v.model_dump() for v in fast.vms] == [v.model_dump() for v in ref.vms]
    by = fast.vm_by_name
    assert by[fw_name].appliance == "fw" and by[fw_name].guest_ip == "10.0.0.50"
    assert by["DC0_C1_RP0_VM1"].dvfilters == {"ethernet0.filter0.name": "sniff"}
    assert by["DC0_C1_RP0_VM2"].migrate_encryption == "disabled"
    assert {v.migrate_encryption for n, v in by.items() if n != "DC0_C1_RP0_VM2"} == {
        "opportunistic"
    }

    found = audit(fast, AuditConfig())
    sec20 = {f.object.rsplit("/", 1)[-1]: f for f in found if f.rule_id == "SEC-20"}
    assert sec20[c0_name].state == "PASS" and f"appliance {fw_name}" in sec20[c0_name].detail
    assert sec20[c1_name].state == "FAIL"  # the appliance is in the other cluster
    fails = {(f.rule_id, f.object) for f in found if f.state == "FAIL"}
    assert ("SEC-28", "DC0_C1/DC0_C1_RP0_VM1") in fails
    assert ("SEC-29", "DC0_C1/DC0_C1_RP0_VM2") in fails
    assert not {f for f in fails if f[0] in ("SEC-28", "SEC-29")} - {
        ("SEC-28", "DC0_C1/DC0_C1_RP0_VM1"),
        ("SEC-29", "DC0_C1/DC0_C1_RP0_VM2"),
    }


def test_watch_sees_an_extra_config_change(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab()
    with lab.session() as s, lab.session() as other:
        vm = _objs(other, vim.VirtualMachine)["DC0_C0_RP0_VM0"]
        w = Watcher(s, reader="fast")
        try:
            first = w.poll(timeout_s=10)
            assert first is not None and first.inventory is not None
            ov = vim.option.OptionValue(key="ethernet0.filter0.name", value="sniff")
            _reconfig(other, vm, extraConfig=[ov])
            for _ in range(20):
                w.poll(timeout_s=1)
                if w.inventory.vm_by_name["DC0_C0_RP0_VM0"].dvfilters:
                    break
            assert w.inventory.vm_by_name["DC0_C0_RP0_VM0"].dvfilters == {
                "ethernet0.filter0.name": "sniff"
            }
        finally:
            w.close()
