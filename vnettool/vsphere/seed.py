"""Seeded lab scenarios: known problems put into the lab by a plain vSphere client, so the
audit (and a new user trying it) has something real to find. `vnettool lab start --scenario
audit` runs `seed_audit`; the audit's lab test uses it and checks each problem is found once.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import VmomiSupport, vim

from vnettool.models.inventory import HealthCheckConfig, PvlanEntry
from vnettool.models.policy import NetworkPolicy, SecurityPolicy, TeamingPolicy
from vnettool.vsphere.collector import moref_id
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs.dvs import health_check_configs, pvlan_spec
from vnettool.vsphere.specs.hostnet import host_network_policy
from vnettool.vsphere.tasks import wait_task
from vnettool.vsphere.vm import edit_nic, reconfigure

# rule id -> what the seeded problem is
AUDIT_PROBLEMS = {
    "SEC-01": "a promiscuous port group",
    "SEC-08": "VLAN 4095 (guest tagging) on a VM port group",
    "HC-05": "a vmknic MTU above its switch's",
    "HC-06": "a port group missing on one host of the cluster",
    "HC-07": "a port group with different VLANs across hosts",
    "HC-08": "a port group teamed on a single uplink",
    "HC-11": "a powered-on VM with a disconnected NIC",
    "HC-12": "a PVLAN primary also used as a plain VLAN",
    "SEC-18": "the distributed switch health check left on (switch MTU 9000)",
}
# What the simulator itself seeds on its physical side with `-scenario=audit` (a plain vSphere
# client cannot change a ToR port): the ToR port of the third host's vmnic3 (DVS0's uplink2)
# has MTU 1500 and does not allow VLAN 200 (mocks/vcsim/healthcheck.go). With the health
# check on and the switch at MTU 9000, vCenter reports both on that uplink.
PHYSICAL_PROBLEMS = {
    "HC-01": "a VLAN in use (200) not allowed on a ToR trunk port",
    "HC-02": "a ToR port MTU (1500) below the switch's (9000)",
}


def _objs(session: Session, kind: type) -> dict[str, Any]:
    content = session.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return {o.name: o for o in view.view}
    finally:
        view.DestroyView()


def _pg(ns: Any, name: str, vlan: int, policy: Any = None) -> None:
    ns.AddPortGroup(
        vim.host.PortGroup.Specification(
            name=name,
            vswitchName="vSwitch0",
            vlanId=vlan,
            policy=policy or vim.host.NetworkPolicy(),
        )
    )


def _first_nic(vm: Any) -> Any:
    return next(
        d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
    )


def _audit_hosts(session: Session, cluster: str | None) -> tuple[dict[str, Any], list[str]]:
    """All hosts by name, and the names of the first four of `cluster` (default: the first),
    the first of them holding a VM: HC-07 moves a VM of the first host. The simulator places
    VMs at random, so on a large cluster the first host by name may hold none."""
    hosts = _objs(session, vim.HostSystem)
    names = sorted(n for n, h in hosts.items() if cluster is None or h.parent.name == cluster)
    if cluster is None and names:
        first = hosts[names[0]].parent.name
        names = [n for n in names if hosts[n].parent.name == first]
    if len(names) < 4:
        raise ValueError("the audit scenario needs a cluster of at least 4 hosts")
    busy = {
        v.runtime.host.name
        for v in _objs(session, vim.VirtualMachine).values()
        if v.runtime.host and not v.config.template
    }
    with_vm = [n for n in names if n in busy]
    if not with_vm:
        raise ValueError(f"the audit scenario needs a VM in cluster {hosts[names[0]].parent.name}")
    if names[0] not in busy:
        names.remove(with_vm[0])
        names.insert(0, with_vm[0])
    return hosts, names[:4]


def _seed_standard(hosts: dict[str, Any], h: list[str]) -> None:
    """SEC-01, SEC-08, HC-05..08 on the hosts' standard switches."""
    ns = {n: hosts[n].configManager.networkSystem for n in h}
    promisc = NetworkPolicy(security=SecurityPolicy(allow_promiscuous=True))
    _pg(ns[h[0]], "pg-promisc", 10, host_network_policy(promisc))
    _pg(ns[h[0]], "pg-vgt", 4095)
    vmk = next(v for v in ns[h[1]].networkInfo.vnic if v.device == "vmk1")
    spec = vmk.spec
    spec.mtu = 9000
    ns[h[1]].UpdateVirtualNic("vmk1", spec)
    for n, vlan in ((h[0], 20), (h[1], 20), (h[2], 21)):
        _pg(ns[n], "pg-app", vlan)
    single = NetworkPolicy(teaming=TeamingPolicy(active_uplinks=["vmnic0"], standby_uplinks=[]))
    _pg(ns[h[2]], "pg-single", 30, host_network_policy(single))


def _seed_vm_nics(session: Session, h: list[str]) -> tuple[Any, Any]:
    """A VM of the first host onto pg-app (HC-07's VM), and another powered-on VM's first
    NIC disconnected (HC-11); returns that VM and NIC."""
    vms = _objs(session, vim.VirtualMachine)
    vm = next(v for v in vms.values() if v.runtime.host.name == h[0] and not v.config.template)
    edit_nic(session, moref_id(vm), vm.name, _first_nic(vm).key, network="pg-app")
    other = next(
        v
        for v in sorted(vms.values(), key=lambda v: v.name)
        if v.name != vm.name and v.runtime.powerState == "poweredOn"
    )
    onic = _first_nic(other)
    edit_nic(session, moref_id(other), other.name, onic.key, rewire=False, connected=False)
    return other, onic


def _seed_dvs_audit(session: Session) -> Any:
    """HC-12 (PVLAN 200 primary and a port group on VLAN 200) and SEC-18 (health check on,
    switch MTU 9000) on the first distributed switch; returns it."""
    dvs = next(iter(sorted(_objs(session, vim.DistributedVirtualSwitch).items())))[1]
    dv = vim.dvs.VmwareDistributedVirtualSwitch
    entry = PvlanEntry(dvs=dvs.name, primary_id=200, secondary_id=200, type="promiscuous")
    cfg = dv.ConfigSpec(
        configVersion=dvs.config.configVersion, pvlanConfigSpec=[pvlan_spec("add", entry)]
    )
    wait_task(session, dvs.ReconfigureDvs_Task(cfg), "ReconfigureDvs_Task", dvs.name)
    clash = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        name="pg-clash",
        type="earlyBinding",
        numPorts=8,
        defaultPortConfig=dv.VmwarePortConfigPolicy(
            vlan=dv.VlanIdSpec(vlanId=200, inherited=False)
        ),
    )
    wait_task(session, dvs.AddDVPortgroup_Task([clash]), "AddDVPortgroup_Task", dvs.name)
    mtu = dv.ConfigSpec(configVersion=dvs.config.configVersion, maxMtu=9000)
    wait_task(session, dvs.ReconfigureDvs_Task(mtu), "ReconfigureDvs_Task", dvs.name)
    checks = health_check_configs(
        HealthCheckConfig(vlan_mtu=True, vlan_mtu_interval=1, teaming=True, teaming_interval=1)
    )
    task = dvs.UpdateDVSHealthCheckConfig_Task(checks)
    wait_task(session, task, "UpdateDVSHealthCheckConfig_Task", dvs.name)
    return dvs


def seed_audit(
    session: Session, cluster: str | None = None, physical: bool = False
) -> dict[str, str]:
    """Create the problems of AUDIT_PROBLEMS on the first four hosts of `cluster` (default:
    the first cluster) and the first DVS; return rule id -> the object its finding names.
    `physical`: the lab was started with the audit scenario, so its physical side has the
    PHYSICAL_PROBLEMS too (they show once the health check is on)."""
    hosts, h = _audit_hosts(session, cluster)
    _seed_standard(hosts, h)
    other, onic = _seed_vm_nics(session, h)
    dvs = _seed_dvs_audit(session)
    found = {
        "HC-01": f"{dvs.name}/{h[2]}/uplink2",
        "HC-02": f"{dvs.name}/{h[2]}/uplink2",
    }
    return ({k: found[k] for k in PHYSICAL_PROBLEMS} if physical else {}) | {
        "SEC-18": dvs.name,
        "SEC-01": f"{h[0]}/vSwitch0/pg-promisc",
        "SEC-08": f"{h[0]}/vSwitch0/pg-vgt",
        "HC-05": f"{h[1]}/vmk1",
        "HC-06": f"{h[3]}",
        "HC-07": "pg-app",
        "HC-08": f"{h[2]}/vSwitch0/pg-single",
        # the NIC's label, as the finding names it (VM/label): a bare `VM/` cannot be matched
        "HC-11": f"{other.name}/{onic.deviceInfo.label if onic.deviceInfo else onic.key}",
        "HC-12": f"{dvs.name}/200",
    }


def seed_fleet_site(session: Session, site: str, index: int) -> dict[str, int]:
    """Make one lab of a fleet look like its own site, with the drift real fleets have.

    The datacenter is renamed after the site; every host of the first cluster gets a web
    port group (VLAN 110) spelled `Prod-Web` on even sites and `prod_web` on odd ones (the
    same network named differently), and a backup network on VLAN 120 named after the site
    (two sites sharing layer 2 then collide on it). Returns port group name -> VLAN.

    On the first vDS: a trunk port group `Trunk-Apps` carrying 100-199 on even sites and
    100-149 on odd ones (other ranges for one trunk; on shared L2 it reaches the neighbour's
    backup network on 120), and a PVLAN map 300 (promiscuous) / 301, isolated on even sites and
    community on odd ones, with 302 a community secondary on even sites and the plain VLAN of
    `<site>-legacy` on odd ones: the PVLAN conflicts of sites sharing L2."""
    for dc in _objs(session, vim.Datacenter).values():
        wait_task(session, dc.Rename_Task(f"{site}-{dc.name}"), "Rename_Task", dc.name)
    added = {"Prod-Web" if index % 2 == 0 else "prod_web": 110, f"{site}-backup": 120}
    hosts = _objs(session, vim.HostSystem)
    clusters = sorted({h.parent.name for h in hosts.values()})
    for h in hosts.values():
        if clusters and h.parent.name != clusters[0]:
            continue
        for name, vlan in added.items():
            _pg(h.configManager.networkSystem, name, vlan)
        if index % 2:
            _pg(h.configManager.networkSystem, f"{site}-legacy", 302)
    if index % 2:
        added[f"{site}-legacy"] = 302
    switches = sorted(_objs(session, vim.DistributedVirtualSwitch).items())
    if switches:
        _seed_trunk_and_pvlans(session, switches[0][1], even=index % 2 == 0)
    return added


def _seed_trunk_and_pvlans(session: Session, dvs: Any, even: bool) -> None:
    dv = vim.dvs.VmwareDistributedVirtualSwitch
    pvlans = [(300, 300, "promiscuous"), (300, 301, "isolated" if even else "community")]
    if even:
        pvlans.append((300, 302, "community"))
    spec = dv.ConfigSpec(
        configVersion=dvs.config.configVersion,
        pvlanConfigSpec=[
            dv.PvlanConfigSpec(
                operation="add",
                pvlanEntry=dv.PvlanMapEntry(primaryVlanId=p, secondaryVlanId=s, pvlanType=t),
            )
            for p, s, t in pvlans
        ],
    )
    wait_task(session, dvs.ReconfigureDvs_Task(spec), "ReconfigureDvs_Task", dvs.name)
    top = 199 if even else 149
    trunk = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        name="Trunk-Apps",
        type="earlyBinding",
        numPorts=8,
        defaultPortConfig=dv.VmwarePortConfigPolicy(
            vlan=dv.TrunkVlanSpec(vlanId=[vim.NumericRange(start=100, end=top)], inherited=False)
        ),
    )
    wait_task(session, dvs.AddDVPortgroup_Task([trunk]), "AddDVPortgroup_Task", dvs.name)


# rule id -> the STIG violation `--scenario stig` adds to the audit scenario's problems
STIG_PROBLEMS = {
    "SEC-06": "forged transmits accepted on a DV port group (STIG VCSA-80-000268)",
    "SEC-13": "port-level overrides allowed on a DV port group (STIG VCSA-80-000301)",
    "SEC-15": "NetFlow exporting to an unlisted collector (STIG VCSA-80-000271)",
    "SEC-16": "an unauthorised port mirroring session (STIG VCSA-80-000300)",
    "SEC-19": "the guest BPDU filter off on a host (STIG ESXI-80-000215)",
    "SEC-28": "a dvFilter hook on a VM's NIC (STIG VMCH-80-000200)",
    "SEC-29": "vMotion encryption disabled on a VM (STIG VMCH-80-000203)",
}
STIG_COLLECTOR = ("192.0.2.99", 4739)  # TEST-NET-1: a collector no site lists
STIG_MIRROR = "span-unlisted"
STIG_DVFILTER = "dvfilter-unknown"


def _stig_portgroups(session: Session, dvs: Any) -> tuple[Any, Any]:
    """SEC-06/13: forged transmits and override permissions on the second port group;
    returns (the VMs' port group, that one)."""
    dv = vim.dvs.VmwareDistributedVirtualSwitch
    pgs = sorted(
        (p for p in dvs.portgroup if not p.config.uplink and p.name != "pg-clash"),
        key=lambda p: p.name,
    )
    vm_pg, other_pg = pgs[0], pgs[1]
    pol = other_pg.config.policy
    pol.securityPolicyOverrideAllowed = True
    pol.vlanOverrideAllowed = True
    forged = dv.SecurityPolicy(forgedTransmits=vim.BoolPolicy(inherited=False, value=True))
    spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        configVersion=other_pg.config.configVersion,
        defaultPortConfig=dv.VmwarePortConfigPolicy(securityPolicy=forged),
        policy=pol,
    )
    wait_task(
        session,
        other_pg.ReconfigureDVPortgroup_Task(spec),
        "ReconfigureDVPortgroup_Task",
        other_pg.name,
    )
    return vm_pg, other_pg


def _stig_netflow_mirror(session: Session, dvs: Any, vm_pg: Any) -> None:
    """SEC-15: NetFlow to a collector nobody listed, exported by the VMs' port group;
    SEC-16: a mirroring session copying one VM port's traffic to another port."""
    dv = vim.dvs.VmwareDistributedVirtualSwitch
    ip, port = STIG_COLLECTOR
    ipfix = dv.IpfixConfig(
        collectorIpAddress=ip, collectorPort=port, activeFlowTimeout=60, idleFlowTimeout=15,
        samplingRate=0, internalFlowsOnly=False,
    )  # fmt: skip
    cfg = dv.ConfigSpec(configVersion=dvs.config.configVersion, ipfixConfig=ipfix)
    wait_task(session, dvs.ReconfigureDvs_Task(cfg), "ReconfigureDvs_Task", dvs.name)
    on = dv.VmwarePortConfigPolicy(ipfixEnabled=vim.BoolPolicy(inherited=False, value=True))
    spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        configVersion=vm_pg.config.configVersion, defaultPortConfig=on
    )
    wait_task(
        session, vm_pg.ReconfigureDVPortgroup_Task(spec), "ReconfigureDVPortgroup_Task", vm_pg.name
    )
    keys = sorted(vm_pg.portKeys, key=int)
    ports = dv.VspanPorts
    session_spec = dv.VspanSession(
        name=STIG_MIRROR, enabled=True, sessionType="dvPortMirror",
        sourcePortTransmitted=ports(portKey=[keys[0]]), sourcePortReceived=ports(portKey=[keys[0]]),
        destinationPort=ports(portKey=[keys[-1]]),
    )  # fmt: skip
    cfg = dv.ConfigSpec(
        configVersion=dvs.config.configVersion,
        vspanConfigSpec=[dv.VspanConfigSpec(operation="add", vspanSession=session_spec)],
    )
    wait_task(session, dvs.ReconfigureDvs_Task(cfg), "ReconfigureDvs_Task", dvs.name)


def _stig_vms(session: Session) -> tuple[Any, Any]:
    """SEC-28: a dvFilter on one VM's first NIC; SEC-29: vMotion encryption off on another.
    Returns (filtered VM, clear VM)."""
    vms = sorted(
        (v for v in _objs(session, vim.VirtualMachine).values() if not v.config.template),
        key=lambda v: v.name,
    )
    filtered, clear = vms[-1], vms[-2]
    hook = vim.vm.ConfigSpec(
        extraConfig=[
            vim.option.OptionValue(key="ethernet0.filter0.name", value=STIG_DVFILTER),
            vim.option.OptionValue(key="ethernet0.filter0.onFailure", value="failOpen"),
        ]
    )
    reconfigure(session, moref_id(filtered), filtered.name, hook)
    plain = vim.vm.ConfigSpec(migrateEncryption="disabled")
    reconfigure(session, moref_id(clear), clear.name, plain)
    return filtered, clear


def _vm_path(vm: Any) -> str:
    parent = vm.runtime.host.parent
    return f"{parent.name}/{vm.name}" if isinstance(parent, vim.ClusterComputeResource) else vm.name


def seed_stig(session: Session, cluster: str | None = None) -> dict[str, str]:
    """The audit scenario plus the STIG violations of STIG_PROBLEMS (first cluster, first
    DVS, its second port group), each on exactly one object; returns rule id -> the object
    its finding names (the audit scenario's entries included)."""
    seeded = seed_audit(session, cluster)
    hosts = _objs(session, vim.HostSystem)
    first = sorted(n for n, h in hosts.items() if cluster is None or h.parent.name == cluster)
    ref = hosts[first[0]].parent.name if cluster is None else cluster
    names = sorted(n for n in first if hosts[n].parent.name == ref)
    dvs = next(iter(sorted(_objs(session, vim.DistributedVirtualSwitch).items())))[1]
    vm_pg, other_pg = _stig_portgroups(session, dvs)
    _stig_netflow_mirror(session, dvs, vm_pg)
    # the BPDU filter off on the cluster's last host
    long_t = VmomiSupport.GetVmodlType("long")
    off = vim.option.OptionValue(key="Net.BlockGuestBPDU", value=long_t(0))
    hosts[names[-1]].configManager.advancedOption.UpdateOptions(changedValue=[off])
    filtered, clear = _stig_vms(session)
    return seeded | {
        "SEC-06": f"{dvs.name}/{other_pg.name}",
        "SEC-13": f"{dvs.name}/{other_pg.name}",
        "SEC-15": dvs.name,
        "SEC-16": f"{dvs.name}/{STIG_MIRROR}",
        "SEC-19": names[-1],
        "SEC-28": _vm_path(filtered),
        "SEC-29": _vm_path(clear),
    }
