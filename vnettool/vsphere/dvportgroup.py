"""The DV port group (DistributedVirtualPortgroup): read one, find one by name, add,
reconfigure (with `configVersion`, as the switch: `tasks.run_versioned`), its traffic
filter, and destroy. The specs are built in `specs/dvportgroup.py` and `specs/dvport.py`.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim, vmodl

from vnettool.errors import ApiFault
from vnettool.models.inventory import DistributedPortGroup, DistributedSwitch
from vnettool.vsphere.collector import RawObject, moref_id
from vnettool.vsphere.connection import Session
from vnettool.vsphere.dvs import find_switch, read_switch, switch_ref
from vnettool.vsphere.props import gone, need
from vnettool.vsphere.reader import dvpg_from_raw
from vnettool.vsphere.specs.dvport import filter_setting
from vnettool.vsphere.specs.dvportgroup import portgroup_spec
from vnettool.vsphere.tasks import Conflict, run_task, run_versioned


def portgroup_ref(session: Session, moref: str) -> Any:
    return vim.dvs.DistributedVirtualPortgroup(moref, session.stub)


def read_portgroup(session: Session, moref: str, switch: DistributedSwitch) -> DistributedPortGroup:
    """The port group as the inventory reader would see it now (one PropertyCollector call)."""
    props = need(session, portgroup_ref(session, moref), ["name", "key", "config"])
    raw = RawObject(type="DistributedVirtualPortgroup", moref=moref, props=props)
    return dvpg_from_raw(raw, {switch.moref: switch}, set())


def _named(session: Session, sw: Any, name: str) -> str | None:
    """The moref of the switch's port group `name`: one PropertyCollector call for all names."""
    pc = session.content.propertyCollector
    traverse = vmodl.query.PropertyCollector.TraversalSpec(
        name="pgs", type=vim.DistributedVirtualSwitch, path="portgroup", skip=False
    )
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[
            vmodl.query.PropertyCollector.ObjectSpec(obj=sw, skip=True, selectSet=[traverse])
        ],
        propSet=[
            vmodl.query.PropertyCollector.PropertySpec(
                type=vim.dvs.DistributedVirtualPortgroup, pathSet=["name", "key"]
            )
        ],
    )
    res = session.call(pc.RetrieveContents, [spec], op="RetrieveContents", obj=moref_id(sw))
    for oc in res or []:
        props = {p.name: p.val for p in oc.propSet or []}
        if props.get("name") == name:
            return moref_id(oc.obj)
    return None


def add_portgroup(
    session: Session,
    dvs_moref: str,
    after: DistributedPortGroup,
    pools: dict[str, str] | None = None,
) -> str:
    """Create a DV port group; returns its moref."""
    spec = portgroup_spec(None, after, pools)
    if spec.type is None:
        spec.type = "earlyBinding"
    sw = switch_ref(session, dvs_moref)
    obj = f"{after.dvs}/{after.name}"
    run_task(
        session,
        sw.AddDVPortgroup_Task,
        [spec],
        op="AddDVPortgroup_Task",
        obj=obj,
        done=lambda: _named(session, sw, after.name),
    )
    return _named(session, sw, after.name) or ""


def _reconfigure(
    session: Session,
    moref: str,
    switch: DistributedSwitch,
    where: str,
    sent: tuple[str | None, Any],
    conflict: Conflict,
    facts: dict[str, Any] | None,
) -> None:
    """ReconfigureDVPortgroup_Task of a partial spec at a version (`sent`), resent with the
    new version on ConcurrentAccess unless `conflict` objects (`tasks.run_versioned`)."""
    pg = portgroup_ref(session, moref)
    version, spec = sent

    def send(v: str | None) -> Any:
        spec.configVersion = v
        return pg.ReconfigureDVPortgroup_Task(spec)

    run_versioned(
        session,
        "ReconfigureDVPortgroup_Task",
        where,
        version,
        send,
        lambda: read_portgroup(session, moref, switch),
        conflict,
        facts,
    )


def reconfigure_portgroup(
    session: Session,
    moref: str,
    switch: DistributedSwitch,
    before: DistributedPortGroup,
    after: DistributedPortGroup,
    conflict: Conflict,
    facts: dict[str, Any] | None = None,
) -> None:
    """ReconfigureDVPortgroup_Task with only what differs between before and after."""
    spec = portgroup_spec(before, after, {p.name: p.key or "" for p in switch.nioc_pools})
    where = f"{after.dvs}/{after.name}"
    _reconfigure(session, moref, switch, where, (before.config_version, spec), conflict, facts)


def set_traffic_filter(
    session: Session,
    moref: str,
    switch: DistributedSwitch,
    current: DistributedPortGroup,
    spec: Any,
    conflict: Conflict,
    facts: dict[str, Any] | None = None,
) -> None:
    """ReconfigureDVPortgroup_Task with only the filter policy, at the read configVersion."""
    where = f"{current.dvs}/{current.name}"
    cfg = filter_setting(spec)
    _reconfigure(session, moref, switch, where, (current.config_version, cfg), conflict, facts)


def portgroup_moref(session: Session, switch_moref: str, name: str) -> str:
    """A DV port group's moref by its switch and name (the uplink port group too)."""
    moref = _named(session, switch_ref(session, switch_moref), name)
    if moref is None:
        raise ApiFault("find", name, "NotFound", f"no DV port group {name}")
    return moref


def find_portgroup(session: Session, switch: str, name: str) -> tuple[str, str]:
    """(switch uuid, port group key) of a DV port group by switch and port group name."""
    sw = read_switch(session, find_switch(session, switch))
    moref = _named(session, switch_ref(session, sw.moref), name)
    if moref is not None:
        key = need(session, portgroup_ref(session, moref), ["key"]).get("key")
        return sw.uuid, str(key or moref)
    raise ApiFault("find", f"{switch}/{name}", "NotFound", f"no DV port group {name} on {switch}")


def destroy(session: Session, moref: str, name: str) -> None:
    """Destroy_Task of the port group."""
    o = portgroup_ref(session, moref)
    run_task(session, o.Destroy_Task, op="Destroy_Task", obj=name, done=lambda: gone(session, o))
