"""What panes tell the app: Textual Messages posted upward, handled by `VnetApp` with `@on`.

A pane never calls into the app to make something happen; it says what happened or what the
user asked for, and the app decides (switch tabs, restart the watch). Panes stay testable on
their own, and the app is the one place that knows how the screens fit together.
"""

from __future__ import annotations

from textual.message import Message


class OpenVmotion(Message):
    """The user asked to migrate this VM: show the vMotion screen with it selected."""

    def __init__(self, vm: str) -> None:
        self.vm = vm
        super().__init__()


class InventoryStale(Message):
    """A change was made from this screen: what is shown no longer matches vCenter."""
