"""One-off property reads: a few paths of one object (or of a handful), in one
`RetrieveContents` call on the session's PropertyCollector.

Every object module reads through here (a switch's config before a reconfigure, a VM's
devices before a NIC edit, a host's managers, a task's outcome after a lost answer), so the
"object is gone" rule is written once: vCenter answers `ManagedObjectNotFound` (or an empty
result for an object that was removed between two calls), and `read` turns both into None.
The bulk inventory read is `collector.py`; this is for the one object an operation acts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyVmomi import vmodl

from vnettool.errors import ApiFault
from vnettool.vsphere.collector import moref_id
from vnettool.vsphere.connection import Session

_PC = vmodl.query.PropertyCollector


def _spec(objs: Sequence[Any], kind: type, paths: list[str]) -> Any:
    return _PC.FilterSpec(
        objectSet=[_PC.ObjectSpec(obj=o) for o in objs],
        propSet=[_PC.PropertySpec(type=kind, pathSet=paths)],
    )


def read_many(
    session: Session,
    objs: Sequence[Any],
    paths: list[str],
    kind: type | None = None,
    what: str = "objects",
    op: str = "RetrieveContents",
) -> dict[str, dict[str, Any]]:
    """moref -> {path: value} for these objects (of one type, `kind` or the first object's),
    in one call; objects that no longer exist are left out. An unset property is absent
    from its dict, as vCenter leaves it out of the answer."""
    if not objs:
        return {}
    pc = session.content.propertyCollector
    spec = _spec(objs, kind or type(objs[0]), paths)
    res = session.call(pc.RetrieveContents, [spec], op=op, obj=what)
    return {moref_id(oc.obj): {p.name: p.val for p in oc.propSet or []} for oc in res or []}


def read(session: Session, obj: Any, paths: list[str]) -> dict[str, Any] | None:
    """These properties of one object; None when it no longer exists."""
    try:
        got = read_many(session, [obj], paths, what=moref_id(obj))
    except ApiFault as exc:
        if exc.fault == "ManagedObjectNotFound":
            return None
        raise
    return next(iter(got.values()), None)


def need(session: Session, obj: Any, paths: list[str]) -> dict[str, Any]:
    """`read` for an object that must exist: its absence is the ApiFault vCenter gives."""
    got = read(session, obj, paths)
    if got is None:
        raise ApiFault(
            "RetrieveContents", moref_id(obj), "ManagedObjectNotFound", "the object is gone"
        )
    return got


def gone(session: Session, obj: Any) -> bool | None:
    """The `done` of a Destroy_Task after a lost answer: True once the object is gone."""
    return True if read(session, obj, ["name"]) is None else None
