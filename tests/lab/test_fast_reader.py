"""The fast inventory reader against the references, on real simulators over HTTPS.

References: pyVmomi's PropertyCollector path (same requests, pyVmomi's deserializer) and the
naive attribute walk (tests/reference.py). Inventories must be equal object by object; with
the full profile the raw objects themselves must be structurally equal.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyVmomi import vim, vmodl

from tests.conftest import RunningLab
from tests.reference import (
    diff_inventories,
    naive_walk,
    plain_raw,
    reference_inventory,
    without_time,
)
from vnettool.inventory.collect import Watcher, collect, reader_choice
from vnettool.models.inventory import Inventory
from vnettool.vsphere import collector, fastxml
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab


def open_session(lab: RunningLab) -> Session:
    """A session on `lab`. The simulator serves Go's built-in 1024-bit test certificate, which
    OpenSSL refuses to verify even when pinned (pyVmomi's version probe does not fall back to
    the thumbprint), so these tests connect with verification off; TLS is not under test here."""
    return lab.session(insecure=True, thumbprint=None)


@pytest.fixture
def session(lab: RunningLab) -> Iterator[Session]:
    with open_session(lab) as s:
        yield s


def assert_same(fast: Inventory, ref: Inventory) -> None:
    assert diff_inventories(fast, ref) == []
    assert without_time(fast) == without_time(ref)


def test_fast_equals_pyvmomi_on_default_lab(session: Session) -> None:
    fast = collect(session, reader="fast")
    assert fast.hosts and fast.vms and fast.distributed_port_groups and fast.vmkernel_adapters
    # the hosts' advanced settings come in the same collect, typed as ESXi types them
    assert {h.advanced["Net.BlockGuestBPDU"] for h in fast.hosts} == {1}
    assert {h.advanced["Net.DVFilterBindIpAddress"] for h in fast.hosts} == {""}
    assert_same(fast, collect(session, reader="pyvmomi"))


def test_fast_equals_pyvmomi_on_bigger_lab(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=4, host=8, vm=16)
    with open_session(lab) as s:
        fast = collect(s, reader="fast")
        assert len(fast.hosts) == 32 and len(fast.vms) == 64
        assert_same(fast, collect(s, reader="pyvmomi"))
        # Small pages and no threads: the same inventory through many continuations.
        raw = fastxml.FastRetrieval(s, page_size=7, parallel=False).retrieve()
        assert_same(reference_inventory(s, raw), fast)


def test_full_profile_raw_objects_equal_pyvmomi(session: Session) -> None:
    """Every property of every object, not only what the models use."""
    fast = fastxml.retrieve(session, profile=fastxml.FULL)
    ref = collector.retrieve(session)
    assert len(fast) == len(ref) > 0
    assert plain_raw(fast) == plain_raw(ref)


def test_inventory_equals_naive_walk(session: Session) -> None:
    """The snapshot lists exactly what a naive pyVmomi walk finds, object by object,
    PVLAN maps and computed policies included."""
    walked = reference_inventory(session, naive_walk(session))
    fast = collect(session)
    assert_same(fast, walked)
    assert any(
        pg.effective.security.allow_promiscuous is not None for pg in walked.standard_port_groups
    )


def _task(session: Session, task: Any) -> None:
    from pyVim.task import WaitForTask

    WaitForTask(task, si=session.si)


def _configure_everything(s: Session) -> None:
    """PVLANs, a LAG, DV port group VLAN/trunk/PVLAN with security, shaping, teaming, blocked
    and override flags, a standard port group with its own overrides, an extra vmknic."""
    content = s.content
    view = content.viewManager.CreateContainerView(
        content.rootFolder, [vim.DistributedVirtualSwitch], True
    )
    dvs = view.view[0]
    view.DestroyView()
    DVS = vim.dvs.VmwareDistributedVirtualSwitch  # noqa: N806
    spec = DVS.ConfigSpec(
        configVersion=dvs.config.configVersion,
        maxMtu=9000,
        pvlanConfigSpec=[
            DVS.PvlanConfigSpec(
                operation="add",
                pvlanEntry=DVS.PvlanMapEntry(primaryVlanId=100, secondaryVlanId=sec, pvlanType=t),
            )
            for sec, t in ((100, "promiscuous"), (101, "isolated"), (102, "community"))
        ],
    )
    _task(s, dvs.ReconfigureDvs_Task(spec))
    lag = DVS.LacpGroupConfig(
        name="lag1", mode="active", uplinkNum=2, loadbalanceAlgorithm="srcDestIpTcpUdpPortVlan"
    )
    # The lab names the switch's type DistributedVirtualSwitch, whose pyVmomi class lacks the
    # VMware-only LACP method: invoke it through the stub with the VMware type's method info.
    info = DVS._GetMethodInfo("UpdateLacpGroupConfig")
    spec_lag = [DVS.LacpGroupSpec(operation="add", lacpGroupConfig=lag)]
    _task(s, s.stub.InvokeMethod(dvs, info, [spec_lag]))

    uplinks = {p._moId for p in dvs.config.uplinkPortgroup}
    pgs = [pg for pg in dvs.portgroup if pg._moId not in uplinks]
    vlans = [
        DVS.PvlanSpec(pvlanId=101),
        DVS.TrunkVlanSpec(
            vlanId=[vim.NumericRange(start=10, end=20), vim.NumericRange(start=30, end=30)]
        ),
    ]
    shaping = vim.dvs.DistributedVirtualPort.TrafficShapingPolicy(
        enabled=vim.BoolPolicy(value=True),
        averageBandwidth=vim.LongPolicy(value=100_000_000),
        peakBandwidth=vim.LongPolicy(value=200_000_000),
        burstSize=vim.LongPolicy(value=104_857_600),
    )
    tr = vim.dvs.TrafficRule
    rules = [
        tr(
            description="mark",
            sequence=10,
            direction="outgoingPackets",
            action=tr.UpdateTagAction(dscpTag=46, qosTag=0),
            qualifier=[
                tr.IpQualifier(
                    sourceAddress=vim.IpRange(addressPrefix="10.0.0.0", prefixLength=8),
                    protocol=vim.IntExpression(value=6, negate=True),
                    destinationIpPort=tr.IpPortRange(startPortNumber=80, endPortNumber=90),
                ),
                tr.MacQualifier(
                    destinationAddress=vim.MacRange(
                        address="01:00:5e:00:00:00", mask="ff:ff:ff:80:00:00"
                    ),
                    vlanId=vim.IntExpression(value=7),
                ),
                tr.SystemTrafficQualifier(typeOfSystemTraffic=vim.StringExpression(value="vsan")),
            ],
        )
    ]
    filters = vim.dvs.DistributedVirtualPort.FilterPolicy(
        filterConfig=[
            vim.dvs.DistributedVirtualPort.TrafficFilterConfig(
                trafficRuleset=vim.dvs.TrafficRuleset(enabled=True, precedence=2, rules=rules)
            )
        ]
    )
    for i, (pg, vlan) in enumerate(zip(pgs, vlans, strict=False)):
        setting = DVS.VmwarePortConfigPolicy(
            filterPolicy=filters if i == 0 else None,
            vlan=vlan,
            inShapingPolicy=shaping,
            outShapingPolicy=shaping,
            blocked=vim.BoolPolicy(value=False),
            securityPolicy=DVS.SecurityPolicy(
                allowPromiscuous=vim.BoolPolicy(value=True),
                macChanges=vim.BoolPolicy(value=False),
                forgedTransmits=vim.BoolPolicy(value=False),
            ),
            uplinkTeamingPolicy=DVS.UplinkPortTeamingPolicy(
                policy=vim.StringPolicy(value="loadbalance_ip"),
                notifySwitches=vim.BoolPolicy(value=True),
                rollingOrder=vim.BoolPolicy(value=True),
            ),
        )
        pspec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
            configVersion=pg.config.configVersion,
            defaultPortConfig=setting,
            policy=DVS.VMwarePortgroupPolicy(
                vlanOverrideAllowed=True, shapingOverrideAllowed=True, blockOverrideAllowed=True
            ),
        )
        _task(s, pg.ReconfigureDVPortgroup_Task(pspec))

    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    host = view.view[0]
    view.DestroyView()
    ns = host.configManager.networkSystem
    pg = next(p for p in ns.networkInfo.portgroup if p.spec.name == "VM Network")
    pspec = pg.spec
    pspec.vlanId = 42
    pspec.policy = vim.host.NetworkPolicy(
        security=vim.host.NetworkPolicy.SecurityPolicy(allowPromiscuous=True),
        shapingPolicy=vim.host.NetworkPolicy.TrafficShapingPolicy(
            enabled=True, averageBandwidth=50_000_000, peakBandwidth=60_000_000, burstSize=1_000_000
        ),
        nicTeaming=vim.host.NetworkPolicy.NicTeamingPolicy(
            policy="failover_explicit",
            nicOrder=vim.host.NetworkPolicy.NicOrderPolicy(
                activeNic=["vmnic0"], standbyNic=["vmnic1"]
            ),
        ),
    )
    ns.UpdatePortGroup("VM Network", pspec)
    ns.AddVirtualNic(
        "VM Network",
        vim.host.VirtualNic.Specification(
            ip=vim.host.IpConfig(dhcp=False, ipAddress="10.9.8.7", subnetMask="255.255.255.0"),
            mtu=9000,
        ),
    )


def test_fast_equals_pyvmomi_with_every_feature(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with open_session(lab) as s:
        _configure_everything(s)
        fast = collect(s, reader="fast")
        dvs = fast.distributed_switches[0]
        assert [(e.secondary_id, e.type) for e in dvs.pvlans] == [
            (100, "promiscuous"),
            (101, "isolated"),
            (102, "community"),
        ]
        assert [g.name for g in dvs.lags] == ["lag1"]
        kinds = {pg.setting.vlan.kind for pg in fast.distributed_port_groups if not pg.uplink}
        assert {"pvlan", "trunk"} <= kinds
        assert any(
            pg.setting.in_shaping.average_bps == 100_000_000 for pg in fast.distributed_port_groups
        )
        assert any(
            pg.vlan_id == 42 and pg.policy.shaping.enabled for pg in fast.standard_port_groups
        )
        assert any(v.ip == "10.9.8.7" and v.mtu == 9000 for v in fast.vmkernel_adapters)
        (rs,) = [pg.traffic for pg in fast.distributed_port_groups if pg.traffic]
        assert [r.summary() for r in rs.rules] == [
            "tag dscp 46 cos 0, out: ip src 10.0.0.0/8 proto not 6 dport 80-90; "
            "mac dst 01:00:5e:00:00:00/ff:ff:ff:80:00:00 vlan 7; system vsan"
        ]
        assert_same(fast, collect(s, reader="pyvmomi"))
        walked = reference_inventory(s, naive_walk(s))
        assert_same(fast, walked)


def test_reader_choice(monkeypatch: pytest.MonkeyPatch, session: Session) -> None:
    monkeypatch.setenv("VNETTOOL_READER", "pyvmomi")
    assert reader_choice() == "pyvmomi"
    via_env = collect(session)
    monkeypatch.setenv("VNETTOOL_READER", "soap-magic")
    with pytest.raises(ValueError, match="unknown inventory reader"):
        collect(session)
    monkeypatch.delenv("VNETTOOL_READER")
    assert reader_choice() == "fast"
    assert_same(collect(session), via_env)


def _expire_sessions(lab: RunningLab) -> int:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(lab.state.control + "sessions/expire", method="POST", data=b"")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return int(json.loads(resp.read())["expired"])


def test_transport_raises_server_faults_as_pyvmomi_does(session: Session) -> None:
    pc = session.content.propertyCollector
    transport = fastxml.Transport(session.stub)
    with pytest.raises(vmodl.MethodFault) as fast_exc:
        transport.fetch(pc, "ContinueRetrievePropertiesEx", ["no-such-token"])
    with pytest.raises(vmodl.MethodFault) as ref_exc:
        pc.ContinueRetrievePropertiesEx("no-such-token")
    assert type(fast_exc.value) is type(ref_exc.value)
    assert transport.requests == 1


def test_fast_reader_after_session_expiry(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with open_session(lab) as s:
        before = collect(s)
        assert _expire_sessions(lab) >= 1
        after = collect(s, reader="fast")
        assert after.hosts
        assert_same(after, before)


def test_watcher_on_fast_stream_delivers_a_change_in_one_update(
    fresh_lab: Callable[..., RunningLab],
) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with open_session(lab) as s, open_session(lab) as other:
        watcher = Watcher(s, reader="fast")
        assert isinstance(watcher.stream, fastxml.FastUpdateStream)
        try:
            first = watcher.poll(timeout_s=5)
            assert first is not None and first.inventory is not None and first.entered
            assert_same(unversioned(first.inventory), collect(s, reader="pyvmomi"))

            content = other.content
            view = content.viewManager.CreateContainerView(
                content.rootFolder, [vim.dvs.DistributedVirtualPortgroup], True
            )
            pg = next(
                p for p in view.view if not p.name.endswith("-DVUplinks") and "Uplink" not in p.name
            )
            view.DestroyView()
            spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
                configVersion=pg.config.configVersion,
                defaultPortConfig=vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
                    vlan=vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(vlanId=321)
                ),
            )
            _task(other, pg.ReconfigureDVPortgroup_Task(spec))

            change = watcher.poll(timeout_s=10)
            assert change is not None and change.inventory is not None
            assert pg._moId in change.modified and not change.entered and not change.left
            assert set(change.modified) <= {pg._moId, pg.config.distributedVirtualSwitch._moId}
            got = next(d for d in change.inventory.distributed_port_groups if d.moref == pg._moId)
            assert got.setting.vlan.vlan_id == 321
            assert_same(unversioned(change.inventory), collect(s, reader="pyvmomi"))
        finally:
            watcher.close()


def unversioned(inv: Inventory) -> Inventory:
    return inv.model_copy(update={"version": None})  # a one-time read has none


def test_standard_port_groups_name_their_network_object_in_both_readers(
    session: Session,
) -> None:
    view = session.content.viewManager.CreateContainerView(
        session.content.rootFolder, [vim.HostSystem], True
    )
    try:
        want = {
            (h.name, n.name): n._moId
            for h in view.view
            for n in h.network
            if isinstance(n, vim.Network) and not isinstance(n, vim.dvs.DistributedVirtualPortgroup)
        }
    finally:
        view.DestroyView()
    for reader in ("fast", "pyvmomi"):
        inv = collect(session, reader=reader)
        got = {(p.host, p.name): p.network for p in inv.standard_port_groups}
        assert got and all(got.values()), reader
        assert got == {k: v for k, v in want.items() if k in got}, reader
        assert len({v for (_, name), v in got.items() if name == "VM Network"}) == 1
