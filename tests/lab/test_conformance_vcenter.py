"""Lab conformance, second part: shapes that clients other than vnettool read, checked the
way a generic pyVmomi client reads them, against what vCenter 7.0.3 / ESXi 7.0.3 answer.

Each test names the call or property and the field; a lab that drops a field or answers a
call vCenter answers with MethodNotFound / InvalidArgument fails here first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyVmomi import VmomiSupport, vim

from tests.conftest import RunningLab
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab

NP = vim.host.NetworkPolicy

# HostVirtualNicManagerNicType values of vSphere 7.0.3.
NIC_TYPES_7_0_3 = [
    "management",
    "vmotion",
    "vSphereProvisioning",
    "faultToleranceLogging",
    "vsan",
    "vSphereReplication",
    "vSphereReplicationNFC",
    "vsanWitness",
    "vSphereBackupNFC",
    "ptp",
    "nvmeTcp",
    "nvmeRdma",
]


@pytest.fixture
def lab2(fresh_lab: Any) -> Iterator[tuple[RunningLab, Session]]:
    running = fresh_lab(cluster=1, host=2, vm=2)
    with running.session() as s:
        yield running, s


def view(s: Session, kind: Any) -> list[Any]:
    v = s.content.viewManager.CreateContainerView(s.content.rootFolder, [kind], True)
    try:
        return sorted(v.view, key=lambda o: o.name)
    finally:
        v.DestroyView()


def plain(o: Any) -> Any:
    """A data object as nested dicts (unset stays None, an empty object stays {})."""
    if isinstance(o, VmomiSupport.DataObject):
        return {
            p.name: plain(getattr(o, p.name))
            for p in o._GetPropertyList()
            if p.name not in ("dynamicType", "dynamicProperty")
        }
    if isinstance(o, list):
        return [plain(x) for x in o]
    return o


def pnic_usage(ns: Any) -> tuple[set[str], set[str]]:
    """(all, used) pNIC devices as inventory clients compute them from networkConfig."""
    cfg = ns.networkConfig
    used: set[str] = set()
    for sw in cfg.vswitch:
        if isinstance(sw.spec.bridge, vim.host.VirtualSwitch.BondBridge):
            used.update(sw.spec.bridge.nicDevice)
    for ps in cfg.proxySwitch:
        used.update(p.pnicDevice for p in ps.spec.backing.pnicSpec)
    return {p.device for p in cfg.pnic}, used


def test_network_config_is_a_full_host_network_config_consistent_with_network_info(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    ns = view(s, vim.HostSystem)[0].configManager.networkSystem
    cfg, info = ns.networkConfig, ns.networkInfo
    assert isinstance(cfg, vim.host.NetworkConfig), "HostNetworkSystem.networkConfig is unset"
    assert [(v.name, plain(v.spec)) for v in cfg.vswitch] == [
        (v.name, plain(v.spec)) for v in info.vswitch
    ]
    assert [plain(p.spec) for p in cfg.portgroup] == [plain(p.spec) for p in info.portgroup]
    assert [(p.device, plain(p.spec)) for p in cfg.pnic] == [
        (p.device, plain(p.spec)) for p in info.pnic
    ]
    assert [(v.device, v.portgroup, plain(v.spec)) for v in cfg.vnic] == [
        (v.device, v.portgroup, plain(v.spec)) for v in info.vnic
    ]
    assert [(p.uuid, plain(p.spec)) for p in cfg.proxySwitch] == [
        (p.dvsUuid, plain(p.spec)) for p in info.proxySwitch
    ]
    assert cfg.dnsConfig.hostName == info.dnsConfig.hostName
    assert cfg.ipRouteConfig.defaultGateway == info.ipRouteConfig.defaultGateway
    assert {v.changeOperation for v in cfg.vswitch} == {None}, (
        "a read describes, it changes nothing"
    )

    # A change shows in both views at once.
    ns.AddPortGroup(
        vim.host.PortGroup.Specification(
            name="pg-nc", vswitchName="vSwitch0", vlanId=7, policy=NP()
        )
    )
    assert [p.spec.vlanId for p in ns.networkConfig.portgroup if p.spec.name == "pg-nc"] == [7]


def test_pnic_usage_from_network_config_leaves_two_free_pnics(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    for h in view(s, vim.HostSystem):
        ns = h.configManager.networkSystem
        every, used = pnic_usage(ns)
        assert every == {f"vmnic{i}" for i in range(6)}
        assert every - used == {"vmnic4", "vmnic5"}, h.name
    # A client adds an uplink without first taking one away.
    ns = view(s, vim.HostSystem)[0].configManager.networkSystem
    sw = next(v for v in ns.networkConfig.vswitch if v.name == "vSwitch0")
    spec = sw.spec
    spec.bridge.nicDevice = [*spec.bridge.nicDevice, "vmnic4"]
    ns.UpdateVirtualSwitch("vSwitch0", spec)
    assert pnic_usage(ns)[1] >= {"vmnic0", "vmnic1", "vmnic4"}
    assert pnic_usage(ns)[0] - pnic_usage(ns)[1] == {"vmnic5"}


def test_pnics_option_sets_the_pnic_count(fresh_lab: Any) -> None:
    running = fresh_lab(cluster=1, host=1, vm=0, pnics=8)
    with running.session() as s:
        ns = view(s, vim.HostSystem)[0].configManager.networkSystem
        every, used = pnic_usage(ns)
        assert len(every) == 8 and every - used == {f"vmnic{i}" for i in range(4, 8)}
        assert len({p.pci for p in ns.networkInfo.pnic}) == 8, "one PCI function per pNIC"


def test_query_net_config_candidate_keys_match_the_selection(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    h = view(s, vim.HostSystem)[0]
    vnm = h.configManager.virtualNicManager
    for nic_type, device in (("management", "vmk0"), ("vmotion", "vmk1")):
        nc = vnm.QueryNetConfig(nic_type)
        selected = [c.device for c in nc.candidateVnic if c.key in nc.selectedVnic]
        assert selected == [device], (nic_type, [c.key for c in nc.candidateVnic], nc.selectedVnic)
        assert {c.key for c in nc.candidateVnic} == {
            f"{nic_type}.key-vim.host.VirtualNic-{c.device}" for c in nc.candidateVnic
        }
    # The host's own copy (config.virtualNicManagerInfo) is keyed the same way.
    for nc in h.config.virtualNicManagerInfo.netConfig:
        assert all(c.key.startswith(nc.nicType + ".") for c in nc.candidateVnic), nc.nicType


@pytest.mark.parametrize("nic_type", NIC_TYPES_7_0_3)
def test_query_net_config_answers_every_7_0_3_nic_type(
    lab2: tuple[RunningLab, Session], nic_type: str
) -> None:
    _, s = lab2
    h = view(s, vim.HostSystem)[0]
    nc = h.configManager.virtualNicManager.QueryNetConfig(nic_type)
    assert nc.nicType == nic_type
    assert {c.device for c in nc.candidateVnic} == {"vmk0", "vmk1"}
    assert nic_type in {n.nicType for n in h.config.virtualNicManagerInfo.netConfig}


def test_query_net_config_refuses_an_unknown_nic_type(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    vnm = view(s, vim.HostSystem)[0].configManager.virtualNicManager
    with pytest.raises(VmomiSupport.GetVmodlType("vmodl.fault.InvalidArgument")):
        vnm.QueryNetConfig("bogus")


def test_vmware_dvs_has_ipfix_config_and_a_vspan_list(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    dvs = view(s, vim.DistributedVirtualSwitch)[0]
    ipfix = dvs.config.ipfixConfig
    assert isinstance(ipfix, vim.dvs.VmwareDistributedVirtualSwitch.IpfixConfig)
    assert not ipfix.collectorIpAddress and not ipfix.collectorPort
    assert not ipfix.observationDomainId
    assert (ipfix.activeFlowTimeout, ipfix.idleFlowTimeout, ipfix.samplingRate) == (60, 15, 4096)
    assert ipfix.internalFlowsOnly is False
    assert list(dvs.config.vspanSession) == []


def test_cluster_resource_usage_summary_and_configuration(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    cl = view(s, vim.ClusterComputeResource)[0]
    usage = cl.GetResourceUsage()
    hw = [h.summary.hardware for h in cl.host]
    cpu = sum(x.cpuMhz * x.numCpuCores for x in hw)
    mem_mb = sum(x.memorySize for x in hw) >> 20
    assert (usage.cpuCapacityMHz, usage.memCapacityMB) == (cpu, mem_mb)
    assert usage.storageCapacityMB > 0 and 0 <= usage.storageUsedMB <= usage.storageCapacityMB
    assert usage.cpuUsedMHz == sum(h.summary.quickStats.overallCpuUsage for h in cl.host)

    summ = cl.summary
    assert (summ.totalCpu, summ.effectiveCpu, summ.numHosts) == (cpu, cpu, 2)
    assert summ.totalMemory == sum(x.memorySize for x in hw)
    assert summ.numCpuCores == sum(x.numCpuCores for x in hw)
    u = summ.usageSummary
    assert (u.totalCpuCapacityMhz, u.totalMemCapacityMB, u.totalVmCount) == (cpu, mem_mb, 2)

    das = cl.configurationEx.dasConfig
    assert das.enabled is False and das.hostMonitoring == "enabled"
    assert das.vmMonitoring == "vmMonitoringDisabled" and das.admissionControlEnabled is True
    assert das.admissionControlPolicy.cpuFailoverResourcesPercent == 50
    tools = das.defaultVmSettings.vmToolsMonitoringSettings
    assert (das.defaultVmSettings.restartPriority, tools.vmMonitoring, tools.minUpTime) == (
        "medium",
        "vmMonitoringDisabled",
        120,
    )
    drs = cl.configurationEx.drsConfig
    assert (drs.enabled, drs.defaultVmBehavior, drs.vmotionRate) == (True, "fullyAutomated", 3)
    assert cl.configurationEx.vsanConfigInfo.enabled is False
    # The deprecated configuration property says the same.
    assert plain(cl.configuration.dasConfig) == plain(das)
    assert plain(cl.configuration.drsConfig) == plain(drs)


POLICIES = {
    "failover order and shaping": NP(
        nicTeaming=NP.NicTeamingPolicy(
            policy="failover_explicit",
            nicOrder=NP.NicOrderPolicy(activeNic=["vmnic1"], standbyNic=["vmnic0"]),
        ),
        shapingPolicy=NP.TrafficShapingPolicy(
            enabled=True, averageBandwidth=100000000, peakBandwidth=200000000, burstSize=104857600
        ),
    ),
    "explicit zeros": NP(
        nicTeaming=NP.NicTeamingPolicy(
            policy="loadbalance_ip",
            rollingOrder=True,
            failureCriteria=NP.NicFailureCriteria(
                checkSpeed="exact", speed=0, checkErrorPercent=False, percentage=0, checkBeacon=True
            ),
            nicOrder=NP.NicOrderPolicy(activeNic=["vmnic0", "vmnic1"]),
        ),
        shapingPolicy=NP.TrafficShapingPolicy(
            enabled=True, averageBandwidth=0, peakBandwidth=0, burstSize=0
        ),
    ),
    "empty sub-policies": NP(
        security=NP.SecurityPolicy(),
        nicTeaming=NP.NicTeamingPolicy(failureCriteria=NP.NicFailureCriteria()),
        offloadPolicy=vim.host.NetOffloadCapabilities(),
        shapingPolicy=NP.TrafficShapingPolicy(),
    ),
    "all unset": NP(),
}


@pytest.mark.parametrize("case", sorted(POLICIES))
def test_port_group_policy_round_trips_exactly(lab2: tuple[RunningLab, Session], case: str) -> None:
    _, s = lab2
    ns = view(s, vim.HostSystem)[0].configManager.networkSystem
    written = POLICIES[case]

    def read() -> Any:
        pg = next(p for p in ns.networkInfo.portgroup if p.spec.name == "VM Network")
        return plain(pg.spec.policy)

    spec = vim.host.PortGroup.Specification(
        name="VM Network", vswitchName="vSwitch0", vlanId=10, policy=written
    )
    ns.UpdatePortGroup("VM Network", spec)
    first = read()
    assert first == plain(written)
    ns.UpdatePortGroup("VM Network", spec)
    assert read() == first, "the same update twice reads back the same"
    ns.AddPortGroup(
        vim.host.PortGroup.Specification(name="pg-rt", vswitchName="vSwitch0", policy=written)
    )
    added = next(p for p in ns.networkInfo.portgroup if p.spec.name == "pg-rt")
    assert plain(added.spec.policy) == plain(written)


def test_hosts_have_their_pci_passthru_system_and_run_esxi_7_0_3(
    lab2: tuple[RunningLab, Session],
) -> None:
    _, s = lab2
    hosts = view(s, vim.HostSystem)
    systems = {h.configManager.pciPassthruSystem._moId for h in hosts}
    assert len(systems) == len(hosts), "one PciPassthruSystem per host"
    for h in hosts:
        assert (h.config.product.version, h.summary.config.product.version) == ("7.0.3", "7.0.3")
        devices = {d.id: d for d in h.hardware.pciDevice}
        info = {i.id for i in h.configManager.pciPassthruSystem.pciPassthruInfo}
        for p in h.config.network.pnic:
            assert devices[p.pci].vendorName == "Intel(R)" and devices[p.pci].deviceName
            assert p.pci in info, (h.name, p.device)
