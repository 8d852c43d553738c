"""The fast reader against pyVmomi's deserializer, on the same bytes.

Two sources of XML: pages recorded from the lab simulator (tests/unit/data/fastxml, the
default topology, paged by 10 objects), and responses serialized by pyVmomi itself from
constructed values (polymorphic VLAN specs, backings, policies; hypothesis-generated scalars).
For each, the fast reader's light objects must be structurally equal to pyVmomi's objects
(`reference.plain`), and the inventory built from them equal.
"""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyVmomi import VmomiSupport, vim, vmodl

from tests.reference import (
    envelope,
    plain,
    plain_raw,
    pyvmomi_parse,
    raw_from_fast,
    raw_from_pyvmomi,
    update_envelope,
    without_time,
)
from vnettool.vsphere import fastxml
from vnettool.vsphere.reader import build_inventory, vlan_spec

DATA = Path(__file__).parent / "data" / "fastxml"
PAGES = sorted(DATA.glob("default_lab_p*.xml.gz"))
FULL = fastxml.Schema(fastxml.FULL)
NET = fastxml.Schema(fastxml.NETWORK)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DVS = vim.dvs.VmwareDistributedVirtualSwitch


def _pages() -> list[bytes]:
    return [gzip.decompress(p.read_bytes()) for p in PAGES]


def test_recorded_pages_exist() -> None:
    assert len(PAGES) >= 2, "recorded lab pages are missing"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_recorded_page_equals_pyvmomi(page: Path) -> None:
    body = gzip.decompress(page.read_bytes())
    objects, token = fastxml.parse_retrieve(body, FULL)
    ref = pyvmomi_parse(body)
    assert token == ref.token
    assert [(t, m) for t, m, _ in objects] == [(o.obj._wsdlName, o.obj._moId) for o in ref.objects]
    assert plain_raw(raw_from_fast(objects)) == plain_raw(raw_from_pyvmomi(ref))


def test_recorded_lab_inventory_equals_pyvmomi_with_network_profile() -> None:
    fast: list[fastxml.ObjectProps] = []
    ref = []
    for body in _pages():
        fast += fastxml.parse_retrieve(body, NET)[0]
        ref += pyvmomi_parse(body).objects
    a = build_inventory(raw_from_fast(fast))
    b = build_inventory(raw_from_pyvmomi(vmodl.query.PropertyCollector.RetrieveResult(objects=ref)))
    assert len(a.hosts) > 0 and len(a.vms) > 0 and len(a.vmkernel_adapters) > 0
    assert without_time(a) == without_time(b)


def test_network_profile_keeps_only_network_cards() -> None:
    """Pruned devices are not read at all; every NIC is, with its backing."""
    body = max(_pages(), key=lambda b: b.count(b"VirtualDevice"))
    full = raw_from_fast(fastxml.parse_retrieve(body, FULL)[0])
    net = raw_from_fast(fastxml.parse_retrieve(body, NET)[0])
    vms = [k for k, o in full.items() if o.type == "VirtualMachine"]
    assert vms
    for k in vms:
        devices = full[k].props["config.hardware.device"]
        nics = [d for d in devices if fastxml.is_subtype(d._wsdlName, "VirtualEthernetCard")]
        assert len(devices) > len(nics) > 0
        assert plain(net[k].props["config.hardware.device"]) == plain(nics)


def test_strip_cuts_unread_devices_in_the_bytes_and_changes_nothing_read() -> None:
    """The byte-level cut of a VM's non-NIC devices gives the same objects as the reader's own
    skipping, and leaves every network card (and nothing else of the page) in place."""
    body = max(_pages(), key=lambda b: b.count(b"VirtualDevice"))
    cut = NET.strip(body)
    assert len(cut) < len(body)
    assert cut.count(b"VirtualDevice") < body.count(b"VirtualDevice")
    same = raw_from_fast(fastxml.parse_retrieve(cut, NET)[0])
    want = raw_from_fast(fastxml.parse_retrieve(body, NET)[0])
    assert plain_raw(same) == plain_raw(want)
    assert FULL.strip(body) == body  # the full profile keeps everything


@given(cut=st.lists(st.integers(min_value=1, max_value=4000), min_size=1, max_size=40))
@SETTINGS
def test_chunking_does_not_matter(cut: list[int]) -> None:
    body = _pages()[0]
    parser = fastxml.RetrieveParser(FULL)
    got: list[fastxml.ObjectProps] = []
    pos = 0
    for n in cut:
        got += parser.feed(body[pos : pos + n])
        pos += n
    got += parser.feed(body[pos:])
    got += parser.close()
    whole, token = fastxml.parse_retrieve(body, FULL)
    assert parser.token == token
    assert plain_raw(raw_from_fast(got)) == plain_raw(raw_from_fast(whole))


# -- constructed values -----------------------------------------------------------------------
def both(props: dict[str, Any], mo: Any = None, schema: fastxml.Schema = FULL) -> tuple[Any, Any]:
    """(fast, pyVmomi) property dicts of one object serialized by pyVmomi."""
    body = envelope([(mo or vim.HostSystem("host-1"), props)])
    ((_, _, fast),) = fastxml.parse_retrieve(body, schema)[0]
    ref = {p.name: p.val for p in pyvmomi_parse(body).objects[0].propSet}
    return fast, ref


def assert_same(props: dict[str, Any], mo: Any = None) -> dict[str, Any]:
    fast, ref = both(props, mo)
    assert {k: plain(v) for k, v in fast.items()} == {k: plain(v) for k, v in ref.items()}
    return fast


VLANS = [
    DVS.VlanIdSpec(inherited=False, vlanId=0),
    DVS.VlanIdSpec(inherited=True, vlanId=4094),
    DVS.TrunkVlanSpec(
        vlanId=[vim.NumericRange(start=1, end=10), vim.NumericRange(start=20, end=4094)]
    ),
    DVS.PvlanSpec(pvlanId=101),
]


@pytest.mark.parametrize("vlan", VLANS, ids=lambda v: type(v).__name__)
def test_vlan_specs_keep_their_type(vlan: Any) -> None:
    setting = DVS.VmwarePortConfigPolicy(vlan=vlan)
    fast = assert_same({"config.defaultPortConfig": setting})
    got = fast["config.defaultPortConfig"].vlan
    assert got._wsdlName == VmomiSupport.GetWsdlName(type(vlan))
    assert vlan_spec(got) == vlan_spec(vlan)


def test_backings_policies_pvlan_lag_moref_arrays() -> None:
    port = vim.dvs.PortConnection(switchUuid="50 2a", portgroupKey="dvportgroup-11", portKey="7")
    nics = [
        vim.vm.device.VirtualVmxnet3(
            key=4000,
            macAddress="00:50:56:00:00:01",
            addressType="assigned",
            backing=vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(port=port),
            connectable=vim.vm.device.VirtualDevice.ConnectInfo(
                connected=True, startConnected=False
            ),
        ),
        vim.vm.device.VirtualE1000(
            key=4001,
            macAddress="00:50:56:00:00:02",
            backing=vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
                deviceName="VM Network", network=vim.Network("network-7")
            ),
        ),
        vim.vm.device.VirtualDisk(key=2000, capacityInKB=1 << 40),
    ]
    kinds = ((100, "promiscuous"), (101, "isolated"), (102, "community"))
    pvlans = [
        vim.dvs.VmwareDistributedVirtualSwitch.PvlanMapEntry(
            primaryVlanId=100, secondaryVlanId=s, pvlanType=t
        )
        for s, t in kinds
    ]
    lag = vim.dvs.VmwareDistributedVirtualSwitch.LacpGroupConfig(
        key="lag1", name="lag1", mode="active", uplinkNum=2, uplinkName=["lag1-0", "lag1-1"]
    )
    policy = vim.host.NetworkPolicy(
        shapingPolicy=vim.host.NetworkPolicy.TrafficShapingPolicy(
            enabled=True, averageBandwidth=100_000_000_000, peakBandwidth=1, burstSize=2**40
        ),
        nicTeaming=vim.host.NetworkPolicy.NicTeamingPolicy(
            rollingOrder=True,
            nicOrder=vim.host.NetworkPolicy.NicOrderPolicy(activeNic=["vmnic0"], standbyNic=[]),
        ),
    )
    vms = vim.VirtualMachine.Array([vim.VirtualMachine("vm-1"), vim.VirtualMachine("vm-2")])
    fast = assert_same(
        {
            "config.hardware.device": vim.vm.device.VirtualDevice.Array(nics),
            "config.pvlanConfig": DVS.PvlanMapEntry.Array(pvlans),
            "config.lacpGroupConfig": DVS.LacpGroupConfig.Array([lag]),
            "config.createTime": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
            "config.uplinkPortgroup": vim.dvs.DistributedVirtualPortgroup.Array(
                [vim.dvs.DistributedVirtualPortgroup("dvportgroup-9")]
            ),
            "policy": policy,
            "vm": vms,
            "strings": VmomiSupport.GetVmodlType("string[]")(["a", "b"]),
        }
    )
    assert fast["vm"][1]._moId == "vm-2" and fast["vm"][1]._wsdlName == "VirtualMachine"
    assert fast["config.createTime"] == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert [e.pvlanType for e in fast["config.pvlanConfig"]] == [t for _, t in kinds]
    assert fast["config.lacpGroupConfig"][0].uplinkName == ["lag1-0", "lag1-1"]
    assert fast["policy"].shapingPolicy.burstSize == 2**40
    # The network profile drops the disk and nothing else.
    net, _ = both({"config.hardware.device": vim.vm.device.VirtualDevice.Array(nics)}, schema=NET)
    assert [d._wsdlName for d in net["config.hardware.device"]] == [
        "VirtualVmxnet3",
        "VirtualE1000",
    ]


xml_text = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"
    ),
    max_size=30,
).map(str.strip)
longs = st.integers(min_value=-(2**63), max_value=2**63 - 1)
ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)


@given(
    enabled=st.booleans(),
    avg=longs,
    peak=st.none() | longs,
    name=xml_text,
    mtu=st.none() | ints,
    ports=ints,
    groups=st.lists(xml_text, max_size=4),
    ranges=st.lists(st.tuples(ints, ints), max_size=4),
)
@SETTINGS
def test_scalars_and_arrays_roundtrip(
    enabled: bool,
    avg: int,
    peak: int | None,
    name: str,
    mtu: int | None,
    ports: int,
    groups: list[str],
    ranges: list[tuple[int, int]],
) -> None:
    sw = vim.host.VirtualSwitch(
        name=name,
        key=f"key-vim.host.VirtualSwitch-{name}",
        mtu=mtu,
        numPorts=ports,
        portgroup=groups,
        spec=vim.host.VirtualSwitch.Specification(
            numPorts=ports,
            policy=vim.host.NetworkPolicy(
                shapingPolicy=vim.host.NetworkPolicy.TrafficShapingPolicy(
                    enabled=enabled, averageBandwidth=avg, peakBandwidth=peak
                )
            ),
        ),
    )
    trunk = DVS.TrunkVlanSpec(vlanId=[vim.NumericRange(start=a, end=b) for a, b in ranges])
    fast = assert_same({"sw": sw, "trunk": trunk, "flag": enabled, "n": avg, "s": name})
    assert fast["sw"].spec.policy.shapingPolicy.averageBandwidth == avg
    assert fast["n"] == avg and type(fast["flag"]) is bool


@given(
    value=st.floats(allow_nan=False, allow_infinity=False)
    | st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    )
)
@SETTINGS
def test_floats_and_datetimes_roundtrip(value: Any) -> None:
    fast = assert_same({"v": value})
    assert fast["v"] == value


def test_missing_set_unknown_elements_and_types() -> None:
    body = (
        b'<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        b'<soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><token>7</token>'
        b'<objects><obj type="HostSystem">host-9</obj>'
        b'<propSet><name>name</name><val xsi:type="xsd:string">esx-9</val></propSet>'
        b'<propSet><name>p</name><val xsi:type="HostPortGroupSpec"><name>pg</name>'
        b"<vlanId>12</vlanId><vswitchName>vSwitch0</vswitchName><newerField>x</newerField>"
        b'<policy xsi:type="SomePolicyFromTheFuture"><security><allowPromiscuous>true'
        b"</allowPromiscuous></security></policy></val></propSet>"
        b"<missingSet><path>config.network</path><fault><fault "
        b'xsi:type="NoPermission"/></fault></missingSet></objects></returnval>'
        b"</RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>"
    )
    (obj,), token = fastxml.parse_retrieve(body, FULL)
    assert token == "7"
    t, m, props = obj
    assert (t, m, sorted(props)) == ("HostSystem", "host-9", ["name", "p"])
    spec = props["p"]
    assert (spec.name, spec.vlanId, spec.vswitchName) == ("pg", 12, "vSwitch0")
    assert not hasattr(spec, "newerField")
    assert spec.policy._wsdlName == "HostNetworkPolicy"  # unknown subtype: read as declared
    assert spec.policy.security.allowPromiscuous is True


def test_empty_result_has_no_objects() -> None:
    """Nothing matched: vCenter answers with no returnval at all."""
    body = (
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"/>'
        b"</soapenv:Body></soapenv:Envelope>"
    )
    assert fastxml.parse_retrieve(body, FULL) == ([], None)
    assert pyvmomi_parse(body) is None


def test_fault_body_becomes_pyvmomi_fault() -> None:
    body = (
        b'<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        b"<faultcode>ServerFaultCode</faultcode><faultstring>session is gone</faultstring>"
        b'<detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated">'
        b"<privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail>"
        b"</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    info = vmodl.query.PropertyCollector._GetMethodInfo("RetrievePropertiesEx")
    fault = fastxml._fault(None, info, body, "RetrievePropertiesEx")
    assert isinstance(fault, vim.fault.NotAuthenticated)
    assert fault.msg == "session is gone"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", None])
def test_inflater_streams(encoding: str | None) -> None:
    body = _pages()[0]
    if encoding == "gzip":
        wire = gzip.compress(body)
    elif encoding == "deflate":
        wire = zlib.compress(body)
    else:
        wire = body
    inflate = fastxml._inflater(encoding)
    chunks = [wire[i : i + 997] for i in range(0, len(wire), 997)]
    out = b"".join(inflate(c) for c in chunks) if inflate else b"".join(chunks)
    assert out == body


def test_wait_for_updates_response() -> None:
    pc = vmodl.query.PropertyCollector
    pg = vim.dvs.DistributedVirtualPortgroup("dvportgroup-11")
    setting = DVS.VmwarePortConfigPolicy(vlan=DVS.PvlanSpec(pvlanId=101))
    update = pc.UpdateSet(
        version="3",
        truncated=True,
        filterSet=[
            pc.FilterUpdate(
                filter=pc.Filter("session[1]f"),
                objectSet=[
                    pc.ObjectUpdate(
                        kind="modify",
                        obj=pg,
                        changeSet=[
                            pc.Change(name="config.defaultPortConfig", op="assign", val=setting),
                            pc.Change(name="name", op="assign", val="web"),
                        ],
                    ),
                    pc.ObjectUpdate(
                        kind="modify",
                        obj=vim.HostSystem("host-1"),
                        changeSet=[pc.Change(name="config.network", op="remove")],
                    ),
                    pc.ObjectUpdate(kind="leave", obj=vim.VirtualMachine("vm-3")),
                ],
            )
        ],
    )
    version, truncated, objects = fastxml.parse_updates(update_envelope(update), FULL)
    assert (version, truncated) == ("3", True)
    assert [(k, t, m) for k, t, m, _ in objects] == [
        ("modify", "DistributedVirtualPortgroup", "dvportgroup-11"),
        ("modify", "HostSystem", "host-1"),
        ("leave", "VirtualMachine", "vm-3"),
    ]
    (op, path, val), (op2, path2, val2) = objects[0][3]
    assert (op, path, op2, path2, val2) == (
        "assign",
        "config.defaultPortConfig",
        "assign",
        "name",
        "web",
    )
    assert plain(val) == plain(setting)
    assert objects[1][3] == [("remove", "config.network", None)]
    assert fastxml.parse_updates(update_envelope(None), FULL) == (None, False, [])


def test_extra_config_keeps_only_the_audited_keys_and_host_options_stay_whole() -> None:
    """A VM's config.extraConfig is cut to the dvFilter keys and vnettool's tags in the bytes;
    the reader's own filter (models.inventory.kept_extra_config) keeps the same entries from
    pyVmomi's full answer, and an OptionValue that is a property's value (a host's
    setting["Net.X"]) is never cut."""
    ov = vim.option.OptionValue
    entries = [
        ov(key="nvram", value="vm.nvram"),
        ov(key="ethernet0.filter0.name", value="vendor-agent"),
        ov(key="pciBridge0.present", value="TRUE"),
        ov(key="ethernet10.filter3.onFailure", value="failOpen"),
        ov(key="vnettool.appliance", value="fw"),
        ov(key="vnettool.appliance.host", value="esx1"),
        ov(key="guestinfo.x", value="<ethernet0.filter0.name>\n"),
    ]
    long_t = VmomiSupport.GetVmodlType("long")
    body = envelope(
        [
            (vim.VirtualMachine("vm-1"), {"config.extraConfig": ov.Array(entries)}),
            (
                vim.option.OptionManager("om-1"),
                {'setting["Net.BlockGuestBPDU"]': ov(key="Net.BlockGuestBPDU", value=long_t(1))},
            ),
        ]
    )
    cut = NET.strip(body)
    assert len(cut) < len(body) and FULL.strip(body) == body
    got = raw_from_fast(fastxml.parse_retrieve(cut, NET)[0])
    keys = [o.key for o in got["vm-1"].props["config.extraConfig"]]
    assert keys == [
        "ethernet0.filter0.name",
        "ethernet10.filter3.onFailure",
        "vnettool.appliance",
        "vnettool.appliance.host",
    ]
    from vnettool.models.inventory import kept_extra_config

    assert keys == [e.key for e in entries if kept_extra_config(e.key)]
    assert got["om-1"].props['setting["Net.BlockGuestBPDU"]'].value == 1
