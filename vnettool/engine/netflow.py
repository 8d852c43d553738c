"""NetFlow (IPFIX) of distributed switches: the collector and sampling of the switch.

One change per switch (`netflow` in its spec); a port group turns export on with its own
`netflow: true` (the distributed_port_group resource). vCenter refuses a port group that
enables NetFlow while its switch has no collector, so a change that sets a collector runs
before the port group changes of its switch, and one that removes the collector after them;
a document that would leave an enabling port group without a collector is refused at plan.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import CannotRestore, Context, field_diffs
from vnettool.engine.resource import Resource
from vnettool.models.desired import NetflowSpec
from vnettool.models.inventory import DistributedSwitch, Inventory, NetflowConfig
from vnettool.models.plan import Change, FieldDiff
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvs as dvs_spec

RESOURCE = "netflow"
FIELDS = (
    "collector_ip",
    "collector_port",
    "observation_domain",
    "active_timeout_s",
    "idle_timeout_s",
    "sampling_rate",
    "internal_only",
)


def target(base: NetflowConfig, s: NetflowSpec) -> NetflowConfig:
    """The switch's NetFlow with the document's fields laid over it (None = leave alone)."""
    given = {
        "observation_domain": s.observation_domain,
        "active_timeout_s": s.active_timeout,
        "idle_timeout_s": s.idle_timeout,
        "sampling_rate": s.sampling_rate,
        "internal_only": s.internal_only,
    }
    upd: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if s.collector == "none":
        upd |= {"collector_ip": None, "collector_port": None}
    elif s.collector is not None:
        upd |= {"collector_ip": s.collector, "collector_port": s.collector_port}
    return base.model_copy(update=upd)


def _diffs(before: NetflowConfig, after: NetflowConfig) -> list[FieldDiff]:
    out = field_diffs(before, after, FIELDS, strict=True)
    return [d.model_copy(update={"field": f"netflow.{d.field}"}) for d in out]


def _exporting_groups(ctx: Context, switch: str) -> list[str]:
    """Port groups of the switch that export flows once this document has run."""
    want = {s.name: s for s in ctx.desired.distributed_port_groups if s.switch == switch}
    gone = set(ctx.desired.absent.distributed_port_groups)
    names = set()
    for p in ctx.inventory.dv_portgroups_of(switch):
        s = want.get(p.name)
        on = s.netflow if s is not None and s.netflow is not None else p.setting.netflow
        if on and p.name not in gone:
            names.add(p.name)
    names |= {n for n, s in want.items() if s.netflow}
    return sorted(names)


# What a switch the document creates starts with (vCenter's defaults).
NEW_SWITCH = NetflowConfig(active_timeout_s=60, idle_timeout_s=15, sampling_rate=4096)


def _after(ctx: Context, switch: str) -> tuple[DistributedSwitch | None, NetflowConfig]:
    sw = ctx.inventory.dvs_by_name.get(switch)
    spec = next((s for s in ctx.desired.distributed_switches if s.name == switch), None)
    base = sw.netflow if sw else NEW_SWITCH
    if spec is None or spec.netflow is None:
        return sw, base
    return sw, target(base, spec.netflow)


def _conflict(before: NetflowConfig, after: NetflowConfig) -> Any:
    def check(fresh: DistributedSwitch) -> str | None:
        theirs = _diffs(before, fresh.netflow)
        if theirs and _diffs(fresh.netflow, after):
            return ", ".join(f"{d.field}: {d.before} → {d.after}" for d in theirs)
        return None

    return check


class Netflow(Resource[NetflowConfig]):
    """One change per switch (named after it), in its switch's lane; always an update: every
    VMware switch has a NetFlow config, with or without a collector."""

    name = RESOURCE
    model = NetflowConfig
    fields = FIELDS
    after = ("distributed_switch",)
    host_scoped = False

    def diff(
        self, before: NetflowConfig | None, after: NetflowConfig | None, *, strict: bool = False
    ) -> list[FieldDiff]:
        return _diffs(before or NEW_SWITCH, after or NEW_SWITCH)

    def plan(self, ctx: Context) -> list[Change]:
        changes: list[Change] = []
        switches = {s.name for s in ctx.desired.distributed_switches}
        switches |= {s.switch for s in ctx.desired.distributed_port_groups if s.netflow}
        for name in sorted(switches):
            sw, after = _after(ctx, name)
            users = _exporting_groups(ctx, name)
            if users and not after.collector_ip:
                ctx.problems.append(
                    f"distributed switch {name}: port group {', '.join(users)} exports NetFlow "
                    "but the switch has no collector (set netflow.collector and collector_port)"
                )
                continue
            spec = next((s for s in ctx.desired.distributed_switches if s.name == name), None)
            if spec is None or spec.netflow is None:
                continue
            before = sw.netflow if sw else NEW_SWITCH
            ch = self.change(
                f"dvs:{name}",
                name,
                before,
                after,
                _diffs(before, after),
                kind="update",
                switch=name,
                dvs_moref=sw.moref if sw else None,
            )
            changes += [ch] if ch and ch.diffs else []
        return changes

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """After its switch; a collector going away waits for port groups to stop exporting."""
        mine = [c for c in same_host if c.switch == change.switch]
        first = [c.id for c in mine if c.resource == "distributed_switch" and c.kind != "delete"]
        after = change.after
        if not (isinstance(after, NetflowConfig) and after.collector_ip):
            first += [c.id for c in mine if c.resource == "distributed_port_group"]
        return first

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        moref = change.dvs_moref or api.find_switch(session, change.switch or "")
        sw = api.read_switch(session, moref)
        before, after = self.old(change) or NEW_SWITCH, self.new(change)
        if not _diffs(sw.netflow, after):
            return  # already as wanted (a resent change, or another client did it)
        spec = dvs_spec.switch_spec(sw, sw)
        spec.ipfixConfig = dvs_spec.ipfix_config(after)
        api.reconfigure_switch(session, sw, spec, _conflict(before, after), facts)

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        switch = change.switch or ""
        sw = inv.dvs_by_name.get(switch)
        if sw is None:
            raise CannotRestore(f"its switch {switch} no longer exists")
        want = self.old(change) or NEW_SWITCH
        d = _diffs(sw.netflow, want)
        if not d:
            return None
        return self.change(
            f"dvs:{switch}",
            change.name,
            sw.netflow,
            want,
            d,
            kind="update",
            switch=switch,
            dvs_moref=sw.moref,
        )


resource = Netflow()
