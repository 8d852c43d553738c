"""Host advanced settings (`host_settings`): the BPDU filter, the dvFilter bind address and
the BMC virtual NIC, set on every targeted host with one UpdateOptions.

Settings always exist on a host, so there is no create or delete: a document only updates
the keys it gives, and a rollback sets the values read before.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import Context
from vnettool.engine.resource import Resource
from vnettool.models.inventory import HostSettings, Inventory
from vnettool.models.plan import Change
from vnettool.vsphere import hostnet
from vnettool.vsphere.connection import Session

RESOURCE = "host_settings"


class HostAdvancedSettings(Resource[HostSettings]):
    """One change per host: the given options, before (as read) and after."""

    name = RESOURCE
    model = HostSettings
    fields = ("values",)

    def plan(self, ctx: Context) -> list[Change]:
        spec = ctx.desired.host_settings
        want = spec.options() if spec is not None else {}
        if not want:
            return []
        changes: list[Change] = []
        for host in ctx.hosts:
            unread = sorted(k for k in want if k not in host.advanced)
            if unread:
                ctx.problems.append(
                    f"{host.name}: host_settings: {', '.join(unread)} not read from the host "
                    "(not connected, or no such option on its release)"
                )
                continue
            before = HostSettings(host=host.name, values={k: host.advanced[k] for k in want})
            after = HostSettings(host=host.name, values=dict(want))
            ch = self.change(host, "advanced settings", before, after, self.diff(before, after))
            if ch is not None:
                changes.append(ch)
        return changes

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        new, old = self.new(change), self.old(change)
        values = {k: v for k, v in new.values.items() if not old or old.values.get(k) != v}
        hostnet.update_advanced_options(session, change.host_moref or "", new.host, values)

    def current(self, change: Change, inv: Inventory) -> HostSettings | None:
        host = inv.host_by_name.get(change.host or "")
        if host is None:
            return None
        keys = self.new(change).values if change.after is not None else {}
        return HostSettings(
            host=host.name, values={k: host.advanced[k] for k in keys if k in host.advanced}
        )


resource = HostAdvancedSettings()
