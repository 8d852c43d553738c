"""Small shared widgets: confirmation and help modals, the status bar, the lost-connection banner."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no over an exact statement of what will happen; "no" is the default and Esc."""

    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Confirm"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen #confirm-title { text-style: bold; color: $warning; }
    ConfirmScreen VerticalScroll { height: auto; max-height: 16; }
    ConfirmScreen Horizontal { height: auto; align: right middle; }
    ConfirmScreen Button { margin: 0 1; }
    """

    def __init__(self, title: str, body: RenderableType, confirm_label: str = "Apply") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="confirm-title")
            with VerticalScroll():
                yield Static(self.body, id="confirm-body")
            with Horizontal():
                yield Button("Cancel (n)", id="no", variant="primary")
                yield Button(f"{self.confirm_label} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


HELP = """\
[b]vnettool tui[/b] — the virtual network, live.

[b]Screens[/b]    1 Network   2 Findings   3 Latency   4 Plan/apply   5 vMotion   6 Appliances
[b]Anywhere[/b]   ? help   ctrl+p command palette   t dark/light   r reconnect   q quit

[b]Network[/b]    / filter   enter/→ expand   ← collapse   m migrate the selected VM
             tree: datacenter → cluster → host → switch → port group → VM NICs/vmknics;
             a vDS node shows its PVLAN map; ★ marks a port group's own override.
[b]Findings[/b]   / filter (words, sev:high, rule:SEC)   s sort   x export workbook   g re-audit
[b]Latency[/b]    p start/stop probing   c next cluster   (green < warn ≤ yellow < crit ≤ red)
[b]Plan[/b]       e edit path   o open file   a apply: a confirmation lists every change;
             n or Esc cancels and nothing changes, y applies.
[b]vMotion[/b]    / VM name   enter choose VM / host; only hosts passing the network checks
             can be chosen, the others show why they are excluded.
[b]Appliances[/b] e edit path   enter or c check every appliance the playbook defines (live)

Every change asks for confirmation and states exactly what it will do.
All vSphere calls run in background workers: the screen never waits on the network.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text.from_markup(HELP))


class ConnectScreen(ModalScreen[tuple[str, str, str, bool] | None]):
    """Server, user and a masked password, when neither env nor the lab profile gives them."""

    DEFAULT_CSS = """
    ConnectScreen { align: center middle; }
    ConnectScreen > Vertical {
        width: 70; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    ConnectScreen #connect-error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Quit")]

    def __init__(self, error: str = "", server: str = "") -> None:
        super().__init__()
        self.error = error
        self.server = server

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Connect to vCenter")
            yield Input(self.server, placeholder="server (host or https://host/sdk)", id="server")
            yield Input(placeholder="user", id="user")
            yield Input(placeholder="password", password=True, id="password")
            yield Label(self.error, id="connect-error")
            yield Button("Connect", id="connect", variant="primary")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._submit()

    def _submit(self) -> None:
        vals = [self.query_one(f"#{i}", Input).value for i in ("server", "user", "password")]
        if not all(vals[:2]):
            self.query_one("#connect-error", Label).update("server and user are required")
            return
        self.dismiss((vals[0], vals[1], vals[2], False))

    def action_cancel(self) -> None:
        self.dismiss(None)


class StatusBar(Static):
    """One line: connection, last update, inventory size, last error."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """


class Banner(Static):
    """Shown only while the connection is lost."""

    DEFAULT_CSS = """
    Banner { dock: top; height: auto; background: $error; color: $text; padding: 0 1;
             text-style: bold; display: none; }
    Banner.-shown { display: block; }
    """
