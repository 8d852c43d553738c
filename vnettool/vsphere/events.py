"""Recent configuration changes from vCenter's EventManager.

vCenter keeps an event for each change (a TaskEvent per task, plus typed events such as
DvsReconfiguredEvent or VmMigratedEvent) with the user and the time. Reading them lets drift
and the live watch answer "who changed this, and when" — the question an admin asks first.
Logins, logouts and alarms are left out: they are not changes to the network.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyVmomi import vim

from vnettool.models.events import ChangeEvent
from vnettool.vsphere.connection import Session

# typed events that describe a network or placement change; TaskEvents cover the rest
CHANGE_EVENTS = (
    "TaskEvent",
    "DvsCreatedEvent",
    "DvsReconfiguredEvent",
    "DvsRenamedEvent",
    "DvsDestroyedEvent",
    "DvsHostJoinedEvent",
    "DvsHostLeftEvent",
    "DVPortgroupCreatedEvent",
    "DVPortgroupReconfiguredEvent",
    "DVPortgroupRenamedEvent",
    "DVPortgroupDestroyedEvent",
    "VmMigratedEvent",
    "DrsVmMigratedEvent",
    "VmReconfiguredEvent",
    "EnteredMaintenanceModeEvent",
    "ExitMaintenanceModeEvent",
)

# a TaskEvent whose change already has a typed event of its own is left out (one line each)
_TYPED_TASKS = (
    "Folder.createDVS",
    "DistributedVirtualSwitch.",
    "VmwareDistributedVirtualSwitch.",
    "DistributedVirtualPortgroup.",
    "VirtualMachine.relocate",
    "VirtualMachine.reconfigure",
)


def _name(arg: Any) -> str:
    return str(getattr(arg, "name", "") or "") if arg is not None else ""


def to_change(ev: Any) -> ChangeEvent | None:
    """One vim event as a ChangeEvent; None for a TaskEvent that a typed event repeats."""
    kind = type(ev).__name__.rsplit(".", 1)[-1]
    message = str(getattr(ev, "fullFormattedMessage", "") or "")
    if isinstance(ev, vim.event.TaskEvent):
        desc = str(getattr(ev.info, "descriptionId", "") or "")
        if desc.startswith(_TYPED_TASKS):
            return None
        kind = desc or kind
        message = message or f"{ev.info.name} on {ev.info.entityName}"
    return ChangeEvent(
        key=int(ev.key),
        time=ev.createdTime,
        user=str(ev.userName or ""),
        kind=kind,
        message=message,
        datacenter=_name(ev.datacenter),
        host=_name(ev.host),
        vm=_name(ev.vm),
        dvs=_name(ev.dvs),
        network=_name(ev.net),
    )


def recent_changes(
    session: Session, since: datetime | None = None, limit: int = 1000
) -> list[ChangeEvent]:
    """The change events since `since` (all kept ones when None), oldest first.

    The time filter is sent to vCenter and applied again here: a server that ignores it must
    not make an old change look recent."""
    spec = vim.event.EventFilterSpec(eventTypeId=list(CHANGE_EVENTS), maxCount=limit)
    if since is not None:
        spec.time = vim.event.EventFilterSpec.ByTime(beginTime=since)
    em = session.content.eventManager
    raw = session.call(em.QueryEvents, spec, op="QueryEvents", obj="EventManager") or []
    out = [c for c in (to_change(e) for e in raw) if c is not None]
    if since is not None:
        out = [c for c in out if c.time >= since]
    return sorted(out, key=lambda c: (c.time, c.key))


# what an appliance watch reacts to at once: vCenter posts "entering" when the task starts,
# while the host's inMaintenanceMode turns true only once every VM has left it — and a VM
# pinned by a must-run rule (an appliance) never leaves by itself
HOST_EVENTS = (
    "EnteringMaintenanceModeEvent",
    "EnteredMaintenanceModeEvent",
    "ExitMaintenanceModeEvent",
    "HostAddedEvent",
    "HostRemovedEvent",
)


def host_events(
    session: Session, after_key: int, since: datetime | None = None, limit: int = 1000
) -> list[ChangeEvent]:
    """Host maintenance / add / remove events with a key above `after_key`, oldest first."""
    spec = vim.event.EventFilterSpec(eventTypeId=list(HOST_EVENTS), maxCount=limit)
    if since is not None:
        spec.time = vim.event.EventFilterSpec.ByTime(beginTime=since)
    em = session.content.eventManager
    raw = session.call(em.QueryEvents, spec, op="QueryEvents", obj="EventManager") or []
    out = [c for c in (to_change(e) for e in raw) if c is not None and c.key > after_key]
    return sorted(out, key=lambda c: c.key)
