"""specs/dvs.py: switch, PVLAN, LACP, mirroring, NetFlow, pools, host members, health check
— built from models without a server; only what differs is set."""

from __future__ import annotations

import pytest
from pyVmomi import vim

from tests.unit.specs_helpers import wire
from vnettool.models.inventory import (
    DistributedSwitch,
    DvPortSetting,
    HealthCheckConfig,
    LacpGroup,
    MirrorSession,
    NetflowConfig,
    NiocPool,
    NiocTraffic,
    PvlanEntry,
)
from vnettool.models.policy import SecurityPolicy
from vnettool.vsphere.specs import dvs as spec

VS = vim.dvs.VmwareDistributedVirtualSwitch


def switch(**kw: object) -> DistributedSwitch:
    base: dict[str, object] = {"moref": "dvs-1", "name": "DVS0", "uuid": "u-1"}
    return DistributedSwitch.model_validate(base | kw)


def test_create_sends_every_given_property() -> None:
    after = switch(
        max_mtu=9000,
        description="core",
        uplink_names=["uplink1", "uplink2"],
        ldp_protocol="lldp",
        ldp_operation="both",
        nioc_enabled=True,
    )
    s = spec.switch_spec(None, after)
    assert s.name == "DVS0" and s.maxMtu == 9000 and s.description == "core"
    assert list(s.uplinkPortPolicy.uplinkPortName) == ["uplink1", "uplink2"]
    assert (s.linkDiscoveryProtocolConfig.protocol, s.linkDiscoveryProtocolConfig.operation) == (
        "lldp",
        "both",
    )
    assert s.networkResourceControlVersion == "version3"
    assert "<maxMtu>9000</maxMtu>" in wire(s)


def test_update_sets_only_what_changed() -> None:
    before = switch(max_mtu=1500, description="core", uplink_names=["uplink1"])
    after = before.model_copy(update={"max_mtu": 9000})
    s = spec.switch_spec(before, after)
    assert s.maxMtu == 9000
    assert s.name is None and s.description is None and s.uplinkPortPolicy is None
    assert s.defaultPortConfig is None and s.host == []


def test_description_removed_is_sent_empty() -> None:
    before = switch(description="old")
    s = spec.switch_spec(before, before.model_copy(update={"description": None}))
    assert s.description == ""


def test_nioc_sends_only_the_changed_classes() -> None:
    vm = NiocTraffic(key="virtualMachine", level="normal", shares=50)
    vmo = NiocTraffic(key="vmotion", level="normal", shares=50)
    before = switch(nioc=[vm, vmo])
    after = switch(nioc=[vm, vmo.model_copy(update={"level": "high", "reservation_mbps": 100})])
    s = spec.switch_spec(before, after)
    (only,) = s.infrastructureTrafficResourceConfig
    assert only.key == "vmotion"
    assert only.allocationInfo.shares.level == "high" and only.allocationInfo.reservation == 100
    assert only.allocationInfo.limit == -1  # no limit given: unlimited


def test_default_port_setting_and_host_members() -> None:
    before = switch()
    after = switch(default_port=DvPortSetting(security=SecurityPolicy(forged_transmits=False)))
    s = spec.switch_spec(
        before, after, [("add", "host-9", {"vmnic2": "uplink1"}), ("remove", "host-8", {})]
    )
    assert s.defaultPortConfig.securityPolicy.forgedTransmits.value is False
    add, remove = s.host
    assert (add.operation, add.host._moId) == ("add", "host-9")
    assert [p.pnicDevice for p in add.backing.pnicSpec] == ["vmnic2"]
    assert (remove.operation, remove.backing) == ("remove", None)
    assert "host-9" in wire(s)


def test_pvlan_and_lag_specs() -> None:
    p = spec.pvlan_spec(
        "add", PvlanEntry(dvs="DVS0", primary_id=300, secondary_id=301, type="isolated")
    )
    assert p.operation == "add"
    assert (p.pvlanEntry.primaryVlanId, p.pvlanEntry.secondaryVlanId, p.pvlanEntry.pvlanType) == (
        300,
        301,
        "isolated",
    )
    g = spec.lag_spec(
        "edit", LacpGroup(dvs="DVS0", name="lag1", key="k1", mode="active", uplink_count=2)
    )
    assert g.operation == "edit" and g.lacpGroupConfig.key == "k1"
    assert (g.lacpGroupConfig.mode, g.lacpGroupConfig.uplinkNum) == ("active", 2)
    wire(p), wire(g)


def test_host_uplinks_binds_pnics_to_port_keys() -> None:
    s = spec.host_uplinks_spec("host-3", {"vmnic2": "lag1-0", "vmnic3": "lag1-1"})
    (m,) = s.host
    assert m.operation == "edit" and m.host._moId == "host-3"
    assert [(p.pnicDevice, p.uplinkPortKey) for p in m.backing.pnicSpec] == [
        ("vmnic2", "lag1-0"),
        ("vmnic3", "lag1-1"),
    ]


def test_ipfix_fills_the_required_timeouts() -> None:
    c = spec.ipfix_config(NetflowConfig(collector_ip="192.0.2.5", collector_port=4739))
    assert (c.collectorIpAddress, c.collectorPort) == ("192.0.2.5", 4739)
    assert (c.activeFlowTimeout, c.idleFlowTimeout, c.samplingRate) == (60, 15, 4096)
    assert c.internalFlowsOnly is False
    zero = spec.ipfix_config(NetflowConfig(sampling_rate=0))
    assert zero.samplingRate == 0  # an explicit 0 is kept


def test_vspan_add_edit_remove() -> None:
    m = MirrorSession(
        dvs="DVS0",
        name="span1",
        key="s-1",
        type="dvPortMirror",
        enabled=True,
        sources_transmitted=["10"],
        sources_received=["10"],
        source_vlans=[],
        destination_ports=["20"],
    )
    add = spec.vspan_spec("add", m)
    assert add.operation == "add" and add.vspanSession.key is None  # the server keys it
    assert list(add.vspanSession.sourcePortTransmitted.portKey) == ["10"]
    assert list(add.vspanSession.destinationPort.portKey) == ["20"]
    edit = spec.vspan_spec("edit", m)
    assert edit.vspanSession.key == "s-1" and edit.vspanSession.name == "span1"
    remove = spec.vspan_spec("remove", m)
    assert remove.vspanSession.key == "s-1" and remove.vspanSession.name is None
    empty = spec.vspan_spec("add", m.model_copy(update={"destination_ports": []}))
    assert empty.vspanSession.destinationPort is None
    wire(add)


def test_pool_spec_by_operation() -> None:
    p = NiocPool(dvs="DVS0", name="gold", key="np-1", reservation_mbps=200, config_version="4")
    add = spec.pool_spec("add", p)
    assert (add.name, add.allocationInfo.reservationQuota, add.configVersion) == ("gold", 200, None)
    edit = spec.pool_spec("edit", p)
    assert edit.configVersion == "4" and edit.key == "np-1"
    remove = spec.pool_spec("remove", p)
    assert remove.name is None and remove.allocationInfo is None and remove.key == "np-1"


def test_health_check_configs_both_classes() -> None:
    vlan, team = spec.health_check_configs(HealthCheckConfig(vlan_mtu=True, teaming_interval=5))
    assert isinstance(vlan, VS.VlanMtuHealthCheckConfig) and isinstance(
        team, VS.TeamingHealthCheckConfig
    )
    assert (vlan.enable, vlan.interval) == (True, 1)  # interval unset: vCenter's default
    assert (team.enable, team.interval) == (False, 5)


def test_create_spec_asks_for_the_version() -> None:
    c = spec.create_spec(
        switch(version="7.0.3", max_mtu=9000), [("add", "host-1", {"vmnic2": "uplink1"})]
    )
    assert c.productInfo.version == "7.0.3"
    assert c.configSpec.name == "DVS0" and c.configSpec.maxMtu == 9000
    assert [m.host._moId for m in c.configSpec.host] == ["host-1"]
    assert spec.create_spec(switch()).productInfo is None  # none asked: vCenter's newest


def test_backup_export_selection_and_import_configs() -> None:
    from vnettool.models.desired import BackupEntity
    from vnettool.models.inventory import DistributedPortGroup

    pgs = [
        DistributedPortGroup(moref="dvpg-1", key="dvportgroup-1", name="web", dvs="DVS0"),
        DistributedPortGroup(
            moref="dvpg-2", key="dvportgroup-2", name="up", dvs="DVS0", uplink=True
        ),
    ]
    sw_sel, pg_sel = spec.export_selection(switch(), pgs)
    assert sw_sel.dvsUuid == "u-1"
    assert pg_sel.dvsUuid == "u-1" and list(pg_sel.portgroupKey) == ["dvportgroup-1"]  # no uplinks
    assert len(spec.export_selection(switch(), pgs[1:])) == 1
    entity = BackupEntity(
        entity_type="distributedVirtualSwitch",
        key="u-1",
        name="DVS0",
        container="group-n5",
        blob="aGVsbG8=",
    )
    (cfg,) = spec.backup_configs([entity])
    assert bytes(cfg.configBlob) == b"hello" and cfg.container._moId == "group-n5"
    assert "<configBlob>aGVsbG8=</configBlob>" in wire(cfg)  # xsd:base64Binary, as exported
    with pytest.raises(ValueError):
        spec.backup_configs([entity.model_copy(update={"blob": "not base64!"})])
