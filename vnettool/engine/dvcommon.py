"""What the distributed resources share: vCenter-wide changes, port settings, diff names.

Distributed objects belong to vCenter, not to a host: their changes have `host=None` and a
`lane` (one per switch) so that the core runs the changes of one switch one after another —
each reconfigure bumps the switch's `configVersion`, and parallel ones would only collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar, cast

from vnettool.engine.common import CannotRestore, Context, field_diffs
from vnettool.engine.resource import M, Resource
from vnettool.engine.vss import _set, apply_security, apply_shaping, apply_uplink_order
from vnettool.models.base import Model
from vnettool.models.desired import (
    DistributedPortGroupSpec,
    DistributedSwitchSpec,
    DvSecurity,
    parse_trunk,
)
from vnettool.models.inventory import DistributedSwitch, DvPortSetting, Inventory
from vnettool.models.plan import Change, FieldDiff
from vnettool.models.policy import SecurityPolicy, VlanSpec
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs.dvportgroup import BINDING_TO_API, OVERRIDE_KEYS

_OVERRIDE_NAMES = {v: k for k, v in OVERRIDE_KEYS.items()}

# Inventory path (after the object prefix) -> (name shown in plans, divisor to user units).
_DISPLAY: dict[str, tuple[str, int]] = {
    "security.allow_promiscuous": ("security.promiscuous", 1),
    "in_shaping.average_bps": ("ingress_shaping.average_kbps", 1000),
    "in_shaping.peak_bps": ("ingress_shaping.peak_kbps", 1000),
    "in_shaping.burst_bytes": ("ingress_shaping.burst_kb", 1024),
    "in_shaping.enabled": ("ingress_shaping.enabled", 1),
    "out_shaping.average_bps": ("egress_shaping.average_kbps", 1000),
    "out_shaping.peak_bps": ("egress_shaping.peak_kbps", 1000),
    "out_shaping.burst_bytes": ("egress_shaping.burst_kb", 1024),
    "out_shaping.enabled": ("egress_shaping.enabled", 1),
    "teaming.check_beacon": ("teaming.beacon_probing", 1),
    "teaming.active_uplinks": ("teaming.active", 1),
    "teaming.standby_uplinks": ("teaming.standby", 1),
    "num_ports": ("ports", 1),
}


def shown(path: str, value: Any) -> tuple[str, Any]:
    for prefix in ("setting.", "default_port."):
        if path.startswith(prefix):
            name, div = _DISPLAY.get(path[len(prefix) :], (path[len(prefix) :], 1))
            name = ("default_port." if prefix == "default_port." else "") + name
            break
    else:
        name, div = _DISPLAY.get(path, (path, 1))
    if path.startswith("override_allowed."):
        name = "overrides." + _OVERRIDE_NAMES.get(path.split(".", 1)[1], path.split(".", 1)[1])
    if div != 1 and isinstance(value, int) and value % div == 0:
        value //= div
    return name, value


def _keyed(dump: dict[str, Any]) -> dict[str, Any]:
    """NIOC traffic classes by key, so that a plan shows `nioc.vmotion.shares`, not a list."""
    if isinstance(dump.get("nioc"), list):
        dump["nioc"] = {t["key"]: {k: v for k, v in t.items() if k != "key"} for t in dump["nioc"]}
    return dump


def diffs(
    before: Model | None, after: Model | None, fields: tuple[str, ...], *, strict: bool = False
) -> list[FieldDiff]:
    """common.field_diffs with the distributed names (ingress_shaping, overrides, nioc.<key>)."""
    return field_diffs(before, after, fields, strict=strict, prepare=_keyed, show=shown)


def unset_description(current: Model, want: Model) -> list[FieldDiff]:
    """A rollback to "no description": the diff that plans never make (a document that
    leaves `description` out keeps the current one), so `diffs` alone would report none."""
    now = getattr(current, "description", None)
    if now and getattr(want, "description", None) is None:
        return [FieldDiff(field="description", before=now, after=None)]
    return []


def lag_port_names(
    spec: DistributedSwitchSpec, sw: DistributedSwitch | None, absent: list[str]
) -> dict[str, str]:
    """Uplink port name -> LAG name of every LAG the switch has once this plan has run.

    vCenter names a LAG's ports `<lag>-0` ... `<lag>-<uplinkNum - 1>`; a LAG the document
    resizes gets its new count, one it removes (`absent.lags`) has none."""
    gone = {x.partition("/")[2] for x in absent if x.partition("/")[0] == spec.name}
    count = {g.name: g.uplink_count or len(g.uplink_names) for g in (sw.lags if sw else [])}
    names = {g.name: list(g.uplink_names) for g in (sw.lags if sw else [])}
    for lag in spec.lags or []:
        n = lag.ports or count.get(lag.name) or 2
        if names.get(lag.name) is None or n != count.get(lag.name):
            names[lag.name] = [f"{lag.name}-{i}" for i in range(n)]
    return {port: lag for lag, ports in names.items() if lag not in gone for port in ports}


def switch_part_depends(change: Change, same_host: list[Change]) -> list[str]:
    """For parts of a switch (LAGs, PVLAN entries): adds after the switch exists; removals
    after the port groups of that switch that stop using them."""
    if change.kind != "delete":
        return [
            c.id
            for c in same_host
            if c.resource == "distributed_switch"
            and c.kind != "delete"
            and c.switch == change.switch
        ]
    return [
        c.id
        for c in same_host
        if c.resource == "distributed_port_group" and c.switch == change.switch
    ]


P = TypeVar("P", bound=Model)  # a part with a `name`
Fresh = TypeVar("Fresh")
Diff = Callable[..., list[FieldDiff]]


def absent_pairs(
    absent: Iterable[str], key: str, what: str, problems: list[str]
) -> set[tuple[str, str]]:
    """`absent.<key>` entries that name a part of a switch (`switch/name`), as pairs; each
    entry of another shape is a problem: `absent.mirrors: 'x' must be 'switch/session'`."""
    pairs: set[tuple[str, str]] = set()
    for x in absent:
        switch, slash, part = x.partition("/")
        if slash and part:
            pairs.add((switch, part))
        else:
            problems.append(f"absent.{key}: {x!r} must be {what}")
    return pairs


def conflict_check(
    now_of: Callable[[Fresh], Any], was: Any, want: Any, diff: Diff
) -> Callable[[Fresh], str | None]:
    """For a reconfigure retried on a fresh read (`vsphere.dvs.reconfigure_switch`): how
    another client changed the object since the plan, when that change is not already what
    this one wants (None: safe to send again). `now_of` finds the object in the fresh read;
    `diff(a, b, strict=...)` compares two states of it."""

    def check(fresh: Fresh) -> str | None:
        now = now_of(fresh)
        theirs = diff(was, now, strict=True) if (was is not None or now is not None) else []
        mine = diff(now, want) if want is not None else now is not None
        if theirs and mine:
            return ", ".join(f"{d.field}: {d.before} → {d.after}" for d in theirs)
        return None

    return check


def named_conflict(
    items: Callable[[DistributedSwitch], Iterable[P]],
    name: str,
    was: P | None,
    want: P | None,
    fields: tuple[str, ...],
) -> Callable[[DistributedSwitch], str | None]:
    """`conflict_check` for a named part of a switch (a NIOC pool, a mirror session):
    `items(switch)` lists the parts, the one called `name` is compared on `fields`."""

    def now_of(fresh: DistributedSwitch) -> P | None:
        return next((x for x in items(fresh) if getattr(x, "name", None) == name), None)

    def diff(a: Model | None, b: Model | None, *, strict: bool = False) -> list[FieldDiff]:
        return diffs(a, b, fields, strict=strict)

    return conflict_check(now_of, was, want, diff)


def switch_part(
    change: Change, inv: Inventory, items: Callable[[DistributedSwitch], Iterable[P]]
) -> tuple[DistributedSwitch, P | None] | None:
    """For restoring a part of a switch named `switch/name` (LAG, pool, mirror session):
    the switch now and the part as it is now (None: gone). None when the switch itself is
    gone and the part did not exist before the run (nothing to restore); a switch gone
    under a part that existed cannot be restored."""
    switch = change.switch or ""
    sw = inv.dvs_by_name.get(switch)
    if sw is None:
        if change.before is not None:
            raise CannotRestore(f"its switch {switch} no longer exists")
        return None
    name = change.name.split("/", 1)[1]
    return sw, next((x for x in items(sw) if getattr(x, "name", None) == name), None)


class SwitchPart(Resource[M]):
    """A named part of a distributed switch that vCenter keys (a NIOC pool, a mirror
    session): one change per part, named `switch/part`, in its switch's lane, after the
    switch exists. Subclasses say where the parts are (`parts`) and how one operation goes
    to the server (`reconfigure`); `send` decides it by what the switch has now (add, edit or
    remove, so a retried create finds its part); a restore keeps the server's `kept` fields
    (its key …) of the current part.
    """

    after = ("distributed_switch",)
    host_scoped = False
    kept: ClassVar[tuple[str, ...]] = ("key",)

    def parts(self, sw: DistributedSwitch) -> list[M]:
        """The switch's parts of this kind, e.g. `sw.mirrors`."""
        raise NotImplementedError

    def reconfigure(
        self,
        session: Session,
        sw: DistributedSwitch,
        op: str,
        part: M,
        conflict: Callable[[DistributedSwitch], str | None],
        facts: dict[str, Any],
    ) -> None:
        """Send `op` ("add" | "edit" | "remove") of `part` to switch `sw`; `conflict(sw)` says
        what another client changed since the plan (None: nothing), for a refusal."""
        raise NotImplementedError

    def send(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        """Add, edit or remove by what the switch has now; the server's key into `facts`."""
        moref = change.dvs_moref or api.find_switch(session, change.switch or "")
        sw = api.read_switch(session, moref)
        todo = self.to_send(change, sw)
        if todo is None:
            return
        op, part = todo
        self.reconfigure(session, sw, op, part, self.conflict_since(change), facts)
        name = change.name.split("/", 1)[1]
        now = self.parts(api.read_switch(session, moref))
        facts["key"] = next(
            (getattr(x, "key", None) for x in now if getattr(x, "name", None) == name), None
        )

    def diff(self, before: M | None, after: M | None, *, strict: bool = False) -> list[FieldDiff]:
        return diffs(before, after, self.fields, strict=strict)

    def tags(self, state: M) -> dict[str, Any]:
        return {"switch": getattr(state, "dvs", None)}

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self.send(change, session, facts)

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self.send(change, session, facts)

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self.send(change, session, facts)

    def removals(
        self,
        ctx: Context,
        gone: set[tuple[str, str]],
        in_use: Callable[[str, str], str | None] = lambda switch, name: None,
    ) -> list[Change]:
        """One delete per `absent` pair whose part exists; `in_use(switch, name)` returns a
        problem (the part still used) to refuse that delete instead."""
        changes: list[Change] = []
        for switch, name in sorted(gone):
            sw = ctx.inventory.dvs_by_name.get(switch)
            before = next(
                (x for x in (self.parts(sw) if sw else []) if getattr(x, "name", None) == name),
                None,
            )
            if sw is None or before is None:
                continue
            why = in_use(switch, name)
            if why:
                ctx.problems.append(why)
                continue
            d = self.diff(before, None)
            ch = self.change(
                f"dvs:{switch}", f"{switch}/{name}", before, None, d, dvs_moref=sw.moref
            )
            changes += [ch] if ch else []
        return changes

    def to_send(self, change: Change, sw: DistributedSwitch) -> tuple[str, M] | None:
        """What `send` sends, by what the switch `sw` has now: `("remove", current)`,
        `("add", after)` without a key, `("edit", after)` with the current part's `kept`
        fields; None when the switch already is as the change wants (a retried change)."""
        name = change.name.split("/", 1)[1]
        cur = next((x for x in self.parts(sw) if getattr(x, "name", None) == name), None)
        after = change.after if isinstance(change.after, self.model) else None
        if after is None:
            return None if cur is None else ("remove", cur)
        if cur is None:
            return "add", cast(M, after.model_copy(update={"key": None}))
        if not self.diff(cur, cast(M, after)):
            return None
        return "edit", cast(M, after.model_copy(update={k: getattr(cur, k) for k in self.kept}))

    def conflict_since(self, change: Change) -> Callable[[DistributedSwitch], str | None]:
        """`named_conflict` for this change's part: what another client changed."""
        after = change.after if isinstance(change.after, self.model) else None
        name = change.name.split("/", 1)[1]
        return named_conflict(self.parts, name, self.old(change), after, self.fields)

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        found = switch_part(change, inv, self.parts)
        if found is None:
            return None
        sw, current = found
        want = self.old(change)
        if want is not None and current is not None:
            want = want.model_copy(update={k: getattr(current, k) for k in self.kept})
        d = self.diff(current, want, strict=True)
        return self.change(f"dvs:{sw.name}", change.name, current, want, d, dvs_moref=sw.moref)


def apply_dv_security(base: SecurityPolicy, s: DvSecurity | None) -> SecurityPolicy:
    if s is None:
        return base
    out: SecurityPolicy = _set(apply_security(base, s), mac_learning=s.mac_learning)
    return out


def desired_vlan(spec: DistributedPortGroupSpec) -> VlanSpec | None:
    if spec.pvlan is not None:
        return VlanSpec(kind="pvlan", pvlan_id=spec.pvlan)
    if spec.trunk is not None:
        return VlanSpec(kind="trunk", ranges=parse_trunk(spec.trunk))
    if spec.vlan is not None:
        return VlanSpec(kind="vlan", vlan_id=spec.vlan) if spec.vlan else VlanSpec(vlan_id=0)
    return None


def apply_setting(base: DvPortSetting, spec: DistributedPortGroupSpec) -> DvPortSetting:
    """The port setting with the desired fields laid over it (None = leave alone)."""
    vlan = desired_vlan(spec)
    out: DvPortSetting = base.model_copy(
        update={
            "vlan": vlan if vlan is not None else base.vlan,
            "security": apply_dv_security(base.security, spec.security),
            "in_shaping": apply_shaping(base.in_shaping, spec.ingress_shaping),
            "out_shaping": apply_shaping(base.out_shaping, spec.egress_shaping),
            "teaming": apply_uplink_order(base.teaming, spec.teaming),
            "blocked": spec.blocked if spec.blocked is not None else base.blocked,
            "netflow": spec.netflow if spec.netflow is not None else base.netflow,
        }
    )
    return out


def binding(spec: DistributedPortGroupSpec) -> str | None:
    return BINDING_TO_API[spec.binding] if spec.binding else None
