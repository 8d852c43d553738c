"""How a what-if prediction is shown: one table per kind of transition and the summary line
for people, the JSON for scripts. Used by `whatif` and by its fleet side (`--fleet whatif`
prints the same per vCenter), so it sits below both."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from vnettool.cli.common import console
from vnettool.models.impact import Impact, Transition


def _rows(title: str, items: list[Transition], colour: str) -> None:
    if not items:
        return
    t = Table(title=f"[{colour}]{title} ({len(items)})[/]", title_justify="left", box=None)
    for col in ("", "endpoint", "host", "port group"):
        t.add_column(col, no_wrap=True)
    t.add_column("why")
    for it in items:
        t.add_row(
            "[bold red]![/]" if it.marked else "",
            escape(it.label),
            escape(it.host),
            escape(it.portgroup_after or it.portgroup_before or "-"),
            escape(it.reason),
        )
    console.print(t)


def print_impact(what: str, imp: Impact) -> None:
    """The prediction as people read it: a table per transition, then the counts."""
    console.print(f"[bold]what if[/] {escape(what)}:", highlight=False)
    _rows("goes dark", imp.dark, "bold red")
    _rows("loses redundancy", imp.degraded, "yellow")
    _rows("moves", imp.moved, "cyan")
    _rows("changes VLAN", imp.vlan_changed, "cyan")
    console.print(
        f"{imp.summary()}; {imp.stays} stay as they are"
        + ("  ([bold red]![/] = management or vMotion adapter)" if _any_marked(imp) else ""),
        highlight=False,
        soft_wrap=True,
    )


def _any_marked(imp: Impact) -> bool:
    return any(t.marked for t in imp.dark + imp.degraded)


def impact_json(what: str, imp: Impact) -> dict[str, Any]:
    """What `whatif --json` prints (a fleet what-if prints it per vCenter)."""
    return {"what": what, "summary": imp.summary()} | imp.model_dump(mode="json")
