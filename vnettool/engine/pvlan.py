"""PVLAN maps of distributed switches: primaries (promiscuous), isolated and community entries.

Everything is validated before any call: a secondary without its primary (ruled out by the
document's shape: secondaries are listed under their primary), an id used twice, a second
isolated secondary, an entry removed while a port group still uses it (and is not moved off it
by the same document), removing a primary that keeps secondaries. The problems are all listed
and nothing is changed.

Per switch there are at most two changes: one `ReconfigureDvs_Task` adding and editing
entries (primaries first, so vCenter accepts the secondaries in the same spec), applied before
the port groups that use them; one removing entries, applied after the port groups that leave
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vnettool.engine.common import CannotRestore, Context, guess
from vnettool.engine.dvcommon import switch_part_depends
from vnettool.engine.resource import Resource
from vnettool.models.inventory import DistributedSwitch, Inventory, PvlanEntry
from vnettool.models.plan import Change, ChangeKind, FieldDiff, PvlanOp
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvs as dvs_spec

RESOURCE = "pvlan"
ORDER = {"promiscuous": 0, "isolated": 1, "community": 2}


def _lane(switch: str) -> str:
    return f"dvs:{switch}"


def _key(e: PvlanEntry) -> str:
    return f"{e.primary_id}/{e.secondary_id}"


def _pg_pvlan_after(ctx: Context) -> dict[tuple[str, str], int | None]:
    """(switch, port group) -> PVLAN id it uses once the plan has run (None: none)."""
    out: dict[tuple[str, str], int | None] = {}
    for p in ctx.inventory.distributed_port_groups:
        out[(p.dvs, p.name)] = p.setting.vlan.pvlan_id if p.setting.vlan.kind == "pvlan" else None
    for s in ctx.desired.distributed_port_groups:
        if s.pvlan is not None:
            out[(s.switch, s.name)] = s.pvlan
        elif s.vlan is not None or s.trunk is not None:
            out[(s.switch, s.name)] = None
    for name in ctx.desired.absent.distributed_port_groups:
        for k in [k for k in out if k[1] == name]:
            out.pop(k)
    return out


def _plan(ctx: Context) -> list[Change]:
    inv, desired = ctx.inventory, ctx.desired
    want_sw = {s.name for s in desired.distributed_switches}
    gone_sw = set(desired.absent.distributed_switches)
    names = sorted({p.switch for p in desired.pvlans} | {a.switch for a in desired.absent.pvlans})
    uses = _pg_pvlan_after(ctx)
    changes: list[Change] = []
    for name in names:
        sw = inv.dvs_by_name.get(name)
        if sw is None and name not in want_sw:
            known = [*inv.dvs_by_name, *want_sw]
            ctx.problems.append(f"pvlans: no distributed switch {name}" + guess(name, known))
            continue
        if name in gone_sw:
            ctx.problems.append(f"pvlans: {name} is listed as absent")
            continue
        current = {e.secondary_id: e for e in (sw.pvlans if sw else [])}
        problems: list[str] = []
        wanted = _wanted(ctx, name, problems)
        going = _going(ctx, name, current, wanted, problems)
        final = {k: v for k, v in current.items() if k not in going}
        final.update(wanted)
        problems += _removal_problems(name, going, final, uses)
        problems += _map_problems(name, current, wanted, final)
        if problems:
            ctx.problems.extend(problems)
            continue
        changes += _switch_changes(name, sw, current, wanted, going)
    return changes


def _wanted(ctx: Context, name: str, problems: list[str]) -> dict[int, PvlanEntry]:
    """secondary id -> the entry the document wants on switch `name`."""
    wanted: dict[int, PvlanEntry] = {}
    for spec in (p for p in ctx.desired.pvlans if p.switch == name):
        for prim, sec, typ in spec.entries():
            e = PvlanEntry(dvs=name, primary_id=prim, secondary_id=sec, type=typ)  # type: ignore[arg-type]
            if sec in wanted and wanted[sec] != e:
                problems.append(
                    f"{name}: PVLAN id {sec} is given twice "
                    f"({_key(wanted[sec])} {wanted[sec].type} and {_key(e)} {typ})"
                )
            wanted[sec] = e
    return wanted


def _going(
    ctx: Context,
    name: str,
    current: dict[int, PvlanEntry],
    wanted: dict[int, PvlanEntry],
    problems: list[str],
) -> dict[int, PvlanEntry]:
    """secondary id -> the current entry `absent` removes from switch `name`."""
    going: dict[int, PvlanEntry] = {}
    for a in (x for x in ctx.desired.absent.pvlans if x.switch == name):
        for e in current.values():
            if e.secondary_id == a.secondary or e.primary_id == a.primary:
                going[e.secondary_id] = e
        if a.secondary is not None and a.secondary in wanted:
            problems.append(f"{name}: PVLAN {a.secondary} is both desired and absent")
        if a.primary is not None and any(w.primary_id == a.primary for w in wanted.values()):
            problems.append(f"{name}: PVLAN primary {a.primary} is both desired and absent")
    return going


def _removal_problems(
    name: str,
    going: dict[int, PvlanEntry],
    final: dict[int, PvlanEntry],
    uses: dict[tuple[str, str], int | None],
) -> list[str]:
    """A primary removed under its secondaries, an entry removed under a port group."""
    problems = []
    for e in going.values():
        if e.type == "promiscuous":
            kept = sorted(
                s for s, x in final.items() if x.primary_id == e.primary_id and s != e.secondary_id
            )
            if kept:
                problems.append(
                    f"{name}: cannot remove primary PVLAN {e.primary_id}: secondary "
                    f"{', '.join(map(str, kept))} still uses it (list them under absent too)"
                )
        users = sorted(pg for (s, pg), pv in uses.items() if s == name and pv == e.secondary_id)
        if users:
            problems.append(
                f"{name}: cannot remove PVLAN {_key(e)}: port group {', '.join(users)} "
                "still uses it (give it another VLAN or list it under absent)"
            )
    return problems


def _map_problems(
    name: str,
    current: dict[int, PvlanEntry],
    wanted: dict[int, PvlanEntry],
    final: dict[int, PvlanEntry],
) -> list[str]:
    """The map once planned: every secondary has its primary, one isolated per primary, no
    entry changes between primary and secondary."""
    problems = []
    for e in final.values():
        if e.type != "promiscuous":
            head = final.get(e.primary_id)
            if head is None or head.type != "promiscuous" or head.primary_id != e.primary_id:
                problems.append(
                    f"{name}: secondary PVLAN {e.secondary_id} has no primary {e.primary_id}"
                )
    isolated: dict[int, list[int]] = {}
    for e in final.values():
        if e.type == "isolated":
            isolated.setdefault(e.primary_id, []).append(e.secondary_id)
    for prim, secs in sorted(isolated.items()):
        if len(secs) > 1:
            problems.append(
                f"{name}: primary PVLAN {prim} would have more than one isolated secondary "
                f"({', '.join(map(str, sorted(secs)))}); remove the old one under absent"
            )
    for sec, e in wanted.items():
        old = current.get(sec)
        if old is not None and old.type != "promiscuous" and e.type == "promiscuous":
            problems.append(
                f"{name}: {sec} is an {old.type} secondary of {old.primary_id}; it cannot "
                "become a primary (list it under absent first)"
            )
        if old is not None and old.type == "promiscuous" and e.type != "promiscuous":
            problems.append(
                f"{name}: {sec} is a primary PVLAN; it cannot become a {e.type} secondary"
            )
    return problems


def _switch_changes(
    name: str,
    sw: DistributedSwitch | None,
    current: dict[int, PvlanEntry],
    wanted: dict[int, PvlanEntry],
    going: dict[int, PvlanEntry],
) -> list[Change]:
    """At most two: adds and edits (primaries first), then removals (secondaries first)."""
    changes: list[Change] = []
    ops: list[tuple[str, PvlanEntry]] = []
    diffs: list[FieldDiff] = []
    for sec, e in sorted(
        wanted.items(), key=lambda kv: (ORDER[kv[1].type], kv[1].primary_id, kv[0])
    ):
        old = current.get(sec)
        if old == e:
            continue
        ops.append(("add" if old is None else "edit", e))
        diffs.append(
            FieldDiff(
                field=f"pvlan {sec}",
                before=f"{old.type} of {old.primary_id}" if old else None,
                after=f"{e.type} of {e.primary_id}",
            )
        )
    extra: dict[str, Any] = {"switch": name, "dvs_moref": sw.moref if sw else None}
    if ops:
        changes.append(
            _change(
                "create" if all(op == "add" for op, _ in ops) else "update",
                name,
                sw,
                diffs,
                [PvlanOp(op=op, entry=e) for op, e in ops],  # type: ignore[arg-type]
                **extra,
            )
        )
    if going:
        rm = sorted(going.values(), key=lambda e: (-ORDER[e.type], e.primary_id, e.secondary_id))
        removed = [
            FieldDiff(field=f"pvlan {e.secondary_id}", before=f"{e.type} of {e.primary_id}")
            for e in rm
        ]
        ops_rm = [PvlanOp(op="remove", entry=e) for e in rm]
        changes.append(_change("delete", f"{name} (removed entries)", sw, removed, ops_rm, **extra))
    return changes


def _change(
    kind: ChangeKind,
    name: str,
    sw: DistributedSwitch | None,
    diffs: list[FieldDiff],
    ops: list[PvlanOp],
    **extra: Any,
) -> Change:
    """One reconfigure of a switch's PVLAN map: `before` is the switch as read (so apply can
    send its configVersion without a re-read), the entries are the `pvlan_ops`."""
    return Change(
        kind=kind,
        resource=RESOURCE,
        name=name,
        lane=_lane(extra.get("switch") or name),
        before=sw,
        diffs=diffs,
        pvlan_ops=ops,
        **extra,
    )


def _conflict(ops: Sequence[tuple[str, PvlanEntry]]) -> Any:
    def check(fresh: DistributedSwitch) -> str | None:
        have = {e.secondary_id: e for e in fresh.pvlans}
        bad = []
        for op, e in ops:
            cur = have.get(e.secondary_id)
            if op == "add" and cur is not None and cur != e:
                bad.append(f"PVLAN {e.secondary_id} now {cur.type} of {cur.primary_id}")
        return "; ".join(bad) or None

    return check


class Pvlans(Resource[DistributedSwitch]):
    """At most two changes per switch: adds/edits before the port groups, removals after."""

    name = RESOURCE
    model = DistributedSwitch
    after = ("distributed_switch",)
    host_scoped = False

    def plan(self, ctx: Context) -> list[Change]:
        return _plan(ctx)

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """Adds after the switch exists; removals after the port groups that leave them."""
        return switch_part_depends(change, same_host)

    def apply(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        """Every kind is one ReconfigureDvs_Task with the entries' operations."""
        moref = change.dvs_moref or api.find_switch(session, change.switch or "")
        ops = [(o.op, o.entry) for o in change.pvlan_ops]
        old = self.old(change)
        sw = old if old is not None and change.dvs_moref else api.read_switch(session, moref)
        # Re-read state decides what is still to do: an entry already as wanted is not resent
        # (another client may have made the same change; a second run sends nothing).
        spec = dvs_spec.switch_spec(sw, sw)
        spec.pvlanConfigSpec = [dvs_spec.pvlan_spec(op, e) for op, e in ops]
        api.reconfigure_switch(session, sw, spec, _conflict(ops), facts)

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        """Remove what was added, re-add what was removed (edits go back to the old type)."""
        switch = change.switch or ""
        sw = inv.dvs_by_name.get(switch)
        if sw is None:
            if any(o.op != "add" for o in change.pvlan_ops):
                raise CannotRestore(f"its switch {switch} no longer exists")
            return None
        have = {e.secondary_id: e for e in sw.pvlans}
        old = self.old(change)
        was = {e.secondary_id: e for e in (old.pvlans if old else [])}
        ops: list[tuple[str, PvlanEntry]] = []
        for o in change.pvlan_ops:
            e = o.entry
            if o.op == "add" and e.secondary_id in have:
                ops.append(("remove", have[e.secondary_id]))
            elif (
                o.op == "edit"
                and e.secondary_id in was
                and have.get(e.secondary_id) != was[e.secondary_id]
            ):
                ops.append(("edit", was[e.secondary_id]))
            elif o.op == "remove" and e.secondary_id not in have:
                ops.append(("add", e))
        if not ops:
            return None
        ops.sort(
            key=lambda x: (x[0] == "remove", ORDER[x[1].type] * (-1 if x[0] == "remove" else 1))
        )
        only_removes = all(op == "remove" for op, _ in ops)
        return _change(
            "delete" if only_removes else "update",
            f"{switch} (rollback)",
            sw,
            [FieldDiff(field=f"pvlan {e.secondary_id}", after=f"{op} {e.type}") for op, e in ops],
            [PvlanOp(op=op, entry=e) for op, e in ops],  # type: ignore[arg-type]
            switch=switch,
            dvs_moref=sw.moref,
        )

    def conflict(self, change: Change, inv: Inventory) -> str | None:
        """The PVLAN entries of this change that are no longer as the run left them."""
        sw = inv.dvs_by_name.get(change.switch or "")
        if sw is None:
            return f"its switch {change.switch} no longer exists"
        have = {e.secondary_id: e for e in sw.pvlans}
        moved = []
        for o in change.pvlan_ops:
            e, now = o.entry, have.get(o.entry.secondary_id)
            if o.op == "remove" and now is not None:
                moved.append(f"pvlan {e.secondary_id} exists again ({now.type})")
            elif o.op != "remove" and now != e:
                moved.append(
                    f"pvlan {e.secondary_id} is now {now.type if now else 'absent'}, "
                    f"the run set {e.type}"
                )
        return "; ".join(moved) or None


resource = Pvlans()
