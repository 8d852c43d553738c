"""Traffic filtering and marking: the ordered rules of a DV port group or uplink port group.

A document owns a port group's ruleset as a whole (`traffic_rules:` names the port group;
its `rules` list is every rule, in order). Rules are identified by name (their description,
the name the vSphere Client shows), so the plan says which rules are added, removed,
reordered or changed field by field, instead of "the filter changed". vCenter orders rules
by `sequence`; the engine keeps the sequence numbers a rule already has while they still
give the document's order and numbers afresh (10, 20, …) only when they do not, so a plan
that changes one rule does not renumber the others, and a rollback sends the before-state's
numbers back exactly.

Apply sends one `ReconfigureDVPortgroup_Task` with a DvsTrafficFilterConfigSpec (add / edit
/ remove by the filter's key, read just before sending), never the whole filter array,
which would drop filters of other agents. `absent.traffic_rules` removes the port group's
own ruleset (it inherits its switch's again). A ruleset holding rules whose action vnettool
does not write (rate limit, MAC rewrite, log, GRE, copy) is refused while planning: a
rollback could not put them back.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from vnettool.engine.common import CannotRestore, Context, flatten
from vnettool.engine.dvcommon import absent_pairs, conflict_check
from vnettool.engine.dvportgroup import lane
from vnettool.engine.resource import Resource
from vnettool.models.desired import (
    IP_PROTOCOLS,
    SystemQualifierSpec,
    TrafficRuleSpec,
    TrafficRulesSpec,
)
from vnettool.models.inventory import (
    DistributedPortGroup,
    Inventory,
    IpQualifier,
    MacQualifier,
    SystemQualifier,
    TrafficRule,
    TrafficRuleset,
)
from vnettool.models.plan import Change, FieldDiff
from vnettool.vsphere import dvportgroup as dvpg_api
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvport as port_spec

RESOURCE = "traffic_rules"
FIELDS = ("enabled", "precedence", "rules")
WRITABLE = ("allow", "drop", "punt", "tag")
DIRECTIONS = {"incoming": "incomingPackets", "outgoing": "outgoingPackets", "both": "both"}
# A rule's compared parts (its identity is its name; key and sequence are the server's).
RULE_PARTS = ("direction", "action", "dscp", "cos", "ip", "mac", "system")


# -- the document's ruleset -------------------------------------------------------------------
def rule_of(spec: TrafficRuleSpec) -> TrafficRule:
    """A rule spec in the inventory's terms (API units: protocol numbers, API directions)."""
    ip = mac = system = None
    if spec.ip is not None:
        q = spec.ip
        proto = IP_PROTOCOLS[q.protocol] if isinstance(q.protocol, str) else q.protocol
        ip = IpQualifier(
            source=q.source,
            destination=q.destination,
            protocol=proto,
            source_port=str(q.source_port) if q.source_port is not None else None,
            destination_port=str(q.destination_port) if q.destination_port is not None else None,
            tcp_flags=q.tcp_flags,
            negate=sorted(set(q.negate)),
        )
    if spec.mac is not None:
        m = spec.mac
        mac = MacQualifier(
            source=m.source,
            destination=m.destination,
            ethertype=m.ethertype,
            vlan=m.vlan,
            negate=sorted(set(m.negate)),
        )
    if isinstance(spec.system, SystemQualifierSpec):
        system = SystemQualifier(type=spec.system.type, negate=spec.system.negate)
    elif spec.system is not None:
        system = SystemQualifier(type=spec.system)
    return TrafficRule(
        name=spec.name,
        direction=DIRECTIONS[spec.direction],
        action=spec.action or "tag",
        dscp=spec.dscp,
        cos=spec.cos,
        ip=ip,
        mac=mac,
        system=system,
    )


def sequenced(rules: list[TrafficRule], before: dict[str, TrafficRule]) -> list[TrafficRule]:
    """`rules` (in the wanted order) with sequence numbers and the keys they already have.

    A kept rule keeps its number while the kept numbers still rise in the wanted order; a new
    rule gets one between its neighbours (10 after the one before it when there is room);
    when that cannot be done, every rule is numbered afresh 10, 20, ….
    """
    seqs: list[int | None] = [before[r.name].sequence if r.name in before else None for r in rules]
    kept = [s for s in seqs if s is not None]
    ok = all(a < b for a, b in pairwise(kept))
    out: list[int] = []
    for i, s in enumerate(seqs):
        if not ok:
            break
        if s is not None:
            out.append(s)
            continue
        lo = out[-1] if out else 0
        hi = next((x for x in seqs[i + 1 :] if x is not None), None)
        if hi is None:
            out.append(lo + 10)
        elif hi - lo > 1:
            out.append(lo + min(10, (hi - lo) // 2))
        else:
            ok = False
    if not ok:
        out = [10 * (i + 1) for i in range(len(rules))]
    return [
        r.model_copy(
            update={"sequence": n, "key": before[r.name].key if r.name in before else None}
        )
        for r, n in zip(rules, out, strict=True)
    ]


def target(before: TrafficRuleset | None, spec: TrafficRulesSpec, pg: str) -> TrafficRuleset:
    """The port group's ruleset with the document laid over it (None fields: left alone)."""
    base = before or TrafficRuleset(dvs=spec.switch, portgroup=pg, uplink=spec.uplinks)
    upd: dict[str, Any] = {}
    if spec.enabled is not None or before is None:
        upd["enabled"] = spec.enabled if spec.enabled is not None else True
    if spec.precedence is not None:
        upd["precedence"] = spec.precedence
    if spec.rules is not None:
        known = dict(idents(base.rules))
        upd["rules"] = sequenced([rule_of(r) for r in spec.rules], known)
    return base.model_copy(update=upd)


# -- diffs ------------------------------------------------------------------------------------
def idents(rules: list[TrafficRule]) -> list[tuple[str, TrafficRule]]:
    """(identity, rule) in order: the name, or `name #N` for a rule without a unique name
    (vCenter does not require one; such a rule never matches a document's rule)."""
    names = [r.name for r in rules]
    return [
        (r.name if r.name and names.count(r.name) == 1 else f"{r.name or '(unnamed)'} #{i + 1}", r)
        for i, r in enumerate(rules)
    ]


def _parts(r: TrafficRule) -> dict[str, Any]:
    return flatten(r.model_dump(include=set(RULE_PARTS), mode="json"))


def ruleset_diffs(
    before: TrafficRuleset | None, after: TrafficRuleset | None, *, strict: bool = False
) -> list[FieldDiff]:
    """enabled / precedence, then `rule X (added)` / `(removed)` (plain `rule X` when the
    whole ruleset is created or removed), `order`, and each kept rule's changed parts
    (`rule X.dscp`); sequence numbers only in strict mode (rollback)."""
    out: list[FieldDiff] = []
    for f in ("enabled", "precedence"):
        b = getattr(before, f) if before else None
        a = getattr(after, f) if after else None
        if b != a and (a is not None or strict or after is None):
            out.append(FieldDiff(field=f, before=b, after=a))
    b_rules = idents(before.rules) if before else []
    a_rules = idents(after.rules) if after else []
    b_map, a_map = dict(b_rules), dict(a_rules)
    for n, r in b_rules:
        if n not in a_map:
            label = f"rule {n} (removed)" if after is not None else f"rule {n}"
            out.append(FieldDiff(field=label, before=r.summary(), after=None))
    for i, (n, r) in enumerate(a_rules):
        if n not in b_map:
            label = f"rule {n} (added)" if before is not None else f"rule {n}"
            out.append(FieldDiff(field=label, before=None, after=f"#{i + 1} {r.summary()}"))
    b_order = [n for n, _ in b_rules if n in a_map]
    a_order = [n for n, _ in a_rules if n in b_map]
    if b_order != a_order:
        out.append(
            FieldDiff(field="order", before=[n for n, _ in b_rules], after=[n for n, _ in a_rules])
        )
    for n, r in a_rules:
        if n not in b_map:
            continue
        bp, ap = _parts(b_map[n]), _parts(r)
        for path in sorted(set(bp) | set(ap)):
            if bp.get(path) != ap.get(path):
                out.append(
                    FieldDiff(field=f"rule {n}.{path}", before=bp.get(path), after=ap.get(path))
                )
        if strict and b_map[n].sequence != r.sequence:
            out.append(
                FieldDiff(field=f"rule {n}.sequence", before=b_map[n].sequence, after=r.sequence)
            )
    return out


# -- planning helpers -------------------------------------------------------------------------
def _portgroup(inv: Inventory, switch: str, spec: TrafficRulesSpec) -> DistributedPortGroup | None:
    for p in inv.dv_portgroups_of(switch):
        if (spec.uplinks and p.uplink) or (not spec.uplinks and p.name == spec.portgroup):
            return p
    return None


def _unwritable(rs: TrafficRuleset | None) -> list[str]:
    return [
        f"{n} ({r.action})" for n, r in idents(rs.rules if rs else []) if r.action not in WRITABLE
    ]


def _conflict(was: TrafficRuleset | None, want: TrafficRuleset | None) -> Any:
    return conflict_check(lambda fresh: fresh.traffic, was, want, ruleset_diffs)


class TrafficRules(Resource[TrafficRuleset]):
    """One change per port group (named `switch/portgroup`), in the port group's lane."""

    name = RESOURCE
    model = TrafficRuleset
    fields = FIELDS
    after = ("distributed_switch", "distributed_port_group")
    host_scoped = False

    def diff(
        self, before: TrafficRuleset | None, after: TrafficRuleset | None, *, strict: bool = False
    ) -> list[FieldDiff]:
        return ruleset_diffs(before, after, strict=strict)

    def tags(self, state: TrafficRuleset) -> dict[str, Any]:
        return {"switch": state.dvs}

    def plan(self, ctx: Context) -> list[Change]:
        inv, desired = ctx.inventory, ctx.desired
        what = "'switch/portgroup' or 'switch/uplinks'"
        gone = absent_pairs(desired.absent.traffic_rules, "traffic_rules", what, ctx.problems)
        creating = {(p.switch, p.name) for p in desired.distributed_port_groups}
        dropped = set(desired.absent.distributed_port_groups)
        changes: list[Change] = []
        for spec in desired.traffic_rules:
            where = f"traffic_rules {spec.where}"
            obj = _portgroup(inv, spec.switch, spec)
            name = obj.name if obj else spec.portgroup or ""
            if (spec.switch, name) in gone or (spec.switch, spec.portgroup or "uplinks") in gone:
                ctx.problems.append(f"{where}: both desired and absent")
                continue
            if name in dropped:
                ctx.problems.append(f"{where}: the document deletes port group {name}")
                continue
            if obj is None and (spec.uplinks or (spec.switch, name) not in creating):
                what = "no uplink port group" if spec.uplinks else f"no port group {name}"
                ctx.problems.append(f"{where}: switch {spec.switch} has {what}")
                continue
            before = obj.traffic if obj else None
            bad = _unwritable(before)
            if bad:
                ctx.problems.append(
                    f"{where}: rule {', '.join(bad)} has an action vnettool does not write "
                    "(a rollback could not restore it); change it in the vSphere Client"
                )
                continue
            after = target(before, spec, name)
            ch = self._change(inv, spec.switch, name, before, after, obj)
            changes += [ch] if ch else []
        for switch, pgname in sorted(gone):
            sw_pgs = inv.dv_portgroups_of(switch)
            obj = next(
                (p for p in sw_pgs if p.name == pgname or (pgname == "uplinks" and p.uplink)), None
            )
            if obj is None or obj.traffic is None:
                continue
            bad = _unwritable(obj.traffic)
            if bad:
                ctx.problems.append(
                    f"absent.traffic_rules {switch}/{pgname}: rule {', '.join(bad)} has an "
                    "action vnettool does not write; remove it in the vSphere Client"
                )
                continue
            ch = self._change(inv, switch, obj.name, obj.traffic, None, obj)
            changes += [ch] if ch else []
        return changes

    def _change(
        self,
        inv: Inventory,
        switch: str,
        pg: str,
        before: TrafficRuleset | None,
        after: TrafficRuleset | None,
        obj: DistributedPortGroup | None,
        *,
        strict: bool = False,
    ) -> Change | None:
        sw = inv.dvs_by_name.get(switch)
        return self.change(
            lane(switch, pg),
            f"{switch}/{pg}",
            before,
            after,
            self.diff(before, after, strict=strict),
            switch=switch,
            dvs_moref=sw.moref if sw else None,
            pg_moref=obj.moref if obj else None,
        )

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """After its switch and port group exist (a port group this document creates)."""
        pg = change.name.split("/", 1)[1]
        return [
            c.id
            for c in same_host
            if c.kind == "create"
            and c.switch == change.switch
            and (
                c.resource == "distributed_switch"
                or (c.resource == "distributed_port_group" and c.name == pg)
            )
        ]

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self._send(change, session, facts)

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self._send(change, session, facts)

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self._send(change, session, facts)

    def _send(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        """Add, edit or remove the traffic filter by what the port group has now."""
        switch, pgname = change.name.split("/", 1)
        sw = api.read_switch(session, change.dvs_moref or api.find_switch(session, switch))
        moref = change.pg_moref or dvpg_api.portgroup_moref(session, sw.moref, pgname)
        current = dvpg_api.read_portgroup(session, moref, sw)
        now = current.traffic
        after = change.after if isinstance(change.after, TrafficRuleset) else None
        if after is None:
            if now is None:
                return
            spec = port_spec.traffic_filter_spec("remove", now)
        elif now is None:
            fresh = [r.model_copy(update={"key": None}) for r in after.rules]
            spec = port_spec.traffic_filter_spec("add", after.model_copy(update={"rules": fresh}))
        elif not ruleset_diffs(now, after, strict=True):
            return  # already as wanted (a resent change, or another client did it)
        else:
            keys = {n: r.key for n, r in idents(now.rules)}
            rules = [r.model_copy(update={"key": keys.get(n)}) for n, r in idents(after.rules)]
            spec = port_spec.traffic_filter_spec(
                "edit",
                after.model_copy(
                    update={"filter_key": now.filter_key, "key": now.key, "rules": rules}
                ),
            )
        dvpg_api.set_traffic_filter(
            session, moref, sw, current, spec, _conflict(self.old(change), after), facts
        )

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        switch, pgname = change.name.split("/", 1)
        pg = next((p for p in inv.dv_portgroups_of(switch) if p.name == pgname), None)
        want = self.old(change)
        if pg is None:
            if want is not None:
                raise CannotRestore(f"its port group {change.name} no longer exists")
            return None
        current = pg.traffic
        d = self.diff(current, want, strict=True)
        if not d and (current is None) == (want is None):
            return None
        return self._change(inv, switch, pgname, current, want, pg, strict=True)


resource = TrafficRules()
