"""Virtual machine specs: NIC backings and NIC edits, the clone spec of an appliance, its
sizing, reservations and latency sensitivity, and extraConfig settings.

Pure: values in, vim specs out; the one NIC backing builder and the one NIC edit every
caller uses (a VM NIC move, an appliance's wiring, the lab seeder). Morefs become references
without a stub: a spec is serialized, never called through.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

_ETH = vim.vm.device.VirtualEthernetCard

# (label, port group name, (switch uuid, port group key) for a DV port group, else None)
NicWiring = tuple[str, str, tuple[str, str] | None]


def nic_backing(network: str | None, dv: tuple[str, str] | None) -> Any:
    """A NIC's backing: a DV port group (`dv` = (switch uuid, port group key)) or a standard
    network by name (vCenter resolves the name among the host's networks)."""
    if dv is not None:
        return _ETH.DistributedVirtualPortBackingInfo(
            port=vim.dvs.PortConnection(switchUuid=dv[0], portgroupKey=dv[1])
        )
    return _ETH.NetworkBackingInfo(deviceName=network)


def nic_edit(
    nic: Any,
    backing: Any | None = None,
    connected: bool | None = None,
    start_connected: bool | None = None,
) -> Any:
    """The "edit" VirtualDeviceSpec of one NIC as read from the VM, with a new backing and/or
    connection state (what is not given stays as read)."""
    if backing is not None:
        nic.backing = backing
    if connected is not None or start_connected is not None:
        c = nic.connectable or vim.vm.device.VirtualDevice.ConnectInfo(allowGuestControl=True)
        if connected is not None:
            c.connected = connected
        if start_connected is not None:
            c.startConnected = start_connected
        nic.connectable = c
    return vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic)


def resources_spec(cpu_mhz: int, mem_mb: int, latency: str, cpus: int, memory_mb: int) -> Any:
    """Size, full reservations (memory locked when it reserves it all) and latency level."""
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


def new_nic(key: int) -> Any:
    """A vmxnet3 NIC to add (negative key: the server assigns the real one)."""
    card = vim.vm.device.VirtualVmxnet3(key=key)
    card.addressType = "generated"
    return card


def wire_new(card: Any, wiring: NicWiring) -> Any:
    """A NIC of a new VM (clone or import) on its port group, labelled, and *disconnected*:
    the appliance connects its NICs one by one after power-on, the protected side last."""
    label, network, dv = wiring
    card.backing = nic_backing(network, dv)
    card.connectable = vim.vm.device.VirtualDevice.ConnectInfo(
        startConnected=False, connected=False, allowGuestControl=True
    )
    card.deviceInfo = vim.Description(label=label, summary=network)
    return card


def clone_devices(cards: list[Any], nics: list[NicWiring]) -> list[Any]:
    """Device changes of a clone: the template's NICs (in order) put on `nics`' port groups,
    *disconnected*; NICs the template lacks added as vmxnet3, extra ones removed."""
    changes = []
    for i, wiring in enumerate(nics):
        if i < len(cards):
            card, op = cards[i], "edit"
        else:
            card, op = new_nic(-100 - i), "add"
        changes.append(vim.vm.device.VirtualDeviceSpec(operation=op, device=wire_new(card, wiring)))
    for extra in cards[len(nics) :]:
        changes.append(vim.vm.device.VirtualDeviceSpec(operation="remove", device=extra))
    return changes


def clone_spec(config: Any, host_moref: str, pool_moref: str | None, tags: dict[str, str]) -> Any:
    """A CloneSpec onto the host (and pool), powered off, not a template, with `config` (a
    ConfigSpec: sizing and device changes) and the tags as extraConfig."""
    config.extraConfig = [vim.option.OptionValue(key=k, value=v) for k, v in tags.items()]
    location = vim.vm.RelocateSpec(host=vim.HostSystem(host_moref, None))
    if pool_moref:
        location.pool = vim.ResourcePool(pool_moref, None)
    return vim.vm.CloneSpec(location=location, config=config, powerOn=False, template=False)


def settings_spec(migrate_encryption: str | None, extra_config: dict[str, str]) -> Any:
    """vMotion encryption (when given) and extraConfig entries by key (an empty value
    removes the entry, as vCenter does)."""
    spec = vim.vm.ConfigSpec(
        extraConfig=[
            vim.option.OptionValue(key=k, value=v) for k, v in sorted(extra_config.items())
        ]
    )
    if migrate_encryption is not None:
        spec.migrateEncryption = migrate_encryption
    return spec


def latency_spec(level: str, cpu_mhz: int, mem_mb: int, locked: bool) -> Any:
    """Latency sensitivity and the reservations it needs (whole values: safe to resend)."""
    alloc = vim.ResourceAllocationInfo
    return vim.vm.ConfigSpec(
        latencySensitivity=vim.LatencySensitivity(level=level),
        cpuAllocation=alloc(reservation=cpu_mhz),
        memoryAllocation=alloc(reservation=mem_mb),
        memoryReservationLockedToMax=locked,
    )


def relocate_spec(host_moref: str) -> Any:
    """A vMotion to the host (same cluster, same storage)."""
    return vim.vm.RelocateSpec(host=vim.HostSystem(host_moref, None))
