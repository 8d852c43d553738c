"""A plan as people read it: one renderer for `vnettool plan`, `apply`, `run --check` and the
TUI's Plan screen, so the terminal and the cockpit show the same diff.

It returns a rich `Text` (styles, no markup), so a port group called `[bold]x` prints as
written and neither caller has to escape anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.text import Text

from vnettool.engine.common import natural_key
from vnettool.models.impact import Impact
from vnettool.models.plan import Change, FieldDiff, Plan, Result

KIND_MARK = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}


def value_text(v: Any) -> str:
    """A value as YAML would show it: lists in brackets, booleans lower-case."""
    if v is None:
        return "(unset)"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


def host_ranges(names: Iterable[str]) -> str:
    """`DC0_C1_H0 … DC0_C1_H31` → `DC0_C1_H[0-31]`: 32 host names a person can read in one
    line; names without a trailing number (or with a zero-padded one) are listed as they are."""
    by_prefix: dict[str, list[int]] = {}
    plain: list[str] = []
    for name in names:
        m = re.fullmatch(r"(.*?)(\d+)", name)
        if m and not (len(m[2]) > 1 and m[2].startswith("0")):
            by_prefix.setdefault(m[1], []).append(int(m[2]))
        else:
            plain.append(name)
    parts: list[str] = []
    for prefix in sorted(by_prefix, key=natural_key):
        nums = sorted(set(by_prefix[prefix]))
        if len(nums) == 1:
            parts.append(f"{prefix}{nums[0]}")
            continue
        runs: list[str] = []
        start = prev = nums[0]
        for n in nums[1:]:
            if n != prev + 1:
                runs.append(str(start) if start == prev else f"{start}-{prev}")
                start = n
            prev = n
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        parts.append(f"{prefix}[{','.join(runs)}]")
    return ", ".join([*parts, *sorted(set(plain), key=natural_key)])


def where(hosts: Iterable[str | None]) -> str:
    """`on DC0_C1_H3`, `on 32 hosts DC0_C1_H[0-31]`, or `in vCenter` for objects (a DVS, a
    DV port group) that belong to no host."""
    named = sorted({h for h in hosts if h}, key=natural_key)
    if not named:
        return "in vCenter"
    if len(named) == 1:
        return f"on {named[0]}"
    return f"on {len(named)} hosts {host_ranges(named)}"


def _signature(c: Change) -> tuple[Any, ...]:
    """What makes changes on different hosts one logical change: everything but the host and
    the values of fields that differ per host (a vmknic's IP), which are shown as such."""
    impact = c.impact.summary() if c.impact is not None and not c.impact.empty else ""
    fields = tuple(d.field for d in c.diffs)
    return (c.kind, c.resource, c.name, c.device, fields, c.unsafe, c.irreversible, impact)


def grouped(changes: Iterable[Change]) -> list[list[Change]]:
    """Identical changes across hosts as one group, in first-apply order."""
    groups: dict[tuple[Any, ...], list[Change]] = {}
    for c in changes:
        groups.setdefault(_signature(c), []).append(c)
    return list(groups.values())


def _value(out: Text, kind: str, d: FieldDiff) -> None:
    if kind == "update":
        out.append(value_text(d.before), style="red")
        out.append(" → ", style="dim")
        out.append(value_text(d.after), style="green")
    else:
        out.append(value_text(d.after if kind == "create" else d.before))


def _diff_lines(out: Text, members: list[Change]) -> None:
    """Each field once. A field whose value differs per host says so: a few distinct values
    each with its hosts, many (one IP per host) as the first and the last host's value;
    `--per-host` shows them all."""
    c = members[0]
    for i, d in enumerate(c.diffs):
        out.append(f"      {d.field}: ")
        values: dict[tuple[str, str], tuple[FieldDiff, list[str | None]]] = {}
        for m in members:
            x = m.diffs[i]
            values.setdefault((repr(x.before), repr(x.after)), (x, []))[1].append(m.host)
        if len(values) == 1:
            _value(out, c.kind, d)
        elif len(values) <= 3:
            for n, (x, hosts) in enumerate(values.values()):
                if n:
                    out.append("; ", style="dim")
                _value(out, c.kind, x)
                out.append(f" {where(hosts)}", style="dim")
        else:
            first, last = members[0], members[-1]
            out.append("per host, ", style="dim")
            _value(out, c.kind, first.diffs[i])
            out.append(f" ({first.host or 'vCenter'}) to ", style="dim")
            _value(out, c.kind, last.diffs[i])
            out.append(f" ({last.host or 'vCenter'})", style="dim")
        out.append("\n")


def _change(out: Text, members: list[Change], *, grouped_view: bool = True) -> None:
    c = members[0]
    mark, colour = KIND_MARK[c.kind]
    device = c.device
    extra = f" ({device})" if device and device != c.name else ""
    at = f" {where([m.host for m in members])}" if grouped_view else ""
    out.append(f"  {mark} {c.resource.replace('_', ' ')} {c.name}{extra}{at}\n", style=colour)
    _diff_lines(out, members)
    if c.unsafe:
        out.append(f"      ! unsafe: {c.unsafe}\n", style="bold red")
    if c.irreversible:
        out.append(f"      ! cannot be undone: {c.irreversible}\n", style="bold yellow")
    if c.impact is not None and not c.impact.empty:
        several = len(members) > 1
        out.append("      impact on each host: " if several else "      impact: ", style="magenta")
        out.append((c.impact.summary() if several else impact_line(c.impact)) + "\n")


def impact_line(imp: Impact, most: int = 4) -> str:
    """The summary and the first few names: enough to see what a change touches."""
    named = imp.dark + imp.degraded + imp.vlan_changed + imp.moved
    names = [t.label for t in named[:most]]
    if len(named) > most:
        names.append(f"+{len(named) - most} more")
    return imp.summary() + (f" — {', '.join(names)}" if names else "")


def render_plan(plan: Plan, title: str | None = None, *, per_host: bool = False) -> Text:
    """The plan as a diff in apply order, then its counts (after `title:`). One logical
    change made on 32 hosts is one entry naming the hosts (801 lines become a screenful);
    `per_host` lists every host's changes under the host instead."""
    out = Text()
    if plan.empty:
        out.append("No changes. ", style="green")
        out.append("The infrastructure matches the desired state.")
        return out
    if per_host:
        for host, changes in sorted(plan.by_host().items(), key=lambda kv: natural_key(kv[0])):
            out.append(f"{host}\n", style="bold")
            for c in changes:
                _change(out, [c], grouped_view=False)
    else:
        for members in grouped(plan.changes):
            _change(out, members)
    if title:
        out.append(f"{title}:", style="bold")
        out.append(f" {plan.summary()}")
    else:
        out.append(plan.summary(), style="bold")
    if plan.impact is not None:
        out.append("\nImpact:", style="bold")
        out.append(f" {plan.impact.summary()}")
    return out


def render_results(results: Iterable[Result]) -> Text:
    """What an apply did, grouped as its plan was (the same change on 32 hosts is one line
    naming them), then each distinct failure once with its hosts."""
    results = list(results)
    done = [r for r in results if not (r.failed or r.skipped)]
    result_of = {id(r.change): r for r in done}
    out = Text()
    for members in grouped(r.change for r in done):
        rs = [result_of[id(c)] for c in members]
        changed = any(r.changed for r in rs)
        c = members[0]
        extra = f" ({c.device})" if c.device and c.device != c.name else ""
        out.append("changed " if changed else "ok      ", style="yellow" if changed else "green")
        out.append(f"{c.kind} {c.resource.replace('_', ' ')} {c.name}{extra} ")
        out.append(where(m.host for m in members))
        out.append(f"  ({sum(r.duration_s for r in rs):.2f} s)\n", style="dim")
    out.append_text(render_failures(results))
    return out


def render_failures(results: Iterable[Result]) -> Text:
    """Failed and skipped changes, one line per distinct error with the hosts it hit: the
    same fault on 32 hosts is one line naming them, not 32 lines to compare by eye."""
    groups: dict[tuple[str, str, str, str, str], list[str | None]] = {}
    for r in results:
        if not (r.failed or r.skipped):
            continue
        c = r.change
        error = r.error or ""
        if c.host:
            error = error.replace(c.host, "<host>")
        status = "failed" if r.failed else "skipped"
        groups.setdefault((status, c.kind, c.resource, c.name, error), []).append(c.host)
    out = Text()
    for (status, kind, resource, name, shared), hosts in groups.items():
        named = [h for h in hosts if h]
        error = shared.replace("<host>", named[0]) if len(named) == 1 else shared
        out.append(f"{status:<7} ", style="bold red" if status == "failed" else "cyan")
        out.append(f"{kind} {resource.replace('_', ' ')} {name} {where(hosts)}: {error}\n")
    out.rstrip()
    return out
