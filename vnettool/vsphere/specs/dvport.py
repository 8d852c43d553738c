"""DV port settings (VMwareDVSPortSetting): what a switch's default port config and a port
group's default port config share, and the traffic filter rules a port setting carries.

Pure: models in, partial vim specs out (only what differs between `before` and `after` is set,
so a concurrent edit of another property is never overwritten). No session, no call.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

from vnettool.models.inventory import DvPortSetting, TrafficRule, TrafficRuleset
from vnettool.models.policy import ShapingPolicy, TeamingPolicy, VlanSpec


def _bool(v: bool) -> Any:
    return vim.BoolPolicy(inherited=False, value=v)


def _vlan(v: VlanSpec) -> Any:
    if v.kind == "trunk":
        return vim.dvs.VmwareDistributedVirtualSwitch.TrunkVlanSpec(
            inherited=False, vlanId=[vim.NumericRange(start=a, end=b) for a, b in v.ranges]
        )
    if v.kind == "pvlan":
        return vim.dvs.VmwareDistributedVirtualSwitch.PvlanSpec(inherited=False, pvlanId=v.pvlan_id)
    return vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(inherited=False, vlanId=v.vlan_id or 0)


def changed(before: Any, after: Any, name: str) -> bool:
    """`after` sets `name` and `before` (None: a create) had another value."""
    a = getattr(after, name)
    return a is not None and (before is None or getattr(before, name) != a)


def unset(before: Any, after: Any, name: str) -> bool:
    """A string property set before and None after: vCenter unsets it when sent "" (only a
    rollback asks for that; plans keep what a document leaves out)."""
    return before is not None and bool(getattr(before, name)) and getattr(after, name) is None


def _shaping(before: ShapingPolicy | None, after: ShapingPolicy) -> Any:
    p = vim.dvs.DistributedVirtualPort.TrafficShapingPolicy(inherited=False)
    if changed(before, after, "enabled"):
        p.enabled = _bool(bool(after.enabled))
    for field, prop in (
        ("average_bps", "averageBandwidth"),
        ("peak_bps", "peakBandwidth"),
        ("burst_bytes", "burstSize"),
    ):
        if changed(before, after, field):
            setattr(p, prop, vim.LongPolicy(inherited=False, value=getattr(after, field)))
    return p


def _teaming(before: TeamingPolicy | None, after: TeamingPolicy) -> Any:
    t = vim.dvs.VmwareDistributedVirtualSwitch.UplinkPortTeamingPolicy(inherited=False)
    if changed(before, after, "policy"):
        t.policy = vim.StringPolicy(inherited=False, value=after.policy)
    if changed(before, after, "notify_switches"):
        t.notifySwitches = _bool(bool(after.notify_switches))
    if changed(before, after, "failback"):
        t.rollingOrder = _bool(not after.failback)
    if changed(before, after, "check_beacon"):
        t.failureCriteria = vim.dvs.VmwareDistributedVirtualSwitch.FailureCriteria(
            inherited=False, checkBeacon=_bool(bool(after.check_beacon))
        )
    if changed(before, after, "active_uplinks") or changed(before, after, "standby_uplinks"):
        t.uplinkPortOrder = vim.dvs.VmwareDistributedVirtualSwitch.UplinkPortOrderPolicy(
            inherited=False,
            activeUplinkPort=list(after.active_uplinks or []),
            standbyUplinkPort=list(after.standby_uplinks or []),
        )
    return t


def port_setting(before: DvPortSetting | None, after: DvPortSetting) -> Any | None:
    """A VMwareDVSPortSetting holding only what differs between before and after (None: nothing).

    With `before` None every set field is sent (a create).
    """
    s = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy()
    touched = False
    if (after.vlan.kind != "none" or after.vlan.vlan_id is not None) and (
        before is None or before.vlan != after.vlan
    ):
        s.vlan = _vlan(after.vlan)
        touched = True
    sec_b, sec_a = (before.security if before else None), after.security
    if any(
        changed(sec_b, sec_a, f)
        for f in ("allow_promiscuous", "mac_changes", "forged_transmits", "mac_learning")
    ):
        sp = vim.dvs.VmwareDistributedVirtualSwitch.SecurityPolicy(inherited=False)
        mm = vim.dvs.VmwareDistributedVirtualSwitch.MacManagementPolicy(inherited=False)
        for field, prop in (
            ("allow_promiscuous", "allowPromiscuous"),
            ("mac_changes", "macChanges"),
            ("forged_transmits", "forgedTransmits"),
        ):
            if getattr(sec_a, field) is not None:
                setattr(sp, prop, _bool(bool(getattr(sec_a, field))))
                setattr(mm, prop, bool(getattr(sec_a, field)))
        s.securityPolicy = sp
        if sec_a.mac_learning is not None or (sec_b is not None and sec_b.mac_learning is not None):
            if sec_a.mac_learning is not None:
                mm.macLearningPolicy = vim.dvs.VmwareDistributedVirtualSwitch.MacLearningPolicy(
                    inherited=False, enabled=sec_a.mac_learning
                )
            s.macManagementPolicy = mm
        touched = True
    for field, prop in (("in_shaping", "inShapingPolicy"), ("out_shaping", "outShapingPolicy")):
        b = getattr(before, field) if before else None
        a = getattr(after, field)
        if any(changed(b, a, f) for f in ("enabled", "average_bps", "peak_bps", "burst_bytes")):
            setattr(s, prop, _shaping(b, a))
            touched = True
    tb = before.teaming if before else None
    if any(
        changed(tb, after.teaming, f)
        for f in (
            "policy",
            "notify_switches",
            "failback",
            "check_beacon",
            "active_uplinks",
            "standby_uplinks",
        )
    ):
        s.uplinkTeamingPolicy = _teaming(tb, after.teaming)
        touched = True
    if changed(before, after, "blocked"):
        s.blocked = _bool(bool(after.blocked))
        touched = True
    if changed(before, after, "netflow"):
        s.ipfixEnabled = _bool(bool(after.netflow))
        touched = True
    return s if touched else None


# -- traffic filtering and marking ------------------------------------------------------------
TRAFFIC_AGENT = "dvfilter-generic-vmware"  # the agent vCenter gives a traffic filter


_ACTIONS = {
    "allow": vim.dvs.TrafficRule.AcceptAction,
    "drop": vim.dvs.TrafficRule.DropAction,
    "punt": vim.dvs.TrafficRule.PuntAction,
}


def _ip_address(v: str, negate: bool) -> Any:
    addr, slash, length = v.partition("/")
    if slash:
        return vim.IpRange(addressPrefix=addr, prefixLength=int(length), negate=negate)
    return vim.SingleIp(address=addr, negate=negate)


def _mac_address(v: str, negate: bool) -> Any:
    addr, slash, mask = v.partition("/")
    if slash:
        return vim.MacRange(address=addr, mask=mask, negate=negate)
    return vim.SingleMac(address=addr, negate=negate)


def _ip_port(v: str, negate: bool) -> Any:
    first, dash, last = v.partition("-")
    if dash:
        return vim.dvs.TrafficRule.IpPortRange(
            startPortNumber=int(first), endPortNumber=int(last), negate=negate
        )
    return vim.dvs.TrafficRule.SingleIpPort(portNumber=int(first), negate=negate)


def _int_expr(v: int | None, negate: bool) -> Any:
    return vim.IntExpression(value=v, negate=negate) if v is not None else None


def _rule(r: TrafficRule) -> Any:
    action: Any
    if r.action == "tag":
        action = vim.dvs.TrafficRule.UpdateTagAction(dscpTag=r.dscp, qosTag=r.cos)
    elif r.action in _ACTIONS:
        action = _ACTIONS[r.action]()
    else:  # refused at plan time; a guard against sending a rule with no action
        raise ValueError(f"rule {r.name}: vnettool does not write {r.action} actions")
    qualifiers: list[Any] = []
    if r.ip is not None:
        q, n = r.ip, set(r.ip.negate)
        qualifiers.append(
            vim.dvs.TrafficRule.IpQualifier(
                sourceAddress=_ip_address(q.source, "source" in n) if q.source else None,
                destinationAddress=(
                    _ip_address(q.destination, "destination" in n) if q.destination else None
                ),
                protocol=_int_expr(q.protocol, "protocol" in n),
                sourceIpPort=_ip_port(q.source_port, "source_port" in n) if q.source_port else None,
                destinationIpPort=(
                    _ip_port(q.destination_port, "destination_port" in n)
                    if q.destination_port
                    else None
                ),
                tcpFlags=_int_expr(q.tcp_flags, "tcp_flags" in n),
            )
        )
    if r.mac is not None:
        m, n = r.mac, set(r.mac.negate)
        qualifiers.append(
            vim.dvs.TrafficRule.MacQualifier(
                sourceAddress=_mac_address(m.source, "source" in n) if m.source else None,
                destinationAddress=(
                    _mac_address(m.destination, "destination" in n) if m.destination else None
                ),
                protocol=_int_expr(m.ethertype, "ethertype" in n),
                vlanId=_int_expr(m.vlan, "vlan" in n),
            )
        )
    if r.system is not None:
        qualifiers.append(
            vim.dvs.TrafficRule.SystemTrafficQualifier(
                typeOfSystemTraffic=vim.StringExpression(
                    value=r.system.type, negate=r.system.negate
                )
            )
        )
    return vim.dvs.TrafficRule(
        key=r.key,
        description=r.name,
        sequence=r.sequence,
        direction=r.direction or "both",
        qualifier=qualifiers,
        action=action,
    )


def traffic_filter_spec(op: str, rs: TrafficRuleset) -> Any:
    """A DvsTrafficFilterConfigSpec: add (no key), edit or remove (by the filter's key).

    Specs, not configs: a config array would replace every filter of the port, and a port
    may carry filters of other agents (a third-party dvfilter) that must stay.
    """
    spec = vim.dvs.DistributedVirtualPort.TrafficFilterConfigSpec(
        operation=op, key=rs.filter_key if op != "add" else None
    )
    if op == "remove":
        return spec
    spec.agentName = TRAFFIC_AGENT
    spec.inherited = False
    spec.trafficRuleset = vim.dvs.TrafficRuleset(
        key=rs.key if op == "edit" else None,
        enabled=rs.enabled if rs.enabled is not None else True,
        precedence=rs.precedence,
        rules=[_rule(r) for r in rs.rules],
    )
    return spec


def filter_setting(spec: Any) -> Any:
    """A port group ConfigSpec carrying only the filter policy with this filter config spec
    (its configVersion is set by the sender)."""
    policy = vim.dvs.DistributedVirtualPort.FilterPolicy(inherited=False, filterConfig=[spec])
    setting = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(filterPolicy=policy)
    return vim.dvs.DistributedVirtualPortgroup.ConfigSpec(defaultPortConfig=setting)


# -- one port's own uplink order (the latency ladder's rung) ---------------------------------
def _order_setting(order: dict[str, Any]) -> Any:
    vs = vim.dvs.VmwareDistributedVirtualSwitch
    if order.get("inherited"):
        return vs.VmwarePortConfigPolicy(
            uplinkTeamingPolicy=vs.UplinkPortTeamingPolicy(inherited=True)
        )
    return vs.VmwarePortConfigPolicy(
        uplinkTeamingPolicy=vs.UplinkPortTeamingPolicy(
            inherited=False,
            uplinkPortOrder=vs.UplinkPortOrderPolicy(
                inherited=False,
                activeUplinkPort=list(order["active"]),
                standbyUplinkPort=list(order["standby"]),
            ),
        )
    )


def port_order_specs(orders: dict[str, dict[str, Any]]) -> list[Any]:
    """DV port ConfigSpecs (by port key, in key order) giving each port its own uplink order
    (`{"active": [...], "standby": [...]}`) or making it inherit again (`{"inherited": True}`)."""
    return [
        vim.dvs.DistributedVirtualPort.ConfigSpec(
            operation="edit", key=k, setting=_order_setting(o)
        )
        for k, o in sorted(orders.items())
    ]
