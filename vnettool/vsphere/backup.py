"""vCenter's own backup of a distributed switch: DVSManagerExportEntity_Task and
DVSManagerImportEntity_Task (the vSphere Client's "Export / Import / Restore configuration").

The configuration blobs are vCenter's (opaque; base64 here so they fit a YAML file) and go back
to the same API unchanged. What a restore means is the import type: `applyToEntitySpecified`
(the switch with the backup's uuid gets its settings and port groups back),
`createEntityWithOriginalIdentifier` (re-create a deleted switch with its uuid),
`createEntityWithNewIdentifier` (a new switch from the backup; its name and its port groups'
names are the entries' names, which the caller may change).
"""

from __future__ import annotations

import base64
from typing import Any

from vnettool.errors import VnetError
from vnettool.models.desired import BackupEntity
from vnettool.models.inventory import DistributedPortGroup, DistributedSwitch
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs.dvs import backup_configs, export_selection
from vnettool.vsphere.tasks import wait_task

IMPORT_TYPES = (
    "applyToEntitySpecified",
    "createEntityWithOriginalIdentifier",
    "createEntityWithNewIdentifier",
)


def _manager(session: Session) -> Any:
    mgr = session.content.dvSwitchManager
    if mgr is None:
        raise VnetError("this vCenter has no distributed switch manager (DVSManager)")
    return mgr


def export_switch(
    session: Session, sw: DistributedSwitch, portgroups: list[DistributedPortGroup]
) -> list[BackupEntity]:
    """The switch's and its (non-uplink) port groups' EntityBackupConfig, as vCenter makes
    them, in one DVSManagerExportEntity_Task."""
    sel = export_selection(sw, portgroups)
    mgr = _manager(session)
    task = session.call(
        mgr.DVSManagerExportEntity_Task, sel, op="DVSManagerExportEntity_Task", obj=sw.name
    )
    out = wait_task(session, task, "DVSManagerExportEntity_Task", sw.name)
    return [
        BackupEntity(
            entity_type=e.entityType,
            key=e.key,
            name=e.name,
            container=e.container._moId if e.container is not None else None,
            config_version=e.configVersion,
            blob=base64.b64encode(bytes(e.configBlob)).decode(),
        )
        for e in out or []
    ]


def import_entities(
    session: Session, entities: list[BackupEntity], import_type: str, where: str
) -> tuple[list[str], list[str]]:
    """DVSManagerImportEntity_Task; returns the morefs of the switch and the port groups."""
    if import_type not in IMPORT_TYPES:
        raise VnetError(f"unknown import type {import_type!r}")
    backup = backup_configs(entities)
    mgr = _manager(session)
    task = session.call(
        mgr.DVSManagerImportEntity_Task,
        backup,
        import_type,
        op="DVSManagerImportEntity_Task",
        obj=where,
    )
    res = wait_task(session, task, "DVSManagerImportEntity_Task", where)
    faults = list(getattr(res, "importFault", None) or [])
    if faults:
        raise VnetError(
            f"DVSManagerImportEntity_Task on {where}: "
            + "; ".join(str(getattr(f, "fault", f)) for f in faults)
        )
    switches = [m._moId for m in getattr(res, "distributedVirtualSwitch", None) or []]
    pgs = [m._moId for m in getattr(res, "distributedVirtualPortgroup", None) or []]
    return switches, pgs
