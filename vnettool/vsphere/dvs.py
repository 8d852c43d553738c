"""The distributed switch (VmwareDistributedVirtualSwitch): read one, create, reconfigure,
destroy, and the calls beside ReconfigureDvs_Task (LACP groups, NIOC, network resource
pools, health check, uplink ports). The specs are built in `specs/dvs.py`.

Optimistic concurrency: vCenter answers `ConcurrentAccess` when the `configVersion` sent is no
longer current. `reconfigure_switch` then re-reads the switch, asks the engine's `conflict`
callback whether someone else changed one of *our* fields since the plan (then it stops with
an error rather than overwrite that change blindly), and otherwise resends the same partial
spec with the new version — a bounded number of times (`tasks.run_versioned`).
"""

from __future__ import annotations

import threading
from typing import Any

from pyVmomi import vim

from vnettool.errors import ApiFault
from vnettool.models.inventory import DistributedSwitch, HealthCheckConfig
from vnettool.vsphere.collector import RawObject, moref_id
from vnettool.vsphere.connection import Session
from vnettool.vsphere.props import gone, need
from vnettool.vsphere.reader import Resolver, dvs_from_raw
from vnettool.vsphere.specs.dvs import create_spec, health_check_configs
from vnettool.vsphere.tasks import Conflict, run_task, run_versioned, wait_task

# switch moref -> {version we sent: version our change produced}
_produced: dict[str, dict[str, str]] = {}
_produced_lock = threading.Lock()


def available_versions(session: Session) -> list[str]:
    """Switch versions this vCenter can create (DVSManager.QueryAvailableDvsSpec), so a plan
    can refuse '5.0.0' before anything is applied; [] when the server cannot say (ESXi, a
    vCenter without the manager), which leaves the check to vCenter itself."""
    mgr = session.content.dvSwitchManager
    if mgr is None:
        return []
    try:
        specs = session.call(mgr.QueryAvailableDvsSpec, op="QueryAvailableDvsSpec", obj=None)
    except ApiFault:
        return []
    return sorted({str(p.version) for p in specs or [] if p.version}, key=_version_key)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) if x.isdigit() else -1 for x in v.split("."))


def switch_ref(session: Session, moref: str) -> Any:
    return vim.DistributedVirtualSwitch(moref, session.stub)


def read_switch(session: Session, moref: str) -> DistributedSwitch:
    """The switch as the inventory reader would see it now (one PropertyCollector call)."""
    props = need(session, switch_ref(session, moref), ["name", "uuid", "config"])
    raw = RawObject(type="DistributedVirtualSwitch", moref=moref, props=props)
    return dvs_from_raw(raw, Resolver({}), {}, [])


def find_switch(session: Session, name: str) -> str:
    """The moref of a distributed switch by name (for objects created earlier in a run)."""
    content = session.content
    view = session.call(
        content.viewManager.CreateContainerView,
        content.rootFolder,
        [vim.DistributedVirtualSwitch],
        True,
        op="CreateContainerView",
    )
    try:
        for sw in view.view:
            if sw.name == name:
                return moref_id(sw)
    finally:
        view.DestroyView()
    raise ApiFault("find", name, "NotFound", f"no distributed switch {name}")


def network_folder(session: Session, datacenter: str) -> str:
    """The moref of a datacenter's network folder, by datacenter name."""
    for dc in session.content.rootFolder.childEntity:
        if isinstance(dc, vim.Datacenter) and dc.name == datacenter:
            return moref_id(dc.networkFolder)
    raise ApiFault("CreateDVS_Task", datacenter, "NotFound", f"no datacenter {datacenter}")


def create_switch(
    session: Session,
    folder_moref: str,
    after: DistributedSwitch,
    host_ops: list[tuple[str, str, dict[str, str]]] | None = None,
) -> str:
    """CreateDVS_Task in a datacenter's network folder; returns the new switch's moref."""
    spec = create_spec(after, host_ops)
    folder = vim.Folder(folder_moref, session.stub)

    def created() -> Any | None:
        try:
            return switch_ref(session, find_switch(session, after.name))
        except ApiFault:
            return None

    ref = run_task(
        session, folder.CreateDVS_Task, spec, op="CreateDVS_Task", obj=after.name, done=created
    )
    return moref_id(ref)


def destroy(session: Session, moref: str, name: str) -> None:
    """Destroy_Task of the switch."""
    o = switch_ref(session, moref)
    run_task(session, o.Destroy_Task, op="Destroy_Task", obj=name, done=lambda: gone(session, o))


def _chain(moref: str, sent: str | None, now: str | None) -> None:
    """Record that our change turned version `sent` of the switch into `now`."""
    if sent is not None and now is not None and now != sent:
        with _produced_lock:
            _produced.setdefault(moref, {})[sent] = now


def _start_version(moref: str, version: str | None) -> str | None:
    """The version our own earlier changes of this run made out of `version`."""
    with _produced_lock:
        chain = _produced.setdefault(moref, {})
        seen: set[str] = set()
        while version in chain and version not in seen:
            seen.add(version)
            version = chain[version]
    return version


def reconfigure_switch(
    session: Session,
    before: DistributedSwitch,
    spec: Any,
    conflict: Conflict,
    facts: dict[str, Any] | None = None,
    version: str | None = None,
) -> None:
    """ReconfigureDvs_Task with `configVersion`; ConcurrentAccess -> re-read, check, resend.

    Several changes of one run on the same switch all planned against one version: each
    starts from the version the previous one of *this process* produced (`_produced`), so
    only a foreign change makes vCenter answer ConcurrentAccess.
    """
    sw = switch_ref(session, before.moref)
    start = _start_version(before.moref, version if version is not None else before.config_version)
    sent: list[str | None] = []

    def send(v: str | None) -> Any:
        spec.configVersion = v
        sent.append(v)
        return sw.ReconfigureDvs_Task(spec)

    run_versioned(
        session,
        "ReconfigureDvs_Task",
        before.name,
        start,
        send,
        lambda: read_switch(session, before.moref),
        conflict,
        facts,
    )
    now = read_switch(session, before.moref).config_version
    if facts is not None:
        facts["config_version"] = now
    if sent:
        _chain(before.moref, sent[-1], now)


def _versioned_call(session: Session, sw: DistributedSwitch, op: str, *args: Any) -> None:
    """A switch call that takes no configVersion but changes the switch's: the version it
    produces is chained like a reconfigure's, so the next ReconfigureDvs_Task of this run on
    the switch starts from it instead of meeting ConcurrentAccess."""
    obj = switch_ref(session, sw.moref)
    before = read_switch(session, sw.moref).config_version
    task = session.call(getattr(obj, op), *args, op=op, obj=sw.name)
    wait_task(session, task, op, sw.name)
    _chain(sw.moref, before, read_switch(session, sw.moref).config_version)


def update_health_check(session: Session, sw: DistributedSwitch, hc: HealthCheckConfig) -> None:
    """UpdateDVSHealthCheckConfig_Task with both checks (each replaces its class's config)."""
    _versioned_call(session, sw, "UpdateDVSHealthCheckConfig_Task", health_check_configs(hc))


def reconfigure_pools(session: Session, sw: DistributedSwitch, specs: list[Any]) -> None:
    """DvsReconfigureVmVnicNetworkResourcePool_Task (network resource pools)."""
    _versioned_call(session, sw, "DvsReconfigureVmVnicNetworkResourcePool_Task", specs)


def set_nioc(session: Session, moref: str, name: str, enabled: bool) -> None:
    sw = switch_ref(session, moref)
    session.call(
        sw.EnableNetworkResourceManagement,
        enable=enabled,
        op="EnableNetworkResourceManagement",
        obj=name,
    )


def update_lags(session: Session, sw: DistributedSwitch, specs: list[Any]) -> None:
    """UpdateDVSLacpGroupConfig_Task (defined on VmwareDistributedVirtualSwitch only)."""
    o = vim.dvs.VmwareDistributedVirtualSwitch(sw.moref, session.stub)

    def in_place() -> bool | None:
        lags = {g.name: g for g in read_switch(session, sw.moref).lags}
        for s in specs:
            want, have = s.lacpGroupConfig, lags.get(s.lacpGroupConfig.name)
            if s.operation == "remove":
                if any(g.key == want.key for g in lags.values()):
                    return None
            elif have is None or (have.mode, have.uplink_count) != (want.mode, want.uplinkNum):
                return None
        return True

    run_task(
        session,
        o.UpdateDVSLacpGroupConfig_Task,
        specs,
        op="UpdateDVSLacpGroupConfig_Task",
        obj=sw.name,
        done=in_place,
    )


def uplink_port_keys(session: Session, dvs_moref: str, host_moref: str) -> dict[str, str]:
    """A member host's uplink ports on a switch, name -> key (`uplink1`, `lag1-0`, ...).

    FetchDVPorts with the host and `uplinkPort` (what the vSphere Client's "Assign uplink"
    lists): LAG ports exist per host, so their keys are only known once the host is a
    member and the LAG exists."""
    crit = vim.dvs.PortCriteria(uplinkPort=True, host=[vim.HostSystem(host_moref, None)])
    sw = switch_ref(session, dvs_moref)
    ports = session.call(sw.FetchDVPorts, crit, op="FetchDVPorts", obj=dvs_moref) or []
    return {p.config.name: p.key for p in ports if p.config is not None and p.config.name}
