"""Appliance VM calls: clone onto a host, reservations and latency sensitivity, NIC wiring,
DRS pinning rules, power and removal, and a targeted read-back of those VMs and rules.

Reads are by moref (a few VMs and one cluster), not through the inventory's bulk pass: the
appliance manager needs fields the network inventory has no reason to carry (reservations,
extraConfig tags, guest IP, heartbeat), and only for its own VMs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyVmomi import vim, vmodl

from vnettool.errors import ApiFault
from vnettool.models.appliance import (
    ApplianceVm,
    ClusterRules,
    DrsGroup,
    DrsRule,
    VmNicState,
)
from vnettool.vsphere.collector import create_view, destroy_view, filter_spec, moref_id
from vnettool.vsphere.connection import Session
from vnettool.vsphere.vmotion import gone, read_props, run_task

TAG = "vnettool.appliance"  # extraConfig key prefix marking a VM as ours

_VM_PATHS = [
    "name",
    "runtime.host",
    "runtime.powerState",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "config.cpuAllocation",
    "config.memoryAllocation",
    "config.latencySensitivity",
    "config.extraConfig",
    "config.hardware.device",
    "guest.ipAddress",
    "guestHeartbeatStatus",
]


def _retrieve(session: Session, objs: list[Any], kind: type, paths: list[str]) -> list[Any]:
    if not objs:
        return []
    pc = session.content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=o) for o in objs],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=paths)],
    )
    out: list[Any] = session.call(pc.RetrieveContents, [spec], op="RetrieveContents", obj="vms")
    return out or []


def _nics(devices: list[Any], dvpg_names: dict[str, str]) -> list[VmNicState]:
    out = []
    for d in devices:
        if not isinstance(d, vim.vm.device.VirtualEthernetCard):
            continue
        b = d.backing
        network = key = None
        if isinstance(b, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
            key = b.port.portgroupKey
            network = dvpg_names.get(key or "")
        elif isinstance(b, vim.vm.device.VirtualEthernetCard.NetworkBackingInfo):
            network = b.deviceName
        c = d.connectable
        out.append(
            VmNicState(
                key=d.key,
                label=d.deviceInfo.label if d.deviceInfo else str(d.key),
                network=network,
                dv_portgroup_key=key,
                connected=bool(c and c.connected),
                start_connected=bool(c and c.startConnected),
            )
        )
    return out


def read_vms(session: Session, morefs: list[str], dvpg_names: dict[str, str]) -> list[ApplianceVm]:
    """The appliance-relevant state of these VMs (missing ones are left out)."""
    objs = [vim.VirtualMachine(m, session.stub) for m in morefs]
    out = []
    for oc in _retrieve(session, objs, vim.VirtualMachine, _VM_PATHS):
        p = {x.name: x.val for x in oc.propSet or []}
        cpu, mem, lat = (
            p.get("config.cpuAllocation"),
            p.get("config.memoryAllocation"),
            p.get("config.latencySensitivity"),
        )
        host = p.get("runtime.host")
        tags = {
            o.key: str(o.value) for o in p.get("config.extraConfig") or [] if o.key.startswith(TAG)
        }
        out.append(
            ApplianceVm(
                moref=moref_id(oc.obj),
                name=p.get("name", ""),
                host_moref=moref_id(host) if host is not None else None,
                power_state=str(p.get("runtime.powerState") or "") or None,
                cpus=p.get("config.hardware.numCPU"),
                memory_mb=p.get("config.hardware.memoryMB"),
                cpu_reservation_mhz=cpu.reservation if cpu is not None else None,
                memory_reservation_mb=mem.reservation if mem is not None else None,
                latency_sensitivity=str(lat.level) if lat is not None else None,
                guest_ip=p.get("guest.ipAddress"),
                heartbeat=str(p.get("guestHeartbeatStatus") or "") or None,
                nics=_nics(list(p.get("config.hardware.device") or []), dvpg_names),
                tags=tags,
            )
        )
    return out


def read_rules(session: Session, cluster_moref: str) -> ClusterRules:
    """DRS groups and rules of a cluster."""
    cl = vim.ClusterComputeResource(cluster_moref, session.stub)
    res = _retrieve(session, [cl], vim.ClusterComputeResource, ["configurationEx"])
    cfg = next((x.val for oc in res for x in oc.propSet or []), None)
    groups, rules = [], []
    for g in getattr(cfg, "group", None) or []:
        if isinstance(g, vim.cluster.VmGroup):
            groups.append(DrsGroup(name=g.name, kind="vm", members=[moref_id(v) for v in g.vm]))
        elif isinstance(g, vim.cluster.HostGroup):
            groups.append(DrsGroup(name=g.name, kind="host", members=[moref_id(h) for h in g.host]))
    for r in getattr(cfg, "rule", None) or []:
        common: dict[str, Any] = {
            "key": r.key or 0,
            "name": r.name,
            "enabled": bool(r.enabled),
            "mandatory": bool(r.mandatory),
        }
        if isinstance(r, vim.cluster.VmHostRuleInfo):
            host_group = r.affineHostGroupName or r.antiAffineHostGroupName
            rules.append(
                DrsRule(kind="vm-host", vm_group=r.vmGroupName, host_group=host_group, **common)
            )
        elif isinstance(r, vim.cluster.AntiAffinityRuleSpec):
            rules.append(DrsRule(kind="anti-affinity", vms=[moref_id(v) for v in r.vm], **common))
        elif isinstance(r, vim.cluster.AffinityRuleSpec):
            rules.append(DrsRule(kind="affinity", vms=[moref_id(v) for v in r.vm], **common))
    return ClusterRules(cluster_moref=cluster_moref, groups=groups, rules=rules)


def _reconfigure_cluster(
    session: Session,
    cluster_moref: str,
    spec: Any,
    what: str,
    done: Callable[[ClusterRules], bool],
) -> None:
    """One ReconfigureComputeResource; after a lost answer `done` judges the re-read rules
    (an "add" sent twice would fail on the group or rule the first one created)."""
    cl = vim.ClusterComputeResource(cluster_moref, session.stub)
    run_task(
        session,
        cl.ReconfigureComputeResource_Task,
        spec,
        True,
        op="ReconfigureComputeResource_Task",
        obj=what,
        done=lambda: True if done(read_rules(session, cluster_moref)) else None,
    )


def pin(
    session: Session,
    cluster_moref: str,
    rules: ClusterRules,
    vm_moref: str,
    host_moref: str,
    names: tuple[str, str, str],
) -> None:
    """Make `vm` "must run on" `host`: a VM group, a host group and a mandatory VM-host rule,
    each added or edited so that re-running converges (one ReconfigureComputeResource)."""
    vm_group, host_group, rule_name = names
    vm = vim.VirtualMachine(vm_moref, session.stub)
    host = vim.HostSystem(host_moref, session.stub)

    def op(present: bool) -> str:
        return "edit" if present else "add"

    spec = vim.cluster.ConfigSpecEx(
        groupSpec=[
            vim.cluster.GroupSpec(
                operation=op(rules.group(vm_group) is not None),
                info=vim.cluster.VmGroup(name=vm_group, vm=[vm]),
            ),
            vim.cluster.GroupSpec(
                operation=op(rules.group(host_group) is not None),
                info=vim.cluster.HostGroup(name=host_group, host=[host]),
            ),
        ]
    )
    old = rules.rule(rule_name)
    info = vim.cluster.VmHostRuleInfo(
        name=rule_name,
        enabled=True,
        mandatory=True,
        vmGroupName=vm_group,
        affineHostGroupName=host_group,
        userCreated=True,
    )
    if old is not None:
        info.key = old.key
    spec.rulesSpec = [vim.cluster.RuleSpec(operation=op(old is not None), info=info)]

    def done(now: ClusterRules) -> bool:
        vms, hosts, rule = now.group(vm_group), now.group(host_group), now.rule(rule_name)
        return (
            vms is not None
            and vms.members == [vm_moref]
            and hosts is not None
            and hosts.members == [host_moref]
            and rule is not None
            and rule.host_group == host_group
        )

    _reconfigure_cluster(session, cluster_moref, spec, f"{cluster_moref}/{rule_name}", done)


def anti_affinity(
    session: Session, cluster_moref: str, rules: ClusterRules, name: str, vm_morefs: list[str]
) -> None:
    """A mandatory VM-VM anti-affinity rule over these VMs (added or edited)."""
    old = rules.rule(name)
    info = vim.cluster.AntiAffinityRuleSpec(
        name=name,
        enabled=True,
        mandatory=True,
        userCreated=True,
        vm=[vim.VirtualMachine(m, session.stub) for m in vm_morefs],
    )
    if old is not None:
        info.key = old.key
    spec = vim.cluster.ConfigSpecEx(
        rulesSpec=[vim.cluster.RuleSpec(operation="edit" if old else "add", info=info)]
    )

    def done(now: ClusterRules) -> bool:
        rule = now.rule(name)
        return rule is not None and sorted(rule.vms) == sorted(vm_morefs)

    _reconfigure_cluster(session, cluster_moref, spec, f"{cluster_moref}/{name}", done)


def unpin(session: Session, cluster_moref: str, rules: ClusterRules, names: list[str]) -> None:
    """Remove the named rules and groups (those that exist; rules first, as vCenter requires)."""
    spec = vim.cluster.ConfigSpecEx(
        rulesSpec=[
            vim.cluster.RuleSpec(operation="remove", removeKey=r.key)
            for r in rules.rules
            if r.name in names
        ],
        groupSpec=[
            vim.cluster.GroupSpec(operation="remove", removeKey=g.name)
            for g in rules.groups
            if g.name in names
        ],
    )

    def done(now: ClusterRules) -> bool:
        present = {r.name for r in now.rules} | {g.name for g in now.groups}
        return not present & set(names)

    if spec.rulesSpec or spec.groupSpec:
        _reconfigure_cluster(session, cluster_moref, spec, f"{cluster_moref}/{names[0]}", done)


def _backing(network: str, dv: tuple[str, str] | None) -> Any:
    if dv is not None:
        return vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
            port=vim.dvs.PortConnection(switchUuid=dv[0], portgroupKey=dv[1])
        )
    return vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=network)


def _resources(cpu_mhz: int, mem_mb: int, latency: str, cpus: int, memory_mb: int) -> Any:
    alloc = vim.ResourceAllocationInfo
    shares = vim.SharesInfo(level="normal", shares=0)
    return vim.vm.ConfigSpec(
        numCPUs=cpus,
        memoryMB=memory_mb,
        cpuAllocation=alloc(
            reservation=cpu_mhz, limit=-1, expandableReservation=False, shares=shares
        ),
        memoryAllocation=alloc(
            reservation=mem_mb, limit=-1, expandableReservation=False, shares=shares
        ),
        memoryReservationLockedToMax=mem_mb == memory_mb,
        latencySensitivity=vim.LatencySensitivity(level=latency),
    )


def clone(
    session: Session,
    *,
    template_moref: str,
    name: str,
    folder_moref: str,
    pool_moref: str | None,
    host_moref: str,
    cpus: int,
    memory_mb: int,
    cpu_reservation_mhz: int,
    memory_reservation_mb: int,
    latency: str,
    nics: list[tuple[str, str, tuple[str, str] | None]],
    tags: dict[str, str],
) -> str:
    """Clone the template onto the host, already sized, reserved and latency-tuned, NICs on
    their port groups but *disconnected* (they are connected one by one after power-on, the
    protected side last). `nics` = (label, port group, (dvs uuid, key) or None) in template
    NIC order; NICs the template lacks are added as vmxnet3. Returns the new VM's moref."""
    tmpl = vim.VirtualMachine(template_moref, session.stub)
    res = _retrieve(session, [tmpl], vim.VirtualMachine, ["config.hardware.device"])
    devices = [x.val for oc in res for x in oc.propSet or []]
    cards = [
        d
        for d in (devices[0] if devices else [])
        if isinstance(d, vim.vm.device.VirtualEthernetCard)
    ]
    changes = []
    for i, (label, network, dv) in enumerate(nics):
        if i < len(cards):
            card, op = cards[i], "edit"
        else:
            card, op = vim.vm.device.VirtualVmxnet3(key=-100 - i), "add"
            card.addressType = "generated"
        card.backing = _backing(network, dv)
        card.connectable = vim.vm.device.VirtualDevice.ConnectInfo(
            startConnected=False, connected=False, allowGuestControl=True
        )
        card.deviceInfo = vim.Description(label=label, summary=network)
        changes.append(vim.vm.device.VirtualDeviceSpec(operation=op, device=card))
    for extra in cards[len(nics) :]:
        changes.append(vim.vm.device.VirtualDeviceSpec(operation="remove", device=extra))
    config = _resources(cpu_reservation_mhz, memory_reservation_mb, latency, cpus, memory_mb)
    config.deviceChange = changes
    config.extraConfig = [vim.option.OptionValue(key=k, value=v) for k, v in tags.items()]
    location = vim.vm.RelocateSpec(host=vim.HostSystem(host_moref, session.stub))
    if pool_moref:
        location.pool = vim.ResourcePool(pool_moref, session.stub)
    spec = vim.vm.CloneSpec(location=location, config=config, powerOn=False, template=False)
    folder = vim.Folder(folder_moref, session.stub)

    def cloned() -> str | None:  # VM names are unique in a folder: that name is this clone
        return vm_morefs(session, {name}).get(name)

    vm = run_task(
        session, tmpl.CloneVM_Task, folder, name, spec, op="CloneVM_Task", obj=name, done=cloned
    )
    return vm if isinstance(vm, str) else moref_id(vm)


def set_resources(
    session: Session,
    vm_moref: str,
    name: str,
    *,
    cpus: int,
    memory_mb: int,
    cpu_reservation_mhz: int,
    memory_reservation_mb: int,
    latency: str,
) -> None:
    config = _resources(cpu_reservation_mhz, memory_reservation_mb, latency, cpus, memory_mb)
    _reconfig(session, vm_moref, name, config)


def _reconfig(session: Session, vm_moref: str, name: str, config: Any) -> None:
    vm = vim.VirtualMachine(vm_moref, session.stub)  # edits only: safe to send twice
    run_task(session, vm.ReconfigVM_Task, config, op="ReconfigVM_Task", obj=name)


def wire_nic(
    session: Session,
    vm_moref: str,
    where: str,
    nic_key: int,
    network: str,
    dv: tuple[str, str] | None,
    connected: bool,
) -> None:
    """Put one NIC on its port group and (dis)connect it, in one ReconfigVM."""
    vm = vim.VirtualMachine(vm_moref, session.stub)
    res = _retrieve(session, [vm], vim.VirtualMachine, ["config.hardware.device"])
    devices = [x.val for oc in res for x in oc.propSet or []]
    nic = next((d for d in (devices[0] if devices else []) if d.key == nic_key), None)
    if nic is None:
        raise ApiFault("ReconfigVM_Task", where, "NotFound", f"no device with key {nic_key}")
    nic.backing = _backing(network, dv)
    nic.connectable = vim.vm.device.VirtualDevice.ConnectInfo(
        startConnected=connected, connected=connected, allowGuestControl=True
    )
    change = vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic)
    _reconfig(session, vm_moref, where, vim.vm.ConfigSpec(deviceChange=[change]))


def power(session: Session, vm_moref: str, name: str, on: bool) -> None:
    vm = vim.VirtualMachine(vm_moref, session.stub)
    fn, op = (
        (vm.PowerOnVM_Task, "PowerOnVM_Task") if on else (vm.PowerOffVM_Task, "PowerOffVM_Task")
    )
    want = "poweredOn" if on else "poweredOff"

    def done() -> bool | None:
        state = (read_props(session, vm, ["runtime.powerState"]) or {}).get("runtime.powerState")
        return True if state == want else None

    run_task(session, fn, op=op, obj=name, done=done)


def destroy(session: Session, vm_moref: str, name: str) -> None:
    vm = vim.VirtualMachine(vm_moref, session.stub)
    run_task(session, vm.Destroy_Task, op="Destroy_Task", obj=name, done=lambda: gone(session, vm))


def placement_refs(
    session: Session, datacenter_moref: str, cluster_moref: str | None
) -> tuple[str, str | None]:
    """(VM folder of the datacenter, root resource pool of the cluster)."""
    dc = vim.Datacenter(datacenter_moref, session.stub)
    res = _retrieve(session, [dc], vim.Datacenter, ["vmFolder"])
    folder = next((x.val for oc in res for x in oc.propSet or []), None)
    pool = None
    if cluster_moref:
        cl = vim.ClusterComputeResource(cluster_moref, session.stub)
        res = _retrieve(session, [cl], vim.ClusterComputeResource, ["resourcePool"])
        pool = next((x.val for oc in res for x in oc.propSet or []), None)
    if folder is None:
        raise ApiFault(
            "RetrieveContents", datacenter_moref, "NotFound", "datacenter has no vmFolder"
        )
    return moref_id(folder), moref_id(pool) if pool is not None else None


def host_pool(session: Session, host_moref: str) -> str:
    """The root resource pool of the host's compute resource (a standalone host's own)."""
    host = vim.HostSystem(host_moref, session.stub)
    res = _retrieve(session, [host], vim.HostSystem, ["parent"])
    parent = next((x.val for oc in res for x in oc.propSet or []), None)
    if parent is not None:
        got = _retrieve(session, [parent], vim.ComputeResource, ["resourcePool"])
        pool = next((x.val for oc in got for x in oc.propSet or []), None)
        if pool is not None:
            return moref_id(pool)
    raise ApiFault("RetrieveContents", host_moref, "NotFound", "host has no resource pool")


def vm_morefs(session: Session, names: set[str]) -> dict[str, str]:
    """name -> moref of the VMs with these names: one read of every VM's name only (a rule
    over VMs created earlier in the same run, whose morefs the plan could not know)."""
    view = create_view(session, {"VirtualMachine": ["name"]})
    try:
        pc = session.content.propertyCollector
        spec = filter_spec(view, {"VirtualMachine": ["name"]})
        res = session.call(pc.RetrieveContents, [spec], op="RetrieveContents", obj="VM names")
    finally:
        destroy_view(session, view)
    out = {}
    for oc in res or []:
        name = next((p.val for p in oc.propSet or []), None)
        if name in names:
            out[name] = moref_id(oc.obj)
    return out
