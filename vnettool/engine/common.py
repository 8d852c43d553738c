"""What every resource shares: target hosts, the plan context, field diffs.

A resource compares a *before* object (from the inventory, or None) with an *after* object
(the before with the desired fields laid over it, or None for a delete). Both are inventory
models in API units, carried on the Change so that apply sends exactly the planned state and
rollback can send the before state back — the diffsync idea of diffing two trees.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vnettool.errors import ConfigError, VnetError
from vnettool.models.base import Model
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import Host, Inventory
from vnettool.models.plan import Change, FieldDiff


class PlanError(ConfigError):
    """The desired state cannot be planned against this inventory; nothing was changed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "the desired state cannot be applied:\n  " + "\n  ".join(problems)
            if len(problems) > 1
            else problems[0]
        )


class CannotRestore(VnetError):
    """A change's before-state cannot be restored (the reason says why); a rollback that
    meets one names it and exits non-zero instead of reporting success."""


def host_gone(change: Change) -> Change | None:
    """Restore of a change on a host no longer in the inventory: nothing to undo for an
    object the host did not have before, and no way back for one it had."""
    if change.before is not None:
        raise CannotRestore(f"host {change.host} is no longer in the inventory")
    return None


def guess(word: str, known: Any) -> str:
    """`; did you mean 'vSwitch0'?` when a known name is close to `word`, else `` — the
    engine's own problems (a switch or pNIC vCenter does not have) get the same suggestion
    as a playbook's keys."""
    import difflib

    found = difflib.get_close_matches(word, sorted(set(known)), n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""


def natural_key(name: str) -> list[Any]:
    """esx2 before esx10: numbers compare as numbers (the `{index}` order)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def matches(name: str, patterns: list[str] | str | None) -> bool:
    if patterns is None:
        return True
    pats = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatch.fnmatchcase(name, p) for p in pats)


def on_host(spec: Any, host: str) -> bool:
    """Whether a standard switch / port group spec applies to `host` (its `hosts` narrows
    the document's target; unset: every targeted host)."""
    return matches(host, getattr(spec, "hosts", None))


def target_hosts(desired: DesiredState, inv: Inventory) -> list[Host]:
    """The targeted hosts in `{index}` order (natural sort of names)."""
    t = desired.target
    hosts = [
        h
        for h in inv.hosts
        if matches(h.datacenter or "", t.datacenter)
        and matches(h.cluster or "", t.cluster)
        and matches(h.name, t.hosts)
    ]
    return sorted(hosts, key=lambda h: natural_key(h.name))


@dataclass
class Context:
    """Inputs every resource planner needs, computed once per plan."""

    desired: DesiredState
    inventory: Inventory
    hosts: list[Host]
    index: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Cross-resource facts, computed once by the resource that owns them and read by others
    # (planners get only the context, so no planner's signature names another resource).
    deleted_vmknics: dict[str, set[str]] | None = None  # host -> devices `absent` deletes

    @classmethod
    def build(cls, desired: DesiredState, inventory: Inventory) -> Context:
        hosts = target_hosts(desired, inventory)
        return cls(desired, inventory, hosts, index={h.name: i + 1 for i, h in enumerate(hosts)})


# -- field diffs ------------------------------------------------------------------------------
def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: data}


# Inventory path -> (name shown in plans, divisor to the unit people type).
DISPLAY: dict[str, tuple[str, int]] = {
    "policy.security.allow_promiscuous": ("security.promiscuous", 1),
    "policy.security.mac_changes": ("security.mac_changes", 1),
    "policy.security.forged_transmits": ("security.forged_transmits", 1),
    "policy.shaping.enabled": ("shaping.enabled", 1),
    "policy.shaping.average_bps": ("shaping.average_kbps", 1000),
    "policy.shaping.peak_bps": ("shaping.peak_kbps", 1000),
    "policy.shaping.burst_bytes": ("shaping.burst_kb", 1024),
    "policy.teaming.policy": ("teaming.policy", 1),
    "policy.teaming.notify_switches": ("teaming.notify_switches", 1),
    "policy.teaming.failback": ("teaming.failback", 1),
    "policy.teaming.check_beacon": ("teaming.beacon_probing", 1),
    "policy.teaming.active_uplinks": ("teaming.active", 1),
    "policy.teaming.standby_uplinks": ("teaming.standby", 1),
    "vlan_id": ("vlan", 1),
}


def _shown(path: str, value: Any) -> tuple[str, Any]:
    name, div = DISPLAY.get(path, (path, 1))
    if div != 1 and isinstance(value, int) and value % div == 0:
        value //= div
    return name, value


def field_diffs(
    before: Model | None,
    after: Model | None,
    fields: tuple[str, ...],
    ignore: tuple[str, ...] = (),
    *,
    strict: bool = False,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = lambda d: d,
    show: Callable[[str, Any], tuple[str, Any]] = _shown,
) -> list[FieldDiff]:
    """Per-field before -> after of the compared fields (dotted paths, shown in user units).

    A field whose after-value is None is not owned by the desired state and never differs,
    unless `strict` (rollback: None there means "unset", e.g. a port group inheriting again).
    `prepare` reshapes a dump before flattening (e.g. lists keyed by name); `show` gives a
    path its displayed name and unit.
    """
    b = flatten(prepare(before.model_dump(include=set(fields), mode="json"))) if before else {}
    a = flatten(prepare(after.model_dump(include=set(fields), mode="json"))) if after else {}
    out: list[FieldDiff] = []
    for path in sorted(set(a) | set(b), key=lambda p: (p.count("."), p)):
        if path in ignore:
            continue
        bv, av = b.get(path), a.get(path)
        if after is not None and av is None and not strict:
            continue
        if before is not None and after is not None and bv == av:
            continue
        if after is None and bv is None:
            continue
        name, shown_b = show(path, bv)
        _, shown_a = show(path, av)
        out.append(FieldDiff(field=name, before=shown_b, after=shown_a))
    return out
