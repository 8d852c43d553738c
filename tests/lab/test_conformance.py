"""Lab conformance: each networking call driven through plain pyVmomi, checked field by field
against what vCenter 7.0.3 does, including the fault (type and message) for bad input.

These tests are about the simulator, not vnettool: a regression in mocks/vcsim fails here
first, with the call and the field named. Each test uses a private small lab.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pyVmomi import vim, vmodl

from tests.conftest import RunningLab
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


def objs(s: Session, kind: Any) -> dict[str, Any]:
    view = s.content.viewManager.CreateContainerView(s.content.rootFolder, [kind], True)
    try:
        return {o.name: o for o in view.view}
    finally:
        view.DestroyView()


def wait(task: Any) -> Any:
    deadline = time.monotonic() + 30
    while task.info.state not in ("success", "error"):
        assert time.monotonic() < deadline, "task did not end"
        time.sleep(0.02)
    if task.info.state == "error":
        raise task.info.error
    return task.info.result


def hosts(s: Session) -> list[Any]:
    return [h for _, h in sorted(objs(s, vim.HostSystem).items())]


def test_service_content_advertises_vcenter_7_0_3(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    about = s.content.about
    assert (about.apiType, about.apiVersion, about.version) == ("VirtualCenter", "7.0.3.0", "7.0.3")
    assert s.content.dvSwitchManager is not None


def test_add_virtual_switch_keeps_the_spec_and_fills_the_default_policy(
    lab_free: tuple[RunningLab, Session],
) -> None:
    _, s = lab_free
    ns = hosts(s)[0].configManager.networkSystem
    spec = vim.host.VirtualSwitch.Specification(
        numPorts=128,
        mtu=9000,
        bridge=vim.host.VirtualSwitch.BondBridge(nicDevice=["vmnic2"]),
        policy=vim.host.NetworkPolicy(
            security=vim.host.NetworkPolicy.SecurityPolicy(allowPromiscuous=True)
        ),
    )
    ns.AddVirtualSwitch("vSwitch-c", spec)
    sw = next(v for v in ns.networkInfo.vswitch if v.name == "vSwitch-c")
    assert (sw.mtu, sw.spec.mtu, sw.numPorts) == (9000, 9000, 128)
    assert list(sw.spec.bridge.nicDevice) == ["vmnic2"] and list(sw.pnic) == [
        "key-vim.host.PhysicalNic-vmnic2"
    ]
    pol = sw.spec.policy
    assert pol.security.allowPromiscuous is True
    assert (pol.security.macChanges, pol.security.forgedTransmits) == (False, False)
    assert pol.nicTeaming.policy == "loadbalance_srcid" and pol.nicTeaming.notifySwitches is True
    assert pol.shapingPolicy.enabled is False
    vs0 = next(v for v in ns.networkInfo.vswitch if v.name == "vSwitch0")
    assert vs0.spec.policy.security.allowPromiscuous is False
    assert list(vs0.spec.policy.nicTeaming.nicOrder.activeNic) == ["vmnic0", "vmnic1"]


@pytest.mark.parametrize(
    ("name", "bridge", "fault", "message"),
    [
        ("vSwitch0", None, vim.fault.AlreadyExists, ""),
        ("vSwitch-x", ["vmnic9"], vim.fault.NotFound, "vmnic9"),
        ("vSwitch-y", ["vmnic0"], vim.fault.ResourceInUse, "vmnic0"),
    ],
)
def test_add_virtual_switch_faults(
    lab2: tuple[RunningLab, Session], name: str, bridge: list[str] | None, fault: Any, message: str
) -> None:
    _, s = lab2
    ns = hosts(s)[0].configManager.networkSystem
    spec = vim.host.VirtualSwitch.Specification(numPorts=64)
    if bridge:
        spec.bridge = vim.host.VirtualSwitch.BondBridge(nicDevice=bridge)
    with pytest.raises(fault) as err:
        ns.AddVirtualSwitch(name, spec)
    assert message in (err.value.msg or "")
    assert len([v for v in ns.networkInfo.vswitch if v.name == name]) == (
        1 if name == "vSwitch0" else 0
    )


def test_port_groups_override_compute_and_share_one_network(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    h0, h1 = hosts(s)
    override = vim.host.NetworkPolicy(
        security=vim.host.NetworkPolicy.SecurityPolicy(forgedTransmits=True)
    )
    for h in (h0, h1):
        h.configManager.networkSystem.AddPortGroup(
            vim.host.PortGroup.Specification(
                name="pg-conf", vswitchName="vSwitch0", vlanId=42, policy=override
            )
        )
    pg = next(
        p for p in h0.configManager.networkSystem.networkInfo.portgroup if p.spec.name == "pg-conf"
    )
    assert pg.spec.vlanId == 42 and pg.spec.policy.security.forgedTransmits is True
    assert pg.spec.policy.security.allowPromiscuous is None, "unset overrides stay unset"
    cp = pg.computedPolicy
    assert (cp.security.forgedTransmits, cp.security.allowPromiscuous) == (True, False)
    nets = [n for n in objs(s, vim.Network).values() if n.name == "pg-conf"]
    assert len(nets) == 1 and sorted(h.name for h in nets[0].host) == sorted([h0.name, h1.name])


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ({"name": "VM Network", "vswitchName": "vSwitch0", "vlanId": 0}, vim.fault.AlreadyExists),
        ({"name": "pg-nosw", "vswitchName": "vSwitch9", "vlanId": 0}, vim.fault.NotFound),
        (
            {"name": "pg-badvlan", "vswitchName": "vSwitch0", "vlanId": 4096},
            vmodl.fault.InvalidArgument,
        ),
    ],
)
def test_add_port_group_faults(
    lab2: tuple[RunningLab, Session], spec: dict[str, Any], fault: Any
) -> None:
    _, s = lab2
    ns = hosts(s)[0].configManager.networkSystem
    with pytest.raises(fault):
        ns.AddPortGroup(vim.host.PortGroup.Specification(policy=vim.host.NetworkPolicy(), **spec))


def test_vmknic_lifecycle_services_and_in_use_port_group(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    h = hosts(s)[0]
    ns, vnm = h.configManager.networkSystem, h.configManager.virtualNicManager
    ns.AddPortGroup(
        vim.host.PortGroup.Specification(
            name="pg-vmk", vswitchName="vSwitch0", vlanId=7, policy=vim.host.NetworkPolicy()
        )
    )
    ip = vim.host.IpConfig(dhcp=False, ipAddress="172.30.0.5", subnetMask="255.255.255.0")
    dev = ns.AddVirtualNic("pg-vmk", vim.host.VirtualNic.Specification(ip=ip, mtu=9000))
    assert dev == "vmk2", "the lowest free device"
    vnic = next(v for v in ns.networkInfo.vnic if v.device == dev)
    assert (vnic.portgroup, vnic.spec.mtu, vnic.spec.ip.ipAddress) == ("pg-vmk", 9000, "172.30.0.5")
    assert vnic.spec.mac.startswith("00:50:56:")
    vnm.SelectVnicForNicType("vmotion", dev)
    cfg = vnm.QueryNetConfig("vmotion")
    assert f"vmotion.key-vim.host.VirtualNic-{dev}" in list(cfg.selectedVnic)
    with pytest.raises(vim.fault.ResourceInUse):
        ns.RemovePortGroup("pg-vmk")
    with pytest.raises(vmodl.fault.InvalidArgument):
        ns.UpdateVirtualNic(dev, vim.host.VirtualNic.Specification(mtu=9500))
    ns.RemoveVirtualNic(dev)
    assert f"vmotion.key-vim.host.VirtualNic-{dev}" not in list(
        vnm.QueryNetConfig("vmotion").selectedVnic or []
    )
    ns.RemovePortGroup("pg-vmk")
    assert "pg-vmk" not in [p.spec.name for p in ns.networkInfo.portgroup]


def test_create_dvs_honours_the_config_and_joins_hosts(
    lab_free: tuple[RunningLab, Session],
) -> None:
    _, s = lab_free
    h0, _ = hosts(s)
    dc = next(iter(objs(s, vim.Datacenter).values()))
    cfg = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(
        name="dvs-conf",
        maxMtu=9000,
        uplinkPortPolicy=vim.DistributedVirtualSwitch.NameArrayUplinkPortPolicy(
            uplinkPortName=["up1", "up2"]
        ),
        host=[
            vim.dvs.HostMember.ConfigSpec(
                operation="add",
                host=h0,
                backing=vim.dvs.HostMember.PnicBacking(
                    pnicSpec=[vim.dvs.HostMember.PnicSpec(pnicDevice="vmnic2")]
                ),
            )
        ],
    )
    spec = vim.DistributedVirtualSwitch.CreateSpec(
        configSpec=cfg, productInfo=vim.dvs.ProductSpec(version="7.0.3")
    )
    dvs = wait(dc.networkFolder.CreateDVS_Task(spec))
    assert (dvs.config.maxMtu, dvs.config.productInfo.version) == (9000, "7.0.3")
    assert list(dvs.config.uplinkPortPolicy.uplinkPortName) == ["up1", "up2"]
    assert dvs.config.uplinkPortgroup and dvs.config.uplinkPortgroup[0].config.uplink is True
    assert [m.config.host for m in dvs.config.host] == [h0]
    proxy = [p for p in h0.config.network.proxySwitch if p.dvsName == "dvs-conf"]
    assert proxy and list(proxy[0].pnic) == ["key-vim.host.PhysicalNic-vmnic2"]
    with pytest.raises(vim.fault.DuplicateName) as err:
        wait(dc.networkFolder.CreateDVS_Task(spec))
    assert "dvs-conf" in (err.value.msg or "")


def test_pvlan_map_and_dv_port_group_validation(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    dvs = next(iter(objs(s, vim.DistributedVirtualSwitch).values()))
    dv = vim.dvs.VmwareDistributedVirtualSwitch

    def pvlan(primary: int, secondary: int, kind: str, version: str) -> Any:
        entry = dv.PvlanMapEntry(primaryVlanId=primary, secondaryVlanId=secondary, pvlanType=kind)
        return dvs.ReconfigureDvs_Task(
            dv.ConfigSpec(
                configVersion=version,
                pvlanConfigSpec=[dv.PvlanConfigSpec(operation="add", pvlanEntry=entry)],
            )
        )

    with pytest.raises(vmodl.fault.InvalidArgument):  # isolated without its promiscuous primary
        wait(pvlan(300, 301, "isolated", dvs.config.configVersion))
    version = dvs.config.configVersion
    wait(pvlan(300, 300, "promiscuous", version))
    assert int(dvs.config.configVersion) == int(version) + 1
    with pytest.raises(vim.fault.ConcurrentAccess):  # a stale configVersion
        wait(pvlan(300, 301, "isolated", version))
    wait(pvlan(300, 301, "isolated", dvs.config.configVersion))
    assert {(e.primaryVlanId, e.secondaryVlanId, e.pvlanType) for e in dvs.config.pvlanConfig} >= {
        (300, 300, "promiscuous"),
        (300, 301, "isolated"),
    }
    pg_spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        name="dvpg-conf",
        type="earlyBinding",
        defaultPortConfig=dv.VmwarePortConfigPolicy(
            vlan=dv.PvlanSpec(pvlanId=301, inherited=False)
        ),
    )
    wait(dvs.AddDVPortgroup_Task([pg_spec]))
    pg = next(p for p in dvs.portgroup if p.name == "dvpg-conf")
    assert pg.config.defaultPortConfig.vlan.pvlanId == 301
    assert (pg.config.numPorts, pg.config.autoExpand) == (8, True)
    bad = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        configVersion=pg.config.configVersion,
        defaultPortConfig=dv.VmwarePortConfigPolicy(
            vlan=dv.PvlanSpec(pvlanId=999, inherited=False)
        ),
    )
    with pytest.raises(vmodl.fault.InvalidArgument):  # not a secondary of the switch
        wait(pg.ReconfigureDVPortgroup_Task(bad))
    with pytest.raises(vim.fault.ResourceInUse):  # a port group uses the secondary
        entry = dv.PvlanMapEntry(primaryVlanId=300, secondaryVlanId=301, pvlanType="isolated")
        wait(
            dvs.ReconfigureDvs_Task(
                dv.ConfigSpec(
                    configVersion=dvs.config.configVersion,
                    pvlanConfigSpec=[dv.PvlanConfigSpec(operation="remove", pvlanEntry=entry)],
                )
            )
        )


def test_property_collector_pages_like_vcenter(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    pc, content = s.content.propertyCollector, s.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    pcq = vmodl.query.PropertyCollector
    spec = pcq.FilterSpec(
        objectSet=[
            pcq.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[pcq.TraversalSpec(name="v", type=vim.view.ContainerView, path="view")],
            )
        ],
        propSet=[pcq.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])],
    )
    first = pc.RetrievePropertiesEx([spec], pcq.RetrieveOptions(maxObjects=1))
    assert len(first.objects) == 1 and first.token
    rest = pc.ContinueRetrievePropertiesEx(first.token)
    names = {first.objects[0].propSet[0].val, *(o.propSet[0].val for o in rest.objects)}
    assert len(names) == len(view.view) == 2 and not rest.token
    again = pc.RetrievePropertiesEx([spec], pcq.RetrieveOptions(maxObjects=1))
    pc.CancelRetrievePropertiesEx(again.token)
    with pytest.raises(vmodl.fault.InvalidArgument):
        pc.ContinueRetrievePropertiesEx(again.token)
    view.DestroyView()


def test_dvs_manager_and_vsan_cluster_config(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    mgr = s.content.dvSwitchManager
    every = [p.version for p in mgr.QueryAvailableDvsSpec()]
    assert every == ["6.5.0", "6.6.0", "7.0.0", "7.0.2", "7.0.3"]
    recommended = [p.version for p in mgr.QueryAvailableDvsSpec(recommended=True)]
    assert "6.5.0" not in recommended and "7.0.3" in recommended
    assert {p.vendor for p in mgr.QueryAvailableDvsSpec()} == {"VMware, Inc."}
    hosts_ok = mgr.QueryDvsCompatibleHostSpec(vim.dvs.ProductSpec(version="7.0.3"))
    assert [h.version for h in hosts_ok] == ["7.0.3"]
    with pytest.raises(vmodl.fault.InvalidArgument):
        mgr.QueryDvsCompatibleHostSpec(vim.dvs.ProductSpec(version="5.0.0"))
    for cl in objs(s, vim.ClusterComputeResource).values():
        vsan = cl.configurationEx.vsanConfigInfo
        assert vsan.enabled is False and vsan.defaultConfig.autoClaimStorage is False


def test_vmotion_keeps_host_vm_lists_and_unique_macs(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    h0, h1 = hosts(s)
    vm = next(v for v in objs(s, vim.VirtualMachine).values() if v.runtime.host == h0)
    wait(vm.RelocateVM_Task(vim.vm.RelocateSpec(host=h1)))
    assert vm.runtime.host == h1
    assert vm in list(h1.vm) and vm not in list(h0.vm)
    macs = [
        d.macAddress
        for v in objs(s, vim.VirtualMachine).values()
        for d in v.config.hardware.device
        if isinstance(d, vim.vm.device.VirtualEthernetCard)
    ]
    assert len(macs) == len(set(macs)) and all(m.startswith("00:50:56:") for m in macs)


def test_wait_for_updates_truncates_at_max_object_updates(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    content = s.content
    pc = content.propertyCollector.CreatePropertyCollector()
    pcq = vmodl.query.PropertyCollector
    view = content.viewManager.CreateContainerView(
        content.rootFolder, [vim.VirtualMachine, vim.HostSystem], True
    )
    spec = pcq.FilterSpec(
        objectSet=[
            pcq.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[pcq.TraversalSpec(name="v", type=vim.view.ContainerView, path="view")],
            )
        ],
        propSet=[
            pcq.PropertySpec(type=vim.VirtualMachine, pathSet=["name"]),
            pcq.PropertySpec(type=vim.HostSystem, pathSet=["name"]),
        ],
    )
    pc.CreateFilter(spec, partialUpdates=False)
    opts = pcq.WaitOptions(maxWaitSeconds=0, maxObjectUpdates=2)
    version, seen, answers = "", [], []
    while True:
        res = pc.WaitForUpdatesEx(version, opts)
        objs = [o for fs in res.filterSet for o in fs.objectSet]
        assert len(objs) <= 2
        answers.append(bool(res.truncated))
        seen += [o.obj for o in objs]
        version = res.version
        if not res.truncated:
            break
    assert len(seen) == len(set(seen)) == len(view.view) == 4  # 2 hosts + 2 VMs
    assert answers[-1] is False and all(answers[:-1]) and len(answers) == 2
    assert pc.WaitForUpdatesEx(version, opts) is None, "the final version is current"
    pc.DestroyPropertyCollector()
    view.DestroyView()


def test_a_host_added_at_run_time_gets_the_realistic_network(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    cluster = next(iter(objs(s, vim.ClusterComputeResource).values()))
    spec = vim.host.ConnectSpec(
        hostName="esx-new.lab.local", userName="root", password="x", force=True
    )
    host = wait(cluster.AddHost_Task(spec, True))
    assert host.name == "esx-new.lab.local" and host in list(cluster.host)
    ni = host.configManager.networkSystem.networkInfo
    assert [p.device for p in ni.pnic] == [f"vmnic{i}" for i in range(6)], (
        "as many as the lab's hosts"
    )
    assert [v.name for v in ni.vswitch] == ["vSwitch0"]
    assert {p.spec.name for p in ni.portgroup} == {"Management Network", "VM Network", "vMotion"}
    vmks = {v.device: v for v in ni.vnic}
    assert set(vmks) == {"vmk0", "vmk1"}
    others = {
        v.spec.ip.ipAddress
        for h in hosts(s)
        if h != host
        for v in h.configManager.networkSystem.networkInfo.vnic
    }
    assert vmks["vmk0"].spec.ip.ipAddress not in others, "a fresh management IP"
    selected = host.configManager.virtualNicManager.QueryNetConfig("management").selectedVnic
    assert list(selected) == ["management.key-vim.host.VirtualNic-vmk0"]
    assert host.config.network.vnic[0].device == "vmk0", "config.network is the same view"


BAD_REQUESTS = [
    "<not xml",
    '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body></soapenv:Body></soapenv:Envelope>',
    '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><NoSuchMethod xmlns="urn:vim25"><_this type="HostSystem">host-1</_this></NoSuchMethod></soapenv:Body></soapenv:Envelope>',
    '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><AddPortGroup xmlns="urn:vim25"><_this type="HostNetworkSystem">nope-1</_this><portgrp><name>x</name><vlanId>99999999999</vlanId></portgrp></AddPortGroup></soapenv:Body></soapenv:Envelope>',
    '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><ReconfigureDvs_Task xmlns="urn:vim25"><_this type="VmwareDistributedVirtualSwitch">dvs-999</_this></ReconfigureDvs_Task></soapenv:Body></soapenv:Envelope>',
    '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet></specSet><options><maxObjects>-5</maxObjects></options></RetrievePropertiesEx></soapenv:Body></soapenv:Envelope>',
]


@pytest.mark.parametrize("body", BAD_REQUESTS, ids=range(len(BAD_REQUESTS)))
def test_bad_requests_get_a_fault_and_the_lab_survives(
    lab2: tuple[RunningLab, Session], body: str
) -> None:
    import http.client
    import ssl

    running, s = lab2
    host, port = running.state.url.split("//", 1)[1].split("/", 1)[0].split(":")
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    cookie = s.stub.cookie if hasattr(s.stub, "cookie") else ""
    conn.request(
        "POST",
        "/sdk",
        body.encode(),
        {"Content-Type": "text/xml", "SOAPAction": "urn:vim25/7.0.3.0", "Cookie": cookie or ""},
    )
    resp = conn.getresponse()
    text = resp.read().decode(errors="replace")
    conn.close()
    assert resp.status in (400, 500), (resp.status, text[:300])
    assert "Fault" in text or resp.status == 400
    assert s.content.about.apiVersion == "7.0.3.0", "the lab still answers"
