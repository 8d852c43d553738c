"""How panes and the app talk: Messages posted upward (handled by `VnetApp` with `@on`), and
`AppView`, the little of the app's state a pane may read.

A pane never calls into the app to make something happen; it says what happened or what the
user asked for, and the app decides (switch tabs, restart the watch). Panes depend on this
module, not on `tui.app`, so the app imports its panes and no pane imports the app.
"""

from __future__ import annotations

from typing import Any, Protocol

from textual.message import Message

from vnettool.models.inventory import Inventory


class OpenVmotion(Message):
    """The user asked to migrate this VM: show the vMotion screen with it selected."""

    def __init__(self, vm: str) -> None:
        self.vm = vm
        super().__init__()


class InventoryStale(Message):
    """A change was made from this screen: what is shown no longer matches vCenter."""


class AppView(Protocol):
    """What a pane reads from the app: the current snapshot and the live connection."""

    inventory: Inventory
    session: Any
    credentials: Any
    live: bool

    def require_session(self) -> Any:
        """The live session, or a VnetError saying why there is none (offline, lost)."""
        ...
