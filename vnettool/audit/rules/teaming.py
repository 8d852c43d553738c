"""Uplinks and teaming (HC-08, 09, 13, 14, 15, 18): redundancy, link, LAG usage, IP-hash and
beacon-probing constraints, and physical-switch diversity from CDP/LLDP.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.rules.base import finding, on_dvpg, on_spg, rule
from vnettool.models.inventory import Inventory, StandardPortGroup


def _uplinks_of(inv: Inventory, pg: StandardPortGroup) -> list[str]:
    t = pg.effective.teaming
    if t.active_uplinks is not None or t.standby_uplinks is not None:
        return [*(t.active_uplinks or []), *(t.standby_uplinks or [])]
    sw = next((s for s in inv.switches_of(pg.host) if s.name == pg.switch), None)
    return list(sw.uplinks) if sw else []


@rule(
    "HC-08",
    "Uplink redundancy",
    "medium",
    "StandardPortGroup",
    "computedPolicy.nicTeaming.nicOrder; pnic.linkSpeed",
    "FAIL where fewer than two physical NICs with link are active or standby",
    "vSphere Networking guide, teaming and failover",
    "Add a second uplink as active or standby.",
)
def uplinks_redundant(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    mgmt = {(v.host, v.portgroup) for v in inv.vmkernel_adapters if "management" in v.services}
    for pg in inv.standard_port_groups:
        sw = next((s for s in inv.switches_of(pg.host) if s.name == pg.switch), None)
        if sw is not None and not sw.uplinks:
            # a switch without uplinks is an isolated segment by design (e.g. an appliance's
            # protected side): there is no physical path to make redundant
            yield on_spg(
                "HC-08",
                "N/A",
                inv,
                pg,
                prop="vswitch.pnic",
                actual="no uplinks",
                detail="internal switch: traffic never leaves the host",
            )
            continue
        h = inv.host_by_name.get(pg.host)
        up = {p.device for p in (h.pnics if h else []) if p.link_up}
        nics = [n for n in _uplinks_of(inv, pg) if n in up]
        f = on_spg(
            "HC-08",
            "FAIL" if len(nics) < 2 else "PASS",
            inv,
            pg,
            prop="computedPolicy.nicTeaming.nicOrder",
            actual=nics or "none",
            expected=">= 2 pNICs with link",
        )
        yield f.model_copy(update={"severity": "high"}) if (pg.host, pg.name) in mgmt else f


@rule(
    "HC-09",
    "Assigned physical uplink has link",
    "medium",
    "PhysicalNic",
    "vswitch[].pnic[], proxySwitch[].pnic[], pnic[].linkSpeed",
    "FAIL for a pNIC in a switch without link",
    "vSphere Networking guide",
    "Check cabling and the switch port, or remove the NIC from the team.",
)
def assigned_uplink_has_link(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    assigned: dict[str, set[str]] = defaultdict(set)
    for sw in inv.standard_switches:
        assigned[sw.host] |= set(sw.uplinks)
    for d in inv.distributed_switches:
        for m in d.hosts:
            assigned[m.host] |= set(m.pnics)
    for h in inv.hosts:
        for p in h.pnics:
            if p.device in assigned[h.name]:
                yield finding(
                    "HC-09",
                    "PASS" if p.link_up else "FAIL",
                    "PhysicalNic",
                    f"{h.name}/{p.device}",
                    where=h.name,
                    prop="pnic.linkSpeed",
                    actual="up" if p.link_up else "down",
                    expected="up",
                )


@rule(
    "HC-13",
    "LACP / LAG configuration",
    "medium",
    "DistributedPortGroup",
    "uplinkTeamingPolicy.uplinkPortOrder; lacpGroupConfig",
    "a port group with a LAG active must have exactly that one active entry and no standby",
    "vSphere Networking guide, LACP",
    "One active LAG, standby empty, standalone uplinks unused.",
)
def lag_is_the_only_active_uplink(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        lags = {g.name for g in d.lags}
        if not lags:
            continue
        for pg in inv.dv_portgroups_of(d.name):
            t = pg.setting.teaming
            active, standby = t.active_uplinks or [], t.standby_uplinks or []
            if not (set(active) | set(standby)) & lags:
                continue
            ok = len(active) == 1 and active[0] in lags and not standby
            yield on_dvpg(
                "HC-13",
                "PASS" if ok else "FAIL",
                inv,
                pg,
                prop="uplinkTeamingPolicy.uplinkPortOrder",
                actual=f"active {active}, standby {standby}",
                expected="one active LAG, no standby",
            )


@rule(
    "HC-14",
    "IP-hash teaming rules",
    "high",
    "StandardPortGroup",
    "computedPolicy.nicTeaming (loadbalance_ip)",
    "with IP hash: no standby uplinks and no beacon probing",
    "VMware KB 1004048",
    "All uplinks active, link-status failure detection, matching static port channel.",
)
def ip_hash_teaming_valid(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in inv.standard_port_groups:
        t = pg.effective.teaming
        if t.policy != "loadbalance_ip":
            continue
        bad = bool(t.standby_uplinks) or bool(t.check_beacon)
        yield on_spg(
            "HC-14",
            "FAIL" if bad else "PASS",
            inv,
            pg,
            prop="computedPolicy.nicTeaming",
            actual=f"standby {t.standby_uplinks or []}, beacon {t.check_beacon}",
            expected="no standby, no beacon probing",
        )


@rule(
    "HC-15",
    "Beacon probing needs at least three uplinks",
    "medium",
    "StandardPortGroup",
    "computedPolicy.nicTeaming.failureCriteria.checkBeacon",
    "FAIL when beacon probing is on with fewer than 3 uplinks",
    "VMware KB 1005577",
    "Add uplinks or use link-status-only detection.",
)
def beacon_probing_has_three_uplinks(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for pg in inv.standard_port_groups:
        if not pg.effective.teaming.check_beacon:
            continue
        n = len(_uplinks_of(inv, pg))
        yield on_spg(
            "HC-15",
            "FAIL" if n < 3 else "PASS",
            inv,
            pg,
            prop="failureCriteria.checkBeacon",
            actual=f"beacon probing with {n} uplinks",
            expected=">= 3 uplinks",
        )


@rule(
    "HC-18",
    "Uplinks not all on one physical switch",
    "medium",
    "StandardSwitch",
    "QueryNetworkHint: CDP devId / LLDP chassisId per pNIC",
    "FAIL when >= 2 teamed uplinks all report the same physical switch; N/A without data",
    "VMware KB 1005577",
    "Spread team members over two physical switches.",
)
def uplinks_on_two_physical_switches(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for sw in inv.standard_switches:
        h = inv.host_by_name.get(sw.host)
        if h is None or len(sw.uplinks) < 2:
            continue
        ids = {}
        for p in h.pnics:
            if p.device in sw.uplinks and p.neighbors:
                ids[p.device] = p.neighbors[0].switch_id
        if len(ids) < len(sw.uplinks):
            yield finding(
                "HC-18",
                "N/A",
                "StandardSwitch",
                f"{sw.host}/{sw.name}",
                where=sw.host,
                switch=sw.name,
                detail="no CDP/LLDP data for every uplink (collect with neighbours)",
            )
            continue
        one = len(set(ids.values())) == 1
        yield finding(
            "HC-18",
            "FAIL" if one else "PASS",
            "StandardSwitch",
            f"{sw.host}/{sw.name}",
            where=sw.host,
            switch=sw.name,
            prop="QueryNetworkHint",
            actual="; ".join(f"{k}: {v}" for k, v in sorted(ids.items())),
            expected="at least two physical switches",
            detail="verify if the switches are stacked" if one else "",
        )
