"""Standard switching on a host: typed calls to HostNetworkSystem and HostVirtualNicManager.

The engine hands in inventory models in API units (what the object must look like after the
call) and never touches pyVmomi. Updates use UpdateVirtualSwitch / UpdatePortGroup /
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

from pyVmomi import VmomiSupport, vim, vmodl

from vnettool.errors import ApiFault
from vnettool.models.inventory import StandardPortGroup, StandardSwitch, VmkernelAdapter
from vnettool.models.policy import NetworkPolicy
from vnettool.vsphere.collector import moref_id
from vnettool.vsphere.connection import Session

DEFAULT_NUM_PORTS = 128

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
    pc = session.content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[
            vmodl.query.PropertyCollector.ObjectSpec(obj=vim.HostSystem(m, session.stub))
            for m in missing
        ],
        propSet=[
            vmodl.query.PropertyCollector.PropertySpec(
                type=vim.HostSystem,
                pathSet=["configManager.networkSystem", "configManager.virtualNicManager"],
            )
        ],
    )
    res = session.call(pc.RetrieveContents, [spec], op="RetrieveContents", obj="hosts")
    found: dict[str, tuple[Any, Any]] = {}
    for oc in res or []:
        props = {p.name: p.val for p in oc.propSet or []}
        found[moref_id(oc.obj)] = (
            props.get("configManager.networkSystem"),
            props.get("configManager.virtualNicManager"),
        )
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


# -- policies ---------------------------------------------------------------------------------
def _any(*values: Any) -> bool:
    return any(v is not None for v in values)


def host_network_policy(p: NetworkPolicy) -> Any:
    """A vim.host.NetworkPolicy; a block whose fields are all unset is left unset (inherit)."""
    pol = vim.host.NetworkPolicy()
    s, sh, t = p.security, p.shaping, p.teaming
    if _any(s.allow_promiscuous, s.mac_changes, s.forged_transmits):
        pol.security = vim.host.NetworkPolicy.SecurityPolicy(
            allowPromiscuous=s.allow_promiscuous,
            macChanges=s.mac_changes,
            forgedTransmits=s.forged_transmits,
        )
    if _any(sh.enabled, sh.average_bps, sh.peak_bps, sh.burst_bytes):
        pol.shapingPolicy = vim.host.NetworkPolicy.TrafficShapingPolicy(
            enabled=sh.enabled,
            averageBandwidth=sh.average_bps,
            peakBandwidth=sh.peak_bps,
            burstSize=sh.burst_bytes,
        )
    if _any(
        t.policy,
        t.notify_switches,
        t.failback,
        t.check_beacon,
        t.active_uplinks,
        t.standby_uplinks,
    ):
        team = vim.host.NetworkPolicy.NicTeamingPolicy(
            policy=t.policy,
            notifySwitches=t.notify_switches,
            rollingOrder=None if t.failback is None else not t.failback,
        )
        if t.check_beacon is not None:
            team.failureCriteria = vim.host.NetworkPolicy.NicFailureCriteria(
                checkBeacon=t.check_beacon
            )
        if t.active_uplinks is not None or t.standby_uplinks is not None:
            team.nicOrder = vim.host.NetworkPolicy.NicOrderPolicy(
                activeNic=list(t.active_uplinks or []),
                standbyNic=list(t.standby_uplinks or []),
            )
        pol.nicTeaming = team
    return pol


def _vswitch_spec(sw: StandardSwitch) -> Any:
    policy = host_network_policy(sw.policy)
    spec = vim.host.VirtualSwitch.Specification(numPorts=sw.num_ports or DEFAULT_NUM_PORTS)
    if policy.security or policy.shapingPolicy or policy.nicTeaming:
        spec.policy = policy  # none given at creation: the host's defaults apply
    if sw.mtu is not None:
        spec.mtu = sw.mtu
    if sw.uplinks:
        bridge = vim.host.VirtualSwitch.BondBridge(nicDevice=list(sw.uplinks))
        if sw.policy.teaming.check_beacon:
            bridge.beacon = vim.host.VirtualSwitch.BeaconConfig(interval=1)
        spec.bridge = bridge
    return spec


def _portgroup_spec(pg: StandardPortGroup) -> Any:
    return vim.host.PortGroup.Specification(
        name=pg.name,
        vlanId=pg.vlan_id,
        vswitchName=pg.switch,
        policy=host_network_policy(pg.policy),
    )


def _vnic_spec(vmk: VmkernelAdapter) -> Any:
    spec = vim.host.VirtualNic.Specification()
    if vmk.dhcp:
        spec.ip = vim.host.IpConfig(dhcp=True)
    elif vmk.ip:
        spec.ip = vim.host.IpConfig(dhcp=False, ipAddress=vmk.ip, subnetMask=vmk.netmask)
    if vmk.mtu is not None:
        spec.mtu = vmk.mtu
    return spec


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

    spec = _vswitch_spec(sw)
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
    spec = _vswitch_spec(sw)
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

    spec = _portgroup_spec(pg)
    _ns_write(session, host_moref, "AddPortGroup", f"{pg.host}/{pg.name}", done, portgrp=spec)


def update_port_group(session: Session, host_moref: str, pg: StandardPortGroup) -> None:
    """Reconfigure in place: VLAN and the policy overrides (unset = inherit from the switch)."""
    spec = _portgroup_spec(pg)
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

    spec = _vnic_spec(vmk)
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
    spec = _vnic_spec(vmk)
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


# -- advanced settings ------------------------------------------------------------------------
def update_advanced_options(
    session: Session, host_moref: str, host: str, values: dict[str, int | str]
) -> None:
    """Set host advanced options in one UpdateOptions (all or none, like ESXi). Integers go as
    xsd:long: ESXi types these options long and refuses an xsd:int (pyVmomi's int)."""
    hs = vim.HostSystem(host_moref, session.stub)
    om = session.call(lambda: hs.configManager.advancedOption, op="read advancedOption", obj=host)
    long_t = VmomiSupport.GetVmodlType("long")
    changed = [
        vim.option.OptionValue(key=k, value=long_t(v) if isinstance(v, int) else v)
        for k, v in sorted(values.items())
    ]
    if om is None:
        raise ApiFault("UpdateOptions", host, "NotFound", "the host has no advanced option manager")
    session.call(om.UpdateOptions, op="UpdateOptions", obj=host, changedValue=changed)
