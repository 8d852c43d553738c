"""Enhanced LACP link aggregation groups (LAGs) of distributed switches.

A LAG is named by the switch's `lags` list (name, ports, mode, load-balancing hash) and
created or edited with `UpdateDVSLacpGroupConfig_Task`; `absent.lags` ("switch/lag") removes
one. A port group may name a LAG among its teaming's active uplinks: the LAG is created before
the port group is changed, and removed only after the port groups that used it left it — a
removal that would leave a port group pointing at a missing LAG is refused while planning.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import Context
from vnettool.engine.dvcommon import absent_pairs, diffs, switch_part, switch_part_depends
from vnettool.engine.resource import Resource
from vnettool.impact.simulate import after_state, replace
from vnettool.models.inventory import DvsHostMember, Inventory, LacpGroup
from vnettool.models.plan import Change, FieldDiff
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvs as dvs_spec

RESOURCE = "lag"
FIELDS = ("mode", "uplink_count", "load_balance")


def _teaming_users(ctx: Context, switch: str, lag: str) -> list[str]:
    """Port groups whose teaming names the LAG once this plan has run."""
    want = {s.name: s for s in ctx.desired.distributed_port_groups if s.switch == switch}
    gone = set(ctx.desired.absent.distributed_port_groups)
    users = []
    for p in ctx.inventory.dv_portgroups_of(switch):
        if p.name in gone:
            continue
        cur = p.setting.teaming
        names = [*(cur.active_uplinks or []), *(cur.standby_uplinks or [])]
        spec = want.get(p.name)
        if (
            spec is not None
            and spec.teaming is not None
            and (spec.teaming.active is not None or spec.teaming.standby is not None)
        ):
            names = [*(spec.teaming.active or []), *(spec.teaming.standby or [])]
        if lag in names:
            users.append(p.name)
    for name, spec in want.items():
        if name in {p.name for p in ctx.inventory.dv_portgroups_of(switch)}:
            continue
        t = spec.teaming
        if t is not None and lag in [*(t.active or []), *(t.standby or [])]:
            users.append(name)
    return sorted(users)


class Lags(Resource[LacpGroup]):
    """One change per LAG (named `switch/lag`), in its switch's lane."""

    name = RESOURCE
    model = LacpGroup
    fields = FIELDS
    after = ("distributed_switch",)
    host_scoped = False

    def plan(self, ctx: Context) -> list[Change]:
        inv, desired = ctx.inventory, ctx.desired
        changes: list[Change] = []
        gone = absent_pairs(desired.absent.lags, "lags", "'switch/lag'", ctx.problems)
        for spec in desired.distributed_switches:
            sw = inv.dvs_by_name.get(spec.name)
            current = {g.name: g for g in (sw.lags if sw else [])}
            for lag in spec.lags or []:
                if (spec.name, lag.name) in gone:
                    ctx.problems.append(f"LAG {spec.name}/{lag.name} is both desired and absent")
                    continue
                before = current.get(lag.name)
                base = before or LacpGroup(
                    dvs=spec.name, name=lag.name, mode="passive", uplink_count=2
                )
                after = base.model_copy(
                    update={
                        "mode": lag.mode or base.mode,
                        "uplink_count": lag.ports or base.uplink_count,
                        "load_balance": lag.load_balancing
                        or base.load_balance
                        or "srcDestIpTcpUdpPortVlan",
                    }
                )
                ch = self.change(
                    f"dvs:{spec.name}",
                    f"{spec.name}/{lag.name}",
                    before,
                    after,
                    self.diff(before, after),
                    dvs_moref=sw.moref if sw else None,
                )
                changes += [ch] if ch else []
        for switch, name in sorted(gone):
            ch = self._plan_delete(ctx, switch, name)
            changes += [ch] if ch else []
        return changes

    def _plan_delete(self, ctx: Context, switch: str, name: str) -> Change | None:
        sw = ctx.inventory.dvs_by_name.get(switch)
        before = next((g for g in (sw.lags if sw else []) if g.name == name), None)
        if sw is None or before is None:
            return None
        users = _teaming_users(ctx, switch, name)
        if users:
            ctx.problems.append(
                f"cannot remove LAG {switch}/{name}: port group {', '.join(users)} still uses "
                "it in its teaming (change the teaming in the same document)"
            )
            return None
        d = self.diff(before, None)
        return self.change(f"dvs:{switch}", f"{switch}/{name}", before, None, d, dvs_moref=sw.moref)

    def tags(self, state: LacpGroup) -> dict[str, Any]:
        return {"switch": state.dvs}

    def diff(
        self, before: LacpGroup | None, after: LacpGroup | None, *, strict: bool = False
    ) -> list[FieldDiff]:
        return diffs(before, after, FIELDS, strict=strict)

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """Adds after the switch exists; removals after the port groups that leave them."""
        return switch_part_depends(change, same_host)

    def _switch(self, change: Change, session: Session) -> tuple[str, Any]:
        moref = change.dvs_moref or api.find_switch(session, change.switch or "")
        return moref, api.read_switch(session, moref)

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        g = self.old(change)
        _, sw = self._switch(change, session)
        cur = next((x for x in sw.lags if g is not None and x.name == g.name), None)
        if cur is not None:
            api.update_lags(session, sw, [dvs_spec.lag_spec("remove", cur)])

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self._put(change, session, facts)

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self._put(change, session, facts)

    def _put(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        """Add or edit, by what the switch has now (a retried create finds its LAG)."""
        after = self.new(change)
        moref, sw = self._switch(change, session)
        cur = next((x for x in sw.lags if x.name == after.name), None)
        if cur is None:
            spec = dvs_spec.lag_spec("add", after.model_copy(update={"key": None}))
        else:
            spec = dvs_spec.lag_spec("edit", after.model_copy(update={"key": cur.key}))
        api.update_lags(session, sw, [spec])
        facts["key"] = next(
            (x.key for x in api.read_switch(session, moref).lags if x.name == after.name), None
        )

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        found = switch_part(change, inv, lambda sw: sw.lags)
        if found is None:
            return None
        sw, current = found
        want = self.old(change)
        where = f"dvs:{sw.name}"
        if want is None and current is not None:
            return self.change(where, change.name, current, None, [], dvs_moref=sw.moref)
        if want is None:
            return None
        d = self.diff(current, want)
        return self.change(where, change.name, current, want, d, dvs_moref=sw.moref)

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """vCenter names a LAG's ports `<lag>-0` ...; a LAG that shrinks or goes away takes
        its ports with it and the pNICs bound to them are unassigned (they carry nothing)."""
        switch, _, name = change.name.partition("/")
        new = after_state(change, LacpGroup)
        if new is not None:
            n = new.uplink_count or len(new.uplink_names)
            new = new.model_copy(update={"uplink_names": [f"{new.name}-{i}" for i in range(n)]})
        old = next(
            (
                g
                for d in inv.distributed_switches
                if d.name == switch
                for g in d.lags
                if g.name == name
            ),
            None,
        )
        lost = set(old.uplink_names if old else []) - set(new.uplink_names if new else [])

        def unbind(m: DvsHostMember) -> DvsHostMember:
            if not lost or not set(m.pnics.values()) & lost:
                return m
            kept = {p: u for p, u in m.pnics.items() if u not in lost}
            return m.model_copy(update={"pnics": kept})

        switches = [
            d.model_copy(
                update={
                    "lags": replace(d.lags, lambda g: g.name == name, new),
                    "hosts": [unbind(m) for m in d.hosts],
                }
            )
            if d.name == switch
            else d
            for d in inv.distributed_switches
        ]
        return inv.model_copy(update={"distributed_switches": switches})


resource = Lags()
