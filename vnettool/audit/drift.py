"""Drift between two inventory snapshots: objects added, removed, and changed field by field.

Objects are matched by identity (the diffsync idea in models/base.py), so a renamed VLAN is a
change of one port group, not a removal plus an addition. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from vnettool.models.base import Model
from vnettool.models.events import ChangeEvent
from vnettool.models.inventory import Inventory


class DriftRow(Model):
    collection: str  # e.g. standard_port_groups
    object: str  # identity as a path
    change: Literal["added", "removed", "changed"]
    field: str = ""
    before: str = ""
    after: str = ""
    changed_by: str = ""  # from vCenter's events, when they were read (attribute)
    changed_at: datetime | None = None


# the field that names an element of a nested list (a VM's NICs, a host's pNICs, PVLAN map
# entries, DVS members...), so a change to one element is one row named after it
_ELEMENT_KEYS = ("device", "host", "label", "secondary_id", "name", "protocol", "key")


def _element(item: dict[str, Any], index: int) -> str:
    for k in _ELEMENT_KEYS:
        if item.get(k) not in (None, ""):
            return str(item[k])
    return str(index)


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested attributes as dotted paths, so one changed VLAN is one row, not a whole policy;
    lists of objects are keyed by their element name: `nics[Network adapter 1].network`."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out |= _flat(v, f"{prefix}[{_element(v, i)}]")
        return out
    return {prefix: value}


def _show(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (list, tuple)):
        return ", ".join(_show(x) for x in v)
    return str(v)


def _no_neighbors(attrs: dict[str, Any]) -> dict[str, Any]:
    pnics = attrs.get("pnics")
    if isinstance(pnics, list):
        attrs = attrs | {"pnics": [{k: v for k, v in p.items() if k != "neighbors"} for p in pnics]}
    return attrs


def drift(before: Inventory, after: Inventory) -> list[DriftRow]:
    """What changed from `before` to `after`. CDP/LLDP neighbours are compared only when both
    snapshots were read with them (they are opt-in: one call per host)."""
    rows: list[DriftRow] = []
    with_neighbors = all(
        any(p.neighbors for h in inv.hosts for p in h.pnics) for inv in (before, after)
    )
    old = dict(before.collections())
    for name, objects in after.collections():
        was = {o.identity(): o for o in old.get(name, [])}
        now = {o.identity(): o for o in objects}
        for key in sorted(now.keys() - was.keys(), key=str):
            rows.append(DriftRow(collection=name, object=now[key].ident(), change="added"))
        for key in sorted(was.keys() - now.keys(), key=str):
            rows.append(DriftRow(collection=name, object=was[key].ident(), change="removed"))
        for key in sorted(now.keys() & was.keys(), key=str):
            a_attrs, b_attrs = was[key].attributes(), now[key].attributes()
            if not with_neighbors:
                a_attrs, b_attrs = _no_neighbors(a_attrs), _no_neighbors(b_attrs)
            a, b = _flat(a_attrs), _flat(b_attrs)
            for field in sorted(a.keys() | b.keys()):
                if field in ("moref", "config_version") or a.get(field) == b.get(field):
                    continue
                if name == "standard_port_groups" and field == "network":
                    continue  # the Network object's moref, not configuration
                was_s, now_s = _show(a.get(field)), _show(b.get(field))
                if was_s == now_s:  # e.g. [] -> a list now flattened into elements
                    continue
                rows.append(
                    DriftRow(
                        collection=name,
                        object=now[key].ident(),
                        change="changed",
                        field=field,
                        before=was_s,
                        after=now_s,
                    )
                )
    return rows


def attribute(rows: Sequence[DriftRow], events: Sequence[ChangeEvent]) -> list[DriftRow]:
    """Each row with the user and time of the latest event about its object, so the report
    says who made a difference, not only that there is one.

    An event is about a row when it names one of the row's identity parts (host, switch, port
    group, VM); one naming the row's own object (the last part) wins over one naming only its
    host or switch, then the later one."""
    out: list[DriftRow] = []
    for row in rows:
        parts = row.object.split("/")
        leaf, names = parts[-1], set(parts)
        best: tuple[bool, datetime, int] | None = None
        pick: ChangeEvent | None = None
        for ev in events:
            about = ev.objects()
            if not about & names:
                continue
            rank = (leaf in about, ev.time, ev.key)
            if best is None or rank > best:
                best, pick = rank, ev
        if pick is None:
            out.append(row)
        else:
            out.append(row.model_copy(update={"changed_by": pick.user, "changed_at": pick.time}))
    return out
