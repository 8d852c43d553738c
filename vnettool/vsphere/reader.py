"""Turn the PropertyCollector's raw objects into vnettool's inventory models.

Kept apart from the retrieval so that the paged retrieval, a naive attribute walk (the
reference in tests and benchmarks) and the live watcher all build models the same way.
Every access tolerates unset properties: simulators and older hosts leave many of them out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from vnettool.models.inventory import (
    RULE_ACTIONS,
    Cluster,
    Datacenter,
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    DvsHostMember,
    HealthCheckConfig,
    HealthCheckResult,
    Host,
    Inventory,
    IpQualifier,
    LacpGroup,
    MacQualifier,
    MirrorSession,
    NetflowConfig,
    NiocPool,
    NiocTraffic,
    PhysicalNic,
    PvlanEntry,
    StandardPortGroup,
    StandardSwitch,
    SystemQualifier,
    TrafficRule,
    TrafficRuleset,
    VirtualMachine,
    VmkernelAdapter,
    VmNic,
    kept_extra_config,
)
from vnettool.models.policy import (
    NetworkPolicy,
    SecurityPolicy,
    ShapingPolicy,
    TeamingPolicy,
    VlanSpec,
)
from vnettool.vsphere.collector import (
    HOST_OPTIONS,
    RawObject,
    gc_paused,
    moref_id,
    moref_type,
    option_path,
)


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


def _val(obj: Any, path: str) -> Any:
    """Value of a vDS inherited-policy field (`BoolPolicy.value` and friends)."""
    v = _get(obj, path)
    return getattr(v, "value", None) if v is not None else None


def _int(v: Any) -> int | None:
    return int(v) if v is not None else None


# -- policies ---------------------------------------------------------------------------------
def _shaping(s: Any, read: Callable[[Any, str], Any] = _val) -> ShapingPolicy:
    """Shaping of a vDS port (inherited-policy values, `_val`) or a vSS (plain values, `_get`)."""
    return ShapingPolicy(
        enabled=read(s, "enabled"),
        average_bps=_int(read(s, "averageBandwidth")),
        peak_bps=_int(read(s, "peakBandwidth")),
        burst_bytes=_int(read(s, "burstSize")),
    )


def host_policy(p: Any) -> NetworkPolicy:
    if p is None:
        return NetworkPolicy()
    sec, shp, team = p.security, p.shapingPolicy, p.nicTeaming
    order = _get(team, "nicOrder")
    rolling = _get(team, "rollingOrder")
    return NetworkPolicy(
        security=SecurityPolicy(
            allow_promiscuous=_get(sec, "allowPromiscuous"),
            mac_changes=_get(sec, "macChanges"),
            forged_transmits=_get(sec, "forgedTransmits"),
        ),
        shaping=_shaping(shp, _get),
        teaming=TeamingPolicy(
            policy=_get(team, "policy"),
            notify_switches=_get(team, "notifySwitches"),
            failback=None if rolling is None else not rolling,
            check_beacon=_get(team, "failureCriteria.checkBeacon"),
            active_uplinks=list(order.activeNic or []) if order is not None else None,
            standby_uplinks=list(order.standbyNic or []) if order is not None else None,
        ),
    )


def vlan_spec(v: Any) -> VlanSpec:
    if v is None:
        return VlanSpec()
    kind = type(v).__name__
    if "Pvlan" in kind:
        return VlanSpec(kind="pvlan", pvlan_id=int(v.pvlanId))
    if "Trunk" in kind:
        return VlanSpec(kind="trunk", ranges=[(int(r.start), int(r.end)) for r in v.vlanId or []])
    vid = getattr(v, "vlanId", None)
    if vid is None or int(vid) == 0:
        return VlanSpec(kind="none", vlan_id=0)
    return VlanSpec(kind="vlan", vlan_id=int(vid))


def dv_setting(s: Any) -> DvPortSetting:
    if s is None:
        return DvPortSetting()
    mac = _get(s, "macManagementPolicy")
    if mac is not None:
        security = SecurityPolicy(
            allow_promiscuous=_get(mac, "allowPromiscuous"),
            mac_changes=_get(mac, "macChanges"),
            forged_transmits=_get(mac, "forgedTransmits"),
            mac_learning=_get(mac, "macLearningPolicy.enabled"),
        )
    else:
        security = SecurityPolicy(
            allow_promiscuous=_val(s, "securityPolicy.allowPromiscuous"),
            mac_changes=_val(s, "securityPolicy.macChanges"),
            forged_transmits=_val(s, "securityPolicy.forgedTransmits"),
        )
    team = _get(s, "uplinkTeamingPolicy")
    rolling = _val(team, "rollingOrder")
    order = _get(team, "uplinkPortOrder")
    return DvPortSetting(
        vlan=vlan_spec(_get(s, "vlan")),
        security=security,
        in_shaping=_shaping(_get(s, "inShapingPolicy")),
        out_shaping=_shaping(_get(s, "outShapingPolicy")),
        teaming=TeamingPolicy(
            policy=_val(team, "policy"),
            notify_switches=_val(team, "notifySwitches"),
            failback=None if rolling is None else not rolling,
            check_beacon=_val(team, "failureCriteria.checkBeacon"),
            active_uplinks=list(order.activeUplinkPort or []) if order is not None else None,
            standby_uplinks=list(order.standbyUplinkPort or []) if order is not None else None,
        ),
        blocked=_val(s, "blocked"),
        netflow=_val(s, "ipfixEnabled"),
    )


def netflow_config(c: Any) -> NetflowConfig:
    if c is None:
        return NetflowConfig()
    return NetflowConfig(
        collector_ip=_get(c, "collectorIpAddress") or None,
        collector_port=_int(_get(c, "collectorPort")) or None,
        observation_domain=_int(_get(c, "observationDomainId")),
        active_timeout_s=_int(_get(c, "activeFlowTimeout")),
        idle_timeout_s=_int(_get(c, "idleFlowTimeout")),
        sampling_rate=_int(_get(c, "samplingRate")),
        internal_only=_get(c, "internalFlowsOnly"),
    )


def health_check_config(items: Any) -> HealthCheckConfig:
    """config.healthCheckConfig: one VLAN/MTU and one teaming config (others are ignored)."""
    out: dict[str, Any] = {}
    for c in items or []:
        kind = getattr(c, "_wsdlName", type(c).__name__)
        field = {
            "VMwareDVSVlanMtuHealthCheckConfig": "vlan_mtu",
            "VMwareDVSTeamingHealthCheckConfig": "teaming",
        }.get(kind)
        if field is not None:
            out[field] = _get(c, "enable")
            out[f"{field}_interval"] = _int(_get(c, "interval"))
    return HealthCheckConfig(**out)


def _ranges(items: Any) -> list[tuple[int, int]]:
    return [(int(r.start), int(r.end)) for r in items or []]


_HEALTH_KINDS = {
    "VMwareDVSVlanHealthCheckResult": "vlan",
    "VMwareDVSMtuHealthCheckResult": "mtu",
    "VMwareDVSTeamingHealthCheckResult": "teaming",
}


def health_results(
    runtime: Any, cfg: Any, host_name: dict[str, str], uplink_names: list[str]
) -> list[HealthCheckResult]:
    """runtime.hostMemberRuntime[].healthCheckResult, per host and uplink. The uplink port key
    is named after the member's uplink (its position in config.host[].uplinkPortKey is the
    uplink's position in the switch's uplink names) and the pNIC backing it."""
    uplink: dict[str, tuple[str | None, str | None]] = {}
    for hm in _get(cfg, "host") or []:
        keys = list(_get(hm, "uplinkPortKey") or [])
        backing = {
            s.uplinkPortKey: str(s.pnicDevice) for s in _get(hm, "config.backing.pnicSpec") or []
        }
        for i, k in enumerate(keys):
            uplink[k] = (uplink_names[i] if i < len(uplink_names) else None, backing.get(k))
    out = []
    for m in runtime or []:
        host = host_name.get(moref_id(_get(m, "host")) or "", moref_id(_get(m, "host")) or "")
        for r in _get(m, "healthCheckResult") or []:
            kind = getattr(r, "_wsdlName", type(r).__name__)
            key = _get(r, "uplinkPortKey")
            name, pnic = uplink.get(key, (None, None)) if key is not None else (None, None)
            out.append(
                HealthCheckResult(
                    host=host,
                    check=_HEALTH_KINDS.get(kind, kind),
                    uplink=name,
                    uplink_port_key=key,
                    pnic=pnic,
                    summary=_get(r, "summary") or None,
                    trunked_vlans=_ranges(_get(r, "trunkedVlan")),
                    untrunked_vlans=_ranges(_get(r, "untrunkedVlan")),
                    mtu_mismatch=_get(r, "mtuMismatch"),
                    vlans_mtu_ok=_ranges(_get(r, "vlanSupportSwitchMtu")),
                    vlans_mtu_not_ok=_ranges(_get(r, "vlanNotSupportSwitchMtu")),
                    teaming_status=_get(r, "teamingStatus"),
                )
            )
    order = {"vlan": 0, "mtu": 1, "teaming": 2}
    return sorted(out, key=lambda x: (x.host, x.uplink or "", order.get(x.check, 3), x.check))


def nioc_pools(dvs: str, items: Any) -> list[NiocPool]:
    return sorted(
        (
            NiocPool(
                dvs=dvs,
                name=_get(x, "name") or _get(x, "key") or "",
                key=_get(x, "key"),
                description=_get(x, "description") or None,
                reservation_mbps=_int(_get(x, "allocationInfo.reservationQuota")),
                config_version=_get(x, "configVersion"),
            )
            for x in items or []
        ),
        key=lambda p: p.name,
    )


def _ports(p: Any, field: str) -> list[Any]:
    return list(_get(p, field) or []) if p is not None else []


def mirror_session(dvs: str, m: Any) -> MirrorSession:
    tx, rx, dst = (
        _get(m, f) for f in ("sourcePortTransmitted", "sourcePortReceived", "destinationPort")
    )
    return MirrorSession(
        dvs=dvs,
        name=_get(m, "name") or "",
        key=_get(m, "key"),
        type=_get(m, "sessionType"),
        enabled=_get(m, "enabled"),
        description=_get(m, "description") or None,
        sources_transmitted=_ports(tx, "portKey"),
        sources_received=_ports(rx, "portKey"),
        source_vlans=[int(v) for v in _ports(rx, "vlans")],
        destination_ports=_ports(dst, "portKey"),
        destination_uplinks=_ports(dst, "uplinkPortName"),
        destination_ips=_ports(dst, "ipAddress"),
        packet_length=_int(_get(m, "mirroredPacketLength")) or None,
        sampling_rate=_int(_get(m, "samplingRate")) or None,
        encapsulation_vlan=_int(_get(m, "encapsulationVlanId")) or None,
        strip_vlan=_get(m, "stripOriginalVlan"),
        normal_traffic=_get(m, "normalTrafficAllowed"),
        encapsulation=_get(m, "encapType") or None,
        erspan_id=_int(_get(m, "erspanId")),
    )


# -- assembly ---------------------------------------------------------------------------------
class Resolver:
    """Names and ancestry of objects, for turning morefs into human names."""

    def __init__(self, raw: dict[str, RawObject]) -> None:
        self.raw = raw

    def name(self, moref: str | None) -> str | None:
        obj = self.raw.get(moref or "")
        return obj.props.get("name") if obj else None

    def ancestor(self, moref: str, type_name: str) -> RawObject | None:
        seen = 0
        cur = self.raw.get(moref)
        while cur is not None and seen < 64:
            parent = cur.props.get("parent")
            if parent is None:
                return None
            cur = self.raw.get(moref_id(parent))
            if cur is not None and cur.type == type_name:
                return cur
            seen += 1
        return None


DVS_TYPES = ("DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch")


def sort_key(model: Any) -> tuple[Any, ...]:
    """Inventory order: by identity, then moref, so that two VMs of the same name (vCenter
    allows it in different folders) keep one order whatever order the server sent them in."""
    return (*model.identity(), getattr(model, "moref", ""))


def cluster_from_raw(o: RawObject, r: Resolver) -> Cluster:
    dc = r.ancestor(o.moref, "Datacenter")
    return Cluster(
        moref=o.moref,
        name=o.props.get("name", o.moref),
        datacenter=dc.props.get("name", "") if dc else "",
        drs_enabled=o.props.get("configuration.drsConfig.enabled"),
        ha_enabled=o.props.get("configuration.dasConfig.enabled"),
    )


def uplink_portgroups(dvs_list: Iterable[RawObject]) -> set[str]:
    """Morefs of the switches' uplink port groups (a port group does not say it is one)."""
    return {
        moref_id(m) for o in dvs_list for m in _get(o.props.get("config"), "uplinkPortgroup") or []
    }


def build_inventory(
    raw: dict[str, RawObject], vcenter: str = "", api_version: str | None = None, version: str = ""
) -> Inventory:
    """Every model from the raw store (the garbage collector paused: `collector.gc_paused`)."""
    with gc_paused():
        return _build_inventory(raw, vcenter, api_version, version)


def _build_inventory(
    raw: dict[str, RawObject], vcenter: str, api_version: str | None, version: str
) -> Inventory:
    r = Resolver(raw)
    by_type: dict[str, list[RawObject]] = {}
    for obj in raw.values():
        by_type.setdefault(obj.type, []).append(obj)

    datacenters = [
        Datacenter(moref=o.moref, name=o.props.get("name", o.moref))
        for o in by_type.get("Datacenter", [])
    ]
    clusters = [cluster_from_raw(o, r) for o in by_type.get("ClusterComputeResource", [])]
    dvs_list = [o for t in DVS_TYPES for o in by_type.get(t, [])]
    dvpg_by_key: dict[str, RawObject] = {}
    for o in by_type.get("DistributedVirtualPortgroup", []):
        dvpg_by_key[str(o.props.get("key") or o.moref)] = o

    inv_hosts: list[Host] = []
    switches: list[StandardSwitch] = []
    portgroups: list[StandardPortGroup] = []
    vmknics: list[VmkernelAdapter] = []
    host_name: dict[str, str] = {}
    host_members: dict[str, list[DvsHostMember]] = {}
    for o in by_type.get("HostSystem", []):
        h = host_from_raw(o, r)
        inv_hosts.append(h.host)
        switches += h.switches
        portgroups += h.portgroups
        vmknics += h.vmknics
        host_name[o.moref] = h.host.name
        for uuid, member in h.dvs_members.items():
            host_members.setdefault(uuid, []).append(member)

    dvses = [
        dvs_from_raw(o, r, host_name, host_members.get(o.props.get("uuid", ""), []))
        for o in dvs_list
    ]
    dvs_by_moref = {d.moref: d for d in dvses}
    uplink_pgs = uplink_portgroups(dvs_list)
    dvpgs = [
        dvpg_from_raw(o, dvs_by_moref, uplink_pgs)
        for o in by_type.get("DistributedVirtualPortgroup", [])
    ]
    cluster_of_host = {h.name: h.cluster for h in inv_hosts}
    vms = [
        vm_from_raw(o, host_name, cluster_of_host, dvpg_by_key)
        for o in by_type.get("VirtualMachine", [])
    ]

    def srt(items: Iterable[Any]) -> list[Any]:
        return sorted(items, key=sort_key)

    return Inventory(
        vcenter=vcenter,
        api_version=api_version,
        version=version or None,
        datacenters=srt(datacenters),
        clusters=srt(clusters),
        hosts=srt(inv_hosts),
        standard_switches=srt(switches),
        standard_port_groups=srt(portgroups),
        distributed_switches=srt(dvses),
        distributed_port_groups=srt(dvpgs),
        vmkernel_adapters=srt(vmknics),
        vms=srt(vms),
    )


class HostParts:
    def __init__(self) -> None:
        self.host: Host
        self.switches: list[StandardSwitch] = []
        self.portgroups: list[StandardPortGroup] = []
        self.vmknics: list[VmkernelAdapter] = []
        self.dvs_members: dict[str, DvsHostMember] = {}


def _pnic(host: str, p: Any) -> PhysicalNic:
    speed = _get(p, "linkSpeed")
    return PhysicalNic(
        host=host,
        device=p.device,
        mac=_get(p, "mac"),
        driver=_get(p, "driver"),
        pci=_get(p, "pci"),
        link_up=speed is not None,
        speed_mb=_int(_get(speed, "speedMb")),
        full_duplex=_get(speed, "duplex"),
    )


def _short_pnic(key: str) -> str:
    return key.rsplit("-", 1)[-1] if key.startswith("key-vim.host.PhysicalNic-") else key


def _options(om: Any, r: Resolver) -> dict[str, Any]:
    """The host's OptionManager moref and the advanced settings read from it (both readers
    give an OptionValue-like object per indexed path; xsd:long values are ints)."""
    if om is None:
        return {}
    ref = moref_id(om)
    raw = r.raw.get(ref)
    got: dict[str, int | str] = {}
    for key in HOST_OPTIONS:
        ov = raw.props.get(option_path(key)) if raw else None
        value = getattr(ov, "value", None)
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, (int, str)):
            got[key] = value
    return {"option_manager": ref, "advanced": got}


def _std_switches(host: str, net: Any) -> list[StandardSwitch]:
    out = []
    for sw in _get(net, "vswitch") or []:
        bridge = _get(sw, "spec.bridge")
        uplinks = list(getattr(bridge, "nicDevice", None) or []) or [
            _short_pnic(k) for k in sw.pnic or []
        ]
        out.append(
            StandardSwitch(
                host=host,
                name=sw.name,
                mtu=_int(_get(sw, "mtu")),
                num_ports=_int(_get(sw, "spec.numPorts") or _get(sw, "numPorts")),
                uplinks=uplinks,
                policy=host_policy(_get(sw, "spec.policy")),
                portgroups=sorted(
                    k.split("-", 2)[-1] if k.startswith("key-vim.host.PortGroup-") else k
                    for k in sw.portgroup or []
                ),
            )
        )
    return out


def _std_portgroups(host: str, net: Any, p: dict[str, Any], r: Resolver) -> list[StandardPortGroup]:
    # vCenter links each standard port group to the datacenter's Network of the same name
    networks = {
        r.name(moref_id(ref)): moref_id(ref)
        for ref in p.get("network") or []
        if moref_type(ref) == "Network"
    }
    out = []
    for pg in _get(net, "portgroup") or []:
        spec = pg.spec
        out.append(
            StandardPortGroup(
                host=host,
                name=spec.name,
                switch=spec.vswitchName,
                vlan_id=int(spec.vlanId or 0),
                policy=host_policy(spec.policy),
                effective=host_policy(_get(pg, "computedPolicy")),
                network=networks.get(spec.name),
            )
        )
    return out


def _vmknics(host: str, net: Any, p: dict[str, Any]) -> list[VmkernelAdapter]:
    services: dict[str, list[str]] = {}
    for nc in p.get("config.virtualNicManagerInfo.netConfig") or []:
        key_to_dev = {c.key: c.device for c in nc.candidateVnic or []}
        for sel in nc.selectedVnic or []:
            dev = key_to_dev.get(sel) or sel.rsplit("-", 1)[-1]
            services.setdefault(dev, []).append(nc.nicType)
    out = []
    for v in _get(net, "vnic") or []:
        spec = v.spec
        dvp = _get(spec, "distributedVirtualPort")
        ip = _get(spec, "ip")
        out.append(
            VmkernelAdapter(
                host=host,
                device=v.device,
                portgroup=v.portgroup or None,
                dvs_uuid=_get(dvp, "switchUuid"),
                dv_portgroup_key=_get(dvp, "portgroupKey"),
                dv_port=_get(dvp, "portKey"),
                mac=_get(spec, "mac"),
                ip=_get(ip, "ipAddress") or None,
                netmask=_get(ip, "subnetMask") or None,
                dhcp=bool(_get(ip, "dhcp")),
                mtu=_int(_get(spec, "mtu")),
                netstack=_get(spec, "netStackInstanceKey"),
                services=sorted(services.get(v.device, [])),
            )
        )
    return out


def _proxy_members(host: str, net: Any) -> dict[str, DvsHostMember]:
    """The host's membership of each distributed switch (by uuid): pNIC -> uplink name."""
    out = {}
    for ps in _get(net, "proxySwitch") or []:
        uplink_of_port = {kv.key: kv.value for kv in _get(ps, "uplinkPort") or []}
        mapping: dict[str, str] = {}
        for spec in _get(ps, "spec.backing.pnicSpec") or []:
            mapping[spec.pnicDevice] = uplink_of_port.get(
                spec.uplinkPortKey, spec.uplinkPortKey or ""
            )
        for dev in ps.pnic or []:
            mapping.setdefault(_short_pnic(dev), "")
        out[ps.dvsUuid] = DvsHostMember(host=host, pnics=mapping)
    return out


def host_from_raw(o: RawObject, r: Resolver) -> HostParts:
    p = o.props
    name = p.get("name", o.moref)
    parts = HostParts()
    parent = p.get("parent")
    cluster = None
    if parent is not None and getattr(parent, "_wsdlName", "") == "ClusterComputeResource":
        cluster = r.name(moref_id(parent))
    dc = r.ancestor(o.moref, "Datacenter")
    net = p.get("config.network")
    pnics = [_pnic(name, x) for x in (_get(net, "pnic") or [])]
    parts.host = Host(
        moref=o.moref,
        name=name,
        datacenter=dc.props.get("name") if dc else None,
        cluster=cluster,
        connection_state=str(p.get("runtime.connectionState") or "connected"),
        power_state=p.get("runtime.powerState"),
        maintenance=bool(p.get("runtime.inMaintenanceMode")),
        version=p.get("config.product.version"),
        build=p.get("config.product.build"),
        pnics=pnics,
        vms=sorted(moref_id(v) for v in p.get("vm") or []),
        **_options(p.get("configManager.advancedOption"), r),
    )
    parts.switches.extend(_std_switches(name, net))
    parts.portgroups.extend(_std_portgroups(name, net, p, r))
    parts.vmknics.extend(_vmknics(name, net, p))
    parts.dvs_members.update(_proxy_members(name, net))
    return parts


def _pvlans(name: str, cfg: Any) -> list[PvlanEntry]:
    pvlans = [
        PvlanEntry(
            dvs=name,
            primary_id=int(e.primaryVlanId),
            secondary_id=int(e.secondaryVlanId),
            type=e.pvlanType,
        )
        for e in (_get(cfg, "pvlanConfig") or [])
    ]
    return sorted(pvlans, key=lambda e: (e.primary_id, e.secondary_id))


def _lags(name: str, cfg: Any) -> list[LacpGroup]:
    return [
        LacpGroup(
            dvs=name,
            name=g.name,
            key=_get(g, "key"),
            mode=_get(g, "mode"),
            uplink_count=_int(_get(g, "uplinkNum")),
            load_balance=_get(g, "loadbalanceAlgorithm"),
            uplink_names=list(_get(g, "uplinkName") or []),
        )
        for g in (_get(cfg, "lacpGroupConfig") or [])
    ]


def _nioc(cfg: Any) -> list[NiocTraffic]:
    nioc = []
    for t in _get(cfg, "infrastructureTrafficResourceConfig") or []:
        alloc = _get(t, "allocationInfo")
        limit = _get(alloc, "limit")
        nioc.append(
            NiocTraffic(
                key=t.key,
                shares=_int(_get(alloc, "shares.shares")),
                level=_get(alloc, "shares.level"),
                limit_mbps=None if limit is None or limit < 0 else int(limit),
                reservation_mbps=_int(_get(alloc, "reservation")),
            )
        )
    return nioc


def _members(
    cfg: Any, host_name: dict[str, str], members_from_hosts: list[DvsHostMember]
) -> list[DvsHostMember]:
    """Members by host: the hosts' own view first (their proxy switch), the switch's config
    for hosts not read and for the member status."""
    members: dict[str, DvsHostMember] = {m.host: m for m in members_from_hosts}
    for hm in _get(cfg, "host") or []:
        hname = host_name.get(moref_id(_get(hm, "config.host")))
        if hname is None:
            continue
        if hname not in members:
            mapping = {
                s.pnicDevice: s.uplinkPortKey or ""
                for s in _get(hm, "config.backing.pnicSpec") or []
            }
            members[hname] = DvsHostMember(host=hname, pnics=mapping, status=_get(hm, "status"))
        elif _get(hm, "status"):
            members[hname] = members[hname].model_copy(update={"status": _get(hm, "status")})
    return sorted(members.values(), key=lambda m: m.host)


def dvs_from_raw(
    o: RawObject, r: Resolver, host_name: dict[str, str], members_from_hosts: list[DvsHostMember]
) -> DistributedSwitch:
    p = o.props
    cfg = p.get("config")
    name = p.get("name", o.moref)
    dc = r.ancestor(o.moref, "Datacenter")
    ldp = _get(cfg, "linkDiscoveryProtocolConfig")
    return DistributedSwitch(
        moref=o.moref,
        name=name,
        uuid=p.get("uuid") or _get(cfg, "uuid") or "",
        datacenter=dc.props.get("name") if dc else None,
        version=_get(cfg, "productInfo.version"),
        config_version=_get(cfg, "configVersion"),
        max_mtu=_int(_get(cfg, "maxMtu")),
        description=_get(cfg, "description"),
        contact=_get(cfg, "contact.name"),
        uplink_names=list(_get(cfg, "uplinkPortPolicy.uplinkPortName") or []),
        ldp_protocol=_get(ldp, "protocol"),
        ldp_operation=_get(ldp, "operation"),
        nioc_enabled=_get(cfg, "networkResourceManagementEnabled"),
        nioc=_nioc(cfg),
        lacp_api_version=_get(cfg, "lacpApiVersion"),
        default_port=dv_setting(_get(cfg, "defaultPortConfig")),
        pvlans=_pvlans(name, cfg),
        lags=_lags(name, cfg),
        hosts=_members(cfg, host_name, members_from_hosts),
        netflow=netflow_config(_get(cfg, "ipfixConfig")),
        health_check=health_check_config(_get(cfg, "healthCheckConfig")),
        nioc_pools=nioc_pools(name, _get(cfg, "vmVnicNetworkResourcePool")),
        health=health_results(
            p.get("runtime.hostMemberRuntime"),
            cfg,
            host_name,
            list(_get(cfg, "uplinkPortPolicy.uplinkPortName") or []),
        ),
        mirrors=sorted(
            (mirror_session(name, m) for m in _get(cfg, "vspanSession") or []),
            key=lambda m: m.name,
        ),
    )


_OVERRIDES = (
    "blockOverrideAllowed",
    "shapingOverrideAllowed",
    "vendorConfigOverrideAllowed",
    "livePortMovingAllowed",
    "portConfigResetAtDisconnect",
    "networkResourcePoolOverrideAllowed",
    "trafficFilterOverrideAllowed",
    "vlanOverrideAllowed",
    "uplinkTeamingOverrideAllowed",
    "securityPolicyOverrideAllowed",
    "ipfixOverrideAllowed",
    "macManagementOverrideAllowed",
)


def dvpg_from_raw(
    o: RawObject, dvs_by_moref: dict[str, DistributedSwitch], uplink_pgs: set[str]
) -> DistributedPortGroup:
    p = o.props
    cfg = p.get("config")
    dvs_mo = _get(cfg, "distributedVirtualSwitch")
    dvs = dvs_by_moref.get(moref_id(dvs_mo))
    pol = _get(cfg, "policy")
    overrides = {k: bool(getattr(pol, k)) for k in _OVERRIDES if getattr(pol, k, None) is not None}
    key = str(p.get("key") or _get(cfg, "key") or o.moref)
    uplink = o.moref in uplink_pgs
    return DistributedPortGroup(
        moref=o.moref,
        key=key,
        name=p.get("name", o.moref),
        dvs=dvs.name if dvs else "",
        dvs_uuid=dvs.uuid if dvs else None,
        config_version=_get(cfg, "configVersion"),
        uplink=uplink,
        binding=_get(cfg, "type"),
        num_ports=_int(_get(cfg, "numPorts")),
        auto_expand=_get(cfg, "autoExpand"),
        description=_get(cfg, "description"),
        setting=dv_setting(_get(cfg, "defaultPortConfig")),
        override_allowed=overrides,
        port_keys=[str(k) for k in p.get("portKeys") or []],
        nioc_pool=_pool_name(dvs, _get(cfg, "vmVnicNetworkResourcePoolKey")),
        traffic=traffic_ruleset(
            dvs.name if dvs else "", p.get("name", o.moref), uplink, _get(cfg, "defaultPortConfig")
        ),
    )


def _pool_name(dvs: DistributedSwitch | None, key: str | None) -> str:
    """The pool a port group names, by name; "-1" (what vCenter writes) and unset are no pool
    (""), a key the switch does not list is kept as it is."""
    if not key or key == "-1":
        return ""
    return next((p.name for p in (dvs.nioc_pools if dvs else []) if p.key == key), key)


# -- traffic filtering and marking ------------------------------------------------------------
def _type(o: Any) -> str:
    return getattr(o, "_wsdlName", "") or type(o).__name__


def _negated(e: Any) -> bool:
    return bool(_get(e, "negate"))


def _address(a: Any) -> str | None:
    """SingleIp / SingleMac -> the address; IpRange -> prefix/length; MacRange -> addr/mask."""
    if a is None:
        return None
    t = _type(a)
    if t == "IpRange":
        return f"{_get(a, 'addressPrefix')}/{_int(_get(a, 'prefixLength')) or 0}"
    if t == "MacRange":
        return f"{str(_get(a, 'address')).lower()}/{str(_get(a, 'mask')).lower()}"
    addr = _get(a, "address")
    return str(addr).lower() if t == "SingleMac" else addr


def _port(p: Any) -> str | None:
    if p is None:
        return None
    if _type(p) == "DvsIpPortRange":
        return f"{_int(_get(p, 'startPortNumber'))}-{_int(_get(p, 'endPortNumber'))}"
    return str(_int(_get(p, "portNumber")) or 0)


def _expr(e: Any) -> int | None:
    return (_int(_get(e, "value")) or 0) if e is not None else None


def _qualifier_parts(q: Any, parts: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Values of a qualifier's parts (model field -> API property) and the negated ones."""
    values: dict[str, Any] = {}
    negate: list[str] = []
    for field, prop in parts.items():
        v = _get(q, prop)
        if v is None:
            continue
        if prop.endswith("Address"):
            values[field] = _address(v)
        elif prop.endswith("IpPort"):
            values[field] = _port(v)
        else:
            values[field] = _expr(v)
        if _negated(v):
            negate.append(field)
    return values, sorted(negate)


_IP_PARTS = {
    "source": "sourceAddress",
    "destination": "destinationAddress",
    "protocol": "protocol",
    "source_port": "sourceIpPort",
    "destination_port": "destinationIpPort",
    "tcp_flags": "tcpFlags",
}
_MAC_PARTS = {
    "source": "sourceAddress",
    "destination": "destinationAddress",
    "ethertype": "protocol",
    "vlan": "vlanId",
}


def traffic_rule(r: Any) -> TrafficRule:
    action = _get(r, "action")
    kind = _type(action) if action is not None else ""
    upd: dict[str, Any] = {}
    for q in _get(r, "qualifier") or []:
        t = _type(q)
        if t == "DvsIpNetworkRuleQualifier":
            values, negate = _qualifier_parts(q, _IP_PARTS)
            upd["ip"] = IpQualifier(**values, negate=negate)
        elif t == "DvsMacNetworkRuleQualifier":
            values, negate = _qualifier_parts(q, _MAC_PARTS)
            upd["mac"] = MacQualifier(**values, negate=negate)
        elif t == "DvsSystemTrafficNetworkRuleQualifier":
            e = _get(q, "typeOfSystemTraffic")
            upd["system"] = SystemQualifier(type=_get(e, "value") or "", negate=_negated(e))
    if kind == "DvsUpdateTagNetworkRuleAction":
        upd["dscp"] = _int(_get(action, "dscpTag"))
        upd["cos"] = _int(_get(action, "qosTag"))
    return TrafficRule(
        name=_get(r, "description") or "",
        key=_get(r, "key"),
        sequence=_int(_get(r, "sequence")),
        direction=_get(r, "direction"),
        action=RULE_ACTIONS.get(kind, kind or "none"),
        **upd,
    )


def traffic_ruleset(dvs: str, pg: str, uplink: bool, setting: Any) -> TrafficRuleset | None:
    """The port group's own traffic filter (not one inherited from its switch), if any."""
    policy = _get(setting, "filterPolicy")
    if policy is None or _get(policy, "inherited"):
        return None
    for f in _get(policy, "filterConfig") or []:
        rs = _get(f, "trafficRuleset")
        if rs is None or _get(f, "inherited"):
            continue
        rules = [traffic_rule(r) for r in _get(rs, "rules") or []]
        return TrafficRuleset(
            dvs=dvs,
            portgroup=pg,
            uplink=uplink,
            filter_key=_get(f, "key"),
            key=_get(rs, "key"),
            enabled=_get(rs, "enabled"),
            precedence=_int(_get(rs, "precedence")),
            rules=sorted(rules, key=lambda x: x.sequence if x.sequence is not None else 0),
        )
    return None


def vm_from_raw(
    o: RawObject,
    host_name: dict[str, str],
    cluster_of_host: dict[str, str | None],
    dvpg_by_key: dict[str, RawObject],
) -> VirtualMachine:
    """VMs are the bulk of a large estate (10,000 VMs: 20,000 models), so they are built with
    `model_construct`: every value below is already converted to its field's type, and the
    equality tests against the naive walk check the result."""
    p = o.props
    host = (
        host_name.get(moref_id(p.get("runtime.host")))
        if p.get("runtime.host") is not None
        else None
    )
    nics: list[VmNic] = []
    for d in p.get("config.hardware.device") or []:
        if not hasattr(d, "macAddress") or not hasattr(d, "addressType"):
            continue
        backing = d.backing
        network = _get(backing, "deviceName")
        port = _get(backing, "port")
        dvs_uuid = pg_key = port_key = None
        if port is not None:
            dvs_uuid, pg_key, port_key = port.switchUuid, port.portgroupKey, _get(port, "portKey")
            pg = dvpg_by_key.get(pg_key or "")
            network = pg.props.get("name") if pg else pg_key
        elif _get(backing, "network") is not None and network is None:
            network = moref_id(backing.network)
        nics.append(
            VmNic.model_construct(
                key=int(d.key),
                label=_get(d, "deviceInfo.label") or f"nic{d.key}",
                type=type(d).__name__.rsplit(".", 1)[-1].replace("Virtual", "").lower(),
                mac=d.macAddress,
                connected=bool(_get(d, "connectable.connected")),
                start_connected=bool(_get(d, "connectable.startConnected")),
                network=network,
                dvs_uuid=dvs_uuid,
                dv_portgroup_key=pg_key,
                dv_port=port_key,
            )
        )
    return VirtualMachine.model_construct(
        moref=o.moref,
        name=p.get("name", o.moref),
        host=host,
        cluster=cluster_of_host.get(host) if host else None,
        power_state=str(p["runtime.powerState"])
        if p.get("runtime.powerState") is not None
        else None,
        template=bool(p.get("config.template")),
        guest_os=p.get("config.guestFullName"),
        guest_ip=p.get("guest.ipAddress") or None,
        migrate_encryption=p.get("config.migrateEncryption") or None,
        extra_config={
            str(o.key): str(o.value)
            for o in p.get("config.extraConfig") or []
            if kept_extra_config(str(o.key))
        },
        nics=nics,
    )
