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


# -- 1. esxcli over the API, as a generic client discovers and runs it ---------------------
#
# pyVmomi has neither the vmodl.reflect types nor the HostSystem methods that return them, so
# these calls are sent as raw SOAP over pyVmomi's own stub (its session cookie and connection);
# everything read back to check them goes through plain pyVmomi objects.

NS = {"v": "urn:vim25"}


def soap(s: Session, body: str) -> Any:
    """POST one request through the session's pyVmomi stub; the Body's child, or AssertionError
    with the SOAP fault's text."""
    from lxml import etree

    stub = s.si._stub
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()
    conn = stub.GetConnection()
    try:
        conn.request(
            "POST",
            stub.path,
            envelope,
            {"Cookie": stub.cookie, "SOAPAction": stub.versionId, "Content-Type": "text/xml"},
        )
        resp = conn.getresponse()
        payload = resp.read()
    finally:
        conn.close()
    root = etree.fromstring(payload)
    body_el = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert resp.status == 200, payload.decode()
    return body_el[0]


def moref(tag: str, kind: str, value: str) -> str:
    return f'<{tag} type="{kind}">{value}</{tag}>'


def retrieve(s: Session, method: str, host: Any) -> tuple[str, str]:
    el = soap(
        s, f'<{method} xmlns="urn:vim25">{moref("_this", "HostSystem", host._moId)}</{method}>'
    )
    ret = el.find("v:returnval", NS)
    return ret.get("type"), ret.text


def esxcli(s: Session, on: Any, words: str, **args: object) -> Any:
    """Run `esxcli <words>` on host the way govc does: moid ha-cli-handler-<namespace>, method
    vim.EsxCLI.<words>, version urn:vim25/5.0, each argument as `<name>value</name>`. Returns
    the parsed `response` document; raises AssertionError(faultMsg) on an esxcli fault."""
    from xml.sax.saxutils import escape

    from lxml import etree

    mtype, mvalue = retrieve(s, "RetrieveManagedMethodExecuter", on)
    parts = words.split()

    def arg(k: str, v: object) -> str:
        text = str(v).lower() if isinstance(v, bool) else str(v)
        return f"<argument><name>{k}</name><val>{escape(f'<{k}>{escape(text)}</{k}>')}</val></argument>"

    body = (
        f'<ExecuteSoap xmlns="urn:vim25">{moref("_this", mtype, mvalue)}'
        f"<moid>ha-cli-handler-{'-'.join(parts[:-1])}</moid><version>urn:vim25/5.0</version>"
        f"<method>vim.EsxCLI.{'.'.join(parts)}</method>"
        + "".join(arg(k, v) for k, v in args.items())
        + "</ExecuteSoap>"
    )
    ret = soap(s, body).find("v:returnval", NS)
    fault = ret.find("v:fault", NS)
    if fault is not None:
        raise AssertionError(fault.findtext("v:faultMsg", namespaces=NS))
    return etree.fromstring(ret.findtext("v:response", namespaces=NS).encode())


def records(doc: Any) -> list[dict[str, str]]:
    """The DataObjects of an ArrayOfDataObject answer, field -> text."""
    return [
        {etree_local(c.tag): c.text or "" for c in obj} for obj in doc.findall("v:DataObject", NS)
    ]


def etree_local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def test_esxcli_type_discovery_as_a_generic_client_does_it(
    lab2: tuple[RunningLab, Session],
) -> None:
    """Issue 30 item 1: RetrieveDynamicTypeManager and the type queries a generic esxcli client
    makes before any command (govc failed with "no vmomi type defined")."""
    _, s = lab2
    h0, h1 = hosts(s)
    dtm = retrieve(s, "RetrieveDynamicTypeManager", h0)
    mme = retrieve(s, "RetrieveManagedMethodExecuter", h0)
    assert dtm[0] == "InternalDynamicTypeManager" and mme[0] == "ReflectManagedMethodExecuter"
    assert dtm != retrieve(s, "RetrieveDynamicTypeManager", h1), "one manager per host"
    assert dtm == retrieve(s, "RetrieveDynamicTypeManager", h0), "the same one when asked again"

    el = soap(
        s,
        f'<DynamicTypeMgrQueryTypeInfo xmlns="urn:vim25">{moref("_this", *dtm)}'
        '<filterSpec xsi:type="DynamicTypeMgrTypeFilterSpec">'
        "<typeSubstr>vim.EsxCLI.network.ip.interface</typeSubstr></filterSpec>"
        "</DynamicTypeMgrQueryTypeInfo>",
    )
    info = el.find("v:returnval", NS)
    managed = {
        m.findtext("v:name", namespaces=NS): m for m in info.findall("v:managedTypeInfo", NS)
    }
    assert set(managed) == {
        "vim.EsxCLI.network.ip.interface",
        "vim.EsxCLI.network.ip.interface.ipv4",
    }
    iface = managed["vim.EsxCLI.network.ip.interface"]
    assert iface.findtext("v:wsdlName", namespaces=NS) == "VimEsxCLInetworkipinterface"
    assert iface.findtext("v:base", namespaces=NS) == "vmodl.ManagedObject"
    methods = {m.findtext("v:name", namespaces=NS): m for m in iface.findall("v:method", NS)}
    assert set(methods) == {"add", "list"}
    add = methods["add"]
    assert add.findtext("v:wsdlName", namespaces=NS) == "VimEsxCLInetworkipinterfaceadd"
    params = {
        p.findtext("v:name", namespaces=NS): (
            p.findtext("v:type", namespaces=NS),
            p.findtext("v:annotation/v:name", namespaces=NS),
        )
        for p in add.findall("v:paramTypeInfo", NS)
    }
    assert params["portgroupname"] == ("string", "optional")
    assert params["mtu"] == ("long", "optional")
    assert add.findtext("v:returnTypeInfo/v:type", namespaces=NS) == "boolean"
    assert add.findtext("v:fault", namespaces=NS) == "vim.EsxCLI.CLIFault"
    ipv4_set = next(
        m
        for m in managed["vim.EsxCLI.network.ip.interface.ipv4"].findall("v:method", NS)
        if m.findtext("v:name", namespaces=NS) == "set"
    )
    required = {
        p.findtext("v:name", namespaces=NS)
        for p in ipv4_set.findall("v:paramTypeInfo", NS)
        if p.find("v:annotation", NS) is None
    }
    assert required == {"interfacename", "type"}
    lst = methods["list"].findtext("v:returnTypeInfo/v:type", namespaces=NS)
    assert lst == "vim.EsxCLI.network.ip.interface.list.NetworkInterface[]"
    data = {d.findtext("v:name", namespaces=NS): d for d in info.findall("v:dataTypeInfo", NS)}
    ni = data["vim.EsxCLI.network.ip.interface.list.NetworkInterface"]
    assert (
        ni.findtext("v:wsdlName", namespaces=NS)
        == "VimEsxCLInetworkipinterfacelistNetworkInterface"
    )
    props = [p.findtext("v:name", namespaces=NS) for p in ni.findall("v:property", NS)]
    assert {"Name", "MACAddress", "Portgroup", "NetstackInstance", "MTU"} <= set(props)
    assert "vim.EsxCLI.network.nic" not in managed, "the filter applies"

    el = soap(
        s,
        f'<DynamicTypeMgrQueryMoInstances xmlns="urn:vim25">{moref("_this", *dtm)}'
        '<filterSpec xsi:type="DynamicTypeMgrMoFilterSpec"><typeSubstr>vim.EsxCLI.network'
        "</typeSubstr></filterSpec></DynamicTypeMgrQueryMoInstances>",
    )
    instances = {
        r.findtext("v:id", namespaces=NS): r.findtext("v:moType", namespaces=NS)
        for r in el.findall("v:returnval", NS)
    }
    assert instances == {
        "ha-cli-handler-network-diag": "vim.EsxCLI.network.diag",
        "ha-cli-handler-network-ip-interface": "vim.EsxCLI.network.ip.interface",
        "ha-cli-handler-network-ip-interface-ipv4": "vim.EsxCLI.network.ip.interface.ipv4",
        "ha-cli-handler-network-nic": "vim.EsxCLI.network.nic",
    }

    cli = esxcli_cliinfo(s, h0, "vim.EsxCLI.network.ip.interface.ipv4")
    assert cli.findtext("v:name", namespaces=NS) == "network.ip.interface.ipv4"
    set_m = next(
        m for m in cli.findall("v:method", NS) if m.findtext("v:name", namespaces=NS) == "set"
    )
    aliases = {
        p.findtext("v:name", namespaces=NS): [a.text for a in p.findall("v:aliases", NS)]
        for p in set_m.findall("v:param", NS)
    }
    assert aliases["interfacename"] == ["-i", "--interface-name"]
    assert aliases["ipv4"] == ["-I", "--ipv4"] and aliases["netmask"] == ["-N", "--netmask"]


def esxcli_cliinfo(s: Session, host: Any, type_name: str) -> Any:
    """vim.CLIInfo.FetchCLIInfo, the call govc makes to learn a namespace's flags."""
    from xml.sax.saxutils import escape

    from lxml import etree

    mme = retrieve(s, "RetrieveManagedMethodExecuter", host)
    ret = soap(
        s,
        f'<ExecuteSoap xmlns="urn:vim25">{moref("_this", *mme)}'
        "<moid>ha-dynamic-type-manager-local-cli-cliinfo</moid><version>urn:vim25/5.0</version>"
        "<method>vim.CLIInfo.FetchCLIInfo</method><argument><name>typeName</name>"
        f"<val>{escape(f'<typeName>{type_name}</typeName>')}</val></argument></ExecuteSoap>",
    ).find("v:returnval", NS)
    return etree.fromstring(ret.findtext("v:response", namespaces=NS).encode())


def vnics(host: Any) -> dict[str, Any]:
    """The host's vmknics through HostNetworkSystem, read fresh."""
    return {v.device: v for v in host.configManager.networkSystem.networkInfo.vnic}


def test_esxcli_interface_list_and_nic_list_show_the_host_network_system(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    for h in hosts(s):
        listed = records(esxcli(s, h, "network ip interface list"))
        api = vnics(h)
        assert [r["Name"] for r in listed] == list(api)
        for r in listed:
            v = api[r["Name"]]
            assert (r["MACAddress"], r["Portgroup"], r["MTU"]) == (
                v.spec.mac,
                v.portgroup,
                str(v.spec.mtu),
            )
            assert r["NetstackInstance"] == v.spec.netStackInstanceKey
        ipv4 = {r["Name"]: r for r in records(esxcli(s, h, "network ip interface ipv4 get"))}
        assert {d: (r["IPv4Address"], r["IPv4Netmask"]) for d, r in ipv4.items()} == {
            d: (v.spec.ip.ipAddress, v.spec.ip.subnetMask) for d, v in api.items()
        }
        nics = records(esxcli(s, h, "network nic list"))
        pnics = {p.device: p for p in h.config.network.pnic}
        assert [n["Name"] for n in nics] == list(pnics)
        for n in nics:
            p = pnics[n["Name"]]
            assert (n["MACAddress"], n["Driver"], n["PCIDevice"]) == (p.mac, p.driver, p.pci)
            assert (n["LinkStatus"], n["Speed"]) == ("Up", str(p.linkSpeed.speedMb))


def test_esxcli_interface_add_and_ipv4_set_act_on_the_host(
    lab2: tuple[RunningLab, Session],
) -> None:
    """`network ip interface add` makes a vmknic HostNetworkSystem shows; `ipv4 set` configures
    it; applied twice, the second add is refused and the second set changes nothing; bad input
    is refused naming the parameter, and nothing changes."""
    running, s = lab2
    h0, h1 = hosts(s)
    before = set(vnics(h0))
    add = {"interfacename": "vmk7", "portgroupname": "vMotion", "mtu": 9000}
    assert esxcli(s, h0, "network ip interface add", **add).text == "true"
    ip = {
        "interfacename": "vmk7",
        "type": "static",
        "ipv4": "10.77.0.7",
        "netmask": "255.255.255.0",
    }
    assert esxcli(s, h0, "network ip interface ipv4 set", **ip).text == "true"

    def state(session: Session) -> dict[str, tuple[Any, ...]]:
        h = next(x for x in hosts(session) if x.name == h0.name)
        return {
            d: (
                v.portgroup,
                v.spec.mtu,
                v.spec.ip.dhcp,
                v.spec.ip.ipAddress,
                v.spec.ip.subnetMask,
                v.spec.mac,
            )
            for d, v in vnics(h).items()
        }

    # a separate inventory pass: a new session, fresh objects
    with running.session() as fresh:
        after = state(fresh)
    assert set(after) == before | {"vmk7"}
    assert after["vmk7"][:5] == ("vMotion", 9000, False, "10.77.0.7", "255.255.255.0")
    assert after["vmk7"][5].startswith("00:50:56:")
    pg = next(p for p in h0.config.network.portgroup if p.spec.name == "vMotion")
    assert after["vmk7"][5] in {m for port in pg.port for m in port.mac}, "the port group's ports"
    assert vnics(h1).keys() == {"vmk0", "vmk1"}, "the other host is untouched"

    # applied twice: add is refused (the name exists), ipv4 set is idempotent
    with pytest.raises(AssertionError, match="vmk7 already exists"):
        esxcli(s, h0, "network ip interface add", **add)
    assert esxcli(s, h0, "network ip interface ipv4 set", **ip).text == "true"
    assert state(s) == after

    # bad input: nothing changes, the message names what is wrong
    for words, bad, msg in [
        ("network ip interface ipv4 set", {**ip, "ipv4": "10.77.0.300"}, "invalid IP address"),
        (
            "network ip interface ipv4 set",
            {"interfacename": "vmk7"},
            "Missing required parameter -t|--type",
        ),
        (
            "network ip interface ipv4 set",
            {**ip, "interfacename": "vmk9"},
            "Unable to find vmknic vmk9",
        ),
        ("network ip interface ipv4 set", {**ip, "type": "static6"}, "parameter 'type'"),
        (
            "network ip interface add",
            {"interfacename": "vmk8", "portgroupname": "nope"},
            "port group nope not found",
        ),
        (
            "network ip interface add",
            {"interfacename": "vmk8", "portgroupname": "vMotion", "mtu": "big"},
            "'mtu'",
        ),
        ("network ip interface add", {"interfacename": "eth0", "portgroupname": "vMotion"}, "vmkX"),
        (
            "network ip interface add",
            {"portgroupname": "vMotion", "colour": "red"},
            "Invalid option colour",
        ),
    ]:
        with pytest.raises(AssertionError, match=msg):
            esxcli(s, h0, words, **bad)
    assert state(s) == after

    # dhcp, then none: HostNetworkSystem follows
    esxcli(s, h0, "network ip interface ipv4 set", interfacename="vmk7", type="dhcp")
    assert vnics(h0)["vmk7"].spec.ip.dhcp is True
    got = records(esxcli(s, h0, "network ip interface ipv4 get", interfacename="vmk7"))
    assert [(r["Name"], r["AddressType"]) for r in got] == [("vmk7", "DHCP")]
    esxcli(s, h0, "network ip interface ipv4 set", interfacename="vmk7", type="none")
    none = vnics(h0)["vmk7"].spec.ip
    assert (none.dhcp, none.ipAddress or "") == (False, "")
    got = records(esxcli(s, h0, "network ip interface ipv4 get", interfacename="vmk7"))
    assert [(r["Name"], r["AddressType"], r["IPv4Address"]) for r in got] == [("vmk7", "NONE", "")]

    # the new vmknic answers pings through esxcli from the other host
    esxcli(s, h0, "network ip interface ipv4 set", **ip)
    ping = esxcli(s, h1, "network diag ping", host="10.77.0.7", count=2)
    summary = ping.find("v:DataObject/v:Summary", NS)
    assert summary.findtext("v:Recieved", namespaces=NS) == "2"


def test_esxcli_interface_add_on_a_distributed_port(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    h0, _ = hosts(s)
    dvs = next(iter(objs(s, vim.DistributedVirtualSwitch).values()))
    pg = next(p for p in dvs.portgroup if not p.config.uplink)
    free = [
        p.key
        for p in dvs.FetchDVPorts(vim.dvs.PortCriteria(portgroupKey=[pg.key], inside=True))
        if p.connectee is None
    ]
    esxcli(s, h0, "network ip interface add", dvsname=dvs.name, dvportid=free[0])
    new = next(v for v in vnics(h0).values() if v.spec.distributedVirtualPort)
    c = new.spec.distributedVirtualPort
    assert (c.switchUuid, c.portgroupKey, c.portKey) == (dvs.uuid, pg.key, free[0])
    port = dvs.FetchDVPorts(vim.dvs.PortCriteria(portKey=[free[0]]))[0]
    assert port.connectee.nicKey == new.device and port.connectee.connectedEntity == h0
    listed = {r["Name"]: r for r in records(esxcli(s, h0, "network ip interface list"))}
    row = listed[new.device]
    assert (row["VDSName"], row["VDSUUID"], row["VDSPort"]) == (dvs.name, dvs.uuid, free[0])
    with pytest.raises(AssertionError, match="already in use"):
        esxcli(s, h0, "network ip interface add", dvsname=dvs.name, dvportid=free[0])
