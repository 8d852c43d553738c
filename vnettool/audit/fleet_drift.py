"""Drift across the vCenters of a fleet: one network spelled two ways, one VLAN used twice.

Sites are built by different people at different times: `vMotion` here is `vmotion` there, and
a later migration or stretched cluster trips over it. Where two sites share layer 2 (a
stretched VLAN, an NSX bridge, the fleet file's `l2_domain`), the same VLAN ID carrying
differently named networks is worse than untidy: the two networks are one broadcast domain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from vnettool.models.inventory import Inventory

NAMED_DIFFERENTLY = "same port group named differently"
VLAN_COLLISION = "VLAN collision between sites sharing L2"


@dataclass(frozen=True)
class FleetDrift:
    kind: str
    vlan: int
    vcenter_a: str
    names_a: tuple[str, ...]
    vcenter_b: str
    names_b: tuple[str, ...]
    l2_domain: str | None
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "vlan": self.vlan,
            "vcenters": [self.vcenter_a, self.vcenter_b],
            "names": {self.vcenter_a: list(self.names_a), self.vcenter_b: list(self.names_b)},
            "l2_domain": self.l2_domain,
            "detail": self.detail,
        }


def _norm(name: str) -> str:
    """What a person means by a name: case, spaces, dashes and underscores do not count."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def networks(inv: Inventory) -> dict[int, set[str]]:
    """VLAN ID → names of the port groups (standard and distributed) carrying it alone."""
    out: dict[int, set[str]] = {}
    for pg in inv.standard_port_groups:
        if 1 <= pg.vlan_id <= 4094:
            out.setdefault(pg.vlan_id, set()).add(pg.name)
    for dpg in inv.distributed_port_groups:
        vlan = dpg.vlan
        if not dpg.uplink and vlan.kind == "vlan" and vlan.vlan_id and 1 <= vlan.vlan_id <= 4094:
            out.setdefault(vlan.vlan_id, set()).add(dpg.name)
    return out


def fleet_drift(
    inventories: Mapping[str, Inventory], l2_domains: Mapping[str, str | None]
) -> list[FleetDrift]:
    """Every pair of vCenters compared VLAN by VLAN (sorted: vCenter pair, then VLAN)."""
    nets = {name: networks(inv) for name, inv in inventories.items()}
    rows: list[FleetDrift] = []
    for a, b in combinations(sorted(nets), 2):
        domain = l2_domains.get(a)
        shared = domain is not None and domain == l2_domains.get(b)
        for vlan in sorted(set(nets[a]) & set(nets[b])):
            names_a, names_b = sorted(nets[a][vlan]), sorted(nets[b][vlan])
            norm_b = {_norm(n): n for n in names_b}
            pairs = [(n, norm_b[_norm(n)]) for n in names_a if _norm(n) in norm_b]
            renamed = [(x, y) for x, y in pairs if x != y]
            if renamed:
                text = "; ".join(f"{x!r} in {a} is {y!r} in {b}" for x, y in renamed)
                rows.append(
                    FleetDrift(
                        NAMED_DIFFERENTLY,
                        vlan,
                        a,
                        tuple(names_a),
                        b,
                        tuple(names_b),
                        domain if shared else None,
                        f"VLAN {vlan}: {text}",
                    )
                )
            if shared and not pairs:
                rows.append(
                    FleetDrift(
                        VLAN_COLLISION,
                        vlan,
                        a,
                        tuple(names_a),
                        b,
                        tuple(names_b),
                        domain,
                        f"VLAN {vlan} is {', '.join(names_a)} in {a} and {', '.join(names_b)} "
                        f"in {b}, one broadcast domain in L2 domain {domain}",
                    )
                )
    return rows
