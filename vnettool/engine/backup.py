"""A distributed switch as a desired-state document: what `vnettool dvs export` writes next to
vCenter's own backup, so the export can be edited and planned (export → edit → plan).

`switch_document(inv, name)` writes every setting vnettool manages of the switch, its PVLAN
map and its (non-uplink) port groups in the document's units (kbit/s, KB, the UI's failback),
so that planning the document against the inventory it came from is empty; `unexpressed`
lists what the plan of the document would still change (empty unless the inventory holds a
value the document cannot say), which the export reports instead of hiding.
Not written: host membership and migrations (not part of a switch's configuration backup) and
the switch's product version (create-only).
"""

from __future__ import annotations

from typing import Any, get_args

from vnettool.models.desired import NiocTrafficName
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    Inventory,
    MirrorSession,
)
from vnettool.models.policy import ShapingPolicy, VlanSpec
from vnettool.vsphere.specs.dvportgroup import BINDING_FROM_API, OVERRIDE_KEYS

_LEVELS = ("low", "normal", "high")
_KNOWN_TRAFFIC = set(get_args(NiocTrafficName))


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """Leave out what is unknown (None) or empty, as a person would write the document."""
    return {k: v for k, v in d.items() if v is not None and v not in ({}, [])}


def _shaping(s: ShapingPolicy) -> dict[str, Any] | None:
    out = _clean(
        {
            "enabled": s.enabled,
            "average_kbps": s.average_bps // 1000 if s.average_bps else None,
            "peak_kbps": s.peak_bps // 1000 if s.peak_bps else None,
            "burst_kb": s.burst_bytes // 1024 if s.burst_bytes else None,
        }
    )
    return out or None


def _vlan(v: VlanSpec) -> dict[str, Any]:
    if v.kind == "pvlan" and v.pvlan_id is not None:
        return {"pvlan": v.pvlan_id}
    if v.kind == "trunk":
        return {"trunk": [str(a) if a == b else f"{a}-{b}" for a, b in v.ranges]}
    if v.kind == "vlan":
        return {"vlan": v.vlan_id}
    return {"vlan": 0}


def _setting(s: DvPortSetting) -> dict[str, Any]:
    sec, team = s.security, s.teaming
    return _clean(
        {
            **_vlan(s.vlan),
            "security": _clean(
                {
                    "promiscuous": sec.allow_promiscuous,
                    "mac_changes": sec.mac_changes,
                    "forged_transmits": sec.forged_transmits,
                    "mac_learning": sec.mac_learning,
                }
            ),
            "ingress_shaping": _shaping(s.in_shaping),
            "egress_shaping": _shaping(s.out_shaping),
            "teaming": _clean(
                {
                    "policy": team.policy,
                    "notify_switches": team.notify_switches,
                    "failback": team.failback,
                    "beacon_probing": team.check_beacon,
                    "active": team.active_uplinks,
                    "standby": team.standby_uplinks,
                }
            ),
            "blocked": s.blocked,
            "netflow": s.netflow,
        }
    )


def _portgroup(p: DistributedPortGroup) -> dict[str, Any]:
    api_to_key = {v: k for k, v in OVERRIDE_KEYS.items()}
    overrides = {api_to_key[k]: v for k, v in p.override_allowed.items() if k in api_to_key}
    return _clean(
        {
            "name": p.name,
            "switch": p.dvs,
            **_setting(p.setting),
            "binding": BINDING_FROM_API.get(p.binding or "", None),
            "ports": p.num_ports,
            "auto_expand": p.auto_expand,
            "description": p.description,
            "overrides": overrides,
            "nioc_pool": None if p.nioc_pool is None else p.nioc_pool or "none",
        }
    )


def _mirror(m: MirrorSession) -> dict[str, Any]:
    both = m.sources_transmitted == m.sources_received
    return _clean(
        {
            "name": m.name,
            "type": m.type,
            "enabled": m.enabled,
            "description": m.description,
            "sources": m.sources_transmitted if both else None,
            "sources_transmitted": None if both else m.sources_transmitted,
            "sources_received": None if both else m.sources_received,
            "source_vlans": m.source_vlans,
            "destination_ports": m.destination_ports,
            "destination_uplinks": m.destination_uplinks,
            "destination_ips": m.destination_ips,
            "packet_length": m.packet_length,
            "sampling_rate": m.sampling_rate,
            "encapsulation_vlan": m.encapsulation_vlan,
            "strip_vlan": m.strip_vlan if m.type == "remoteMirrorSource" else None,
            "normal_traffic": m.normal_traffic,
            "encapsulation": m.encapsulation,
            "erspan_id": m.erspan_id if m.type == "encapsulatedRemoteMirrorSource" else None,
        }
    )


def _switch(sw: DistributedSwitch) -> dict[str, Any]:
    traffic = {}
    for t in sw.nioc:
        if t.key not in _KNOWN_TRAFFIC:
            continue  # a class this version cannot write (kept by vCenter, not touched)
        shares: Any = t.level if t.level in _LEVELS else t.shares
        traffic[t.key] = _clean(
            {
                "shares": shares,
                "limit_mbps": -1 if t.limit_mbps is None else t.limit_mbps,
                "reservation_mbps": t.reservation_mbps,
            }
        )
    nf = sw.netflow
    netflow = _clean(
        {
            "collector": nf.collector_ip,
            "collector_port": nf.collector_port if nf.collector_ip else None,
            "observation_domain": nf.observation_domain,
            "active_timeout": nf.active_timeout_s,
            "idle_timeout": nf.idle_timeout_s,
            "sampling_rate": nf.sampling_rate,
            "internal_only": nf.internal_only,
        }
    )
    hc = sw.health_check
    off = sw.ldp_operation in (None, "none")
    return _clean(
        {
            "name": sw.name,
            "max_mtu": sw.max_mtu,
            "description": sw.description,
            "uplinks": sw.uplink_names,
            "discovery": "none" if off else sw.ldp_protocol,
            "discovery_operation": None if off else sw.ldp_operation,
            "nioc": sw.nioc_enabled,
            "traffic": traffic,
            "default_port": {
                k: v
                for k, v in _setting(sw.default_port).items()
                if k not in ("pvlan",)  # a default port config cannot name a PVLAN secondary
            }
            or None,
            "lags": [
                _clean(
                    {
                        "name": g.name,
                        "ports": g.uplink_count,
                        "mode": g.mode,
                        "load_balancing": g.load_balance,
                    }
                )
                for g in sw.lags
            ],
            "netflow": netflow,
            "mirrors": [_mirror(m) for m in sw.mirrors],
            "health_check": _clean(hc.model_dump()),
            "nioc_pools": [
                _clean(
                    {
                        "name": p.name,
                        "reservation_mbps": p.reservation_mbps,
                        "description": p.description,
                    }
                )
                for p in sw.nioc_pools
            ],
        }
    )


def _pvlans(sw: DistributedSwitch) -> list[dict[str, Any]]:
    out = []
    for primary in sorted({e.primary_id for e in sw.pvlans}):
        mine = [e for e in sw.pvlans if e.primary_id == primary]
        iso = next((e.secondary_id for e in mine if e.type == "isolated"), None)
        com = sorted(e.secondary_id for e in mine if e.type == "community")
        out.append(
            _clean({"switch": sw.name, "primary": primary, "isolated": iso, "community": com})
        )
    return out


def switch_document(inv: Inventory, name: str) -> dict[str, Any]:
    """The switch, its PVLAN map and its port groups as a desired-state document (a dict)."""
    sw = inv.dvs_by_name[name]
    return _clean(
        {
            "distributed_switches": [_switch(sw)],
            "pvlans": _pvlans(sw),
            "distributed_port_groups": [
                _portgroup(p) for p in inv.dv_portgroups_of(name) if not p.uplink
            ],
        }
    )
