"""A plan as people read it: one renderer for `vnettool plan`, `apply`, `run --check` and the
TUI's Plan screen, so the terminal and the cockpit show the same diff.

It returns a rich `Text` (styles, no markup), so a port group called `[bold]x` prints as
written and neither caller has to escape anything.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from vnettool.engine.common import natural_key
from vnettool.models.impact import Impact
from vnettool.models.plan import Change, Plan

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


def _change(out: Text, c: Change) -> None:
    mark, colour = KIND_MARK[c.kind]
    device = c.device
    extra = f" ({device})" if device and device != c.name else ""
    out.append(f"  {mark} {c.resource.replace('_', ' ')} {c.name}{extra}\n", style=colour)
    for d in c.diffs:
        out.append(f"      {d.field}: ")
        if c.kind == "update":
            out.append(value_text(d.before), style="red")
            out.append(" → ", style="dim")
            out.append(value_text(d.after), style="green")
        else:
            out.append(value_text(d.after if c.kind == "create" else d.before))
        out.append("\n")
    if c.unsafe:
        out.append(f"      ! unsafe: {c.unsafe}\n", style="bold red")
    if c.irreversible:
        out.append(f"      ! cannot be undone: {c.irreversible}\n", style="bold yellow")
    if c.impact is not None and not c.impact.empty:
        out.append("      impact: ", style="magenta")
        out.append(impact_line(c.impact) + "\n")


def impact_line(imp: Impact, most: int = 4) -> str:
    """The summary and the first few names: enough to see what a change touches."""
    named = imp.dark + imp.degraded + imp.vlan_changed + imp.moved
    names = [t.label for t in named[:most]]
    if len(named) > most:
        names.append(f"+{len(named) - most} more")
    return imp.summary() + (f" — {', '.join(names)}" if names else "")


def render_plan(plan: Plan, title: str | None = None) -> Text:
    """The plan as a diff grouped by host, in apply order, then its counts (after `title:`)."""
    out = Text()
    if plan.empty:
        out.append("No changes. ", style="green")
        out.append("The infrastructure matches the desired state.")
        return out
    for host, changes in sorted(plan.by_host().items(), key=lambda kv: natural_key(kv[0])):
        out.append(f"{host}\n", style="bold")
        for c in changes:
            _change(out, c)
    if title:
        out.append(f"{title}:", style="bold")
        out.append(f" {plan.summary()}")
    else:
        out.append(plan.summary(), style="bold")
    if plan.impact is not None:
        out.append("\nImpact:", style="bold")
        out.append(f" {plan.impact.summary()}")
    return out
