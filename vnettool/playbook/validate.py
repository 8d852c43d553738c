"""Validation: pydantic errors mapped back into the file, plus checks of meaning.

pydantic reports *where* in the data a problem is (its ``loc`` path); the loader's mark table
turns that into file:line:col. Unknown keys get a "did you mean" drawn from the keys the model
at that place accepts. After the structure is valid, values are checked for meaning (VLAN and
MTU ranges, PVLAN ids in a map, port group references) — against the playbook itself and,
when one is given, against the inventory.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from vnettool.models.desired import DesiredState
from vnettool.models.inventory import Inventory
from vnettool.playbook.errors import KeyPath, PlaybookError, PlaybookIssue, did_you_mean
from vnettool.playbook.kinds import unavailable_reason
from vnettool.playbook.loader import Loaded, Marks, load_data
from vnettool.playbook.scope import hosts_in_scope, step_hosts
from vnettool.playbook.steps import MTU_MAX, MTU_MIN, STEP_KINDS, VLAN_MAX, Playbook, Scope

EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


@dataclass
class ValidPlaybook:
    """A playbook that passed every check: the model, its marks and resolved variables."""

    playbook: Playbook
    marks: Marks
    data: dict[str, Any]
    variables: dict[str, Any] = field(default_factory=dict)

    def step_location(self, index: int) -> str:
        return str(self.marks.at(("steps", index)))


# -- pydantic loc → file position ---------------------------------------------------------------


def data_path(data: Any, loc: Sequence[str | int]) -> KeyPath:
    """The part of pydantic's loc that exists in the data (drops union member tags)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        in_map = isinstance(cur, dict) and isinstance(part, str) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if in_map or in_list:
            cur = cur[part]
            out.append(part)
    return tuple(out)


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types an annotation may hold (Annotated, Optional, unions unwrapped)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def model_at(root: type[BaseModel], path: KeyPath) -> type[BaseModel] | None:
    """The model class that describes the mapping at `path` (to list the keys it accepts)."""
    current: list[Any] = [root]
    for part in path:
        nxt: list[Any] = []
        for tp in current:
            for t in _unwrap(tp):
                origin = typing.get_origin(t)
                if isinstance(t, type) and issubclass(t, BaseModel) and isinstance(part, str):
                    for fname, f in t.model_fields.items():
                        if part in (fname, f.alias):
                            nxt.append(f.annotation)
                elif origin is list and isinstance(part, int):
                    nxt.append(typing.get_args(t)[0])
                elif origin is dict and isinstance(part, str):
                    nxt.append(typing.get_args(t)[1])
        current = nxt
    for tp in current:
        for t in _unwrap(tp):
            if isinstance(t, type) and issubclass(t, BaseModel):
                return t
    return None


def accepted_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def issue_from_error(
    err: ErrorDetails, data: Any, marks: Marks, root: type[BaseModel], prefix: KeyPath = ()
) -> PlaybookIssue:
    loc = (*prefix, *err["loc"])
    path = data_path(data, loc)
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        path = (*path, key) if path[-1:] != (key,) else path
        parent = model_at(root, path[len(prefix) : -1])
        allowed = accepted_keys(parent) if parent else []
        guess = did_you_mean(key, allowed)
        return PlaybookIssue(
            marks.at(path, key=True),
            f"unknown key {key!r}",
            path,
            expected=", ".join(allowed) if allowed and not guess else None,
            hint=f"did you mean {guess!r}?" if guess else None,
        )
    if kind == "missing":
        missing = str(err["loc"][-1])
        return PlaybookIssue(
            marks.at(path, key=True), f"missing required key {missing!r}", (*path, missing)
        )
    expected = EXPECTED.get(kind)
    hint = None
    if kind == "literal_error":
        expected = f"one of {ctx.get('expected')}"
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        guess = did_you_mean(str(err.get("input")), options)
        hint = f"did you mean {guess!r}?" if guess else None
    msg = err["msg"]
    if kind.endswith(("_type", "_parsing")) or kind == "literal_error":
        msg = f"wrong value {_short(err.get('input'))}"
    elif kind in ("too_short", "too_long"):
        msg = f"{msg} (got {len(err.get('input') or [])})" if "items" in msg else msg
    return PlaybookIssue(marks.at(path), msg, path, expected=expected, hint=hint)


def _structure(loaded: Loaded) -> tuple[Playbook | None, list[PlaybookIssue]]:
    try:
        return Playbook.model_validate(loaded.data), []
    except ValidationError as exc:
        issues = [issue_from_error(e, loaded.data, loaded.marks, Playbook) for e in exc.errors()]
        return None, _dedupe(issues)


def _dedupe(issues: list[PlaybookIssue]) -> list[PlaybookIssue]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for i in issues:
        key = (i.location, i.message)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


# -- checks of meaning --------------------------------------------------------------------------

VLAN_KEYS = frozenset({"vlan", "vlan_id", "native_vlan"})
MTU_KEYS = frozenset({"mtu", "max_mtu"})
PVLAN_REF_KEYS = frozenset({"pvlan", "pvlan_id"})
PG_REF_KEYS = frozenset(
    {
        "portgroup",
        "port_group",
        "protected_portgroup",
        "unprotected_portgroup",
        "network",
        "to_portgroup",  # not from_portgroup: after a migration it may rightly be gone
    }
)
PG_DEF_LISTS = frozenset(
    {
        "portgroups",
        "port_groups",
        "dv_portgroups",
        "standard_port_groups",
        "distributed_port_groups",
    }
)
PVLAN_DEF_LISTS = frozenset({"pvlans", "pvlan_map", "pvlan"})


def walk(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, (*path, i))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass
class _Defs:
    portgroups: set[str] = field(default_factory=set)
    pvlan_ids: set[int] = field(default_factory=set)


def _playbook_defs(data: dict[str, Any]) -> _Defs:
    """Port groups and PVLAN ids the playbook itself creates (in configure steps)."""
    defs = _Defs()
    for path, value in walk(data.get("steps", []), ("steps",)):
        last = path[-2] if len(path) >= 2 and isinstance(path[-1], int) else None
        if not isinstance(value, dict) or last is None:
            continue
        if last in PG_DEF_LISTS and isinstance(value.get("name"), str):
            defs.portgroups.add(value["name"])
        if last in PVLAN_DEF_LISTS:
            # the engine's map entry: primary + isolated + community (an id or a list of ids)
            for k in (
                "primary",
                "primary_id",
                "secondary",
                "secondary_id",
                "isolated",
                "community",
            ):
                v: Any = value.get(k)
                for one in v if isinstance(v, list) else [v]:
                    if isinstance(one, int) and not isinstance(one, bool):
                        defs.pvlan_ids.add(one)
    return defs


def semantic_issues(
    pb: Playbook, data: dict[str, Any], marks: Marks, inventory: Inventory | None
) -> list[PlaybookIssue]:
    """Ranges and references in the free-form parts (configure bodies) and, with an
    inventory, every reference and scope pattern against what exists."""
    issues: list[PlaybookIssue] = []
    defs = _playbook_defs(data)
    inv_pgs: set[str] = set()
    inv_pvlans: set[int] = set()
    if inventory is not None:
        inv_pgs = {p.name for p in inventory.standard_port_groups} | {
            p.name for p in inventory.distributed_port_groups
        }
        inv_pvlans = {
            i
            for d in inventory.distributed_switches
            for e in d.pvlans
            for i in (e.primary_id, e.secondary_id)
        }
    for i, step in enumerate(pb.steps):
        raw = data["steps"][i]
        if step.configure is not None:
            for path, value in walk(raw.get("configure"), ("steps", i, "configure")):
                key = path[-1] if path else None
                if key in VLAN_KEYS and _is_int(value) and not 0 <= value <= VLAN_MAX:
                    issues.append(
                        PlaybookIssue(
                            marks.at(path), f"VLAN id {value} is out of range 0-4095", path
                        )
                    )
                if key in MTU_KEYS and _is_int(value) and not MTU_MIN <= value <= MTU_MAX:
                    issues.append(
                        PlaybookIssue(
                            marks.at(path), f"MTU {value} is out of range 1280-9000", path
                        )
                    )
                if key in PVLAN_REF_KEYS and _is_int(value):
                    known = defs.pvlan_ids | inv_pvlans
                    if (defs.pvlan_ids or inventory is not None) and value not in known:
                        issues.append(
                            PlaybookIssue(
                                marks.at(path),
                                f"PVLAN id {value} is not in any PVLAN map",
                                path,
                                hint=f"known ids: {', '.join(map(str, sorted(known))) or 'none'}",
                            )
                        )
        for path, value in walk(raw, ("steps", i)):
            key = path[-1] if path else None
            if key in PG_REF_KEYS and isinstance(value, str) and "${" not in value:
                if inventory is None or value in defs.portgroups or value in inv_pgs:
                    continue
                if "absent" in path:  # already gone is the desired state: a rerun is a no-op
                    continue
                guess = did_you_mean(value, defs.portgroups | inv_pgs)
                issues.append(
                    PlaybookIssue(
                        marks.at(path),
                        f"port group {value!r} is neither in the playbook nor in the inventory",
                        path,
                        hint=f"did you mean {guess!r}?" if guess else None,
                    )
                )
    if inventory is not None:
        from vnettool.playbook.references import empty_scope_issues, switch_reference_issues

        issues.extend(_scope_issues(pb, data, marks, inventory))
        issues.extend(empty_scope_issues(pb, marks, inventory))
        issues.extend(switch_reference_issues(data, marks, inventory))
    return issues


def _outside_target(
    target: Scope | None, scope: Scope, path: KeyPath, marks: Marks, inventory: Inventory
) -> list[PlaybookIssue]:
    """A step scope that shares no host with the target would do nothing (a step never leaves
    the target): almost always a scope written for another target, so say it before running."""
    if target is None or "${" in scope.model_dump_json():
        return []
    if not hosts_in_scope(inventory, scope) or step_hosts(inventory, target, scope):
        return []  # no match at all is reported as such; an overlap is fine
    return [
        PlaybookIssue(
            marks.at(path),
            "this scope matches no host within the playbook's target "
            "(a step's scope narrows the target, it never leaves it)",
            path,
        )
    ]


def _scope_issues(
    pb: Playbook, data: dict[str, Any], marks: Marks, inventory: Inventory
) -> list[PlaybookIssue]:
    """Scope patterns that match nothing are almost always typos."""
    names = {
        "datacenter": sorted({d.name for d in inventory.datacenters}),
        "cluster": sorted({c.name for c in inventory.clusters}),
        "hosts": sorted({h.name for h in inventory.hosts}),
    }
    out: list[PlaybookIssue] = []

    def check(scope: Scope | None, path: KeyPath) -> None:
        if scope is None:
            return
        for key, known in names.items():
            pattern = getattr(scope, key)
            if pattern is None or "${" in pattern:
                continue
            if not any(fnmatch.fnmatchcase(n, pattern) for n in known):
                guess = did_you_mean(pattern, known)
                out.append(
                    PlaybookIssue(
                        marks.at((*path, key)),
                        f"{key} {pattern!r} matches nothing in the inventory",
                        (*path, key),
                        hint=f"did you mean {guess!r}?" if guess else None,
                    )
                )

    check(pb.target, ("target",))
    for i, step in enumerate(pb.steps):
        check(step.loop, ("steps", i, "loop"))
        body = step.body
        scope = getattr(body, "scope", None)
        if isinstance(scope, Scope):
            path = ("steps", i, step.kind, "scope")
            check(scope, path)
            out.extend(_outside_target(pb.target, scope, path, marks, inventory))
        if step.loop is not None:
            out.extend(
                _outside_target(pb.target, step.loop, ("steps", i, "loop"), marks, inventory)
            )
        if step.kind == "assert":
            dvs_names = sorted(d.name for d in inventory.distributed_switches)
            for j, cond in enumerate(step.assert_.that if step.assert_ else []):
                ref = (
                    cond.pvlan.dvs
                    if cond.pvlan
                    else cond.dv_portgroup.dvs
                    if cond.dv_portgroup
                    else None
                )
                if ref and "${" not in ref and ref not in dvs_names:
                    p = ("steps", i, "assert", "that", j, cond.kind, "dvs")
                    guess = did_you_mean(ref, dvs_names)
                    out.append(
                        PlaybookIssue(
                            marks.at(p),
                            f"distributed switch {ref!r} is not in the inventory",
                            p,
                            hint=f"did you mean {guess!r}?" if guess else None,
                        )
                    )
    return out


# -- availability ---------------------------------------------------------------------------------

Availability = Callable[[str], str | None]


def availability_issues(
    data: dict[str, Any], marks: Marks, available: Availability
) -> list[PlaybookIssue]:
    """Step kinds this build cannot run, read from the raw data so they are reported
    together with structural errors."""
    out = []
    steps = data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        for kind in STEP_KINDS:
            reason = available(kind) if kind in step else None
            if reason:
                path = ("steps", i, kind)
                out.append(
                    PlaybookIssue(
                        marks.at(path, key=True),
                        f"step kind {kind!r} is not available yet",
                        path,
                        hint=reason,
                    )
                )
    return out


def _unwrap_path(issue: PlaybookIssue) -> PlaybookIssue:
    """In a desired-state document, show paths as the user wrote them (no steps[0].configure)."""
    prefix = ("steps", 0, "configure")
    if issue.path[:3] == prefix:
        return dataclasses.replace(issue, path=issue.path[3:])
    return issue


def _configure_issues(loaded: Loaded, desired: type[BaseModel]) -> list[PlaybookIssue]:
    """Configure bodies checked against the engine's desired-state model, located."""
    out: list[PlaybookIssue] = []
    steps = loaded.data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        body = step.get("configure") if isinstance(step, dict) else None
        if not isinstance(body, dict):
            continue
        try:
            desired.model_validate(body)
        except ValidationError as exc:
            prefix = ("steps", i, "configure")
            out += [
                issue_from_error(e, loaded.data, loaded.marks, desired, prefix)
                for e in exc.errors()
            ]
    return out


_NO_MODEL: Any = object()


def _resolve_ovf_paths(loaded: Loaded, source: Path | str | bytes) -> list[PlaybookIssue]:
    """An appliance step's `source.ovf` path is relative to the playbook's directory (the
    top playbook's for included steps; the current directory for a playbook given as text):
    made absolute here, so the step finds the package wherever vnettool runs. A local package
    that is not there is an error at the key; URLs are checked when planned."""
    data = loaded.data
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return []
    base = source.parent if isinstance(source, Path) else Path.cwd()
    issues = []
    for i, step in enumerate(steps):
        body = step.get("appliance") if isinstance(step, dict) else None
        src = body.get("source") if isinstance(body, dict) else None
        ovf = src.get("ovf") if isinstance(src, dict) else None
        if not isinstance(src, dict) or not isinstance(ovf, str) or not ovf or "://" in ovf:
            continue
        full = (base / ovf).resolve()
        src["ovf"] = str(full)
        if not full.is_file():
            path = ("steps", i, "appliance", "source", "ovf")
            issues.append(
                PlaybookIssue(
                    loaded.marks.at(path),
                    f"OVF/OVA package {ovf!r} not found (looked for {full})",
                    path,
                )
            )
    return issues


def validate(
    source: Path | str | bytes,
    variables: Mapping[str, Any] | None = None,
    *,
    inventory: Inventory | None = None,
    available: Availability | None = None,
    desired: type[BaseModel] | None = _NO_MODEL,
    name: str | None = None,
    environ: Mapping[str, str] | None = None,
    includes_anywhere: bool = False,
) -> ValidPlaybook:
    """Load and check a playbook completely; raise PlaybookError listing every issue.

    `desired` is the model configure bodies must satisfy (default: the engine's
    `DesiredState`); `available` says which step kinds can run (default: the registered ones;
    tests narrow it).
    """
    if available is None:
        available = unavailable_reason
    if desired is _NO_MODEL:
        desired = DesiredState
    loaded = load_data(
        source, variables, name=name, environ=environ, includes_anywhere=includes_anywhere
    )
    ovf_issues = _resolve_ovf_paths(loaded, source)
    pb, issues = _structure(loaded)
    issues += ovf_issues
    if desired is not None:
        issues += _configure_issues(loaded, desired)
    # A value that still holds an unresolved ${...} or lost its includes fails validation only
    # as a consequence; report the cause, not the echo.
    causes = {i.path for i in loaded.issues}
    issues = [
        i for i in issues if i.path not in causes and not (loaded.issues and i.path == ("steps",))
    ]
    issues = loaded.issues + issues + availability_issues(loaded.data, loaded.marks, available)
    if pb is not None:
        issues += semantic_issues(pb, loaded.data, loaded.marks, inventory)
    if issues:
        if loaded.wrapped:
            issues = [_unwrap_path(i) for i in issues]
        raise PlaybookError(_dedupe(loaded.reached.located(issues)))
    assert pb is not None
    return ValidPlaybook(pb, loaded.marks, loaded.data, loaded.variables)


__all__ = ["STEP_KINDS", "ValidPlaybook", "validate"]
