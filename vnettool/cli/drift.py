"""Drift as people read a plan: `vnettool drift SNAP.json` and the lines of `inventory --watch`.

The audit's `drift()` finds what changed between two snapshots field by field; here each
difference is said with names and values ("DC0_C1_H0 pg-db VLAN 121 → 122"), and the same
difference on many hosts is one line with the host range, like a grouped plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    console,
    handle_errors,
    session_for,
)

NOUN = {
    "datacenters": "datacenter",
    "clusters": "cluster",
    "hosts": "host",
    "standard_switches": "standard switch",
    "standard_port_groups": "port group",
    "distributed_switches": "distributed switch",
    "distributed_port_groups": "DV port group",
    "vmkernel_adapters": "vmknic",
    "vms": "VM",
}
# collections whose objects live on one host: identity (host, name)
HOST_SCOPED = {"standard_switches", "standard_port_groups", "vmkernel_adapters"}
FIELD_WORDS = {"vlan": "VLAN", "vlan_id": "VLAN", "mtu": "MTU", "ip": "IP", "mac": "MAC"}
MARK = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow")}


def names_by_moref(inv: Any) -> dict[str, str]:
    """moref → a name a person knows, for updates that changed nothing drift compares."""
    out: dict[str, str] = {}
    for kind, objects in inv.collections():
        for o in objects:
            moref = getattr(o, "moref", None)
            if moref and not o.ident().count("/") > 1:
                out.setdefault(moref, f"{NOUN.get(kind, kind)} {o.ident()}")
    return out


def field_words(field: str) -> str:
    """`vlan` → `VLAN`, `security.promiscuous` as it is: the API's names, the acronyms cased."""
    return FIELD_WORDS.get(field, field)


def _split(row: Any) -> tuple[str | None, str]:
    """(host, object name) of a host-scoped row; (None, identity) otherwise."""
    if row.collection in HOST_SCOPED and "/" in row.object:
        host, name = row.object.split("/", 1)
        return host, name
    return None, row.object


def _value(v: str) -> str:
    return v if v != "" else "(unset)"


def line(row: Any) -> str:
    """One difference with names: `~ DC0_C1_H0 port group pg-db VLAN 121 → 122`."""
    mark = MARK[row.change][0]
    host, name = _split(row)
    who = (
        f"{host} {NOUN.get(row.collection, row.collection)} {name}"
        if host
        else (f"{NOUN.get(row.collection, row.collection)} {name}")
    )
    if row.change != "changed":
        return f"{mark} {who}"
    return f"{mark} {who} {field_words(row.field)} {_value(row.before)} → {_value(row.after)}"


def grouped(rows: Sequence[Any]) -> list[tuple[Any, list[str]]]:
    """Rows that are the same difference on different hosts (same collection, object name,
    field and values), with the hosts; in first-seen order."""
    groups: dict[tuple[Any, ...], tuple[Any, list[str]]] = {}
    for r in rows:
        host, name = _split(r)
        key = (r.collection, name, r.change, r.field, r.before, r.after)
        if key not in groups:
            groups[key] = (r, [])
        if host:
            groups[key][1].append(host)
    return list(groups.values())


def render(rows: Sequence[Any], per_host: bool = False) -> Text:
    """The drift as a plan is printed: one entry per difference, the same one on many hosts
    grouped (`on 16 hosts DC0_C1_H[0-15]`), `field: before → after` under it."""
    from vnettool.engine.render import where

    out = Text()
    entries: Iterable[tuple[Any, list[str]]] = (
        [(r, [h] if (h := _split(r)[0]) else []) for r in rows] if per_host else grouped(rows)
    )
    by_object: dict[tuple[Any, ...], list[tuple[Any, list[str]]]] = {}
    for r, hosts in entries:
        by_object.setdefault((r.collection, _split(r)[1], r.change, tuple(hosts)), []).append(
            (r, hosts)
        )
    for (collection, name, change, hosts), members in by_object.items():
        mark, colour = MARK[change]
        noun = NOUN.get(collection, collection)
        place = f" {where(hosts)}" if hosts else ""
        out.append(f"{mark} {noun} {name}{place}\n", style=colour)
        for r, _ in members:
            if r.change == "changed":
                out.append(f"    {field_words(r.field)}: {_value(r.before)} → {_value(r.after)}")
                if r.changed_by:
                    out.append(f"  (by {r.changed_by})", style="dim")
                out.append("\n")
    counts = {k: sum(1 for r in rows if r.change == k) for k in MARK}
    out.append(
        f"Drift: {counts['added']} added, {counts['changed']} changed, {counts['removed']} removed",
        style="bold",
    )
    return out


@handle_errors
def drift(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot from `inventory --save`")],
    per_host: Annotated[
        bool, typer.Option("--per-host", help="One entry per host (default: grouped)")
    ] = False,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
) -> None:
    """What changed since a snapshot, printed like a plan: added (+), changed (~) with
    `field: before → after` and who changed it (vCenter's events), removed (-). Exit 0 no
    drift, 2 drift, 1 error."""
    import json

    from vnettool.audit.drift import attribute
    from vnettool.audit.drift import drift as diff
    from vnettool.audit.run import load_baseline
    from vnettool.inventory import collect, recent_changes

    before = load_baseline(snapshot)
    with session_for(server, insecure, thumbprint) as session:
        now = collect(session)
        rows = diff(before, now)
        if rows:  # who made each difference, from vCenter's events since the snapshot
            rows = attribute(rows, recent_changes(session, since=before.collected_at))
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=1))
    elif not rows:
        console.print(f"no drift since {escape(str(snapshot))}", highlight=False)
    else:
        console.print(render(rows, per_host), soft_wrap=True, highlight=False)
    raise typer.Exit(2 if rows else 0)
