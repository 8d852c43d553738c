"""Checks against a saved inventory that each field's own check cannot make.

A target whose cluster and host patterns each match something can still select no host
together (cluster DC0_C0, hosts DC0_C1_*); a configure body names switches the steps before it
do not create and vCenter does not have. Such a playbook would validate, connect, and then do
nothing or fail half-way; `playbook validate --inventory` says so first, at the place to fix.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from vnettool.models.inventory import Host, Inventory
from vnettool.playbook.errors import KeyPath, PlaybookIssue, did_you_mean
from vnettool.playbook.loader import Marks
from vnettool.playbook.steps import Playbook

_FIELDS = ("datacenter", "cluster", "hosts")


def _ok(pattern: str | list[str] | None, value: str | None) -> bool:
    if pattern is None:
        return True
    patterns = [pattern] if isinstance(pattern, str) else pattern
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _selected(inv: Inventory, scope: dict[str, Any]) -> list[Host]:
    return [
        h
        for h in inv.hosts
        if _ok(scope.get("datacenter"), h.datacenter)
        and _ok(scope.get("cluster"), h.cluster)
        and _ok(scope.get("hosts"), h.name)
    ]


def _field_matches(inv: Inventory, key: str, pattern: str | list[str]) -> bool:
    names = {
        "datacenter": [d.name for d in inv.datacenters],
        "cluster": [c.name for c in inv.clusters],
        "hosts": [h.name for h in inv.hosts],
    }[key]
    return any(_ok(pattern, n) for n in names)


def _templated(scope: dict[str, Any]) -> bool:
    return any("${" in str(v) for v in scope.values())


def _scopes(pb: Playbook) -> Iterator[tuple[KeyPath, dict[str, Any], str]]:
    """(path, scope, what) of the target and of every configure body's own target; a step's
    scope and loop are checked against the target by validate's own scope check."""
    target = pb.target.model_dump(exclude_none=True) if pb.target else {}
    yield ("target",), target, "target"
    for i, step in enumerate(pb.steps):
        if step.configure is not None and isinstance(step.configure.get("target"), dict):
            own = {k: v for k, v in step.configure["target"].items() if k in _FIELDS}
            yield ("steps", i, "configure", "target"), own, "configure target"


def empty_scope_issues(pb: Playbook, marks: Marks, inv: Inventory) -> list[PlaybookIssue]:
    """Scopes whose patterns each match something but that select no host together."""
    out: list[PlaybookIssue] = []
    for path, scope, what in _scopes(pb):
        given = {k: v for k, v in scope.items() if k in _FIELDS and v is not None}
        if not given or _templated(given):
            continue
        unmatched = [k for k, v in given.items() if not _field_matches(inv, k, v)]
        if unmatched and what == "configure target":  # the others are checked field by field
            out += [
                PlaybookIssue(
                    marks.at((*path, k)),
                    f"{what} {k} {given[k]!r} matches nothing in the inventory",
                    (*path, k),
                )
                for k in unmatched
            ]
        if unmatched:
            continue
        if _selected(inv, given):
            continue
        shown = ", ".join(f"{k} {v!r}" for k, v in given.items())
        out.append(
            PlaybookIssue(
                marks.at(path),
                f"{what} selects no host in the inventory ({shown} have no host in common)",
                path,
            )
        )
    return out


# (section, reference key, kind of switch it names)
_SWITCH_REFS = (
    ("standard_port_groups", "switch", "standard"),
    ("distributed_port_groups", "switch", "distributed"),
    ("pvlans", "switch", "distributed"),
)


def _configure_bodies(data: dict[str, Any]) -> Iterator[tuple[KeyPath, dict[str, Any]]]:
    """(path, body) of every configure step of a playbook."""
    for i, step in enumerate(data.get("steps", [])):
        body = step.get("configure") if isinstance(step, dict) else None
        if isinstance(body, dict):
            yield ("steps", i, "configure"), body


def _known_switches(
    bodies: list[tuple[KeyPath, dict[str, Any]]], inv: Inventory
) -> dict[str, set[str]]:
    """Switch names by kind: in the inventory or created by any of the bodies."""
    known = {
        "standard": {s.name for s in inv.standard_switches},
        "distributed": {d.name for d in inv.distributed_switches},
    }
    for _, body in bodies:
        for section, kind in (
            ("standard_switches", "standard"),
            ("distributed_switches", "distributed"),
        ):
            for item in body.get(section) or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    known[kind].add(item["name"])
    return known


def _switch_refs(
    bodies: list[tuple[KeyPath, dict[str, Any]]], marks: Marks, inv: Inventory, where: str
) -> list[PlaybookIssue]:
    known = _known_switches(bodies, inv)
    out: list[PlaybookIssue] = []
    for prefix, body in bodies:
        for section, key, kind in _SWITCH_REFS:
            for j, item in enumerate(body.get(section) or []):
                ref = item.get(key) if isinstance(item, dict) else None
                if not isinstance(ref, str) or "${" in ref or ref in known[kind]:
                    continue
                path = (*prefix, section, j, key)
                guess = did_you_mean(ref, known[kind])
                out.append(
                    PlaybookIssue(
                        marks.at(path),
                        f"{kind} switch {ref!r} is neither in the {where} nor in the inventory",
                        path,
                        hint=f"did you mean {guess!r}?"
                        if guess
                        else f"{kind} switches: {', '.join(sorted(known[kind])) or 'none'}",
                    )
                )
    return out


def switch_reference_issues(
    data: dict[str, Any], marks: Marks, inv: Inventory
) -> list[PlaybookIssue]:
    """Switches named in configure bodies that neither vCenter nor the playbook has."""
    return _switch_refs(list(_configure_bodies(data)), marks, inv, "playbook")


def desired_state_issues(data: dict[str, Any], marks: Marks, inv: Inventory) -> list[PlaybookIssue]:
    """What `plan`/`apply` of a desired-state file would otherwise report without a place:
    a target that matches no host ("did you mean 'DC0_C1'"), one whose fields match but
    select no host together, and switches that neither the file nor vCenter has. The same
    checks as `playbook validate --inventory`, at the file's own line and column."""
    out: list[PlaybookIssue] = []
    raw = data.get("target")
    target: dict[str, Any] = raw if isinstance(raw, dict) else {}
    names = {
        "datacenter": sorted({d.name for d in inv.datacenters}),
        "cluster": sorted({c.name for c in inv.clusters}),
        "hosts": sorted({h.name for h in inv.hosts}),
    }
    given = {k: v for k, v in target.items() if k in _FIELDS and v is not None}
    unmatched = False
    for key, pattern in given.items():
        if _templated({key: pattern}) or _field_matches(inv, key, pattern):
            continue
        unmatched = True
        patterns = [pattern] if isinstance(pattern, str) else list(pattern)
        misses = [p for p in patterns if not _field_matches(inv, key, p)]
        guess = did_you_mean(str(misses[0]), names[key]) if misses else None
        out.append(
            PlaybookIssue(
                marks.at(("target", key)),
                f"target {key} {pattern!r} matches no {key.rstrip('s')} in the inventory",
                ("target", key),
                hint=f"did you mean {guess!r}?"
                if guess
                else f"{key}: {', '.join(names[key][:8])}" + (" …" if len(names[key]) > 8 else ""),
            )
        )
    if given and not unmatched and not _selected(inv, given):
        shown = ", ".join(f"{k} {v!r}" for k, v in given.items())
        out.append(
            PlaybookIssue(
                marks.at(("target",)),
                f"target selects no host in the inventory ({shown} have no host in common)",
                ("target",),
            )
        )
    return out + _switch_refs([((), data)], marks, inv, "file")
