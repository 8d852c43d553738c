"""The distributed switch health check (SEC-18, HC-01..03): off outside troubleshooting, and
what its results say about the physical side while it is on.

The two pull in opposite directions: SEC-18 (DISA STIG VCSA-70/80-000267) wants the checks
off, because their probe frames describe hosts, switch and ports to the physical network;
HC-01..03 need them on to say anything. vnettool resolves it with a time-boxed run
(`vnettool healthcheck run DVS --for 10m`, which switches them off again) and with
`dvs_healthcheck_allowed` in the audit config for a switch in a declared troubleshooting
window. While the checks are off the HC rules are N/A per switch ("no data"), not PASS.
"""

from __future__ import annotations

from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.rules.base import finding, rule
from vnettool.models.inventory import (
    DistributedSwitch,
    HealthCheckResult,
    Inventory,
    VlanRange,
    format_ranges,
)


@rule(
    "SEC-18",
    "vDS health check off unless troubleshooting",
    "low",
    "DistributedSwitch",
    "dvs.config.healthCheckConfig[].enable",
    "FAIL if the VLAN/MTU or teaming check is on and the switch is not in dvs_healthcheck_allowed",
    "DISA vCenter STIG VCSA-70-000267 / VCSA-80-000267",
    "Switch the checks off (vnettool: distributed_switches: [{name, health_check: "
    "{vlan_mtu: false, teaming: false}}]); run them time-boxed with `vnettool healthcheck run`.",
)
def health_check_off(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        hc = d.health_check
        on = [n for n, v in (("VLAN/MTU", hc.vlan_mtu), ("teaming", hc.teaming)) if v]
        allowed = d.name in cfg.dvs_healthcheck_allowed
        yield finding(
            "SEC-18",
            "FAIL" if on and not allowed else "PASS",
            "DistributedSwitch",
            d.name,
            object_id=d.moref,
            switch=d.name,
            prop="dvs.config.healthCheckConfig[].enable",
            actual=", ".join(on) + " on" if on else "off",
            expected="off" + (" (or on: in dvs_healthcheck_allowed)" if allowed else ""),
            detail="troubleshooting window declared in dvs_healthcheck_allowed"
            if on and allowed
            else "",
        )


def used_vlans(inv: Inventory, d: DistributedSwitch) -> set[int]:
    """VLAN IDs the switch's port groups tag: IDs, trunk ranges, PVLAN primaries (VLAN 0 is
    untagged, not a trunk question)."""
    primary = {e.secondary_id: e.primary_id for e in d.pvlans}
    out: set[int] = set()
    for p in inv.dv_portgroups_of(d.name):
        if p.uplink:
            continue
        v = p.setting.vlan
        if v.kind == "vlan" and v.vlan_id:
            out.add(v.vlan_id)
        elif v.kind == "trunk":
            out |= {x for a, b in v.ranges for x in range(a, b + 1) if x}
        elif v.kind == "pvlan" and v.pvlan_id is not None:
            out.add(primary.get(v.pvlan_id, v.pvlan_id))
    return out


def _in(ranges: list[VlanRange], vlans: set[int]) -> list[int]:
    return sorted(v for v in vlans if any(a <= v <= b for a, b in ranges))


def _no_data(rid: str, d: DistributedSwitch, why: str) -> Finding:
    return finding(
        rid,
        "N/A",
        "DistributedSwitch",
        d.name,
        object_id=d.moref,
        switch=d.name,
        prop="dvs.runtime.hostMemberRuntime[].healthCheckResult",
        detail=why,
    )


def _judge(
    rid: str, inv: Inventory, check: str, on_of: str
) -> Iterator[Finding | tuple[DistributedSwitch, HealthCheckResult]]:
    """Each result of `check` with its switch, or the switch's N/A when there is none."""
    for d in inv.distributed_switches:
        if not getattr(d.health_check, on_of):
            yield _no_data(rid, d, "no data: the health check is off")
            continue
        results = [r for r in d.health if r.check == check]
        if not results:
            yield _no_data(rid, d, "no results yet (published after the first round)")
        for r in results:
            yield d, r


def _on_uplink(
    rid: str,
    d: DistributedSwitch,
    r: HealthCheckResult,
    bad: bool,
    prop: str,
    actual: str,
    expected: str,
) -> Finding:
    if r.check == "teaming":
        obj = f"{d.name}/{r.host}"
    else:
        pnic = f" ({r.pnic})" if r.pnic else ""
        obj = f"{d.name}/{r.host}/{r.uplink or r.uplink_port_key}{pnic}"
    return finding(
        rid,
        "FAIL" if bad else "PASS",
        "DistributedSwitch",
        obj,
        object_id=d.moref,
        where=r.host,
        switch=d.name,
        prop=prop,
        actual=actual,
        expected=expected,
    )


@rule(
    "HC-01",
    "vDS health check: VLAN trunk mismatch",
    "high",
    "DistributedSwitch x Host x Uplink",
    "runtime.hostMemberRuntime[].healthCheckResult (VMwareDVSVlanHealthCheckResult)",
    "FAIL per host and uplink where a VLAN the port groups use is not trunked",
    "vSphere Networking guide, vSphere Distributed Switch Health Check",
    "Allow the VLAN on the physical switch trunk port, or stop using it on the vDS.",
)
def vlan_trunked(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    used = {d.name: used_vlans(inv, d) for d in inv.distributed_switches}
    for x in _judge("HC-01", inv, "vlan", "vlan_mtu"):
        if isinstance(x, Finding):
            yield x
            continue
        d, r = x
        missing = _in(r.untrunked_vlans, used[d.name])
        yield _on_uplink(
            "HC-01",
            d,
            r,
            bool(missing),
            prop="healthCheckResult.untrunkedVlan",
            actual=f"used VLANs not trunked: {format_ranges([(v, v) for v in missing])}"
            if missing
            else f"not trunked: {format_ranges(r.untrunked_vlans) or 'none'}",
            expected="every used VLAN trunked",
        )


@rule(
    "HC-02",
    "vDS health check: MTU mismatch",
    "high",
    "DistributedSwitch x Host x Uplink",
    "runtime.hostMemberRuntime[].healthCheckResult (VMwareDVSMtuHealthCheckResult)",
    "FAIL if mtuMismatch or any VLAN does not support the switch MTU",
    "vSphere Networking guide, vSphere Distributed Switch Health Check",
    "Align the physical switch port MTU with the vDS maxMtu end to end.",
)
def mtu_matches(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for x in _judge("HC-02", inv, "mtu", "vlan_mtu"):
        if isinstance(x, Finding):
            yield x
            continue
        d, r = x
        bad = bool(r.mtu_mismatch or r.vlans_mtu_not_ok)
        yield _on_uplink(
            "HC-02",
            d,
            r,
            bad,
            prop="healthCheckResult.mtuMismatch",
            actual=f"mismatch; VLANs not supporting MTU {d.max_mtu}: "
            f"{format_ranges(r.vlans_mtu_not_ok) or 'none'}"
            if bad
            else "matches",
            expected=f"physical MTU >= {d.max_mtu}",
        )


@rule(
    "HC-03",
    "vDS health check: teaming mismatch",
    "high",
    "DistributedSwitch x Host",
    "runtime.hostMemberRuntime[].healthCheckResult (VMwareDVSTeamingHealthCheckResult)",
    "FAIL on iphashMismatch (IP hash without a port channel) or nonIphashMismatch",
    "vSphere Networking guide; API VMwareDVSTeamingMatchStatus",
    "Make the teaming policy and the physical port channel agree.",
)
def teaming_matches(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for x in _judge("HC-03", inv, "teaming", "teaming"):
        if isinstance(x, Finding):
            yield x
            continue
        d, r = x
        yield _on_uplink(
            "HC-03",
            d,
            r,
            r.ok is False,
            prop="healthCheckResult.teamingStatus",
            actual=r.teaming_status or "unknown",
            expected="iphashMatch or nonIphashMatch",
        )
