"""Health check of distributed switches: the VLAN/MTU check and the teaming check, each on or
off with its interval (`UpdateDVSHealthCheckConfig_Task`).

One change per switch (`health_check` in its spec), always an update: every VMware switch has
both configs, on or off. The call takes both configs whole; fields the document leaves out
keep the switch's values. The results the checks produce are read by the inventory
(`DistributedSwitch.health`); `vnettool healthcheck run` switches the checks on for a
troubleshooting window through this resource and rolls its own run back afterwards.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import CannotRestore, Context, field_diffs
from vnettool.engine.resource import Resource
from vnettool.models.desired import HealthCheckSpec
from vnettool.models.inventory import DistributedSwitch, HealthCheckConfig, Inventory
from vnettool.models.plan import Change, FieldDiff
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session

RESOURCE = "health_check"
FIELDS = ("vlan_mtu", "vlan_mtu_interval", "teaming", "teaming_interval")

# What vCenter gives a new switch (and the lab does too): both checks off, every minute.
NEW_SWITCH = HealthCheckConfig(
    vlan_mtu=False, vlan_mtu_interval=1, teaming=False, teaming_interval=1
)


def target(base: HealthCheckConfig, s: HealthCheckSpec) -> HealthCheckConfig:
    """The switch's health check with the document's fields laid over it."""
    given = {f: getattr(s, f) for f in FIELDS}
    return base.model_copy(update={k: v for k, v in given.items() if v is not None})


def _diffs(before: HealthCheckConfig, after: HealthCheckConfig) -> list[FieldDiff]:
    out = field_diffs(before, after, FIELDS, strict=True)
    return [d.model_copy(update={"field": f"health_check.{d.field}"}) for d in out]


def _base(sw: DistributedSwitch | None) -> HealthCheckConfig:
    """The switch's config with what it does not say filled in as vCenter's defaults (a
    switch read without a healthCheckConfig, e.g. a minimal inventory, is a new one)."""
    have = sw.health_check if sw else HealthCheckConfig()
    return NEW_SWITCH.model_copy(update=have.model_dump(exclude_none=True))


class HealthChecks(Resource[HealthCheckConfig]):
    """One change per switch (named after it), in its switch's lane, after its creation."""

    name = RESOURCE
    model = HealthCheckConfig
    fields = FIELDS
    after = ("distributed_switch",)
    host_scoped = False

    def diff(
        self,
        before: HealthCheckConfig | None,
        after: HealthCheckConfig | None,
        *,
        strict: bool = False,
    ) -> list[FieldDiff]:
        return _diffs(before or NEW_SWITCH, after or NEW_SWITCH)

    def plan(self, ctx: Context) -> list[Change]:
        changes: list[Change] = []
        for spec in ctx.desired.distributed_switches:
            if spec.health_check is None:
                continue
            sw = ctx.inventory.dvs_by_name.get(spec.name)
            before = _base(sw)
            after = target(before, spec.health_check)
            ch = self.change(
                f"dvs:{spec.name}",
                spec.name,
                before,
                after,
                _diffs(before, after),
                kind="update",
                switch=spec.name,
                dvs_moref=sw.moref if sw else None,
            )
            changes += [ch] if ch and ch.diffs else []
        return changes

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        return [
            c.id
            for c in same_host
            if c.switch == change.switch
            and c.resource == "distributed_switch"
            and c.kind != "delete"
        ]

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        moref = change.dvs_moref or api.find_switch(session, change.switch or "")
        sw = api.read_switch(session, moref)
        after = self.new(change)
        if not _diffs(_base(sw), after):
            return  # already as wanted (a resent change, or another client did it)
        api.update_health_check(session, sw, after)

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        switch = change.switch or ""
        sw = inv.dvs_by_name.get(switch)
        if sw is None:
            raise CannotRestore(f"its switch {switch} no longer exists")
        want = self.old(change) or NEW_SWITCH
        now = _base(sw)
        d = _diffs(now, want)
        if not d:
            return None
        return self.change(
            f"dvs:{switch}",
            change.name,
            now,
            want,
            d,
            kind="update",
            switch=switch,
            dvs_moref=sw.moref,
        )


resource = HealthChecks()
