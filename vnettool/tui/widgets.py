"""Small shared widgets: confirmation and help modals, the status bar, the lost-connection banner."""

from __future__ import annotations

import textwrap
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from vnettool.tui.fit import fit_middle, wrap_phrases, wrap_texts


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


# The help as phrases: each line is laid out for the width the modal has and breaks only
# between phrases (a key and what it does stay together), never inside one.
HELP_INTRO = "[b]vnettool tui[/b] — the virtual network, live."
HELP: list[tuple[str, list[str], list[str]]] = [
    (
        "Screens",
        ["1 Network", "2 Findings", "3 Latency", "4 Plan/apply", "5 vMotion", "6 Appliances"],
        [],
    ),
    ("Anywhere", ["? help", "ctrl+p command palette", "t dark/light", "r reconnect", "q quit"], []),
    (
        "Network",
        ["/ filter", "enter/→ expand", "← collapse", "m migrate the selected VM"],
        [
            "tree: datacenter → cluster → host →",
            "switch → port group → VM NICs/vmknics;",
            "a vDS node shows its PVLAN map;",
            "★ marks a port group's own override;",
            "the detail pane follows live changes.",
        ],
    ),
    (
        "Findings",
        ["/ filter (words, sev:high, rule:SEC)", "s sort", "x export workbook", "g re-audit"],
        ["failures first, not-judged (N/A) rules last in every order."],
    ),
    (
        "Latency",
        ["p start/stop probing", "c next cluster", "b rebalance now (preview first)"],
        ["green < warn ≤ yellow < crit ≤ red."],
    ),
    (
        "Plan",
        ["e edit path", "o open file", "a apply", "u roll back the last run"],
        ["a confirmation lists every change;", "n or Esc cancels and nothing changes,", "y goes."],
    ),
    (
        "vMotion",
        ["/ VM name", "↑↓ highlight a VM", "enter choose the host"],
        [
            "the host list is for the highlighted VM;",
            "only hosts passing the network checks can be chosen,",
            "the others say why.",
        ],
    ),
    (
        "Appliances",
        ["e edit path", "enter/c check the playbook's appliances"],
        ["(health probed live)"],
    ),
]
HELP_OUTRO = [
    "Every change asks for confirmation and states exactly what it will do.",
    "All vSphere calls run in background workers: the screen never waits on the network.",
]
HELP_LABEL = 11


def help_text(width: int) -> Text:
    """The help laid out in `width` cells: a section's keys and notes wrap between phrases
    and continue under the first phrase, never mid-phrase."""
    out = Text.from_markup(HELP_INTRO + "\n\n")
    room = max(20, width - HELP_LABEL)
    for title, keys, notes in HELP:
        # a note longer than the line (prose) wraps between its words, under the keys
        parts = [w for n in notes for w in (textwrap.wrap(n, room) if len(n) > room else [n])]
        lines = wrap_phrases(keys, room) + wrap_phrases(parts, room, sep=" ")
        for i, line in enumerate(lines):
            head = Text(f"{title:<{HELP_LABEL}}" if i == 0 else " " * HELP_LABEL, style="bold")
            out.append_text(head)
            out.append(line + "\n", style="" if i < len(wrap_phrases(keys, room)) else "dim")
    out.append("\n")
    for line in HELP_OUTRO:
        out.append("\n".join(textwrap.wrap(line, width)) + "\n")
    return out


class HelpBody(Static):
    def render(self) -> RenderableType:
        return help_text(self.content_region.width or 80)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen HelpBody { width: 100%; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield HelpBody()


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


class FitTable(DataTable[Any]):
    """A DataTable whose owner lays its columns out for the width it has: it says when its
    width changed (a Resize event does not bubble to the pane)."""

    class Resized(Message):
        def __init__(self, table: FitTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> FitTable:
            return self.table

    _last_width = -1

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._last_width:
            self._last_width = event.size.width
            self.post_message(self.Resized(self))


class PhraseLine(Static):
    """A state line made of phrases (`107/107 findings`, `N/A 37`): wrapped between
    phrases to the widget's width, never inside one, so no count is cut off at the edge."""

    DEFAULT_CSS = """
    PhraseLine { height: auto; max-height: 3; color: $text-muted; }
    """

    def __init__(self, *phrases: str, sep: str = " · ", **kw: Any) -> None:
        super().__init__(**kw)
        self.sep = sep
        self.phrases: list[Text] = [Text.from_markup(p) for p in phrases]

    def set(self, *phrases: str | Text) -> None:
        self.phrases = [p if isinstance(p, Text) else Text.from_markup(p) for p in phrases]
        self.refresh(layout=True)

    @property
    def plain(self) -> str:
        return self.sep.join(p.plain for p in self.phrases)

    def render(self) -> RenderableType:
        width = self.content_region.width or self.app.size.width
        return wrap_texts(self.phrases, width, self.sep, indent=2)


class StatusBar(Static):
    """One line: connection, inventory size, last update, live updates, last error. It never
    wraps: when the line is too long the user@host is cut in the middle, then the least
    important parts (the error text last shown, reconnects, live updates) are dropped."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.parts: list[Text] = []
        self.who = ""  # user@host, appended to the first part; cut first

    def set(self, parts: list[str], who: str = "") -> None:
        self.parts = [Text.from_markup(p) for p in parts]
        self.who = who
        self.refresh()

    @property
    def plain(self) -> str:
        return fit_parts(self.parts, 10_000, self.who).plain

    def render(self) -> RenderableType:
        width = self.content_region.width or self.app.size.width
        return fit_parts(self.parts, width, self.who)


def fit_parts(parts: list[Text], width: int, who: str = "", sep: str = " │ ") -> Text:
    """The status line in `width` cells (see StatusBar)."""
    if not parts:
        return Text()
    rest = list(parts[1:])

    def line(who_w: int) -> Text:
        first = parts[0].copy()
        if who:
            first.append(" " + fit_middle(who, who_w))
        return Text(sep).join([first, *rest])

    text = line(len(who))
    if text.cell_len > width and who:
        text = line(max(12, len(who) - (text.cell_len - width)))
    while text.cell_len > width and len(rest) > 2:
        rest.pop()
        text = line(max(12, len(who) - (line(len(who)).cell_len - width)))
    return text


class Banner(Static):
    """Shown only while the connection is lost."""

    DEFAULT_CSS = """
    Banner { dock: top; height: auto; background: $error; color: $text; padding: 0 1;
             text-style: bold; display: none; }
    Banner.-shown { display: block; }
    """
