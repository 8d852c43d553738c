"""specs/dvportgroup.py and specs/dvport.py: a port group's partial ConfigSpec, the port
setting it shares with the switch, and traffic filter rules — without a server."""

from __future__ import annotations

import pytest
from pyVmomi import vim

from tests.unit.specs_helpers import wire
from vnettool.errors import ApiFault
from vnettool.models.inventory import (
    DistributedPortGroup,
    DvPortSetting,
    IpQualifier,
    MacQualifier,
    SystemQualifier,
    TrafficRule,
    TrafficRuleset,
)
from vnettool.models.policy import SecurityPolicy, ShapingPolicy, TeamingPolicy, VlanSpec
from vnettool.vsphere.specs import dvport, dvportgroup

VS = vim.dvs.VmwareDistributedVirtualSwitch


def pg(**kw: object) -> DistributedPortGroup:
    base: dict[str, object] = {
        "moref": "dvpg-1",
        "key": "dvportgroup-1",
        "name": "web",
        "dvs": "DVS0",
    }
    return DistributedPortGroup.model_validate(base | kw)


def test_create_sends_name_binding_and_setting() -> None:
    after = pg(
        binding="static",
        num_ports=16,
        description="web tier",
        setting=DvPortSetting(vlan=VlanSpec(kind="vlan", vlan_id=110)),
        override_allowed={"vlanOverrideAllowed": True},
    )
    s = dvportgroup.portgroup_spec(None, after)
    assert (s.name, s.type, s.numPorts, s.description) == ("web", "earlyBinding", 16, "web tier")
    assert isinstance(s.defaultPortConfig.vlan, VS.VlanIdSpec)
    assert s.defaultPortConfig.vlan.vlanId == 110
    # the policy object carries every required override flag, the given one set
    assert s.policy.vlanOverrideAllowed is True and s.policy.blockOverrideAllowed is False
    assert "<vlanId>110</vlanId>" in wire(s)


def test_update_sets_only_what_changed() -> None:
    before = pg(num_ports=8, setting=DvPortSetting(vlan=VlanSpec(kind="vlan", vlan_id=10)))
    after = before.model_copy(update={"num_ports": 16})
    s = dvportgroup.portgroup_spec(before, after)
    assert s.numPorts == 16
    assert s.name is None and s.type is None and s.defaultPortConfig is None and s.policy is None


def test_nioc_pool_by_key_and_cleared() -> None:
    before = pg(nioc_pool=None)
    s = dvportgroup.portgroup_spec(before, pg(nioc_pool="gold"), {"gold": "np-7"})
    assert s.vmVnicNetworkResourcePoolKey == "np-7"
    cleared = dvportgroup.portgroup_spec(pg(nioc_pool="gold"), pg(nioc_pool=None), {})
    assert cleared.vmVnicNetworkResourcePoolKey == "-1"
    with pytest.raises(ApiFault, match="network resource pool silver does not exist on DVS0"):
        dvportgroup.portgroup_spec(before, pg(nioc_pool="silver"), {"gold": "np-7"})


def test_vlan_kinds() -> None:
    trunk = dvport.port_setting(
        None, DvPortSetting(vlan=VlanSpec(kind="trunk", ranges=[(100, 199)]))
    )
    assert trunk is not None and isinstance(trunk.vlan, VS.TrunkVlanSpec)
    assert [(r.start, r.end) for r in trunk.vlan.vlanId] == [(100, 199)]
    pvlan = dvport.port_setting(None, DvPortSetting(vlan=VlanSpec(kind="pvlan", pvlan_id=301)))
    assert pvlan is not None and pvlan.vlan.pvlanId == 301
    assert dvport.port_setting(None, DvPortSetting()) is None  # nothing given: nothing sent


def test_security_shaping_teaming_partial() -> None:
    before = DvPortSetting(
        security=SecurityPolicy(allow_promiscuous=False, forged_transmits=False),
        in_shaping=ShapingPolicy(enabled=True, average_bps=1000, peak_bps=2000),
        teaming=TeamingPolicy(policy="loadbalance_srcid", failback=True),
    )
    after = before.model_copy(
        update={
            "security": SecurityPolicy(allow_promiscuous=False, forged_transmits=True),
            "in_shaping": ShapingPolicy(enabled=True, average_bps=5000, peak_bps=2000),
            "teaming": TeamingPolicy(policy="loadbalance_srcid", failback=False),
        }
    )
    s = dvport.port_setting(before, after)
    assert s is not None
    # security goes as a whole block of what the document gives
    assert s.securityPolicy.forgedTransmits.value is True
    assert s.securityPolicy.allowPromiscuous.value is False
    assert (
        s.inShapingPolicy.averageBandwidth.value == 5000 and s.inShapingPolicy.peakBandwidth is None
    )
    assert s.outShapingPolicy is None
    assert s.uplinkTeamingPolicy.rollingOrder.value is True  # failback off = rolling order
    assert s.uplinkTeamingPolicy.policy is None
    wire(s)


def test_mac_learning_goes_in_mac_management() -> None:
    after = DvPortSetting(security=SecurityPolicy(mac_learning=True, mac_changes=False))
    s = dvport.port_setting(None, after)
    assert s is not None and s.macManagementPolicy.macLearningPolicy.enabled is True
    assert s.macManagementPolicy.macChanges is False


def test_blocked_and_netflow() -> None:
    s = dvport.port_setting(DvPortSetting(netflow=False), DvPortSetting(netflow=True, blocked=True))
    assert s is not None and s.ipfixEnabled.value is True and s.blocked.value is True


def ruleset(**kw: object) -> TrafficRuleset:
    rules = [
        TrafficRule(
            name="drop-telnet",
            sequence=10,
            action="drop",
            ip=IpQualifier(destination="10.0.0.0/8", destination_port="23", negate=["destination"]),
        ),
        TrafficRule(
            name="mark-voice",
            action="tag",
            dscp=46,
            direction="outgoingPackets",
            mac=MacQualifier(ethertype=0x0800, vlan=20),
        ),
        TrafficRule(name="vmotion", action="allow", system=SystemQualifier(type="vMotion")),
    ]
    base: dict[str, object] = {"dvs": "DVS0", "portgroup": "web", "rules": rules}
    return TrafficRuleset.model_validate(base | kw)


def test_traffic_filter_add_edit_remove() -> None:
    add = dvport.traffic_filter_spec("add", ruleset(filter_key="f-1", key="rs-1"))
    assert add.operation == "add" and add.key is None  # the server keys a new filter
    assert add.agentName == dvport.TRAFFIC_AGENT and add.trafficRuleset.key is None
    drop, tag, allow = add.trafficRuleset.rules
    assert isinstance(drop.action, vim.dvs.TrafficRule.DropAction)
    (ip,) = drop.qualifier
    assert isinstance(ip.destinationAddress, vim.IpRange)
    assert (ip.destinationAddress.addressPrefix, ip.destinationAddress.prefixLength) == (
        "10.0.0.0",
        8,
    )
    assert ip.destinationAddress.negate is True and ip.destinationIpPort.portNumber == 23
    assert drop.direction == "both" and drop.sequence == 10
    assert tag.action.dscpTag == 46 and tag.qualifier[0].vlanId.value == 20
    assert allow.qualifier[0].typeOfSystemTraffic.value == "vMotion"
    edit = dvport.traffic_filter_spec("edit", ruleset(filter_key="f-1", key="rs-1"))
    assert edit.key == "f-1" and edit.trafficRuleset.key == "rs-1"
    remove = dvport.traffic_filter_spec("remove", ruleset(filter_key="f-1"))
    assert remove.key == "f-1" and remove.trafficRuleset is None
    cfg = dvport.filter_setting(add)
    assert cfg.defaultPortConfig.filterPolicy.filterConfig[0] is add
    assert cfg.configVersion is None  # the sender sets it
    wire(cfg)


def test_an_action_vnettool_does_not_write_is_refused() -> None:
    bad = ruleset(rules=[TrafficRule(name="rate", action="rate_limit")])
    with pytest.raises(ValueError, match="vnettool does not write rate_limit actions"):
        dvport.traffic_filter_spec("add", bad)


def test_port_order_specs_set_or_reinherit() -> None:
    own, back = dvport.port_order_specs(
        {"12": {"inherited": True}, "10": {"active": ["uplink2"], "standby": ["uplink1"]}}
    )
    assert (own.key, own.operation) == ("10", "edit")  # in key order
    order = own.setting.uplinkTeamingPolicy.uplinkPortOrder
    assert own.setting.uplinkTeamingPolicy.inherited is False and order.inherited is False
    assert (list(order.activeUplinkPort), list(order.standbyUplinkPort)) == (
        ["uplink2"],
        ["uplink1"],
    )
    assert back.key == "12" and back.setting.uplinkTeamingPolicy.inherited is True
    assert back.setting.uplinkTeamingPolicy.uplinkPortOrder is None
    wire(own)
