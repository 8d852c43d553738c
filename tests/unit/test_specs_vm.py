"""specs/vm.py and specs/cluster.py: the one NIC backing builder, the one NIC edit, clone
and sizing specs, and DRS rule specs — without a server."""

from __future__ import annotations

from pyVmomi import vim

from tests.unit.specs_helpers import wire
from vnettool.models.appliance import ClusterRules, DrsGroup, DrsRule
from vnettool.vsphere.specs import cluster, vm

ETH = vim.vm.device.VirtualEthernetCard


def card(key: int = 4000, connected: bool = True) -> object:
    nic = vim.vm.device.VirtualVmxnet3(key=key)
    nic.backing = ETH.NetworkBackingInfo(deviceName="VM Network")
    nic.connectable = vim.vm.device.VirtualDevice.ConnectInfo(
        connected=connected, startConnected=True, allowGuestControl=False
    )
    return nic


def test_backing_dv_or_standard() -> None:
    dv = vm.nic_backing("web", ("u-1", "dvportgroup-9"))
    assert isinstance(dv, ETH.DistributedVirtualPortBackingInfo)
    assert (dv.port.switchUuid, dv.port.portgroupKey) == ("u-1", "dvportgroup-9")
    std = vm.nic_backing("pg-app", None)
    assert isinstance(std, ETH.NetworkBackingInfo) and std.deviceName == "pg-app"


def test_nic_edit_backing_only_keeps_the_connection() -> None:
    nic = card()
    change = vm.nic_edit(nic, vm.nic_backing("pg-app", None))
    assert change.operation == "edit" and change.device is nic
    assert nic.backing.deviceName == "pg-app"
    assert (nic.connectable.connected, nic.connectable.startConnected) == (True, True)
    assert nic.connectable.allowGuestControl is False  # as read


def test_nic_edit_connection_only_keeps_the_backing() -> None:
    nic = card()
    vm.nic_edit(nic, None, connected=False)
    assert nic.backing.deviceName == "VM Network"
    assert (nic.connectable.connected, nic.connectable.startConnected) == (False, True)
    bare = vim.vm.device.VirtualVmxnet3(key=4001)
    vm.nic_edit(bare, None, connected=True, start_connected=True)
    assert bare.connectable.allowGuestControl is True and bare.connectable.startConnected is True
    wire(vm.nic_edit(card(), vm.nic_backing("web", ("u-1", "dvportgroup-9")), True, True))


def test_clone_devices_edit_add_remove() -> None:
    cards = [card(4000), card(4001), card(4002)]
    wiring = [("management NIC", "mgmt", None), ("unprotected NIC", "web", ("u-1", "pg-1"))]
    changes = vm.clone_devices(cards, wiring)
    assert [c.operation for c in changes] == ["edit", "edit", "remove"]
    first = changes[0].device
    assert first.backing.deviceName == "mgmt" and first.deviceInfo.label == "management NIC"
    assert (first.connectable.connected, first.connectable.startConnected) == (False, False)
    more = vm.clone_devices([card(4000)], [*wiring, ("protected NIC", "db", None)])
    assert [c.operation for c in more] == ["edit", "add", "add"]
    assert more[1].device.key == -101 and more[1].device.addressType == "generated"
    assert isinstance(more[1].device.backing, ETH.DistributedVirtualPortBackingInfo)


def test_clone_and_sizing_specs() -> None:
    config = vm.resources_spec(2000, 4096, "high", 2, 4096)
    assert (config.numCPUs, config.memoryMB) == (2, 4096)
    assert config.cpuAllocation.reservation == 2000 and config.cpuAllocation.limit == -1
    assert config.memoryReservationLockedToMax is True  # all memory reserved
    assert config.latencySensitivity.level == "high"
    assert vm.resources_spec(0, 1024, "normal", 1, 4096).memoryReservationLockedToMax is False
    s = vm.clone_spec(config, "host-4", "resgroup-2", {"vnettool.appliance.role": "fw"})
    assert s.location.host._moId == "host-4" and s.location.pool._moId == "resgroup-2"
    assert (s.powerOn, s.template) == (False, False)
    assert [(o.key, o.value) for o in s.config.extraConfig] == [("vnettool.appliance.role", "fw")]
    assert (
        vm.clone_spec(vm.resources_spec(0, 0, "normal", 1, 1), "host-4", None, {}).location.pool
        is None
    )
    wire(s)


def test_settings_latency_relocate() -> None:
    s = vm.settings_spec("required", {"b": "2", "a": ""})
    assert s.migrateEncryption == "required"
    assert [(o.key, o.value) for o in s.extraConfig] == [("a", ""), ("b", "2")]
    assert vm.settings_spec(None, {}).migrateEncryption is None
    lat = vm.latency_spec("high", 1000, 2048, True)
    assert lat.latencySensitivity.level == "high" and lat.memoryAllocation.reservation == 2048
    assert lat.memoryReservationLockedToMax is True
    assert vm.relocate_spec("host-7").host._moId == "host-7"
    wire(lat)


def rules() -> ClusterRules:
    return ClusterRules(
        cluster_moref="domain-c7",
        groups=[DrsGroup(name="fw-vms", kind="vm", members=["vm-1"])],
        rules=[
            DrsRule(
                key=12, name="fw-rule", kind="vm-host", vm_group="fw-vms", host_group="fw-hosts"
            )
        ],
    )


def test_pin_adds_or_edits_what_exists() -> None:
    s = cluster.pin_spec(rules(), "vm-2", "host-3", ("fw-vms", "fw-hosts", "fw-rule"))
    vms, hosts = s.groupSpec
    assert (vms.operation, hosts.operation) == ("edit", "add")
    assert [v._moId for v in vms.info.vm] == ["vm-2"] and [h._moId for h in hosts.info.host] == [
        "host-3"
    ]
    (r,) = s.rulesSpec
    assert r.operation == "edit" and r.info.key == 12 and r.info.mandatory is True
    assert r.info.affineHostGroupName == "fw-hosts"
    fresh = cluster.pin_spec(ClusterRules(cluster_moref="c"), "vm-2", "host-3", ("a", "b", "c"))
    assert [g.operation for g in fresh.groupSpec] == ["add", "add"]
    assert fresh.rulesSpec[0].operation == "add" and fresh.rulesSpec[0].info.key is None
    wire(s)


def test_anti_affinity_and_unpin() -> None:
    a = cluster.anti_affinity_spec(rules(), "apart", ["vm-1", "vm-2"])
    assert a.rulesSpec[0].operation == "add"
    assert [v._moId for v in a.rulesSpec[0].info.vm] == ["vm-1", "vm-2"]
    u = cluster.unpin_spec(rules(), ["fw-vms", "fw-rule", "missing"])
    assert u is not None
    assert [(r.operation, r.removeKey) for r in u.rulesSpec] == [("remove", 12)]
    assert [(g.operation, g.removeKey) for g in u.groupSpec] == [("remove", "fw-vms")]
    assert cluster.unpin_spec(rules(), ["missing"]) is None
    wire(u)
