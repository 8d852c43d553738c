"""Port mirroring (VSPAN) sessions of distributed switches, idempotent by session name.

vCenter keys a session by a key it assigns; a document names sessions, so the planner matches
by name and apply looks the key up again just before it sends (a session another client
re-created since the plan has a new key). `absent.mirrors` ("switch/session") removes one.
Sources and destinations are checked against the switch's ports and uplinks at plan time:
vCenter would refuse a port that does not exist only when the change is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vnettool.engine.common import Context
from vnettool.engine.dvcommon import SwitchPart, absent_pairs
from vnettool.models.desired import MirrorSpec
from vnettool.models.inventory import DistributedSwitch, MirrorSession
from vnettool.models.plan import Change
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvs as dvs_spec

RESOURCE = "mirror"
FIELDS = (
    "type",
    "enabled",
    "description",
    "sources_transmitted",
    "sources_received",
    "source_vlans",
    "destination_ports",
    "destination_uplinks",
    "destination_ips",
    "packet_length",
    "sampling_rate",
    "encapsulation_vlan",
    "strip_vlan",
    "normal_traffic",
    "encapsulation",
    "erspan_id",
)


def target(switch: str, before: MirrorSession | None, m: MirrorSpec) -> MirrorSession:
    base = before or MirrorSession(dvs=switch, name=m.name, enabled=True)
    upd: dict[str, Any] = {"type": m.type}
    if m.sources is not None:
        upd |= {"sources_transmitted": list(m.sources), "sources_received": list(m.sources)}
    for f in (*FIELDS[1:], "sources_transmitted", "sources_received"):
        v = getattr(m, f, None)
        if v is not None and f not in upd:
            upd[f] = list(v) if isinstance(v, list) else v
    return base.model_copy(update=upd)


def _problems(sw: DistributedSwitch | None, ports: set[str], m: MirrorSession) -> list[str]:
    where = f"mirror {m.dvs}/{m.name}"
    if sw is None:
        return [f"{where}: switch {m.dvs} does not exist yet (create it in an earlier run)"]
    out = []
    for f in ("sources_transmitted", "sources_received", "destination_ports"):
        missing = [k for k in getattr(m, f) if k not in ports]
        if missing:
            out.append(f"{where}: {f}: port {', '.join(missing)} does not exist on {m.dvs}")
    stray = [u for u in m.destination_uplinks if u not in sw.uplink_names]
    if stray:
        out.append(f"{where}: destination_uplinks: {', '.join(stray)} not an uplink of {m.dvs}")
    if m.type != "remoteMirrorDest" and not (m.sources_transmitted or m.sources_received):
        out.append(f"{where}: a {m.type} session needs at least one source port")
    return out


class Mirrors(SwitchPart[MirrorSession]):
    """One change per session (named `switch/session`), in its switch's lane."""

    name = RESOURCE
    model = MirrorSession
    fields = FIELDS

    def parts(self, sw: DistributedSwitch) -> list[MirrorSession]:
        return sw.mirrors

    def plan(self, ctx: Context) -> list[Change]:
        absent = ctx.desired.absent.mirrors
        gone = absent_pairs(absent, "mirrors", "'switch/session'", ctx.problems)
        changes: list[Change] = []
        for spec in ctx.desired.distributed_switches:
            changes += self._wanted(ctx, spec.name, spec.mirrors or [], gone)
        return changes + self.removals(ctx, gone)

    def _wanted(
        self, ctx: Context, switch: str, mirrors: list[MirrorSpec], gone: set[tuple[str, str]]
    ) -> list[Change]:
        inv = ctx.inventory
        sw = inv.dvs_by_name.get(switch)
        current = {m.name: m for m in (sw.mirrors if sw else [])}
        ports = {k for p in inv.dv_portgroups_of(switch) for k in p.port_keys}
        names = [m.name for m in mirrors]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            ctx.problems.append(f"distributed switch {switch}: mirror {dup} given twice")
        changes: list[Change] = []
        for m in mirrors:
            if (switch, m.name) in gone:
                ctx.problems.append(f"mirror {switch}/{m.name} is both desired and absent")
                continue
            before = current.get(m.name)
            after = target(switch, before, m)
            bad = _problems(sw, ports, after)
            if bad:
                ctx.problems.extend(bad)
                continue
            d = self.diff(before, after)
            ch = self.change(
                f"dvs:{switch}",
                f"{switch}/{m.name}",
                before,
                after,
                d,
                dvs_moref=sw.moref if sw else None,
            )
            changes += [ch] if ch else []
        return changes

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """After its switch exists (sessions name its ports and uplinks)."""
        return [
            c.id
            for c in same_host
            if c.resource == "distributed_switch"
            and c.kind != "delete"
            and c.switch == change.switch
        ]

    def reconfigure(
        self,
        session: Session,
        sw: DistributedSwitch,
        op: str,
        part: MirrorSession,
        conflict: Callable[[DistributedSwitch], str | None],
        facts: dict[str, Any],
    ) -> None:
        spec = dvs_spec.switch_spec(sw, sw)
        spec.vspanConfigSpec = [dvs_spec.vspan_spec(op, part)]
        api.reconfigure_switch(session, sw, spec, conflict, facts)


resource = Mirrors()
