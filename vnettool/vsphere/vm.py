"""The virtual machine: read what the appliance manager needs, clone, size, edit a NIC,
power, destroy, extraConfig settings, and vMotion (CheckRelocate_Task as a veto,
RelocateVM_Task to move). The specs are built in `specs/vm.py`.

Calls take morefs (strings) so the layers above never hold pyVmomi objects. Reads are by
moref (a few VMs), not through the inventory's bulk pass: the appliance manager needs fields
the network inventory has no reason to carry (reservations, extraConfig tags, guest IP,
heartbeat), and only for its own VMs.

A server without a provisioning checker (ESXi, or a simulator that advertises one it does
not implement) is reported as `CheckUnsupported`, so the caller can fall back to its own
pre-checks once and remember that.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

from vnettool.errors import ApiFault, VnetError
from vnettool.models.appliance import ApplianceVm, VmNicState
from vnettool.vsphere.collector import create_view, destroy_view, filter_spec, moref_id
from vnettool.vsphere.connection import Session, fault_message, fault_name
from vnettool.vsphere.props import gone, read, read_many
from vnettool.vsphere.specs.vm import (
    NicWiring,
    clone_devices,
    clone_spec,
    nic_backing,
    nic_edit,
    relocate_spec,
    resources_spec,
    settings_spec,
)
from vnettool.vsphere.tasks import run_task, wait_task

TAG = "vnettool.appliance"  # extraConfig key prefix marking a VM as ours

# Faults of CheckRelocate that mean "the network is not right on the destination".
NETWORK_FAULTS = (
    "VMotionInterfaceIssue",
    "VMotionLinkDown",
    "VMotionLinkCapacityLow",
    "VMotionNotConfigured",
    "VMotionNotLicensed",
    "VMotionNotSupported",
    "VMotionProtocolIncompatible",
    "MismatchedVMotionNetworkNames",
    "MismatchedNetworkPolicies",
    "NetworksMayNotBeTheSame",
    "VMotionAcrossNetworkNotSupported",
    "CannotAccessNetwork",
    "VMOnVirtualIntranet",
)


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


class CheckUnsupported(VnetError):
    """The server offers no usable CheckRelocate_Task."""


def vm_ref(session: Session, moref: str) -> Any:
    return vim.VirtualMachine(moref, session.stub)


def reconfigure(session: Session, vm_moref: str, name: str, spec: Any) -> None:
    """ReconfigVM_Task with edits only (whole values): safe to send twice."""
    vm = vm_ref(session, vm_moref)
    run_task(session, vm.ReconfigVM_Task, spec, op="ReconfigVM_Task", obj=name)


# -- reading ------------------------------------------------------------------------------
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


def _appliance_vm(moref: str, p: dict[str, Any], dvpg_names: dict[str, str]) -> ApplianceVm:
    cpu, mem, lat = (
        p.get("config.cpuAllocation"),
        p.get("config.memoryAllocation"),
        p.get("config.latencySensitivity"),
    )
    host = p.get("runtime.host")
    tags = {o.key: str(o.value) for o in p.get("config.extraConfig") or [] if o.key.startswith(TAG)}
    return ApplianceVm(
        moref=moref,
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


def read_vms(session: Session, morefs: list[str], dvpg_names: dict[str, str]) -> list[ApplianceVm]:
    """The appliance-relevant state of these VMs (missing ones are left out)."""
    objs = [vm_ref(session, m) for m in morefs]
    got = read_many(session, objs, _VM_PATHS, kind=vim.VirtualMachine, what="vms")
    return [_appliance_vm(m, p, dvpg_names) for m, p in got.items()]


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


def _devices(session: Session, vm_moref: str) -> list[Any]:
    props = read(session, vm_ref(session, vm_moref), ["config.hardware.device"]) or {}
    return list(props.get("config.hardware.device") or [])


# -- NICs ---------------------------------------------------------------------------------
def edit_nic(
    session: Session,
    vm_moref: str,
    where: str,
    nic_key: int,
    *,
    network: str | None = None,
    dv: tuple[str, str] | None = None,
    rewire: bool = True,
    connected: bool | None = None,
    start_connected: bool | None = None,
) -> None:
    """One ReconfigVM_Task editing one NIC: its backing (a DV port group `dv` = (switch
    uuid, key), or a standard `network` by name; `rewire=False` keeps it) and/or its
    connection state. The NIC is read first, so everything else about it stays as it is.
    Whole values: safe to send twice."""
    nic = next((d for d in _devices(session, vm_moref) if d.key == nic_key), None)
    if nic is None:
        raise ApiFault("ReconfigVM_Task", where, "NotFound", f"no device with key {nic_key}")
    backing = nic_backing(network, dv) if rewire else None
    change = nic_edit(nic, backing, connected, start_connected)
    reconfigure(session, vm_moref, where, vim.vm.ConfigSpec(deviceChange=[change]))


# -- lifecycle ----------------------------------------------------------------------------
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
    nics: list[NicWiring],
    tags: dict[str, str],
) -> str:
    """Clone the template onto the host, already sized, reserved and latency-tuned, NICs on
    their port groups but *disconnected* (they are connected one by one after power-on, the
    protected side last). `nics` = (label, port group, (dvs uuid, key) or None) in template
    NIC order; NICs the template lacks are added as vmxnet3. Returns the new VM's moref."""
    tmpl = vm_ref(session, template_moref)
    cards = [
        d
        for d in _devices(session, template_moref)
        if isinstance(d, vim.vm.device.VirtualEthernetCard)
    ]
    config = resources_spec(cpu_reservation_mhz, memory_reservation_mb, latency, cpus, memory_mb)
    config.deviceChange = clone_devices(cards, nics)
    spec = clone_spec(config, host_moref, pool_moref, tags)
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
    config = resources_spec(cpu_reservation_mhz, memory_reservation_mb, latency, cpus, memory_mb)
    reconfigure(session, vm_moref, name, config)


def reconfigure_vm_settings(
    session: Session,
    vm_moref: str,
    vm_name: str,
    migrate_encryption: str | None,
    extra_config: dict[str, str],
) -> None:
    """One ReconfigVM_Task: vMotion encryption (when given) and extraConfig entries by key
    (an empty value removes the entry, as vCenter does). Safe to send twice: it sets values."""
    reconfigure(session, vm_moref, vm_name, settings_spec(migrate_encryption, extra_config))


def power(session: Session, vm_moref: str, name: str, on: bool) -> None:
    vm = vm_ref(session, vm_moref)
    fn, op = (
        (vm.PowerOnVM_Task, "PowerOnVM_Task") if on else (vm.PowerOffVM_Task, "PowerOffVM_Task")
    )
    want = "poweredOn" if on else "poweredOff"

    def done() -> bool | None:
        state = (read(session, vm, ["runtime.powerState"]) or {}).get("runtime.powerState")
        return True if state == want else None

    run_task(session, fn, op=op, obj=name, done=done)


def destroy(session: Session, vm_moref: str, name: str) -> None:
    vm = vm_ref(session, vm_moref)
    run_task(session, vm.Destroy_Task, op="Destroy_Task", obj=name, done=lambda: gone(session, vm))


def placement_refs(
    session: Session, datacenter_moref: str, cluster_moref: str | None
) -> tuple[str, str | None]:
    """(VM folder of the datacenter, root resource pool of the cluster)."""
    dc = vim.Datacenter(datacenter_moref, session.stub)
    folder = (read(session, dc, ["vmFolder"]) or {}).get("vmFolder")
    pool = None
    if cluster_moref:
        cl = vim.ClusterComputeResource(cluster_moref, session.stub)
        pool = (read(session, cl, ["resourcePool"]) or {}).get("resourcePool")
    if folder is None:
        raise ApiFault(
            "RetrieveContents", datacenter_moref, "NotFound", "datacenter has no vmFolder"
        )
    return moref_id(folder), moref_id(pool) if pool is not None else None


def host_pool(session: Session, host_moref: str) -> str:
    """The root resource pool of the host's compute resource (a standalone host's own)."""
    host = vim.HostSystem(host_moref, session.stub)
    parent = (read(session, host, ["parent"]) or {}).get("parent")
    if parent is not None:
        pool = (read(session, parent, ["resourcePool"]) or {}).get("resourcePool")
        if pool is not None:
            return moref_id(pool)
    raise ApiFault("RetrieveContents", host_moref, "NotFound", "host has no resource pool")


# -- vMotion -------------------------------------------------------------------------------
def _classify(fault: Any) -> str:
    """'FaultName: message', naming the first network-related class in the fault's ancestry."""
    names = [c.__name__.rsplit(".", 1)[-1] for c in type(fault).__mro__]
    net = next((n for n in names if n in NETWORK_FAULTS), None)
    label = fault_name(fault)
    msg = fault_message(fault)
    return f"{label}{' (network)' if net else ''}{': ' + msg if msg else ''}"


def check_relocate(session: Session, vm_moref: str, host_moref: str) -> list[str]:
    """Errors CheckRelocate_Task reports for moving the VM to the host (empty = fine)."""
    checker = session.content.vmProvisioningChecker
    if checker is None:
        raise CheckUnsupported("the server has no VM provisioning checker (ESXi?)")
    vm, spec = vm_ref(session, vm_moref), relocate_spec(host_moref)
    try:
        task = session.call(
            checker.CheckRelocate_Task,
            vm=vm,
            spec=spec,
            testType=["sourceTests", "hostTests", "networkTests"],
            op="CheckRelocate_Task",
            obj=vm_moref,
        )
    except ApiFault as exc:
        if exc.fault in (
            "ManagedObjectNotFound",
            "MethodNotFound",
            "NotSupported",
            "NotImplemented",
        ):
            raise CheckUnsupported(f"CheckRelocate_Task: {exc.fault}") from exc
        raise
    results = wait_task(session, task, "CheckRelocate_Task", vm_moref) or []
    errors: list[str] = []
    for r in results:
        errors.extend(_classify(e) for e in (r.error or []))
    return errors


def relocate(session: Session, vm_moref: str, host_moref: str, timeout_s: float = 600.0) -> None:
    """vMotion the VM to the host (same cluster, same storage) and wait for the task."""
    vm, spec = vm_ref(session, vm_moref), relocate_spec(host_moref)

    def arrived() -> bool | None:
        props = read(session, vm, ["runtime.host"]) or {}
        where = props.get("runtime.host")
        return True if where is not None and where._moId == host_moref else None

    run_task(
        session,
        vm.RelocateVM_Task,
        spec=spec,
        priority=vim.VirtualMachine.MovePriority.defaultPriority,
        op="RelocateVM_Task",
        obj=vm_moref,
        done=arrived,
        timeout_s=timeout_s,
    )
