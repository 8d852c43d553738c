"""specs/hostnet.py: host network policies and vSwitch / port group / VMkernel adapter
specifications — whole new states, unset blocks inherited — without a server."""

from __future__ import annotations

from tests.unit.specs_helpers import wire
from vnettool.models.inventory import StandardPortGroup, StandardSwitch, VmkernelAdapter
from vnettool.models.policy import NetworkPolicy, SecurityPolicy, ShapingPolicy, TeamingPolicy
from vnettool.vsphere.specs import hostnet as spec


def test_unset_blocks_are_left_unset() -> None:
    p = spec.host_network_policy(NetworkPolicy(security=SecurityPolicy(allow_promiscuous=True)))
    assert p.security.allowPromiscuous is True and p.security.macChanges is None
    assert p.shapingPolicy is None and p.nicTeaming is None


def test_teaming_failback_is_rolling_order_inverted() -> None:
    t = TeamingPolicy(
        failback=False, check_beacon=True, active_uplinks=["vmnic0"], standby_uplinks=[]
    )
    p = spec.host_network_policy(NetworkPolicy(teaming=t))
    assert p.nicTeaming.rollingOrder is True
    assert p.nicTeaming.failureCriteria.checkBeacon is True
    assert list(p.nicTeaming.nicOrder.activeNic) == ["vmnic0"]
    assert list(p.nicTeaming.nicOrder.standbyNic) == []
    shaped = spec.host_network_policy(
        NetworkPolicy(shaping=ShapingPolicy(enabled=True, peak_bps=9))
    )
    assert shaped.shapingPolicy.enabled is True and shaped.shapingPolicy.peakBandwidth == 9
    wire(p)


def test_vswitch_spec() -> None:
    sw = StandardSwitch(
        host="esx1",
        name="vSwitch1",
        mtu=9000,
        uplinks=["vmnic4", "vmnic5"],
        policy=NetworkPolicy(teaming=TeamingPolicy(check_beacon=True)),
    )
    s = spec.vswitch_spec(sw)
    assert (s.numPorts, s.mtu) == (spec.DEFAULT_NUM_PORTS, 9000)
    assert list(s.bridge.nicDevice) == ["vmnic4", "vmnic5"]
    assert s.bridge.beacon.interval == 1  # beacon probing needs the bridge's beacon config
    plain = spec.vswitch_spec(StandardSwitch(host="esx1", name="vSwitch2", num_ports=64))
    assert plain.numPorts == 64 and plain.policy is None and plain.bridge is None
    assert plain.mtu is None  # none given: the host's default
    wire(s)


def test_portgroup_spec() -> None:
    pg = StandardPortGroup(host="esx1", name="pg-app", switch="vSwitch0", vlan_id=20)
    s = spec.portgroup_spec(pg)
    assert (s.name, s.vlanId, s.vswitchName) == ("pg-app", 20, "vSwitch0")
    assert s.policy.security is None  # inherit from the switch
    wire(s)


def test_vnic_specs() -> None:
    static = VmkernelAdapter(
        host="esx1", device="vmk1", ip="10.0.0.5", netmask="255.255.255.0", mtu=9000
    )
    s = spec.vnic_spec(static)
    assert (s.ip.dhcp, s.ip.ipAddress, s.ip.subnetMask, s.mtu) == (
        False,
        "10.0.0.5",
        "255.255.255.0",
        9000,
    )
    dhcp = spec.vnic_spec(VmkernelAdapter(host="esx1", device="vmk2", dhcp=True))
    assert dhcp.ip.dhcp is True and dhcp.mtu is None
    onto_dv = spec.vnic_move_spec(("u-1", "dvportgroup-9"), None)
    assert onto_dv.distributedVirtualPort.switchUuid == "u-1"
    assert (
        onto_dv.distributedVirtualPort.portgroupKey == "dvportgroup-9" and onto_dv.portgroup is None
    )
    onto_std = spec.vnic_move_spec(None, "Management Network")
    assert onto_std.portgroup == "Management Network" and onto_std.distributedVirtualPort is None
    assert onto_std.ip is None  # a move changes nothing else
    wire(s), wire(onto_dv)


def test_advanced_option_integers_go_as_long() -> None:
    name, bpdu = spec.option_values({"Net.BlockGuestBPDU": 1, "Config.HostAgent.log.level": "info"})
    assert (name.key, name.value) == ("Config.HostAgent.log.level", "info")  # by key
    assert bpdu.key == "Net.BlockGuestBPDU" and bpdu.value == 1
    assert 'xsi:type="xsd:long"' in wire(bpdu)  # ESXi refuses an xsd:int here
