"""Changes as vCenter records them: who did what, when, to which objects.

Read from the EventManager (vsphere/events.py), so the drift report and `inventory --watch`
can say "changed by, when" next to a difference instead of only that it differs.
"""

from __future__ import annotations

from datetime import datetime

from vnettool.models.base import Model


class ChangeEvent(Model):
    key: int
    time: datetime
    user: str = ""
    kind: str  # the event type, or the task's description id for a TaskEvent
    message: str = ""
    datacenter: str = ""
    host: str = ""
    vm: str = ""
    dvs: str = ""
    network: str = ""

    def objects(self) -> set[str]:
        """The names of the objects the event is about (not its datacenter: too broad)."""
        return {n for n in (self.host, self.vm, self.dvs, self.network) if n}

    def summary(self) -> str:
        who = self.user or "(unknown user)"
        what = self.message or self.kind
        on = ", ".join(sorted(n for n in self.objects() if n not in what))
        return f"{self.time:%Y-%m-%d %H:%M:%S} {who}: {what}" + (f" ({on})" if on else "")
