"""`vnettool --fleet fleet.yml tui`: pick a vCenter of the fleet, switch to another with `v`.

The cockpit works on one vCenter at a time (its screens change things there); the picker is
how it reaches any of the fleet. Credentials come from the fleet file's references (variable,
0600 file, keyring) when a vCenter is chosen — never typed, shown or kept after a switch.
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from vnettool.fleet.connect import FleetTargets


class FleetPicker(ModalScreen[str | None]):
    """One line per vCenter: name, URL, tags, L2 domain; Enter connects, Escape goes back."""

    DEFAULT_CSS = """
    FleetPicker { align: center middle; }
    FleetPicker > Vertical {
        width: 90; height: auto; max-height: 80%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    FleetPicker OptionList { height: auto; max-height: 20; }
    FleetPicker #picker-error { color: $error; width: 100%; }
    """
    BINDINGS = [Binding("escape", "cancel", "Back")]

    def __init__(self, targets: FleetTargets, current: str | None = None, error: str = "") -> None:
        super().__init__()
        self.targets = targets
        self.current = current
        self.error = error

    def compose(self) -> ComposeResult:
        width = max(len(v.name) for v in self.targets.entries)
        options = []
        for vc in self.targets.entries:
            mark = "●" if vc.name == self.current else " "
            tags = ",".join(vc.tags)
            l2 = f"  L2 {vc.l2_domain}" if vc.l2_domain else ""
            text = f"{mark} {escape(vc.name.ljust(width))}  {escape(vc.url)}  [dim]{escape(tags)}{escape(l2)}[/]"
            options.append(Option(text, id=vc.name))
        with Vertical():
            yield Label(f"Fleet: {len(options)} vCenters — Enter connects, Escape goes back")
            yield OptionList(*options, id="picker-list")
            yield Label(escape(self.error), id="picker-error")

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        names = [v.name for v in self.targets.entries]
        if self.current in names:
            picker.highlighted = names.index(self.current)
        picker.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
