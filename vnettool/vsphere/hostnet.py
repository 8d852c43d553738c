"""Standard switching on a host: typed calls to HostNetworkSystem and HostVirtualNicManager.

The engine hands in inventory models in API units (what the object must look like after the
call) and never touches pyVmomi; the specifications are built in `specs/hostnet.py`. Updates use UpdateVirtualSwitch / UpdatePortGroup /
UpdateVirtualNic in place: deleting and re-creating a switch or port group would cut the
traffic of every VM on it.

Thread safety: one `Session` is shared by the engine's workers. pyVmomi's SoapStubAdapter
takes an HTTP connection from a pool under a lock for every request and serializes and parses
in the calling thread, so concurrent calls are safe; the pool keeps only `poolSize` (default 5)
idle connections, so `ensure_pool` raises it to the worker count to avoid a TLS handshake per
call. The per-host manager references are cached behind a lock.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from pyVmomi import vim

from vnettool.errors import ApiFault
from vnettool.models.inventory import StandardPortGroup, StandardSwitch, VmkernelAdapter
from vnettool.vsphere.connection import Session
from vnettool.vsphere.props import read, read_many
from vnettool.vsphere.specs.hostnet import (
    option_values,
    portgroup_spec,
    vnic_move_spec,
    vnic_spec,
    vswitch_spec,
)

_lock = threading.Lock()
_managers: weakref.WeakKeyDictionary[Session, dict[str, tuple[Any, Any]]] = (
    weakref.WeakKeyDictionary()
)


def ensure_pool(session: Session, size: int) -> None:
    """Keep at least `size` idle HTTP connections so concurrent workers reuse them."""
    stub = session.stub
    if getattr(stub, "poolSize", size) < size:
        stub.poolSize = size


def prefetch_managers(session: Session, host_morefs: list[str]) -> None:
    """Read the network system and vNIC manager of many hosts in one PropertyCollector call."""
    with _lock:
        cache = _managers.setdefault(session, {})
        missing = sorted({m for m in host_morefs if m not in cache})
    if not missing:
        return
    paths = ["configManager.networkSystem", "configManager.virtualNicManager"]
    hosts = [vim.HostSystem(m, session.stub) for m in missing]
    found = {
        m: (props.get(paths[0]), props.get(paths[1]))
        for m, props in read_many(session, hosts, paths, what="hosts").items()
    }
    with _lock:
        _managers.setdefault(session, {}).update(found)


def _managers_of(session: Session, host_moref: str) -> tuple[Any, Any]:
    with _lock:
        got = _managers.get(session, {}).get(host_moref)
    if got is None:
        prefetch_managers(session, [host_moref])
        with _lock:
            got = _managers.get(session, {}).get(host_moref)
    if got is None or got[0] is None:
        raise ApiFault("read configManager", host_moref, "ManagedObjectNotFound", "no such host")
    return got


def _netsys(session: Session, host_moref: str) -> Any:
    return _managers_of(session, host_moref)[0]


# -- switches ---------------------------------------------------------------------------------
def _ns_call(session: Session, host_moref: str, method: str, obj: str, **kwargs: Any) -> Any:
    """Call `method` on the host's HostNetworkSystem, faults named after `obj`.

    Only for calls that may safely run twice (an update sends the object's whole new state).
    """
    return session.call(getattr(_netsys(session, host_moref), method), op=method, obj=obj, **kwargs)


InPlace = Callable[[Any], Any]  # the host's networkInfo -> a result if the change is there


def _ns_write(
    session: Session, host_moref: str, method: str, obj: str, done: InPlace, **kwargs: Any
) -> Any:
    """An add or remove on the HostNetworkSystem: sent once; when its answer is lost, the
    host's network is re-read and `done` says whether the change is already in place."""
    ns = _netsys(session, host_moref)

    def send() -> tuple[Any]:
        return (session.call(getattr(ns, method), op=method, obj=obj, idempotent=False, **kwargs),)

    def settled() -> tuple[Any] | None:
        info = session.call(lambda: ns.networkInfo, op="read networkInfo", obj=obj)
        found = done(info)
        return None if found is None else (found,)

    return session.write(send, settled, op=method, obj=obj)[0]


def _present(items: Any, match: Callable[[Any], bool]) -> bool:
    return any(match(x) for x in items or [])


def add_virtual_switch(session: Session, host_moref: str, sw: StandardSwitch) -> None:
    def done(info: Any) -> bool | None:
        return _present(info.vswitch, lambda v: v.name == sw.name) or None

    spec = vswitch_spec(sw)
    _ns_write(
        session,
        host_moref,
        "AddVirtualSwitch",
        f"{sw.host}/{sw.name}",
        done,
        vswitchName=sw.name,
        spec=spec,
    )


def update_virtual_switch(session: Session, host_moref: str, sw: StandardSwitch) -> None:
    """Reconfigure in place; the spec is the switch's whole new state."""
    spec = vswitch_spec(sw)
    _ns_call(
        session,
        host_moref,
        "UpdateVirtualSwitch",
        f"{sw.host}/{sw.name}",
        vswitchName=sw.name,
        spec=spec,
    )


def remove_virtual_switch(session: Session, host_moref: str, host: str, name: str) -> None:
    def done(info: Any) -> bool | None:
        return None if _present(info.vswitch, lambda v: v.name == name) else True

    _ns_write(session, host_moref, "RemoveVirtualSwitch", f"{host}/{name}", done, vswitchName=name)


# -- port groups ------------------------------------------------------------------------------
def add_port_group(session: Session, host_moref: str, pg: StandardPortGroup) -> None:
    def done(info: Any) -> bool | None:
        return (
            _present(
                info.portgroup,
                lambda p: p.spec.name == pg.name and p.spec.vswitchName == pg.switch,
            )
            or None
        )

    spec = portgroup_spec(pg)
    _ns_write(session, host_moref, "AddPortGroup", f"{pg.host}/{pg.name}", done, portgrp=spec)


def update_port_group(session: Session, host_moref: str, pg: StandardPortGroup) -> None:
    """Reconfigure in place: VLAN and the policy overrides (unset = inherit from the switch)."""
    spec = portgroup_spec(pg)
    _ns_call(
        session, host_moref, "UpdatePortGroup", f"{pg.host}/{pg.name}", pgName=pg.name, portgrp=spec
    )


def remove_port_group(session: Session, host_moref: str, host: str, name: str) -> None:
    def done(info: Any) -> bool | None:
        return None if _present(info.portgroup, lambda p: p.spec.name == name) else True

    _ns_write(session, host_moref, "RemovePortGroup", f"{host}/{name}", done, pgName=name)


# -- VMkernel adapters ------------------------------------------------------------------------
def add_virtual_nic(session: Session, host_moref: str, vmk: VmkernelAdapter) -> str:
    """Create the adapter on its standard port group; returns the device name (vmkN).

    After a lost answer, an adapter on that port group with the wanted address is the one
    this call created (the plan saw none there): its device is the result.
    """

    def done(info: Any) -> str | None:
        for v in info.vnic or []:
            addr = v.spec.ip.ipAddress if v.spec.ip else None
            if v.portgroup == vmk.portgroup and (vmk.dhcp or addr == vmk.ip):
                return str(v.device)
        return None

    spec = vnic_spec(vmk)
    where = f"{vmk.host}/{vmk.portgroup}"
    return str(
        _ns_write(
            session,
            host_moref,
            "AddVirtualNic",
            where,
            done,
            portgroup=vmk.portgroup or "",
            nic=spec,
        )
    )


def update_virtual_nic(session: Session, host_moref: str, vmk: VmkernelAdapter) -> None:
    spec = vnic_spec(vmk)
    _ns_call(
        session,
        host_moref,
        "UpdateVirtualNic",
        f"{vmk.host}/{vmk.device}",
        device=vmk.device,
        nic=spec,
    )


def remove_virtual_nic(session: Session, host_moref: str, host: str, device: str) -> None:
    def done(info: Any) -> bool | None:
        return None if _present(info.vnic, lambda v: v.device == device) else True

    _ns_write(session, host_moref, "RemoveVirtualNic", f"{host}/{device}", done, device=device)


def set_vnic_services(
    session: Session,
    host_moref: str,
    host: str,
    device: str,
    select: list[str],
    deselect: list[str],
) -> None:
    """Tag (SelectVnicForNicType) and untag the adapter for services such as vmotion."""
    vnm = _managers_of(session, host_moref)[1]
    if vnm is None and (select or deselect):
        raise ApiFault("VirtualNicManager", host, "NotSupported", "host has no vNIC manager")
    for nic_type in select:
        session.call(
            vnm.SelectVnicForNicType,
            nicType=nic_type,
            device=device,
            op="SelectVnicForNicType",
            obj=f"{host}/{device}/{nic_type}",
        )
    for nic_type in deselect:
        session.call(
            vnm.DeselectVnicForNicType,
            nicType=nic_type,
            device=device,
            op="DeselectVnicForNicType",
            obj=f"{host}/{device}/{nic_type}",
        )


def move_vmknic(
    session: Session,
    host_moref: str,
    where: str,
    device: str,
    dv: tuple[str, str] | None,
    portgroup: str | None,
) -> str:
    """UpdateVirtualNic onto a DV port group (dv = (switch uuid, key)) or a standard one.

    Returns the host's connection state read right after the move (management reachability).
    """
    spec = vnic_move_spec(dv, portgroup)
    _ns_call(session, host_moref, "UpdateVirtualNic", where, device=device, nic=spec)
    state = read(session, vim.HostSystem(host_moref, session.stub), ["runtime.connectionState"])
    return str((state or {}).get("runtime.connectionState") or "unknown")


# -- advanced settings ------------------------------------------------------------------------
def update_advanced_options(
    session: Session, host_moref: str, host: str, values: dict[str, int | str]
) -> None:
    """Set host advanced options in one UpdateOptions (all or none, like ESXi). Integers go as
    xsd:long: ESXi types these options long and refuses an xsd:int (pyVmomi's int)."""
    hs = vim.HostSystem(host_moref, session.stub)
    om = session.call(lambda: hs.configManager.advancedOption, op="read advancedOption", obj=host)
    changed = option_values(values)
    if om is None:
        raise ApiFault("UpdateOptions", host, "NotFound", "the host has no advanced option manager")
    session.call(om.UpdateOptions, op="UpdateOptions", obj=host, changedValue=changed)
