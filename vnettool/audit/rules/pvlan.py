"""The private-VLAN map (HC-12): every secondary has a promiscuous primary, one isolated
secondary per primary, the ids port groups use exist, and none is also a plain VLAN.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.rules.base import finding, on_dvpg, rule
from vnettool.models.inventory import DistributedSwitch, Inventory


@rule(
    "HC-12",
    "PVLAN map consistency",
    "high",
    "PvlanEntry, DistributedPortGroup",
    "dvs.config.pvlanConfig[]; PvlanSpec.pvlanId; VLAN ids of other port groups",
    "promiscuous entry per primary; one isolated per primary; used ids exist; no PVLAN id "
    "also used as a plain VLAN",
    "vSphere Networking guide, Private VLANs",
    "Add the missing entries or repoint the port group.",
)
def pvlan_map_consistent(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        entries = d.pvlans
        secondaries = {e.secondary_id for e in entries}
        promisc = {e.primary_id for e in entries if e.type == "promiscuous"}
        for e in entries:
            if e.type != "promiscuous" and e.primary_id not in promisc:
                yield _pv(d, f"{e.primary_id}/{e.secondary_id}", "no promiscuous primary entry")
        iso: dict[int, list[int]] = defaultdict(list)
        for e in entries:
            if e.type == "isolated":
                iso[e.primary_id].append(e.secondary_id)
        for p, s in iso.items():
            if len(s) > 1:
                yield _pv(d, str(p), f"{len(s)} isolated secondaries: {s}")
        plain = {
            pg.vlan.vlan_id
            for pg in inv.dv_portgroups_of(d.name)
            if pg.vlan.kind == "vlan" and pg.vlan.vlan_id is not None
        }
        for vid in sorted(plain & (secondaries | promisc)):
            yield _pv(d, str(vid), f"PVLAN id {vid} is also a plain VLAN on this switch")
        for pg in inv.dv_portgroups_of(d.name):
            if pg.vlan.kind == "pvlan":
                ok = pg.vlan.pvlan_id in secondaries
                yield on_dvpg(
                    "HC-12",
                    "PASS" if ok else "FAIL",
                    inv,
                    pg,
                    prop="defaultPortConfig.vlan.pvlanId",
                    actual=pg.vlan.pvlan_id,
                    expected="a secondary id of the PVLAN map",
                )


def _pv(d: DistributedSwitch, entry: str, why: str) -> Finding:
    return finding(
        "HC-12",
        "FAIL",
        "PvlanEntry",
        f"{d.name}/{entry}",
        object_id=d.moref,
        switch=d.name,
        prop="dvs.config.pvlanConfig",
        actual=why,
        expected="a consistent PVLAN map",
    )
