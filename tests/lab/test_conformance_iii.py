"""Lab conformance, part III: what a generic client sees of switch lifecycles, DV ports,
tasks and events. Plain pyVmomi against a private lab, checked against vCenter 7.0.3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.lab.test_conformance import hosts, objs, wait
from vnettool.lab.runner import LAB_USER
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab


@pytest.fixture
def lab2(fresh_lab: Any) -> Iterator[tuple[RunningLab, Session]]:
    running = fresh_lab(cluster=1, host=2, vm=2)
    with running.session() as s:
        yield running, s


@pytest.fixture
def lab_free(fresh_lab: Any) -> Iterator[tuple[RunningLab, Session]]:
    """Hosts whose vmnic2/vmnic3 are free (no DVS in the lab)."""
    running = fresh_lab(cluster=1, host=2, vm=2, dvs=0)
    with running.session() as s:
        yield running, s


def create_dvs(s: Session, name: str, pnic: str = "vmnic2", pgs: int = 2) -> Any:
    """A switch with every host as a member (uplink `pnic`) and `pgs` port groups."""
    dc = next(iter(objs(s, vim.Datacenter).values()))
    members = [
        vim.dvs.HostMember.ConfigSpec(
            operation="add",
            host=h,
            backing=vim.dvs.HostMember.PnicBacking(
                pnicSpec=[vim.dvs.HostMember.PnicSpec(pnicDevice=pnic)]
            ),
        )
        for h in hosts(s)
    ]
    cfg = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(name=name, host=members)
    dvs = wait(
        dc.networkFolder.CreateDVS_Task(vim.DistributedVirtualSwitch.CreateSpec(configSpec=cfg))
    )
    if pgs:
        specs = [
            vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
                name=f"{name}-pg{i}", type="earlyBinding"
            )
            for i in range(pgs)
        ]
        wait(dvs.AddDVPortgroup_Task(specs))
    return dvs


def test_destroying_a_dvs_removes_its_port_groups_and_frees_the_uplinks(
    lab_free: tuple[RunningLab, Session],
) -> None:
    _, s = lab_free
    dvs = create_dvs(s, "dvs-gone")
    pg_refs = {pg._moId for pg in dvs.portgroup}
    assert len(pg_refs) == 3  # two port groups and the uplink port group
    wait(dvs.Destroy_Task())
    left = {
        n for n, pg in objs(s, vim.dvs.DistributedVirtualPortgroup).items() if pg._moId in pg_refs
    }
    assert left == set(), "port groups of the destroyed switch are still in the inventory"
    assert "dvs-gone" not in objs(s, vim.DistributedVirtualSwitch)
    cluster = next(iter(objs(s, vim.ClusterComputeResource).values()))
    assert not {n._moId for n in cluster.network} & pg_refs
    for h in hosts(s):
        assert [p.dvsName for p in h.config.network.proxySwitch] == []
        assert not {n._moId for n in h.network} & pg_refs
        # the uplink is free again: a standard switch may claim it
        h.configManager.networkSystem.AddVirtualSwitch(
            "vSwitch-after",
            vim.host.VirtualSwitch.Specification(
                numPorts=64, bridge=vim.host.VirtualSwitch.BondBridge(nicDevice=["vmnic2"])
            ),
        )


def test_destroy_is_refused_while_vms_are_connected(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    dvs = objs(s, vim.DistributedVirtualSwitch)["DVS0"]
    before = sorted(objs(s, vim.dvs.DistributedVirtualPortgroup))
    with pytest.raises(vim.fault.ResourceInUse) as err:
        wait(dvs.Destroy_Task())
    assert "DVS0" in (err.value.msg or "")
    with pytest.raises(vim.fault.ResourceInUse) as err:
        wait(objs(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG0"].Destroy_Task())
    assert "DC0_DVPG0" in (err.value.msg or "")
    assert sorted(objs(s, vim.dvs.DistributedVirtualPortgroup)) == before
    assert all(h.config.network.proxySwitch for h in hosts(s))


def test_destroying_a_dv_port_group_leaves_no_reference(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    pg = objs(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG1"]
    ref = pg._moId
    wait(pg.Destroy_Task())
    dvs = objs(s, vim.DistributedVirtualSwitch)["DVS0"]
    assert ref not in {p._moId for p in dvs.portgroup}
    assert "DC0_DVPG1" not in dvs.summary.portgroupName
    for h in hosts(s):
        assert ref not in {n._moId for n in h.network}


def dv_portgroup(s: Session, name: str) -> Any:
    return objs(s, vim.dvs.DistributedVirtualPortgroup)[name]


def test_fetch_dv_ports_honours_the_criteria_with_unique_keys(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    dvs = objs(s, vim.DistributedVirtualSwitch)["DVS0"]
    pg0 = dv_portgroup(s, "DC0_DVPG0")
    ports = dvs.FetchDVPorts()
    keys = [p.key for p in ports]
    assert len(keys) == len(set(keys)) == 8 + 8 + 4, "port keys are unique per switch"
    pg_keys = {pg.key for pg in dvs.portgroup}
    assert all(p.portgroupKey in pg_keys for p in ports), "every port names its port group"
    assert not set(keys) & pg_keys, "port groups are not listed among the ports"

    crit = vim.dvs.PortCriteria
    inside = dvs.FetchDVPorts(crit(portgroupKey=[pg0.key], inside=True))
    assert len(inside) == 8 and {p.portgroupKey for p in inside} == {pg0.key}
    outside = dvs.FetchDVPorts(crit(portgroupKey=[pg0.key], inside=False))
    assert len(outside) == 12 and pg0.key not in {p.portgroupKey for p in outside}
    uplinks = dvs.FetchDVPorts(crit(uplinkPort=True))
    assert [p.config.name for p in uplinks] == ["uplink1", "uplink2"] * 2
    assert {p.connectee.nicKey for p in uplinks} == {"vmnic2", "vmnic3"}
    assert len(dvs.FetchDVPorts(crit(uplinkPort=False))) == 16
    assert len(dvs.FetchDVPortKeys(crit(portKey=keys[:3]))) == 3

    # static binding: each VM NIC holds a port of its port group, shown as connected
    connected = dvs.FetchDVPorts(crit(portgroupKey=[pg0.key], inside=True, connected=True))
    by_key = {p.key: p for p in connected}
    vms = objs(s, vim.VirtualMachine)
    assert len(by_key) == len(vms) == 2
    for vm in vms.values():
        nic = next(
            d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
        )
        port = by_key[nic.backing.port.portKey]
        assert port.connectee.connectedEntity == vm and port.connectee.nicKey == str(nic.key)
        assert port.connectee.type == "vmVnic" and port.proxyHost == vm.runtime.host
    assert len(dvs.FetchDVPorts(crit(host=[hosts(s)[0]], uplinkPort=True))) == 2


def test_vmknic_and_new_vm_nic_get_a_port_of_their_own(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    dvs = objs(s, vim.DistributedVirtualSwitch)["DVS0"]
    pg1 = dv_portgroup(s, "DC0_DVPG1")
    h0 = hosts(s)[0]
    conn = vim.dvs.PortConnection(switchUuid=dvs.uuid, portgroupKey=pg1.key)
    dev = h0.configManager.networkSystem.AddVirtualNic(
        "", vim.host.VirtualNic.Specification(distributedVirtualPort=conn)
    )
    vmk = next(v for v in h0.config.network.vnic if v.device == dev)
    vm = objs(s, vim.VirtualMachine)["DC0_C0_RP0_VM0"]
    nic = vim.vm.device.VirtualVmxnet3(
        backing=vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(port=conn)
    )
    change = vim.vm.device.VirtualDeviceSpec(operation="add", device=nic)
    wait(vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])))
    cards = [
        d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
    ]
    new = cards[-1]
    pg_ports = {
        p.key for p in dvs.FetchDVPorts(vim.dvs.PortCriteria(portgroupKey=[pg1.key], inside=True))
    }
    held = [vmk.spec.distributedVirtualPort.portKey, new.backing.port.portKey]
    assert all(held) and len(set(held)) == 2 and set(held) <= pg_ports


def test_reconfig_vm_nic_gets_vcenter_key_label_mac_and_one_network_entry(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    vm = objs(s, vim.VirtualMachine)["DC0_C0_RP0_VM1"]
    pg0 = dv_portgroup(s, "DC0_DVPG0")
    dvs = objs(s, vim.DistributedVirtualSwitch)["DVS0"]
    conn = vim.dvs.PortConnection(switchUuid=dvs.uuid, portgroupKey=pg0.key)
    nic = vim.vm.device.VirtualVmxnet3(
        key=-1,
        backing=vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(port=conn),
    )
    change = vim.vm.device.VirtualDeviceSpec(operation="add", device=nic)
    wait(vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])))
    cards = [
        d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
    ]
    assert [c.deviceInfo.label for c in cards] == ["Network adapter 1", "Network adapter 2"]
    assert cards[1].key >= 4000 and cards[1].key != cards[0].key
    assert cards[1].macAddress.startswith("00:50:56:") and cards[1].addressType == "assigned"
    assert [n._moId for n in vm.network] == [pg0._moId], "each network is listed once"


def test_one_task_per_call_named_target_and_the_user_as_initiator(
    lab_free: tuple[RunningLab, Session],
) -> None:
    _, s = lab_free
    dvs = create_dvs(s, "dvs-tasks", pgs=1)
    tasks = [t.info for t in s.content.taskManager.recentTask]
    mine = [
        i
        for i in tasks
        if i.descriptionId in ("Folder.createDVS", "DistributedVirtualSwitch.addDVPortgroup")
    ]
    assert sorted(i.descriptionId for i in mine) == [
        "DistributedVirtualSwitch.addDVPortgroup",
        "Folder.createDVS",
    ]
    for info in mine:
        assert isinstance(info.reason, vim.TaskReasonUser)
        assert info.reason.userName == LAB_USER
    add = next(i for i in mine if i.descriptionId.endswith("addDVPortgroup"))
    assert (add.entity, add.entityName) == (dvs, "dvs-tasks")
    product = dvs.summary.productInfo
    assert (product.name, product.vendor) == ("DVS", "VMware, Inc.")


def test_changes_post_events_found_by_query_and_collector(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    h0, h1 = hosts(s)
    dc = next(iter(objs(s, vim.Datacenter).values()))
    cfg = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(name="dvs-events")
    new = wait(
        dc.networkFolder.CreateDVS_Task(vim.DistributedVirtualSwitch.CreateSpec(configSpec=cfg))
    )
    wait(
        new.AddDVPortgroup_Task([vim.dvs.DistributedVirtualPortgroup.ConfigSpec(name="pg-events")])
    )
    join = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(
        configVersion=new.config.configVersion,
        host=[vim.dvs.HostMember.ConfigSpec(operation="add", host=h0)],
    )
    wait(new.ReconfigureDvs_Task(join))
    h0.configManager.networkSystem.AddPortGroup(
        vim.host.PortGroup.Specification(
            name="pg-host-ev", vlanId=10, vswitchName="vSwitch0", policy=vim.host.NetworkPolicy()
        )
    )
    vm = next(v for v in objs(s, vim.VirtualMachine).values() if v.runtime.host == h0)
    wait(vm.RelocateVM_Task(vim.vm.RelocateSpec(host=h1)))

    em = s.content.eventManager
    wanted = [
        "DvsCreatedEvent",
        "DVPortgroupCreatedEvent",
        "DvsReconfiguredEvent",
        "DvsHostJoinedEvent",
        "VmMigratedEvent",
        "TaskEvent",
    ]
    events = em.QueryEvents(vim.event.EventFilterSpec(eventTypeId=wanted))
    kinds = {type(e).__name__.split(".")[-1] for e in events}
    assert set(wanted) <= kinds, kinds
    assert all(e.userName == LAB_USER for e in events)
    created = next(e for e in events if isinstance(e, vim.event.DvsCreatedEvent))
    assert created.dvs.dvs == new and created.dvs.name == "dvs-events"
    joined = next(e for e in events if isinstance(e, vim.event.DvsHostJoinedEvent))
    assert joined.hostJoined.host == h0
    moved = next(e for e in events if isinstance(e, vim.event.VmMigratedEvent))
    assert (moved.vm.vm, moved.sourceHost.host, moved.host.host) == (vm, h0, h1)
    host_tasks = [
        e
        for e in events
        if isinstance(e, vim.event.TaskEvent) and e.info.descriptionId.endswith("addPortGroup")
    ]
    assert host_tasks and host_tasks[0].host.host == h0 and host_tasks[0].info.entityName == h0.name

    created_c = em.CreateCollectorForEvents(
        vim.event.EventFilterSpec(eventTypeId=["DvsCreatedEvent"])
    )
    destroyed_c = em.CreateCollectorForEvents(
        vim.event.EventFilterSpec(eventTypeId=["DvsDestroyedEvent"])
    )
    try:
        assert [e.dvs.name for e in created_c.latestPage] == ["dvs-events"]
        assert list(destroyed_c.latestPage) == []
        wait(new.Destroy_Task())
        assert [e.dvs.name for e in destroyed_c.latestPage] == ["dvs-events"]  # live
    finally:
        created_c.DestroyCollector()
        destroyed_c.DestroyCollector()


def test_every_host_port_group_is_linked_to_its_network(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    for h in hosts(s):
        names = {p.spec.name for p in h.config.network.portgroup}
        nets = {
            n.name: n for n in h.network if not isinstance(n, vim.dvs.DistributedVirtualPortgroup)
        }
        assert names == {"Management Network", "VM Network", "vMotion"}
        assert names <= set(nets), names - set(nets)
        assert all(h in nets[n].host for n in names)
