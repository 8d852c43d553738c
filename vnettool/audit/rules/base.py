"""What every audit rule shares: the registry (`RULES`, `@rule`) and the finding helpers.

A rule is a `Rule` record plus a small pure function over the `Inventory` that yields one
`Finding` per object it judged (FAIL, PASS, N/A or UNKNOWN). The topic modules beside this one
register their rules on import; `vnettool.audit.rules` imports them all and puts `RULES` in
catalogue order (../shared/docs/audit-rules.md §2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from vnettool.audit.controls import labels
from vnettool.audit.model import Check, Finding, Rule, Severity, State
from vnettool.models.inventory import DistributedPortGroup, Inventory, StandardPortGroup

RULES: list[Rule] = []


def rule(
    rid: str,
    title: str,
    severity: Severity,
    scope: str,
    reads: str,
    logic: str,
    source: str,
    remediation: str,
) -> Callable[[Check], Check]:
    """Register `check` as rule `rid` (id order is the catalogue's order)."""

    def register(check: Check) -> Check:
        category = "SEC" if rid.startswith("SEC") else "HC"
        RULES.append(
            Rule(
                id=rid,
                title=title,
                category=category,
                severity=severity,
                scope=scope,
                reads=reads,
                logic=logic,
                source=source,
                remediation=remediation,
                controls=labels(rid),
                check=check,
            )
        )
        return check

    return register


# -- helpers every rule uses ------------------------------------------------------------------
def _rule(rid: str) -> Rule:
    return next(r for r in RULES if r.id == rid)


def finding(
    rid: str,
    state: State,
    object_type: str,
    obj: str,
    *,
    object_id: str = "",
    where: str | None = None,
    switch: str | None = None,
    prop: str = "",
    actual: Any = "",
    expected: Any = "",
    detail: str = "",
) -> Finding:
    """A finding of rule `rid`, its title, severity, remediation and source from the catalogue,
    so a check only says what it saw."""
    r = _rule(rid)
    return Finding(
        rule_id=rid,
        severity=r.severity,
        state=state,
        title=r.title,
        object_type=object_type,
        object=obj,
        object_id=object_id,
        host_or_cluster=where,
        switch=switch,
        property_path=prop,
        actual=text(actual),
        expected=text(expected),
        detail=detail,
        remediation=r.remediation,
        source=r.source,
        controls=r.controls,
    )


def text(v: Any) -> str:
    """How a value reads in the Findings sheet: `unset`, not `None`; lists joined."""
    if v is None:
        return "unset"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (list, tuple, set)):
        return ", ".join(map(str, v))
    return str(v)


def pg_path(inv: Inventory, pg: StandardPortGroup) -> str:
    h = inv.host_by_name.get(pg.host)
    parts = [h.datacenter if h else None, h.cluster if h else None, pg.host, pg.switch, pg.name]
    return "/".join(p for p in parts if p)


def dvpg_path(inv: Inventory, pg: DistributedPortGroup) -> str:
    d = inv.dvs_by_name.get(pg.dvs)
    return "/".join(p for p in (d.datacenter if d else None, pg.dvs, pg.name) if p)


def on_spg(rid: str, state: State, inv: Inventory, pg: StandardPortGroup, **kw: Any) -> Finding:
    """A finding about a standard port group (object path, host and switch filled in)."""
    return finding(
        rid, state, "StandardPortGroup", pg_path(inv, pg), where=pg.host, switch=pg.switch, **kw
    )


def on_dvpg(rid: str, state: State, inv: Inventory, pg: DistributedPortGroup, **kw: Any) -> Finding:
    """A finding about a DV port group (object path, moref and switch filled in)."""
    return finding(
        rid,
        state,
        "DistributedPortGroup",
        dvpg_path(inv, pg),
        object_id=pg.moref,
        switch=pg.dvs,
        **kw,
    )


def vm_portgroups(inv: Inventory) -> set[str]:
    """Names of networks some VM NIC is on (VM-facing port groups)."""
    return {n.network for v in inv.vms for n in v.nics if n.network}


def vmk_portgroups(inv: Inventory) -> set[tuple[str, str]]:
    """(host, standard port group) pairs that carry a VMkernel adapter."""
    return {(v.host, v.portgroup) for v in inv.vmkernel_adapters if v.portgroup}


def vm_dvpgs(inv: Inventory) -> set[str]:
    return {n.dv_portgroup_key for v in inv.vms for n in v.nics if n.dv_portgroup_key}


def vm_facing_dvpgs(inv: Inventory) -> Iterator[DistributedPortGroup]:
    return (p for p in inv.distributed_port_groups if not p.uplink)


def dvs_security(inv: Inventory, pg: DistributedPortGroup, field: str) -> bool | None:
    """Port group value, else the switch default (vDS inheritance)."""
    v = getattr(pg.setting.security, field)
    if v is None:
        d = inv.dvs_by_name.get(pg.dvs)
        v = getattr(d.default_port.security, field) if d else None
    return v  # type: ignore[no-any-return]
