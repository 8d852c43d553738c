"""Drift across the vCenters of a fleet: one network spelled two ways, one VLAN used twice.

Sites are built by different people at different times: `vMotion` here is `vmotion` there, and
a later migration or stretched cluster trips over it. Where two sites share layer 2 (a
stretched VLAN, an NSX bridge, the fleet file's `l2_domain`), the same VLAN ID carrying
differently named networks is worse than untidy: the two networks are one broadcast domain.

Trunks and private VLANs are compared too. A trunk (VGT) port group carries VLAN ranges: the
same trunk with other ranges at another site is drift, and on shared L2 a trunk whose ranges
cover another site's network lets a guest there tag itself into it. The PVLAN map lives on the
physical switches of an L2 domain as much as on the vDS: sites sharing L2 must give a
secondary id the same primary and type, and must not use a PVLAN id as a plain VLAN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from vnettool.models.inventory import Inventory

NAMED_DIFFERENTLY = "same port group named differently"
VLAN_COLLISION = "VLAN collision between sites sharing L2"
TRUNK_RANGES = "same trunk with different VLAN ranges"
TRUNK_REACH = "trunk reaches another site's network on shared L2"
PVLAN_CONFLICT = "PVLAN id conflict between sites sharing L2"
KINDS = (NAMED_DIFFERENTLY, VLAN_COLLISION, TRUNK_RANGES, TRUNK_REACH, PVLAN_CONFLICT)
MAX_LISTED = 8  # VLANs named in one row's detail; the rest are counted


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
    vlans: str = ""  # the VLANs concerned when more than one (ranges: "100-149,151")

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "vlan": self.vlan,
            "vlans": self.vlans or str(self.vlan),
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
    """Every pair of vCenters compared (sorted by vCenter pair): trunk ranges, then on
    shared L2 trunk reach and PVLAN ids, then VLAN by VLAN names and collisions."""
    nets = {name: networks(inv) for name, inv in inventories.items()}
    trunk = {name: trunks(inv) for name, inv in inventories.items()}
    maps = {name: pvlan_maps(inv) for name, inv in inventories.items()}
    pnets = {name: pvlan_networks(inv) for name, inv in inventories.items()}
    rows: list[FleetDrift] = []
    for a, b in combinations(sorted(nets), 2):
        domain = l2_domains.get(a)
        shared = domain is not None and domain == l2_domains.get(b)
        rows += _trunk_ranges(a, trunk[a], b, trunk[b], domain if shared else None)
        rows += _pvlan_renamed(a, pnets[a], b, pnets[b], domain if shared else None)
        if shared:
            assert domain is not None
            rows += _trunk_reach(a, trunk[a], nets[a], b, nets[b], domain)
            rows += _trunk_reach(b, trunk[b], nets[b], a, nets[a], domain)
            rows += _pvlan_conflicts(a, maps[a], nets[a], b, maps[b], nets[b], domain)
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


def _ranges_text(ranges: Sequence[tuple[int, int]]) -> str:
    return ",".join(f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in ranges)


def _merged(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, overlapping and adjacent ranges joined: two specs of one set compare equal."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def trunks(inv: Inventory) -> dict[str, tuple[tuple[int, int], ...]]:
    """Trunk port group name -> its VLAN ranges: distributed port groups with a trunk spec
    (not the uplink port groups, which trunk everything by design) and standard port groups
    on VLAN 4095 (all VLANs, 0-4094)."""
    out: dict[str, tuple[tuple[int, int], ...]] = {}
    for pg in inv.standard_port_groups:
        if pg.vlan_id == 4095:
            out[pg.name] = ((0, 4094),)
    for dpg in inv.distributed_port_groups:
        if not dpg.uplink and dpg.vlan.kind == "trunk" and dpg.vlan.ranges:
            out[dpg.name] = _merged(dpg.vlan.ranges)
    return out


@dataclass(frozen=True)
class PvlanUse:
    """One PVLAN id of a vCenter's maps: its primary and type, on which switch."""

    primary: int
    type: str
    dvs: str

    def text(self) -> str:
        if self.type == "promiscuous":
            return f"primary (promiscuous) on {self.dvs}"
        return f"{self.type} under primary {self.primary} on {self.dvs}"


def pvlan_maps(inv: Inventory) -> dict[int, set[PvlanUse]]:
    """PVLAN id (primary or secondary) -> how the vCenter's switches map it."""
    out: dict[int, set[PvlanUse]] = {}
    for d in inv.distributed_switches:
        for e in d.pvlans:
            out.setdefault(e.secondary_id, set()).add(PvlanUse(e.primary_id, e.type, d.name))
    return out


def _trunk_ranges(
    a: str,
    ta: Mapping[str, tuple[tuple[int, int], ...]],
    b: str,
    tb: Mapping[str, tuple[tuple[int, int], ...]],
    domain: str | None,
) -> list[FleetDrift]:
    """A trunk of the same name (case, spaces, dashes aside) with other ranges elsewhere:
    what one site's guests may tag is not what the other's may (any two vCenters). The same
    ranges under a name spelled differently is the same trunk named differently."""
    by_norm = {_norm(n): n for n in tb}
    rows = []
    for name_a in sorted(ta):
        name_b = by_norm.get(_norm(name_a))
        if name_b is None:
            continue
        if ta[name_a] == tb[name_b]:
            if name_a != name_b:
                text = _ranges_text(ta[name_a])
                rows.append(
                    FleetDrift(
                        NAMED_DIFFERENTLY,
                        ta[name_a][0][0],
                        a,
                        (name_a,),
                        b,
                        (name_b,),
                        domain,
                        f"trunk {text}: {name_a!r} in {a} is {name_b!r} in {b}",
                        text,
                    )
                )
            continue
        ra, rb = _ranges_text(ta[name_a]), _ranges_text(tb[name_b])
        only_a = _minus(ta[name_a], tb[name_b])
        only_b = _minus(tb[name_b], ta[name_a])
        diff = "; ".join(
            f"only in {where}: {_ranges_text(r)}" for where, r in ((a, only_a), (b, only_b)) if r
        )
        rows.append(
            FleetDrift(
                TRUNK_RANGES,
                (only_a or only_b)[0][0],
                a,
                (name_a,),
                b,
                (name_b,),
                domain,
                f"trunk {name_a!r} carries {ra} in {a}, {name_b!r} carries {rb} in {b} ({diff})",
                f"{ra} / {rb}",
            )
        )
    return rows


def _minus(
    x: Sequence[tuple[int, int]], y: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """The VLANs of ranges x that ranges y do not cover, as ranges."""
    out: list[tuple[int, int]] = []
    for lo, hi in x:
        cur = lo
        for ylo, yhi in y:
            if yhi < cur or ylo > hi:
                continue
            if ylo > cur:
                out.append((cur, ylo - 1))
            cur = max(cur, yhi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def _trunk_reach(
    x: str,
    tx: Mapping[str, tuple[tuple[int, int], ...]],
    nets_x: Mapping[int, set[str]],
    y: str,
    nets_y: Mapping[int, set[str]],
    domain: str,
) -> list[FleetDrift]:
    """Trunks of x whose ranges cover networks of y on their shared L2. A VLAN that x also
    carries as a network of the same name is the stretched network on purpose, not reach."""
    rows = []
    for name in sorted(tx):
        reached: list[tuple[int, list[str]]] = []
        for vlan in sorted(nets_y):
            if not any(lo <= vlan <= hi for lo, hi in tx[name]):
                continue
            own = {_norm(n) for n in nets_x.get(vlan, set())}
            theirs = sorted(n for n in nets_y[vlan] if _norm(n) not in own)
            if theirs:
                reached.append((vlan, theirs))
        if not reached:
            continue
        listed = ", ".join(f"VLAN {v} ({', '.join(ns)})" for v, ns in reached[:MAX_LISTED])
        more = f" and {len(reached) - MAX_LISTED} more" if len(reached) > MAX_LISTED else ""
        rows.append(
            FleetDrift(
                TRUNK_REACH,
                reached[0][0],
                x,
                (name,),
                y,
                tuple(sorted({n for _, ns in reached for n in ns})),
                domain,
                f"trunk {name!r} in {x} ({_ranges_text(tx[name])}) carries {listed}{more} of "
                f"{y}: a guest tagging them joins {y}'s networks in L2 domain {domain}",
                ",".join(str(v) for v, _ in reached),
            )
        )
    return rows


def pvlan_networks(inv: Inventory) -> dict[int, set[str]]:
    """PVLAN secondary id -> names of the DV port groups on it."""
    out: dict[int, set[str]] = {}
    for dpg in inv.distributed_port_groups:
        if dpg.vlan.kind == "pvlan" and dpg.vlan.pvlan_id is not None:
            out.setdefault(dpg.vlan.pvlan_id, set()).add(dpg.name)
    return out


def _pvlan_renamed(
    a: str, pa: Mapping[int, set[str]], b: str, pb: Mapping[int, set[str]], domain: str | None
) -> list[FleetDrift]:
    """The same PVLAN port group (one secondary id, one name but for spelling) in two
    vCenters, spelled two ways (any two vCenters, like plain VLANs)."""
    rows = []
    for vid in sorted(set(pa) & set(pb)):
        norm_b = {_norm(n): n for n in pb[vid]}
        renamed = [(x, norm_b[_norm(x)]) for x in sorted(pa[vid]) if _norm(x) in norm_b]
        renamed = [(x, y) for x, y in renamed if x != y]
        if renamed:
            text = "; ".join(f"{x!r} in {a} is {y!r} in {b}" for x, y in renamed)
            rows.append(
                FleetDrift(
                    NAMED_DIFFERENTLY,
                    vid,
                    a,
                    tuple(sorted(pa[vid])),
                    b,
                    tuple(sorted(pb[vid])),
                    domain,
                    f"PVLAN {vid}: {text}",
                    "",
                )
            )
    return rows


def _pvlan_conflicts(
    a: str,
    ma: Mapping[int, set[PvlanUse]],
    nets_a: Mapping[int, set[str]],
    b: str,
    mb: Mapping[int, set[PvlanUse]],
    nets_b: Mapping[int, set[str]],
    domain: str,
) -> list[FleetDrift]:
    """On shared L2: a PVLAN id mapped differently (another primary or type), or used by
    one site as a PVLAN id and by the other as a plain VLAN."""
    rows = []

    def row(vid: int, names_a: Sequence[str], names_b: Sequence[str], text: str) -> None:
        rows.append(
            FleetDrift(PVLAN_CONFLICT, vid, a, tuple(names_a), b, tuple(names_b), domain, text, "")
        )

    def how(uses: set[PvlanUse]) -> str:
        return " and ".join(sorted(u.text() for u in uses))

    for vid in sorted(set(ma) | set(mb)):
        ua, ub = ma.get(vid, set()), mb.get(vid, set())
        if ua and ub:
            if {(u.primary, u.type) for u in ua} != {(u.primary, u.type) for u in ub}:
                row(
                    vid,
                    sorted({u.dvs for u in ua}),
                    sorted({u.dvs for u in ub}),
                    f"PVLAN {vid} is {how(ua)} in {a} but {how(ub)} in {b}: one L2 domain "
                    f"({domain}) has one PVLAN map",
                )
            continue
        uses, plain, pv_site, vlan_site = (ua, nets_b, a, b) if ua else (ub, nets_a, b, a)
        if vid in plain:
            names = sorted(plain[vid])
            dvs = sorted({u.dvs for u in uses})
            row(
                vid,
                dvs if pv_site == a else names,
                names if pv_site == a else dvs,
                f"VLAN {vid} is PVLAN {how(uses)} in {pv_site} and the plain VLAN of "
                f"{', '.join(names)} in {vlan_site}: one id, two meanings in L2 domain {domain}",
            )
    return rows
