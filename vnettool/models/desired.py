"""Desired-state documents: the network an admin wants, as the configuration engine reads it.

The YAML shape is documented in docs/engine.md. Units are the ones people type (kbit/s, KB,
the UI's "failback"); the engine converts to API units when it compares with the inventory.
Ownership is explicit: a field left out is left alone on the server, a resource not named is
not touched, and only `absent` deletes.

The distributed sections (`distributed_switches`, `distributed_port_groups`, `pvlans`,
`migrations` and their `absent` lists) are optional fields of `DesiredState` and `Absent` like
the standard ones; each resource module reads only its own part.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from vnettool.models import base
from vnettool.models.text import name_problem


class Model(base.Model):
    """Values are taken as written: ``vlan: true``, ``vlan: "100"`` and ``vlan: 1e3`` are
    errors, not VLAN 1, 100 and 1000 as pydantic's lax mode would make them — a typo must not
    become a different network."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _object_name(v: str) -> str:
    problem = name_problem(v)
    if problem:
        raise PydanticCustomError(
            "object_name", "name {name} {problem}", {"name": repr(v), "problem": problem}
        )
    return v


# Length limits as the vSphere Client and esxcli enforce them.
VssName = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_object_name)]
PortGroupName = Annotated[str, Field(min_length=1, max_length=59), AfterValidator(_object_name)]
DvName = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_object_name)]

TeamingPolicyName = Literal[
    "loadbalance_srcid",
    "loadbalance_ip",
    "loadbalance_srcmac",
    "failover_explicit",
]

# VirtualNicManager nicType values (the API's spelling) and the friendlier names accepted.
VmknicService = Literal[
    "management",
    "vmotion",
    "vSphereProvisioning",
    "vsan",
    "vsanWitness",
    "faultToleranceLogging",
    "vSphereReplication",
    "vSphereReplicationNFC",
]
SERVICE_ALIASES: dict[str, str] = {
    "provisioning": "vSphereProvisioning",
    "ft": "faultToleranceLogging",
    "ft_logging": "faultToleranceLogging",
    "fault_tolerance": "faultToleranceLogging",
    "replication": "vSphereReplication",
    "replication_nfc": "vSphereReplicationNFC",
    "vsan_witness": "vsanWitness",
    "vMotion": "vmotion",
}

API_LONG_MAX = 2**63 - 1
"""The API's xsd:long: rates and sizes beyond it overflow on the wire, half-way through an apply."""

VlanId = Annotated[int, Field(ge=0, le=4095)]
Kbps = Annotated[int, Field(ge=1, le=API_LONG_MAX // 1000)]
"""kbit/s; the API takes bit/s in a long."""
BurstKb = Annotated[int, Field(ge=1, le=API_LONG_MAX // 1024)]
"""KB; the API takes bytes in a long."""
Mbps = Annotated[int, Field(ge=0, le=API_LONG_MAX)]
Mtu = Annotated[int, Field(ge=1280, le=9000)]


class Target(Model):
    """Which hosts a document configures: all filters must match; globs allowed everywhere."""

    datacenter: str | None = None
    cluster: str | None = None
    hosts: list[str] | None = None


class Security(Model):
    promiscuous: bool | None = None
    mac_changes: bool | None = None
    forged_transmits: bool | None = None


class Shaping(Model):
    """Traffic shaping (egress on a vSS). Giving any rate turns shaping on unless `enabled`."""

    enabled: bool | None = None
    average_kbps: Kbps | None = None
    peak_kbps: Kbps | None = None
    burst_kb: BurstKb | None = None

    @model_validator(mode="after")
    def _peak_not_below_average(self) -> Shaping:
        if self.average_kbps and self.peak_kbps and self.peak_kbps < self.average_kbps:
            raise ValueError("peak_kbps must be at least average_kbps")
        return self


class Teaming(Model):
    """Switch-level teaming and failover; active/standby uplinks are the switch's `uplinks`."""

    policy: TeamingPolicyName | None = None
    notify_switches: bool | None = None
    failback: bool | None = None
    beacon_probing: bool | None = None


class PortGroupTeaming(Teaming):
    """A port group may also override the failover order (active/standby pNICs)."""

    active: list[str] | None = None
    standby: list[str] | None = None


class StandardSwitchSpec(Model):
    name: VssName
    hosts: list[str] | None = Field(
        default=None,
        description="only on these of the targeted hosts (name globs); default: every one",
    )
    mtu: Mtu | None = None
    uplinks: list[str] | None = Field(default=None, description="active pNICs (vmnicN)")
    standby: list[str] | None = Field(default=None, description="standby pNICs")
    security: Security | None = None
    shaping: Shaping | None = None
    teaming: Teaming | None = None

    @model_validator(mode="after")
    def _uplinks_disjoint(self) -> StandardSwitchSpec:
        both = set(self.uplinks or []) & set(self.standby or [])
        if both:
            raise ValueError(f"pNICs both active and standby: {', '.join(sorted(both))}")
        return self


class StandardPortGroupSpec(Model):
    name: PortGroupName
    switch: VssName
    hosts: list[str] | None = Field(
        default=None,
        description="only on these of the targeted hosts (name globs); default: every one",
    )
    vlan: VlanId | None = Field(default=None, description="0 = none, 1-4094, 4095 = trunk (VGT)")
    security: Security | None = None
    shaping: Shaping | None = None
    teaming: PortGroupTeaming | None = None


class IpSpec(Model):
    """Static (`cidr`, may use `{index}` / `{index+N}`) or `dhcp: true`."""

    cidr: str | None = None
    dhcp: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> IpSpec:
        if self.dhcp == (self.cidr is not None):
            raise ValueError("give either cidr or dhcp: true")
        if self.cidr is not None:
            render_cidr(self.cidr, 1)  # validates the template with a sample index
        return self


class VmkernelAdapterSpec(Model):
    """A VMkernel adapter on a standard port group, one per matching host.

    Identity is (host, port group): the adapter on that port group is this one.
    """

    host: str = "*"
    portgroup: str
    ip: IpSpec | None = None
    mtu: Mtu | None = None
    services: list[VmknicService] | None = None

    @field_validator("services", mode="before")
    @classmethod
    def _aliases(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [SERVICE_ALIASES.get(s, s) if isinstance(s, str) else s for s in v]
        return v


class AbsentVmknic(Model):
    host: str = "*"
    portgroup: str | None = None
    device: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AbsentVmknic:
        if (self.portgroup is None) == (self.device is None):
            raise ValueError("give either portgroup or device")
        return self


# -- distributed switching ---------------------------------------------------------------------
DvTeamingPolicyName = Literal[
    "loadbalance_srcid",
    "loadbalance_ip",
    "loadbalance_srcmac",
    "loadbalance_loadbased",
    "failover_explicit",
]
PvlanId = Annotated[int, Field(ge=1, le=4094)]


class DvSecurity(Security):
    """A DV port's security; `mac_learning` is the 6.7+ switch's MAC management policy."""

    mac_learning: bool | None = None


class DvTeaming(Model):
    """Teaming and failover of a DV port group; `active`/`standby` name uplinks or LAGs."""

    policy: DvTeamingPolicyName | None = None
    notify_switches: bool | None = None
    failback: bool | None = None
    beacon_probing: bool | None = Field(
        default=None, description="failure detection: beacon probing (false = link status only)"
    )
    active: list[str] | None = None
    standby: list[str] | None = None

    @model_validator(mode="after")
    def _disjoint(self) -> DvTeaming:
        both = set(self.active or []) & set(self.standby or [])
        if both:
            raise ValueError(f"uplinks both active and standby: {', '.join(sorted(both))}")
        return self


class OverridePermissions(Model):
    """Which port-level settings may override the port group's (the UI's 'Advanced' page)."""

    blocked: bool | None = None
    shaping: bool | None = None
    vlan: bool | None = None
    teaming: bool | None = None
    security: bool | None = None
    mac_management: bool | None = None
    vendor_config: bool | None = None
    netflow: bool | None = None
    traffic_filter: bool | None = None
    network_resource_pool: bool | None = None
    reset_at_disconnect: bool | None = None
    live_port_moving: bool | None = None


_TRUNK = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_trunk(items: list[int | str]) -> list[tuple[int, int]]:
    """[100, "200-210"] -> [(100, 100), (200, 210)], sorted and merged like vCenter shows them."""
    ranges: list[tuple[int, int]] = []
    for item in items:
        m = _TRUNK.match(str(item))
        if not m:
            raise ValueError(f"trunk range {item!r}: use an id (100) or a range ('200-210')")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if not (0 <= a <= b <= 4094):
            raise ValueError(f"trunk range {item!r} must be within 0-4094, start <= end")
        ranges.append((a, b))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


class DistributedPortGroupSpec(Model):
    """A DV port group. Give at most one of `vlan`, `trunk`, `pvlan` (the VLAN type).

    `ingress_shaping` is what the UI calls ingress traffic shaping (traffic entering the switch
    from the VM): a receive-rate limit of the port group. `egress_shaping` is traffic leaving
    the switch towards the VM.
    """

    name: DvName
    switch: DvName
    vlan: Annotated[int, Field(ge=0, le=4094)] | None = Field(default=None, description="0 = none")
    trunk: list[int | str] | None = Field(
        default=None, description="VLAN ids/ranges, e.g. [100, '200-210']"
    )
    pvlan: PvlanId | None = Field(
        default=None, description="secondary PVLAN id of the switch's map"
    )
    binding: Literal["static", "ephemeral"] | None = None
    ports: Annotated[int, Field(ge=0, le=8192)] | None = None
    auto_expand: bool | None = None
    description: str | None = None
    security: DvSecurity | None = None
    ingress_shaping: Shaping | None = None
    egress_shaping: Shaping | None = None
    teaming: DvTeaming | None = None
    blocked: bool | None = None
    netflow: bool | None = Field(default=None, description="export this port group's flows")
    nioc_pool: DvName | None = Field(
        default=None,
        description="the switch's network resource pool its VM NICs draw on; 'none': no pool",
    )
    overrides: OverridePermissions | None = None

    @model_validator(mode="after")
    def _one_vlan_type(self) -> DistributedPortGroupSpec:
        given = [k for k in ("vlan", "trunk", "pvlan") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of vlan, trunk, pvlan (got {', '.join(given)})")
        if self.trunk is not None:
            if not self.trunk:
                raise ValueError("trunk needs at least one VLAN id or range")
            parse_trunk(self.trunk)
        return self


class PvlanSpec(Model):
    """One primary VLAN of a switch's PVLAN map: its promiscuous entry and its secondaries.

    Entries are added or edited (a secondary changing type); entries not listed are left alone
    — removal is through `absent.pvlans`.
    """

    switch: DvName
    primary: PvlanId
    isolated: PvlanId | None = None
    community: list[PvlanId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids(self) -> PvlanSpec:
        ids = [self.primary, *([self.isolated] if self.isolated else []), *self.community]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"PVLAN {self.primary}: ids used twice: {dupes}")
        return self

    def entries(self) -> list[tuple[int, int, str]]:
        """(primary, secondary, type) of every entry this spec wants."""
        out = [(self.primary, self.primary, "promiscuous")]
        if self.isolated:
            out.append((self.primary, self.isolated, "isolated"))
        out += [(self.primary, c, "community") for c in self.community]
        return out


class AbsentPvlan(Model):
    """A PVLAN entry to remove: one secondary, or a primary with all its secondaries."""

    switch: str
    secondary: PvlanId | None = None
    primary: PvlanId | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AbsentPvlan:
        if (self.secondary is None) == (self.primary is None):
            raise ValueError("give either secondary or primary")
        return self


class NiocSpec(Model):
    """NIOC system traffic allocation (Mbit/s); shares as a level or a custom number."""

    shares: Literal["low", "normal", "high"] | Annotated[int, Field(ge=1, le=100)] | None = None
    limit_mbps: Annotated[int, Field(ge=-1, le=API_LONG_MAX)] | None = Field(
        default=None, description="-1 = unlimited"
    )
    reservation_mbps: Mbps | None = None


class NiocPoolSpec(Model):
    """A NIOC v3 network resource pool of the switch, identified by name: a bandwidth
    reservation (Mbit/s) for the VM NICs of the port groups that name it (`nioc_pool`), taken
    from the virtualMachine traffic reservation of the uplinks."""

    name: DvName
    reservation_mbps: Mbps | None = Field(
        default=None, description="allocationInfo.reservationQuota (new pool: 0)"
    )
    description: str | None = None


NiocTrafficName = Literal[
    "management",
    "vmotion",
    "vsan",
    "virtualMachine",
    "nfs",
    "iSCSI",
    "faultTolerance",
    "vdp",
    "hbr",
]


class LagSpec(Model):
    """An enhanced-LACP link aggregation group on the switch."""

    name: DvName
    ports: Annotated[int, Field(ge=2, le=32)] | None = None
    mode: Literal["active", "passive"] | None = None
    load_balancing: str | None = Field(
        default=None, description="e.g. srcDestIpTcpUdpPortVlan, srcDestIp, srcDestMac"
    )


def _ip(v: str) -> str:
    return str(ipaddress.ip_address(v))


IpAddress = Annotated[str, AfterValidator(_ip)]


class NetflowSpec(Model):
    """The switch's NetFlow (IPFIX) collector and sampling; `collector: none` stops export.

    A collector needs its port and a port needs a collector: vCenter stores either alone, and
    a switch that half-names its collector exports nothing.
    """

    collector: IpAddress | Literal["none"] | None = None
    collector_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    observation_domain: Annotated[int, Field(ge=0, le=4294967295)] | None = None
    active_timeout: Annotated[int, Field(ge=60, le=3600)] | None = Field(
        default=None, description="seconds"
    )
    idle_timeout: Annotated[int, Field(ge=10, le=600)] | None = Field(
        default=None, description="seconds"
    )
    sampling_rate: Annotated[int, Field(ge=0, le=16384)] | None = Field(
        default=None, description="0 = every packet"
    )
    internal_only: bool | None = None

    @model_validator(mode="after")
    def _collector_and_port(self) -> NetflowSpec:
        if self.collector not in (None, "none") and self.collector_port is None:
            raise ValueError("a NetFlow collector needs collector_port")
        if self.collector_port is not None and self.collector in (None, "none"):
            raise ValueError("collector_port needs a collector address")
        return self


HealthInterval = Annotated[int, Field(ge=1, le=1440, description="minutes")]


class HealthCheckSpec(Model):
    """The switch's health check: the VLAN/MTU check and the teaming check, each on or off
    with its interval in minutes (vCenter's default 1). Left-out fields are left alone.
    Benchmarks want both off outside troubleshooting: `vnettool healthcheck run` switches
    them on for a while and back."""

    vlan_mtu: bool | None = Field(default=None, description="VLAN and MTU check")
    vlan_mtu_interval: HealthInterval | None = None
    teaming: bool | None = Field(default=None, description="teaming and failover check")
    teaming_interval: HealthInterval | None = None


MirrorType = Literal[
    "dvPortMirror", "remoteMirrorSource", "remoteMirrorDest", "encapsulatedRemoteMirrorSource"
]
PortKey = Annotated[str, Field(pattern=r"^[0-9]{1,10}$")]


class MirrorSpec(Model):
    """A port mirroring session, identified by name on its switch. Sources and destinations
    are DV port keys (`sources` = both directions), uplink names or collector addresses,
    as the session type allows; a field left out is left alone on an existing session."""

    name: DvName
    type: MirrorType = "dvPortMirror"
    enabled: bool | None = None
    description: str | None = None
    sources: list[PortKey] | None = Field(default=None, description="port keys, both directions")
    sources_transmitted: list[PortKey] | None = None
    sources_received: list[PortKey] | None = None
    source_vlans: list[Annotated[int, Field(ge=1, le=4094)]] | None = None
    destination_ports: list[PortKey] | None = None
    destination_uplinks: list[str] | None = None
    destination_ips: list[IpAddress] | None = None
    packet_length: Annotated[int, Field(ge=60, le=9000)] | None = None
    sampling_rate: Annotated[int, Field(ge=1, le=65535)] | None = None
    encapsulation_vlan: Annotated[int, Field(ge=1, le=4094)] | None = None
    strip_vlan: bool | None = None
    normal_traffic: bool | None = Field(
        default=None, description="destination ports also carry normal traffic"
    )
    encapsulation: Literal["gre", "erspan2", "erspan3"] | None = None
    erspan_id: Annotated[int, Field(ge=0, le=1023)] | None = None

    @model_validator(mode="after")
    def _shape(self) -> MirrorSpec:
        srcs = self.sources or self.sources_transmitted or self.sources_received
        if self.sources is not None and (
            self.sources_transmitted is not None or self.sources_received is not None
        ):
            raise ValueError("give sources, or sources_transmitted/sources_received, not both")
        dest = {
            "dvPortMirror": ("destination_ports",),
            "remoteMirrorSource": ("destination_uplinks",),
            "remoteMirrorDest": ("destination_ports",),
            "encapsulatedRemoteMirrorSource": ("destination_ips",),
        }[self.type]
        for f in ("destination_ports", "destination_uplinks", "destination_ips"):
            if getattr(self, f) and f not in dest:
                raise ValueError(f"a {self.type} session takes {dest[0]}, not {f}")
        if self.type == "remoteMirrorDest" and srcs:
            raise ValueError("a remoteMirrorDest session takes source_vlans, not source ports")
        if self.type != "remoteMirrorDest" and self.source_vlans:
            raise ValueError("source_vlans is for remoteMirrorDest sessions only")
        return self


# -- traffic filtering and marking ----------------------------------------------------------
# DistributedVirtualSwitchHostInfrastructureTrafficClass of vCenter 7.0.3.
SystemTraffic = Literal[
    "management",
    "faultTolerance",
    "vmotion",
    "virtualMachine",
    "iSCSI",
    "nfs",
    "hbr",
    "vsan",
    "vdp",
    "backupNfc",
    "nvmetcp",
]
IP_PROTOCOLS: dict[str, int] = {
    "icmp": 1,
    "igmp": 2,
    "tcp": 6,
    "udp": 17,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": 58,
    "sctp": 132,
}
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_PORT_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")


def _ip_or_network(v: str) -> str:
    """An address or prefix/length (what IpRange holds); the prefix need not be masked."""
    addr, slash, length = v.partition("/")
    ip = ipaddress.ip_address(addr)  # ValueError names the bad address
    if not slash:
        return str(ip)
    if not length.isdigit() or int(length) > ip.max_prefixlen:
        raise ValueError(f"prefix length {length!r} out of range 0-{ip.max_prefixlen}")
    return f"{ip}/{int(length)}"


def _mac_or_range(v: str) -> str:
    addr, slash, mask = v.partition("/")
    for part in (addr, mask) if slash else (addr,):
        if not _MAC.match(part):
            raise ValueError(f"{part!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    return v.lower()


def _port_or_range(v: int | str) -> str:
    if isinstance(v, int):
        if not 0 <= v <= 65535:
            raise ValueError(f"port {v} out of range 0-65535")
        return str(v)
    m = _PORT_RANGE.match(v)
    if not m or not int(m[1]) <= int(m[2]) <= 65535:
        raise ValueError(f"{v!r} is not a port range first-last within 0-65535")
    return f"{int(m[1])}-{int(m[2])}"


IpOrNetwork = Annotated[str, AfterValidator(_ip_or_network)]
MacOrRange = Annotated[str, AfterValidator(_mac_or_range)]
PortOrRange = Annotated[int | str, AfterValidator(_port_or_range)]


def _negate_given(q: Model, negate: Sequence[str]) -> None:
    unset = [n for n in negate if getattr(q, n) is None]
    if unset:
        raise ValueError(f"negate names {', '.join(unset)}, which the qualifier does not give")


class IpQualifierSpec(Model):
    """Matches IP traffic; a part left out matches any. `negate` lists the parts that must
    *not* match (`negate: [destination]`: traffic to anywhere but `destination`)."""

    source: IpOrNetwork | None = Field(default=None, description="IP or prefix/length")
    destination: IpOrNetwork | None = Field(default=None, description="IP or prefix/length")
    protocol: (
        Annotated[int, Field(ge=0, le=255)]
        | Literal["icmp", "igmp", "tcp", "udp", "gre", "esp", "ah", "icmpv6", "sctp"]
        | None
    ) = Field(default=None, description="IANA number or tcp, udp, icmp, …")
    source_port: PortOrRange | None = Field(default=None, description="443 or '1024-2048'")
    destination_port: PortOrRange | None = Field(default=None, description="443 or '1024-2048'")
    tcp_flags: Annotated[int, Field(ge=0, le=255)] | None = None
    negate: list[
        Literal["source", "destination", "protocol", "source_port", "destination_port", "tcp_flags"]
    ] = Field(default_factory=list)

    @model_validator(mode="after")
    def _negated_parts_given(self) -> IpQualifierSpec:
        _negate_given(self, self.negate)
        return self


class MacQualifierSpec(Model):
    """Matches Ethernet frames: MAC addresses (or `address/mask`), EtherType, VLAN."""

    source: MacOrRange | None = None
    destination: MacOrRange | None = None
    ethertype: Annotated[int, Field(ge=0, le=65535)] | None = Field(
        default=None, description="e.g. 0x0806 (ARP)"
    )
    vlan: Annotated[int, Field(ge=0, le=4094)] | None = None
    negate: list[Literal["source", "destination", "ethertype", "vlan"]] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _negated_parts_given(self) -> MacQualifierSpec:
        _negate_given(self, self.negate)
        return self


class SystemQualifierSpec(Model):
    """Matches one kind of system traffic (`negate: true`: every other kind)."""

    type: SystemTraffic
    negate: bool = False


class TrafficRuleSpec(Model):
    """One traffic rule, identified by its name within its port group. Qualifiers are ANDed
    (at most one IP, one MAC and one system traffic qualifier, as vCenter allows); `dscp` /
    `cos` mark (the `tag` action, implied when they are given; 0 clears the tag)."""

    name: Annotated[str, Field(min_length=1, max_length=255)]
    action: Literal["allow", "drop", "punt", "tag"] | None = None
    dscp: Annotated[int, Field(ge=0, le=63)] | None = Field(default=None, description="0-63")
    cos: Annotated[int, Field(ge=0, le=7)] | None = Field(
        default=None, description="802.1p priority 0-7"
    )
    direction: Literal["incoming", "outgoing", "both"] = "both"
    ip: IpQualifierSpec | None = None
    mac: MacQualifierSpec | None = None
    system: SystemTraffic | SystemQualifierSpec | None = None

    @model_validator(mode="after")
    def _action(self) -> TrafficRuleSpec:
        marks = self.dscp is not None or self.cos is not None
        if self.action is None and not marks:
            raise ValueError(f"rule {self.name}: give an action (allow, drop, punt) or dscp/cos")
        if self.action not in (None, "tag") and marks:
            raise ValueError(f"rule {self.name}: dscp and cos mark packets (action tag only)")
        if self.action == "tag" and not marks:
            raise ValueError(f"rule {self.name}: a tag rule sets dscp, cos or both")
        return self


class TrafficRulesSpec(Model):
    """Traffic filtering and marking of one DV port group (or, with `uplinks: true`, of the
    switch's uplink port group). `rules`, when given, is the whole ordered rule list: rules
    not listed are removed, the order of the list is the order vCenter applies them in."""

    switch: DvName
    portgroup: DvName | None = None
    uplinks: bool = Field(default=False, description="the switch's uplink port group")
    enabled: bool | None = Field(default=None, description="default true for a new ruleset")
    precedence: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    rules: list[TrafficRuleSpec] | None = None

    @model_validator(mode="after")
    def _one_port_group(self) -> TrafficRulesSpec:
        if (self.portgroup is None) == (not self.uplinks):
            raise ValueError("give either portgroup or uplinks: true")
        names = [r.name for r in self.rules or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique in a port group: {', '.join(dupes)}")
        return self

    @property
    def where(self) -> str:
        return f"{self.switch}/{self.portgroup or 'uplinks'}"


class DvsHostsSpec(Model):
    """Member hosts (by cluster and/or name globs within the target) and their pNIC -> uplink."""

    cluster: str | None = None
    hosts: list[str] | None = None
    uplinks: dict[str, str] | None = Field(
        default=None,
        description="pNIC -> uplink or LAG port name, e.g. {vmnic2: uplink1, vmnic4: lag1-0}",
    )


class DistributedSwitchSpec(Model):
    """A distributed switch in the target's datacenter; fields left out are left alone."""

    name: DvName
    datacenter: str | None = Field(
        default=None, description="where to create it (default: the target's)"
    )
    version: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$",
        description="product version, e.g. 7.0.3 (create only; one vCenter offers)",
    )
    max_mtu: Mtu | None = None
    description: str | None = None
    uplinks: list[str] | None = Field(default=None, description="uplink port names, in order")
    discovery: Literal["cdp", "lldp", "none"] | None = None
    discovery_operation: Literal["listen", "advertise", "both"] | None = None
    nioc: bool | None = None
    traffic: dict[NiocTrafficName, NiocSpec] | None = None
    default_port: DistributedPortGroupSpec | None = Field(
        default=None, description="default port config (name/switch ignored)"
    )
    lags: list[LagSpec] | None = None
    hosts: DvsHostsSpec | None = None
    netflow: NetflowSpec | None = None
    mirrors: list[MirrorSpec] | None = None
    health_check: HealthCheckSpec | None = None
    nioc_pools: list[NiocPoolSpec] | None = None

    @field_validator("default_port", mode="before")
    @classmethod
    def _default_port_names(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {"name": "(default)", "switch": "(this)", **v}
        return v


class VmknicMigration(Model):
    """Move the VMkernel adapters on `from_portgroup` (standard or DV) to `to_portgroup`.

    A name that is a DV port group (in vCenter or in `distributed_port_groups`) means that DV
    port group; otherwise the host's standard port group of that name. Idempotent: adapters
    already on `to_portgroup` are not moved again.
    """

    host: str = Field(default="*", description="host name glob within the target")
    device: str | None = Field(default=None, description="only this adapter, e.g. vmk1")
    from_portgroup: str
    to_portgroup: str


class VmNicMigration(Model):
    """Move VM NICs (VM name globs x NIC label glob) from one port group to another."""

    vms: list[str] = Field(default_factory=lambda: ["*"], description="VM name globs")
    nic: str = Field(default="*", description="NIC label glob, e.g. 'Network adapter 1'")
    from_portgroup: str
    to_portgroup: str


class Migrations(Model):
    """vSS <-> vDS migrations, rolled out `batch` hosts at a time (a batch starts only when
    the previous one fully succeeded); on each host, management adapters move last."""

    batch: Annotated[int, Field(ge=1, le=64)] = 4
    vmkernel_adapters: list[VmknicMigration] = Field(default_factory=list)
    vm_nics: list[VmNicMigration] = Field(default_factory=list)


class AbsentDvsHosts(Model):
    """Hosts (cluster and/or name globs within the target) that must leave a switch."""

    switch: str
    cluster: str | None = None
    hosts: list[str] | None = None


class Absent(Model):
    """Things that must not exist on the targeted hosts (the only way to delete)."""

    standard_switches: list[str] = Field(default_factory=list)
    standard_port_groups: list[str] = Field(default_factory=list)
    vmkernel_adapters: list[AbsentVmknic] = Field(default_factory=list)
    distributed_switches: list[str] = Field(default_factory=list)
    distributed_port_groups: list[str] = Field(default_factory=list)
    pvlans: list[AbsentPvlan] = Field(default_factory=list)
    lags: list[str] = Field(default_factory=list, description="'switch/lag' names")
    mirrors: list[str] = Field(default_factory=list, description="'switch/session' names")
    nioc_pools: list[str] = Field(default_factory=list, description="'switch/pool' names")
    traffic_rules: list[str] = Field(
        default_factory=list, description="'switch/portgroup' or 'switch/uplinks'"
    )
    distributed_switch_hosts: list[AbsentDvsHosts] = Field(default_factory=list)


# desired key -> the host advanced option (Configure > System > Advanced System Settings)
HOST_SETTING_OPTIONS: dict[str, str] = {
    "block_guest_bpdu": "Net.BlockGuestBPDU",
    "dvfilter_bind_ip": "Net.DVFilterBindIpAddress",
    "bmc_network": "Net.BMCNetworkEnable",
}


class HostSettingsSpec(Model):
    """Host advanced settings the hardening guides set, on every targeted host."""

    block_guest_bpdu: Literal[0, 1] | None = Field(
        default=None, description="Net.BlockGuestBPDU: 1 drops BPDUs sent by VMs"
    )
    dvfilter_bind_ip: str | None = Field(
        default=None, description="Net.DVFilterBindIpAddress: '' (none) or the appliance's IPv4"
    )
    bmc_network: Literal[0, 1] | None = Field(
        default=None, description="Net.BMCNetworkEnable: 0 disables the BMC virtual NIC"
    )

    @field_validator("dvfilter_bind_ip")
    @classmethod
    def _ip_or_empty(cls, v: str | None) -> str | None:
        if v:
            ipaddress.IPv4Address(v)  # ValueError names the bad address
        return v

    def options(self) -> dict[str, int | str]:
        """Option key -> value, for the settings given."""
        return {HOST_SETTING_OPTIONS[k]: v for k, v in self.model_dump().items() if v is not None}


MigrateEncryption = Literal["disabled", "opportunistic", "required"]
_DVFILTER_KEY = re.compile(r"^ethernet[0-9]+\.filter[0-9]+\.[A-Za-z0-9_.]+$")


class VmSettingsSpec(Model):
    """Hardening settings of the VMs (name glob) on the targeted hosts."""

    vm: str = Field(min_length=1, description="VM name or glob")
    migrate_encryption: MigrateEncryption | None = Field(
        default=None, description="encrypted vMotion: disabled, opportunistic, required"
    )
    dvfilters: dict[str, str] | None = Field(
        default=None,
        description="the VM's ethernet*.filter*.* settings, exactly: keys not listed are "
        "removed ({} removes every dvFilter hook)",
    )

    @field_validator("dvfilters")
    @classmethod
    def _dvfilter_keys(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for key, value in (v or {}).items():
            if not _DVFILTER_KEY.match(key):
                raise ValueError(f"{key!r} is not a dvFilter setting (ethernetN.filterM.NAME)")
            if not value:
                raise ValueError(f"{key}: an empty value; leave the key out to remove it")
        return v


class BackupEntity(Model):
    """One entry of vCenter's export (EntityBackupConfig): the switch or one of its port
    groups, with the configuration blob as vCenter made it (opaque, base64)."""

    entity_type: Literal["distributedVirtualSwitch", "distributedVirtualPortgroup"]
    key: str = Field(description="the switch's uuid or the port group's key")
    name: str
    container: str | None = Field(default=None, description="the switch's folder (moref)")
    config_version: str | None = None
    blob: str = Field(min_length=1, description="configBlob, base64")

    @field_validator("blob")
    @classmethod
    def _base64(cls, v: str) -> str:
        import base64
        import binascii

        try:
            base64.b64decode(v, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64 ({exc}); the export file was damaged") from None
        return v


class DvsBackup(Model):
    """What `vnettool dvs export` adds to the desired-state document it writes: vCenter's own
    export of the switch and its port groups, which `vnettool dvs restore` imports. Planning
    ignores it (the rest of the document is what `plan` compares)."""

    format: Literal["vnettool-dvs-backup/1"]
    vcenter: str
    instance_uuid: str | None = None
    exported_at: str
    switch: str
    uuid: str
    entities: list[BackupEntity] = Field(min_length=1)


class DesiredState(Model):
    """A desired-state document. Every section is optional; an empty document plans nothing."""

    target: Target = Field(default_factory=Target)
    standard_switches: list[StandardSwitchSpec] = Field(default_factory=list)
    standard_port_groups: list[StandardPortGroupSpec] = Field(default_factory=list)
    vmkernel_adapters: list[VmkernelAdapterSpec] = Field(default_factory=list)
    distributed_switches: list[DistributedSwitchSpec] = Field(default_factory=list)
    distributed_port_groups: list[DistributedPortGroupSpec] = Field(default_factory=list)
    pvlans: list[PvlanSpec] = Field(default_factory=list)
    traffic_rules: list[TrafficRulesSpec] = Field(default_factory=list)
    host_settings: HostSettingsSpec | None = None
    vm_settings: list[VmSettingsSpec] = Field(default_factory=list)
    migrations: Migrations = Field(default_factory=Migrations)
    absent: Absent = Field(default_factory=Absent)
    backup: DvsBackup | None = Field(
        default=None, description="written by `vnettool dvs export`; read by `dvs restore`"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> DesiredState:
        for section in (
            "standard_switches",
            "standard_port_groups",
            "distributed_switches",
            "distributed_port_groups",
        ):
            names = [x.name for x in getattr(self, section)]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{section}: duplicate names {', '.join(dupes)}")
        pgs = [(v.host, v.portgroup) for v in self.vmkernel_adapters]
        dupes = sorted({f"{h}/{p}" for h, p in pgs if pgs.count((h, p)) > 1})
        if dupes:
            raise ValueError(f"vmkernel_adapters: more than one per host/portgroup {dupes}")
        return self


_INDEX = re.compile(r"\{index(?:\s*([+-])\s*(\d+))?\}")


def render_cidr(template: str, index: int) -> tuple[str, str]:
    """(ip, netmask) of a cidr template for the host at 1-based `index`.

    `{index}` is the host's position in the sorted target host list; `{index+N}` shifts it.
    Raises ValueError for a malformed template or address.
    """

    def sub(m: re.Match[str]) -> str:
        n = index
        if m.group(1):
            n = n + int(m.group(2)) if m.group(1) == "+" else n - int(m.group(2))
        return str(n)

    text = _INDEX.sub(sub, template)
    if "{" in text or "}" in text:
        raise ValueError(f"unknown placeholder in {template!r} (only {{index}}, {{index+N}})")
    if "/" not in text:
        raise ValueError(f"{template!r} needs a prefix length, e.g. 10.0.0.{{index}}/24")
    iface = ipaddress.IPv4Interface(text)
    return str(iface.ip), str(iface.netmask)
