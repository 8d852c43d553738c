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

from vnettool.engine.common import CannotRestore, Context, matches
from vnettool.engine.dvcommon import apply_setting, diffs, dv_change, unset_description
from vnettool.models.desired import DistributedSwitchSpec, NiocSpec
from vnettool.models.inventory import (
    DistributedSwitch,
    Inventory,
    NiocTraffic,
)
from vnettool.models.plan import Change, FieldDiff
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session

RESOURCE = "distributed_switch"
# created after these resources (deleted before them): engine/registry.py orders by it
AFTER: tuple[str, ...] = ()
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
) -> tuple[list[list[Any]], list[str]]:
    """Host operations [op, host name, host moref, {pnic: uplink}] and the vSS changes first."""
    first: list[str] = []
    if spec.hosts is None:
        return [], []
    inv = ctx.inventory
    current = {m.host: m for m in (before.hosts if before else [])}
    ops: list[list[Any]] = []
    names = list(spec.uplinks or (before.uplink_names if before else []) or ["uplink1", "uplink2"])
    wanted = dict(spec.hosts.uplinks or {})
    stray = sorted(u for u in wanted.values() if u not in names)
    if stray:
        ctx.problems.append(
            f"distributed switch {spec.name}: {', '.join(stray)} not an uplink ({', '.join(names)})"
        )
        return [], []
    order = sorted(names.index(u) for u in wanted.values())
    if order != list(range(len(order))):
        # vCenter gives a joining host's pNICs the first free uplinks in order; a mapping with
        # gaps (vmnic3 -> uplink2 alone) would need a second, port-key based edit.
        ctx.problems.append(
            f"distributed switch {spec.name}: map pNICs to the first uplinks in order "
            f"({', '.join(names[: len(wanted)])}); gaps are not supported"
        )
        return [], []
    # pNICs in uplink order: the switch assigns them to uplink1, uplink2, ... in this order
    ordered = dict(sorted(wanted.items(), key=lambda kv: names.index(kv[1])))
    for h in ctx.hosts:
        if not matches(h.cluster or "", spec.hosts.cluster) or not matches(
            h.name, spec.hosts.hosts
        ):
            continue
        pnics = dict(ordered)
        have = {p.device for p in h.pnics}
        missing = sorted(set(pnics) - have)
        if missing:
            ctx.problems.append(f"{h.name}: {spec.name}: no pNIC {', '.join(missing)}")
            continue
        want_vss = {x.name: x for x in ctx.desired.standard_switches}
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
                        f"{h.name}: moving {p} to {spec.name} would leave {sw.name} without "
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
        if cur is None:
            ops.append(["add", h.name, h.moref, pnics])
        elif spec.hosts.uplinks is not None and cur.pnics != pnics:
            ops.append(["edit", h.name, h.moref, pnics])
    return ops, sorted(set(first))


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


def plan(ctx: Context) -> list[Change]:
    inv, desired = ctx.inventory, ctx.desired
    absent = set(desired.absent.distributed_switches)
    dcs = sorted({h.datacenter for h in ctx.hosts if h.datacenter})
    changes: list[Change] = []
    for spec in desired.distributed_switches:
        if spec.name in absent:
            ctx.problems.append(f"distributed switch {spec.name} is both desired and absent")
            continue
        before = inv.dvs_by_name.get(spec.name)
        dc = spec.datacenter or (before.datacenter if before else (dcs[0] if dcs else None))
        if before is None and dc is None:
            ctx.problems.append(f"distributed switch {spec.name}: no datacenter to create it in")
            continue
        version_problem = _version_problem(spec, before, inv.dvs_versions)
        if version_problem:
            ctx.problems.append(version_problem)
            continue
        after = target(before, spec, dc)
        host_ops, first = _members(ctx, spec, before)
        d = diffs(before, after, FIELDS)
        if before is None:  # what the document sets, over an empty switch
            blank = DistributedSwitch(moref="", name=spec.name, uuid="", datacenter=dc)
            d = diffs(blank, after, ("version", *FIELDS))
        d += [
            FieldDiff(
                field=f"host {name}",
                before=None if op == "add" else "member",
                after=sorted(pn) or "member",
            )
            for op, name, _, pn in host_ops
        ]
        if before is not None and not d:
            continue
        changes.append(
            dv_change(
                RESOURCE,
                "create" if before is None else "update",
                spec.name,
                f"dvs:{spec.name}",
                before,
                after,
                d,
                switch=spec.name,
                datacenter=dc,
                host_ops=host_ops,
                after_ids=first,
            )
        )
    _leaving(ctx, changes)
    for name in sorted(absent):
        before = inv.dvs_by_name.get(name)
        if before is None:
            continue
        ch = dv_change(
            RESOURCE,
            "delete",
            name,
            f"dvs:{name}",
            before,
            None,
            _goes_with(inv, before),
            switch=name,
            irreversible=IRREVERSIBLE,
        )
        users = _in_use(inv, before)
        if users:
            ch.spec["unsafe"] = f"deletes {name}: {users}"
        changes.append(ch)
    return changes


def _leaving(ctx: Context, changes: list[Change]) -> None:
    """Host removals (`absent.distributed_switch_hosts`), merged into the switch's change."""
    inv = ctx.inventory
    for a in ctx.desired.absent.distributed_switch_hosts:
        sw = inv.dvs_by_name.get(a.switch)
        if sw is None:
            continue
        keys = {p.key for p in inv.dv_portgroups_of(sw.name)}
        members = {m.host for m in sw.hosts}
        ops: list[list[Any]] = []
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
                ctx.problems.append(
                    f"{h.name} cannot leave {sw.name}: "
                    + "; ".join(
                        x
                        for x in (
                            f"VMs {', '.join(vms[:5])} use it" if vms else "",
                            f"VMkernel adapters {', '.join(vmk)} are on it (migrate them first)"
                            if vmk
                            else "",
                        )
                        if x
                    )
                )
                continue
            ops.append(["remove", h.name, h.moref, {}])
        if not ops:
            continue
        diffs_ = [
            FieldDiff(field=f"host {name}", before="member", after=None) for _, name, _, _ in ops
        ]
        mine = next((c for c in changes if c.name == sw.name and c.kind != "delete"), None)
        if mine is not None:
            mine.spec["host_ops"] = [*mine.spec.get("host_ops", []), *ops]
            mine.diffs.extend(diffs_)
        else:
            changes.append(
                dv_change(
                    RESOURCE,
                    "update",
                    sw.name,
                    f"dvs:{sw.name}",
                    sw,
                    sw,
                    diffs_,
                    switch=sw.name,
                    host_ops=ops,
                )
            )


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


def depends(change: Change, same_host: list[Change]) -> list[str]:
    """A switch taking pNICs off a vSS waits for that vSS change; deletes wait for their parts."""
    if change.kind != "delete":
        return list(change.spec.get("after_ids") or [])
    return [
        c.id
        for c in same_host
        if c.spec.get("switch") == change.name and c.resource != RESOURCE and c.kind == "delete"
    ]


def _conflict(before: DistributedSwitch, after: DistributedSwitch) -> Any:
    planned = {d.field for d in diffs(before, after, FIELDS)}

    def check(fresh: DistributedSwitch) -> str | None:
        theirs = [d for d in diffs(before, fresh, FIELDS, strict=True) if d.field in planned]
        if theirs and diffs(fresh, after, FIELDS):
            return ", ".join(f"{d.field}: {d.before} → {d.after}" for d in theirs)
        return None

    return check


def apply(change: Change, session: Session, facts: dict[str, Any]) -> None:
    host_ops = [(op, moref, pn) for op, _, moref, pn in change.spec.get("host_ops") or []]
    if change.kind == "delete":
        before = DistributedSwitch.model_validate(change.spec["before"])
        api.destroy(session, before.moref, "switch", before.name)
        return
    after = DistributedSwitch.model_validate(change.spec["after"])
    if change.kind == "create":
        folder = api.network_folder(session, change.spec["datacenter"])
        facts["moref"] = api.create_switch(session, folder, after, host_ops)
        if after.nioc_enabled is not None:
            api.set_nioc(session, facts["moref"], after.name, after.nioc_enabled)
        return
    before = DistributedSwitch.model_validate(change.spec["before"])
    spec = api.switch_spec(before, after, host_ops)
    api.reconfigure_switch(session, before, spec, _conflict(before, after), facts)
    if after.nioc_enabled is not None and after.nioc_enabled != before.nioc_enabled:
        api.set_nioc(session, before.moref, before.name, after.nioc_enabled)


def restore(change: Change, facts: dict[str, Any], inv: Inventory) -> Change | None:
    current = inv.dvs_by_name.get(change.name)
    before = change.spec.get("before")
    want = DistributedSwitch.model_validate(before) if before else None
    if want is None:
        if current is None:
            return None
        return dv_change(
            RESOURCE,
            "delete",
            change.name,
            f"dvs:{change.name}",
            current,
            None,
            [],
            switch=change.name,
        )
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
    if not d:
        return None
    return dv_change(
        RESOURCE, "update", change.name, f"dvs:{change.name}", current, want, d, switch=change.name
    )
