"""Live updates applied as deltas: after every kind of change, made by another client (plain
pyVmomi), the Watcher's inventory — rebuilt only where the delta reaches — is identical to a
full rebuild from the same raw store and to a separate pyVmomi inventory pass, and the delta
rebuilt only the changed objects and those that name them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.reference import diff_inventories, reference_inventory, without_time
from vnettool.inventory.collect import Watcher, collect
from vnettool.models.inventory import Inventory
from vnettool.vsphere.connection import Session
from vnettool.vsphere.live import Dirty

pytestmark = pytest.mark.lab

DVPG = vim.dvs.DistributedVirtualPortgroup
VDS = vim.dvs.VmwareDistributedVirtualSwitch


def _same(a: Inventory, b: Inventory) -> None:
    a, b = (without_time(x.model_copy(update={"version": ""})) for x in (a, b))
    assert diff_inventories(a, b) == []
    assert a == b


def _objects(s: Session, kind: Any) -> list[Any]:
    content = s.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return list(view.view)
    finally:
        view.DestroyView()


def _one(s: Session, kind: Any, pred: Callable[[Any], bool] = lambda _: True) -> Any:
    return next(o for o in _objects(s, kind) if pred(o))


def _settle(w: Watcher) -> Dirty:
    """Wait for every update the change caused (the first must come, the rest until a quiet
    second) and return what they rebuilt, all updates together."""
    first = w.poll(timeout_s=10)
    assert first is not None, "the change never reached the watcher"
    rebuilt = Dirty()
    while True:
        for kind in ("own", "hosts", "dvses", "dvpgs", "vms"):
            getattr(rebuilt, kind).update(getattr(w.live.rebuilt, kind))
        if w.poll(timeout_s=1) is None:
            return rebuilt


@pytest.fixture
def watched(fresh_lab: Callable[..., RunningLab]) -> Iterator[tuple[Watcher, Session, Session]]:
    lab = fresh_lab(cluster=2, host=3, vm=4, dvs=1, pg=2)
    with lab.session() as s, lab.session() as other:
        w = Watcher(s, reader="fast")
        try:
            first = w.poll(timeout_s=10)
            assert first is not None and first.inventory is not None
            yield w, s, other
        finally:
            w.close()


def _check(w: Watcher, s: Session, *, against_collect: bool = False) -> None:
    """The incremental snapshot equals a full rebuild of the same raw store (and, when asked,
    a whole separate read through pyVmomi)."""
    _same(w.inventory, reference_inventory(s, w.raw))
    if against_collect:
        _same(w.inventory, collect(s, reader="pyvmomi"))


def _vm_on_dvpg(s: Session) -> tuple[Any, Any, Any]:
    """A VM with a NIC on a DV port group: (vm, nic device, port group)."""
    for vm in _objects(s, vim.VirtualMachine):
        for d in vm.config.hardware.device:
            port = getattr(getattr(d, "backing", None), "port", None)
            if isinstance(d, vim.vm.device.VirtualEthernetCard) and port is not None:
                pg = _one(s, DVPG, lambda p, k=port.portgroupKey: p.key == k)
                return vm, d, pg
    raise AssertionError("the lab has no VM on a DV port group")


def _reconfigure_pg(other: Session, pg: Any, **spec: Any) -> None:
    cs = DVPG.ConfigSpec(configVersion=pg.config.configVersion, **spec)
    WaitForTask(pg.ReconfigureDVPortgroup_Task(cs), si=other.si)


def test_dv_changes_rebuild_only_what_they_reach(
    watched: tuple[Watcher, Session, Session],
) -> None:
    w, s, other = watched
    vm, _, pg = _vm_on_dvpg(other)
    vlan = VDS.VlanIdSpec(vlanId=321, inherited=False)
    _reconfigure_pg(other, pg, defaultPortConfig=VDS.VmwarePortConfigPolicy(vlan=vlan))
    rebuilt = _settle(w)
    assert rebuilt.dvpgs == {pg._moId} and not rebuilt.vms and not rebuilt.hosts
    assert w.live.full_rebuilds == 1  # the initial sync only
    _check(w, s, against_collect=True)

    # a renamed port group: the VMs on it show the new network name
    _reconfigure_pg(other, pg, name="renamed-pg")
    rebuilt = _settle(w)
    assert vm._moId in rebuilt.vms
    got = next(v for v in w.inventory.vms if v.moref == vm._moId)
    assert "renamed-pg" in {n.network for n in got.nics}
    _check(w, s)

    # a renamed switch: its port groups name it
    dvs = pg.config.distributedVirtualSwitch
    WaitForTask(
        dvs.ReconfigureDvs_Task(
            VDS.ConfigSpec(configVersion=dvs.config.configVersion, name="renamed-dvs")
        ),
        si=other.si,
    )
    rebuilt = _settle(w)
    assert {p.dvs for p in w.inventory.distributed_port_groups} == {"renamed-dvs"}
    # its member hosts' proxy switches name it too (config.network), so they are rebuilt
    assert pg._moId in rebuilt.dvpgs and not rebuilt.vms
    _check(w, s)

    # a port group added, then removed
    spec = DVPG.ConfigSpec(name="added-pg", type="earlyBinding", numPorts=8)
    WaitForTask(dvs.AddDVPortgroup_Task([spec]), si=other.si)
    _settle(w)
    added = _one(other, DVPG, lambda p: p.name == "added-pg")
    assert "added-pg" in {p.name for p in w.inventory.distributed_port_groups}
    _check(w, s)
    WaitForTask(added.Destroy_Task(), si=other.si)
    _settle(w)
    assert "added-pg" not in {p.name for p in w.inventory.distributed_port_groups}
    assert w.live.full_rebuilds == 1
    _check(w, s, against_collect=True)


def test_vm_and_host_changes_rebuild_only_what_they_reach(
    watched: tuple[Watcher, Session, Session],
) -> None:
    w, s, other = watched
    vm, nic, _ = _vm_on_dvpg(other)
    WaitForTask(vm.Rename_Task("renamed-vm"), si=other.si)
    rebuilt = _settle(w)
    assert rebuilt.vms == {vm._moId} and not rebuilt.hosts
    assert "renamed-vm" in w.inventory.vm_by_name
    _check(w, s)

    # the NIC moved to a standard port group
    host = vm.runtime.host
    net = next(n for n in host.network if not isinstance(n, DVPG))
    nic.backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
        deviceName=net.name, network=net
    )
    change = vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic)
    WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])), si=other.si)
    _settle(w)
    got = w.inventory.vm_by_name["renamed-vm"]
    assert net.name in {n.network for n in got.nics}
    _check(w, s)

    WaitForTask(vm.PowerOffVM_Task(), si=other.si)
    _settle(w)
    assert w.inventory.vm_by_name["renamed-vm"].power_state == "poweredOff"
    _check(w, s)

    # a host moved to the other cluster: the VMs on it follow
    clusters = _objects(other, vim.ClusterComputeResource)
    target = next(c for c in clusters if c != host.parent)
    WaitForTask(host.EnterMaintenanceMode_Task(timeout=0), si=other.si)
    rebuilt = _settle(w)
    assert rebuilt.hosts == {host._moId} and not rebuilt.vms
    assert w.inventory.host_by_name[host.name].maintenance
    WaitForTask(target.MoveInto_Task([host]), si=other.si)
    rebuilt = _settle(w)
    assert w.inventory.host_by_name[host.name].cluster == target.name
    on_host = {v.moref for v in w.inventory.vms if v.host == host.name}
    assert on_host and on_host <= rebuilt.vms
    assert {v.cluster for v in w.inventory.vms if v.host == host.name} == {target.name}
    assert w.live.full_rebuilds == 1
    _check(w, s, against_collect=True)

    # a VM removed
    WaitForTask(vm.Destroy_Task(), si=other.si)
    _settle(w)
    assert "renamed-vm" not in w.inventory.vm_by_name
    _check(w, s)


def test_a_renamed_cluster_rebuilds_everything_and_stays_equal(
    watched: tuple[Watcher, Session, Session],
) -> None:
    w, s, other = watched
    cluster = _objects(other, vim.ClusterComputeResource)[0]
    WaitForTask(cluster.Rename_Task("renamed-cluster"), si=other.si)
    _settle(w)
    assert w.live.full_rebuilds == 2
    assert "renamed-cluster" in {c.name for c in w.inventory.clusters}
    assert "renamed-cluster" in {v.cluster for v in w.inventory.vms}
    _check(w, s, against_collect=True)
