"""NIOC v3 network resource pools of distributed switches, idempotent by pool name.

A pool reserves bandwidth for the VM NICs of the port groups that name it (`nioc_pool` of a
DV port group), carved out of the switch's virtualMachine traffic reservation: vCenter
refuses pools whose reservations add up to more than that reservation on all uplinks, so the
planner checks the sum against the reservation the document leaves (a located problem, nothing
sent). vCenter keys pools; the key is looked up again at apply. Order: after the switch
change that sets the virtualMachine reservation, before the port groups that name a new pool;
a pool is removed only after the port groups left it (`absent.nioc_pools: [switch/pool]`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vnettool.engine.common import CannotRestore, Context
from vnettool.engine.dvcommon import SwitchPart, absent_pairs
from vnettool.models.desired import NiocPoolSpec
from vnettool.models.inventory import DistributedSwitch, NiocPool
from vnettool.models.plan import Change
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvs as dvs_spec

RESOURCE = "nioc_pool"
FIELDS = ("reservation_mbps", "description")


def target(switch: str, before: NiocPool | None, p: NiocPoolSpec) -> NiocPool:
    base = before or NiocPool(dvs=switch, name=p.name, reservation_mbps=0)
    upd: dict[str, Any] = {}
    if p.reservation_mbps is not None:
        upd["reservation_mbps"] = p.reservation_mbps
    if p.description is not None:
        upd["description"] = p.description
    return base.model_copy(update=upd)


def _room(ctx: Context, switch: str) -> tuple[int, int, int]:
    """(virtualMachine reservation per uplink, uplinks, their product) once the document ran."""
    sw = ctx.inventory.dvs_by_name.get(switch)
    spec = next((s for s in ctx.desired.distributed_switches if s.name == switch), None)
    vm = next((t for t in (sw.nioc if sw else []) if t.key == "virtualMachine"), None)
    res = vm.reservation_mbps if vm and vm.reservation_mbps else 0
    want = (spec.traffic or {}).get("virtualMachine") if spec else None
    if want is not None and want.reservation_mbps is not None:
        res = want.reservation_mbps
    uplinks = len(
        (spec.uplinks if spec and spec.uplinks else None) or (sw.uplink_names if sw else [])
    )
    return res, uplinks, res * uplinks


class NiocPools(SwitchPart[NiocPool]):
    """One change per pool (named `switch/pool`), in its switch's lane."""

    name = RESOURCE
    model = NiocPool
    fields = FIELDS
    kept = ("key", "config_version")

    def parts(self, sw: DistributedSwitch) -> list[NiocPool]:
        return sw.nioc_pools

    def plan(self, ctx: Context) -> list[Change]:
        absent = ctx.desired.absent.nioc_pools
        gone = absent_pairs(absent, "nioc_pools", "'switch/pool'", ctx.problems)
        changes: list[Change] = []
        for spec in ctx.desired.distributed_switches:
            if spec.nioc_pools is not None or any(s == spec.name for s, _ in gone):
                changes += self._wanted(ctx, spec.name, spec.nioc_pools or [], gone)

        def in_use(switch: str, name: str) -> str | None:
            users = [
                p.name
                for p in ctx.inventory.dv_portgroups_of(switch)
                if p.nioc_pool == name and not _leaves(ctx, switch, p.name, name)
            ]
            if not users:
                return None
            return (
                f"nioc_pool {switch}/{name}: still used by port group {', '.join(users)} "
                "(give them another nioc_pool, or none, in the same document)"
            )

        return changes + self.removals(ctx, gone, in_use)

    def _wanted(
        self, ctx: Context, switch: str, pools: list[NiocPoolSpec], gone: set[tuple[str, str]]
    ) -> list[Change]:
        sw = ctx.inventory.dvs_by_name.get(switch)
        current = {p.name: p for p in (sw.nioc_pools if sw else [])}
        names = [p.name for p in pools]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            ctx.problems.append(f"distributed switch {switch}: nioc_pool {dup} given twice")
        final = {n: p for n, p in current.items() if (switch, n) not in gone}
        changes: list[Change] = []
        for p in pools:
            if (switch, p.name) in gone:
                ctx.problems.append(f"nioc_pool {switch}/{p.name} is both desired and absent")
                continue
            before = current.get(p.name)
            after = target(switch, before, p)
            final[p.name] = after
            ch = self.change(
                f"dvs:{switch}",
                f"{switch}/{p.name}",
                before,
                after,
                self.diff(before, after),
                dvs_moref=sw.moref if sw else None,
            )
            changes += [ch] if ch else []
        total = sum(p.reservation_mbps or 0 for p in final.values())
        per, uplinks, room = _room(ctx, switch)
        if changes and total > room:
            ctx.problems.append(
                f"distributed switch {switch}: nioc_pools reserve {total} Mbit/s but "
                f"virtualMachine traffic reserves {per} Mbit/s on {uplinks} uplinks ({room} "
                "Mbit/s): raise traffic.virtualMachine.reservation_mbps"
            )
            return []
        return changes

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """After its switch change unless that one lowers the VM reservation (which waits for
        the pools instead: `before_lowering`); a removal after the port groups left it."""
        mine = [c for c in same_host if c.switch == change.switch]
        first = [
            c.id
            for c in mine
            if c.resource == "distributed_switch" and c.kind != "delete" and _direction(c) >= 0
        ]
        if change.kind == "delete":
            first += [c.id for c in mine if c.resource == "distributed_port_group"]
        return first

    def reconfigure(
        self,
        session: Session,
        sw: DistributedSwitch,
        op: str,
        part: NiocPool,
        conflict: Callable[[DistributedSwitch], str | None],
        facts: dict[str, Any],
    ) -> None:
        why = conflict(sw) if op == "edit" else None
        if why:
            raise CannotRestore(f"changed by another client since the plan ({why})")
        api.reconfigure_pools(session, sw, [dvs_spec.pool_spec(op, part)])


def vm_reservation(sw: Any) -> int:
    """The virtualMachine traffic reservation (Mbit/s per uplink) of a switch state."""
    t = next((t for t in (getattr(sw, "nioc", None) or []) if t.key == "virtualMachine"), None)
    return (t.reservation_mbps or 0) if t else 0


def _direction(c: Change) -> int:
    """>0 a switch change raises the VM reservation, <0 lowers it, 0 leaves it."""
    if c.kind == "create":
        return 1
    return vm_reservation(c.after) - vm_reservation(c.before)


def lowers(c: Change) -> bool:
    """Whether a switch change lowers its VM reservation."""
    return c.kind == "update" and _direction(c) < 0


def before_lowering(change: Change, same_host: list[Change]) -> list[str]:
    """For a switch change that lowers the VM reservation (a rollback, say): the pool
    removals and reductions of that switch, which must make room first (vCenter refuses a
    reservation below what the pools hold)."""
    if change.kind == "delete" or _direction(change) >= 0:
        return []
    out = []
    for c in same_host:
        if c.resource != RESOURCE or c.switch != change.name:
            continue
        if c.kind == "delete" or (c.kind == "update" and (
            (getattr(c.after, "reservation_mbps", 0) or 0)
            < (getattr(c.before, "reservation_mbps", 0) or 0))):  # fmt: skip
            out.append(c.id)
    return out


def _leaves(ctx: Context, switch: str, pg: str, pool: str) -> bool:
    """Whether the document moves port group `pg` off `pool` (or removes it)."""
    if pg in ctx.desired.absent.distributed_port_groups:
        return True
    spec = next(
        (s for s in ctx.desired.distributed_port_groups if (s.switch, s.name) == (switch, pg)),
        None,
    )
    return spec is not None and spec.nioc_pool is not None and spec.nioc_pool != pool


resource = NiocPools()
