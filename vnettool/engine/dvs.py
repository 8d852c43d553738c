"""Distributed switches: create/update/delete, MTU, uplinks, LDP, NIOC, default port config, hosts.

One change per switch (vCenter-wide, `host=None`). An update sends a partial
`VMwareDVSConfigSpec` (only what differs) with the switch's `configVersion`; when another
client changed the switch since the plan, vCenter answers `ConcurrentAccess` and the switch is
re-read: if that client touched none of this change's fields the same partial spec is resent
with the new version (their change stays), otherwise the change fails with both values named
(vsphere/dvs.py `_retrying`).

Host membership: `hosts` names the member hosts (cluster and/or globs within the target) and
optionally their pNIC -> uplink mapping. A pNIC still in use by a standard switch is refused
when it is the last uplink of a vSS that carries a management VMkernel adapter (the host would
lose management connectivity); otherwise the plan asks for the vSS to be changed first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vnettool.engine import niocpool
from vnettool.engine.common import CannotRestore, Context, guess, matches, natural_key, on_host
from vnettool.engine.dvcommon import apply_setting, diffs, lag_port_names, unset_description
from vnettool.engine.resource import Resource
from vnettool.errors import VnetError
from vnettool.impact.simulate import after_state, replace
from vnettool.models.desired import DistributedSwitchSpec, NiocSpec
from vnettool.models.inventory import (
    DistributedSwitch,
    DvsHostMember,
    Host,
    Inventory,
    NiocTraffic,
)
from vnettool.models.plan import Change, FieldDiff, HostOp
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvs as dvs_spec

RESOURCE = "distributed_switch"
FIELDS = (
    "max_mtu",
    "description",
    "uplink_names",
    "ldp_protocol",
    "ldp_operation",
    "nioc_enabled",
    "nioc",
    "default_port",
)
SHARES = {"low": 25, "normal": 50, "high": 100}


def _nioc(before: list[NiocTraffic], want: Mapping[str, NiocSpec] | None) -> list[NiocTraffic]:
    if not want:
        return before
    out = {t.key: t for t in before}
    for key, s in want.items():
        cur = out.get(key, NiocTraffic(key=key))
        upd: dict[str, Any] = {}
        if isinstance(s.shares, str):
            upd |= {"level": s.shares, "shares": SHARES[s.shares]}
        elif s.shares is not None:
            upd |= {"level": "custom", "shares": s.shares}
        if s.limit_mbps is not None:
            upd["limit_mbps"] = None if s.limit_mbps < 0 else s.limit_mbps
        if s.reservation_mbps is not None:
            upd["reservation_mbps"] = s.reservation_mbps
        out[key] = cur.model_copy(update=upd)
    return sorted(out.values(), key=lambda t: t.key)


def target(
    before: DistributedSwitch | None, spec: DistributedSwitchSpec, dc: str | None
) -> DistributedSwitch:
    base = before or DistributedSwitch(moref="", name=spec.name, uuid="", datacenter=dc)
    upd: dict[str, Any] = {
        "max_mtu": spec.max_mtu if spec.max_mtu is not None else base.max_mtu,
        "description": spec.description if spec.description is not None else base.description,
        "uplink_names": list(spec.uplinks) if spec.uplinks is not None else base.uplink_names,
        "nioc_enabled": spec.nioc if spec.nioc is not None else base.nioc_enabled,
        "nioc": _nioc(base.nioc, {str(k): v for k, v in (spec.traffic or {}).items()}),
    }
    if spec.discovery == "none":
        upd["ldp_operation"] = "none"
    elif spec.discovery is not None:
        upd["ldp_protocol"] = spec.discovery
        upd["ldp_operation"] = spec.discovery_operation or (
            base.ldp_operation if base.ldp_operation not in (None, "none") else "listen"
        )
    elif spec.discovery_operation is not None:
        upd["ldp_operation"] = spec.discovery_operation
    if spec.default_port is not None:
        upd["default_port"] = apply_setting(base.default_port, spec.default_port)
    if before is None and spec.version:
        upd["version"] = spec.version
    return base.model_copy(update=upd)


def _members(
    ctx: Context, spec: DistributedSwitchSpec, before: DistributedSwitch | None
) -> tuple[list[HostOp], list[str]]:
    """Host membership operations and the vSS changes that must run first."""
    first: list[str] = []
    if spec.hosts is None:
        return [], []
    inv = ctx.inventory
    current = {m.host: m for m in (before.hosts if before else [])}
    ops: list[HostOp] = []
    names = list(spec.uplinks or (before.uplink_names if before else []) or ["uplink1", "uplink2"])
    wanted = dict(spec.hosts.uplinks or {})
    lag_ports = lag_port_names(spec, before, ctx.desired.absent.lags)
    stray = sorted(u for u in wanted.values() if u not in names and u not in lag_ports)
    if stray:
        ports = [*names, *sorted(lag_ports)]
        ctx.problems.append(
            f"distributed switch {spec.name}: {', '.join(stray)} not an uplink or LAG port "
            f"({', '.join(ports)})"
        )
        return [], []
    # pNICs into LAG ports are bound by port key in a host edit of their own
    # (engine/hostuplinks.py), once the host is a member and the LAG exists; here the host
    # only joins (with no pNIC) when it is not a member yet.
    by_key = any(u in lag_ports for u in wanted.values())
    order = sorted(names.index(u) for u in wanted.values() if u in names)
    if not by_key and order != list(range(len(order))):
        # vCenter gives a joining host's pNICs the first free uplinks in order; a mapping with
        # gaps (vmnic3 -> uplink2 alone) would need a second, port-key based edit.
        ctx.problems.append(
            f"distributed switch {spec.name}: map pNICs to the first uplinks in order "
            f"({', '.join(names[: len(wanted)])}); gaps are not supported"
        )
        return [], []
    # pNICs in uplink order: the switch assigns them to uplink1, uplink2, ... in this order
    ordered = dict(sorted(wanted.items(), key=lambda kv: _position(names, kv[1])))
    for h in ctx.hosts:
        if not matches(h.cluster or "", spec.hosts.cluster) or not matches(
            h.name, spec.hosts.hosts
        ):
            continue
        pnics = dict(ordered)
        have = {p.device for p in h.pnics}
        missing = sorted(set(pnics) - have)
        if missing:
            ctx.problems.append(
                f"{h.name}: {spec.name}: no pNIC {', '.join(missing)}"
                + guess(missing[0], have)
                + f" (it has {', '.join(sorted(have, key=natural_key)) or 'none'})"
            )
            continue
        if not by_key:
            first += off_standard(ctx, h, spec.name, pnics)
        for d in inv.distributed_switches:
            if d.name == spec.name:
                continue
            for m in d.hosts:
                if m.host == h.name and set(m.pnics) & set(pnics):
                    ctx.problems.append(
                        f"{h.name}: {', '.join(sorted(set(m.pnics) & set(pnics)))} already "
                        f"used by {d.name}"
                    )
        cur = current.get(h.name)
        if by_key:
            if cur is None:
                ops.append(HostOp(op="add", host=h.name, moref=h.moref, pnics={}))
            continue
        if cur is None:
            ops.append(HostOp(op="add", host=h.name, moref=h.moref, pnics=pnics))
        elif spec.hosts.uplinks is not None and cur.pnics != pnics:
            ops.append(HostOp(op="edit", host=h.name, moref=h.moref, pnics=pnics))
    return ops, sorted(set(first))


def _position(names: list[str], port: str) -> int:
    """A standalone uplink's position; LAG ports (bound by key, not position) after them."""
    return names.index(port) if port in names else len(names)


def off_standard(ctx: Context, h: Host, switch: str, pnics: dict[str, str]) -> list[str]:
    """The vSS changes that must free these pNICs first (problems when they cannot)."""
    inv = ctx.inventory
    first: list[str] = []
    want_vss = {x.name: x for x in ctx.desired.standard_switches if on_host(x, h.name)}
    for p in sorted(pnics):
        for sw in inv.switches_of(h.name):
            if p not in sw.uplinks:
                continue
            mgmt = [
                v.device
                for v in inv.vmknics_of(h.name)
                if "management" in v.services
                and any(
                    pg.switch == sw.name and pg.name == v.portgroup
                    for pg in inv.portgroups_of(h.name)
                )
            ]
            # The same document may take the pNIC off the vSS: that change goes first.
            ws = want_vss.get(sw.name)
            after_vss = (
                [*(ws.uplinks or []), *(ws.standby or [])]
                if ws is not None and (ws.uplinks is not None or ws.standby is not None)
                else list(sw.uplinks)
            )
            left = [u for u in after_vss if u not in pnics]
            if mgmt and not left:
                ctx.problems.append(
                    f"{h.name}: moving {p} to {switch} would leave {sw.name} without "
                    f"uplinks and strand management adapter {', '.join(mgmt)}; migrate the "
                    "adapter first or keep another uplink"
                )
            elif p in after_vss:
                ctx.problems.append(
                    f"{h.name}: {p} is an uplink of {sw.name}; take it off there in the same "
                    f"document (standard_switches: {sw.name} uplinks without {p})"
                )
            else:
                first.append(f"standard_switch:{h.name}:{sw.name}")
    return first


def _version_problem(
    spec: DistributedSwitchSpec, before: DistributedSwitch | None, offered: list[str]
) -> str | None:
    """A version vCenter would refuse half-way through an apply, said at plan time."""
    if not spec.version:
        return None
    if before is None and offered and spec.version not in offered:
        return (
            f"distributed switch {spec.name}: version {spec.version} is not one this vCenter "
            f"can create ({', '.join(offered)})"
        )
    if before is not None and before.version and spec.version != before.version:
        return (
            f"distributed switch {spec.name} is version {before.version}, not "
            f"{spec.version}; upgrades are not done by the engine"
        )
    return None


IRREVERSIBLE = (
    "a deleted distributed switch cannot be restored by --rollback (vnettool does not "
    "re-create it with its port groups, LAGs, PVLAN map and host memberships); keep a "
    "desired-state file of it, or an export of the switch from the vSphere Client, first"
)


def _goes_with(inv: Inventory, sw: DistributedSwitch) -> list[FieldDiff]:
    """What Destroy_Task takes with the switch, so that the delete plan shows all of it."""
    pgs = sorted(p.name for p in inv.distributed_port_groups if p.dvs == sw.name and not p.uplink)
    parts: list[tuple[str, list[str]]] = [
        ("port groups", pgs),
        ("lags", sorted(g.name for g in sw.lags)),
        (
            "pvlans",
            [
                f"{e.secondary_id} {e.type} (primary {e.primary_id})"
                for e in sorted(sw.pvlans, key=lambda e: (e.primary_id, e.secondary_id))
            ],
        ),
        ("hosts", sorted(m.host for m in sw.hosts)),
    ]
    return [FieldDiff(field=f, before=v) for f, v in parts if v]


def _in_use(inv: Inventory, sw: DistributedSwitch) -> str | None:
    keys = {p.key for p in inv.distributed_port_groups if p.dvs == sw.name}
    vms = sorted(
        v.name
        for v in inv.vms
        if v.power_state == "poweredOn"
        and any(n.dvs_uuid == sw.uuid or n.dv_portgroup_key in keys for n in v.nics)
    )
    vmk = sorted(f"{v.host}/{v.device}" for v in inv.vmkernel_adapters if v.dvs_uuid == sw.uuid)
    reasons = []
    if vms:
        reasons.append(f"powered-on VMs are attached: {', '.join(vms[:5])}")
    if vmk:
        reasons.append(f"VMkernel adapters are on it: {', '.join(vmk[:5])}")
    return "; ".join(reasons) or None


def _unsafe(inv: Inventory, sw: DistributedSwitch) -> str | None:
    users = _in_use(inv, sw)
    return f"deletes {sw.name}: {users}" if users else None


def _conflict(before: DistributedSwitch, after: DistributedSwitch) -> Any:
    planned = {d.field for d in diffs(before, after, FIELDS)}

    def check(fresh: DistributedSwitch) -> str | None:
        theirs = [d for d in diffs(before, fresh, FIELDS, strict=True) if d.field in planned]
        if theirs and diffs(fresh, after, FIELDS):
            return ", ".join(f"{d.field}: {d.before} → {d.after}" for d in theirs)
        return None

    return check


def _leaving(ctx: Context) -> dict[str, list[HostOp]]:
    """Host removals (`absent.distributed_switch_hosts`) per switch, checked for users."""
    inv = ctx.inventory
    out: dict[str, list[HostOp]] = {}
    for a in ctx.desired.absent.distributed_switch_hosts:
        sw = inv.dvs_by_name.get(a.switch)
        if sw is None:
            continue
        keys = {p.key for p in inv.dv_portgroups_of(sw.name)}
        members = {m.host for m in sw.hosts}
        for h in ctx.hosts:
            if h.name not in members or not (
                matches(h.cluster or "", a.cluster) and matches(h.name, a.hosts)
            ):
                continue
            vms = sorted(
                v.name
                for v in inv.vms
                if v.host == h.name and any(n.dv_portgroup_key in keys for n in v.nics)
            )
            vmk = sorted(v.device for v in inv.vmknics_of(h.name) if v.dvs_uuid == sw.uuid)
            if vms or vmk:
                why = [f"VMs {', '.join(vms[:5])} use it"] if vms else []
                if vmk:
                    why.append(f"VMkernel adapters {', '.join(vmk)} are on it (migrate them first)")
                ctx.problems.append(f"{h.name} cannot leave {sw.name}: " + "; ".join(why))
                continue
            out.setdefault(sw.name, []).append(HostOp(op="remove", host=h.name, moref=h.moref))
    return out


def _host_diffs(ops: list[HostOp]) -> list[FieldDiff]:
    return [
        FieldDiff(
            field=f"host {o.host}",
            before=None if o.op == "add" else "member",
            after=None if o.op == "remove" else (sorted(o.pnics) or "member"),
        )
        for o in ops
    ]


def lane(switch: str) -> str:
    return f"dvs:{switch}"


class DistributedSwitches(Resource[DistributedSwitch]):
    """One vCenter-wide change per switch, in the switch's lane (members ride along)."""

    name = RESOURCE
    model = DistributedSwitch
    fields = FIELDS
    host_scoped = False

    def plan(self, ctx: Context) -> list[Change]:
        inv, desired = ctx.inventory, ctx.desired
        absent = set(desired.absent.distributed_switches)
        leaving = _leaving(ctx)
        changes: list[Change] = []
        for spec in desired.distributed_switches:
            if spec.name in absent:
                ctx.problems.append(f"distributed switch {spec.name} is both desired and absent")
                continue
            ch = self._plan_one(ctx, spec, leaving.pop(spec.name, []))
            if ch is not None:
                changes.append(ch)
        for name, ops in leaving.items():
            sw = inv.dvs_by_name[name]
            ch = self.change(
                lane(name), name, sw, sw, _host_diffs(ops), kind="update", host_ops=ops
            )
            changes += [ch] if ch else []
        for name in sorted(absent):
            before = inv.dvs_by_name.get(name)
            if before is None:
                continue
            ch = self.change(
                lane(name),
                name,
                before,
                None,
                _goes_with(inv, before),
                irreversible=IRREVERSIBLE,
                unsafe=_unsafe(inv, before),
            )
            changes += [ch] if ch else []
        return changes

    def _plan_one(
        self, ctx: Context, spec: DistributedSwitchSpec, leaving: list[HostOp]
    ) -> Change | None:
        inv = ctx.inventory
        dcs = sorted({h.datacenter for h in ctx.hosts if h.datacenter})
        before = inv.dvs_by_name.get(spec.name)
        dc = spec.datacenter or (before.datacenter if before else (dcs[0] if dcs else None))
        if before is None and dc is None:
            ctx.problems.append(f"distributed switch {spec.name}: no datacenter to create it in")
            return None
        version_problem = _version_problem(spec, before, inv.dvs_versions)
        if version_problem:
            ctx.problems.append(version_problem)
            return None
        after = target(before, spec, dc)
        host_ops, first = _members(ctx, spec, before)
        host_ops += leaving
        d = diffs(before, after, FIELDS)
        if before is None:  # what the document sets, over an empty switch
            blank = DistributedSwitch(moref="", name=spec.name, uuid="", datacenter=dc)
            d = diffs(blank, after, ("version", *FIELDS))
        d += _host_diffs(host_ops)
        if before is not None and not d:
            return None
        return self.change(
            lane(spec.name),
            spec.name,
            before,
            after,
            d,
            kind="create" if before is None else "update",
            datacenter=dc,
            host_ops=host_ops,
            after_ids=first,
        )

    def tags(self, state: DistributedSwitch) -> dict[str, Any]:
        return {"switch": state.name}

    def diff(
        self,
        before: DistributedSwitch | None,
        after: DistributedSwitch | None,
        *,
        strict: bool = False,
    ) -> list[FieldDiff]:
        return diffs(before, after, FIELDS, strict=strict)

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """Taking pNICs off a vSS waits for that vSS change; deletes wait for their parts."""
        if change.kind != "delete":
            return list(change.after_ids) + niocpool.before_lowering(change, same_host)
        return [
            c.id
            for c in same_host
            if c.switch == change.name and c.resource != RESOURCE and c.kind == "delete"
        ]

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        gone = self.old(change)
        if gone is None:
            raise VnetError(f"{change.summary()}: the change carries no before-state")
        api.destroy(session, gone.moref, gone.name)

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        after = self.new(change)
        folder = api.network_folder(session, change.datacenter or "")
        facts["moref"] = api.create_switch(session, folder, after, _ops(change))
        if after.nioc_enabled is not None:
            api.set_nioc(session, facts["moref"], after.name, after.nioc_enabled)

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        before, after = self.old(change), self.new(change)
        if before is None:
            raise VnetError(f"{change.summary()}: the change carries no before-state")
        spec = dvs_spec.switch_spec(before, after, _ops(change))
        api.reconfigure_switch(session, before, spec, _conflict(before, after), facts)
        if after.nioc_enabled is not None and after.nioc_enabled != before.nioc_enabled:
            api.set_nioc(session, before.moref, before.name, after.nioc_enabled)

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        current = inv.dvs_by_name.get(change.name)
        want = self.old(change)
        where = lane(change.name)
        if want is None:
            return None if current is None else self.change(where, change.name, current, None, [])
        if current is None:
            raise CannotRestore(
                f"distributed switch {change.name} was deleted; vnettool cannot re-create it "
                "with its port groups, LAGs, PVLAN map and host memberships (the journal keeps "
                "its before-state: recreate it from a desired-state file)"
            )
        want = want.model_copy(
            update={"config_version": current.config_version, "hosts": current.hosts}
        )
        d = diffs(current, want, FIELDS) + unset_description(current, want)
        return self.change(where, change.name, current, want, d)

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """The switch replaced, its members after the change's host operations; a new
        switch's uplink names are those its members' pNICs are given (vCenter names them)."""
        old = inv.dvs_by_name.get(change.name)
        new = after_state(change, DistributedSwitch)
        if new is not None:
            members = {m.host: m for m in (old.hosts if old else [])}
            for o in change.host_ops:
                if o.op == "remove":
                    members.pop(o.host, None)
                else:
                    members[o.host] = DvsHostMember(host=o.host, pnics=dict(o.pnics), status="up")
            names = new.uplink_names or sorted(
                {u for m in members.values() for u in m.pnics.values()}, key=natural_key
            )
            new = new.model_copy(update={"hosts": list(members.values()), "uplink_names": names})
        items = replace(inv.distributed_switches, lambda d: d.name == change.name, new)
        return inv.model_copy(update={"distributed_switches": items})


def _ops(change: Change) -> list[tuple[str, str, dict[str, str]]]:
    return [(o.op, o.moref, o.pnics) for o in change.host_ops]


resource = DistributedSwitches()
