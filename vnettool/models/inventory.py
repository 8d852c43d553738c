"""The network inventory: typed objects read from vCenter in one bulk pass.

Everything above the vsphere layer (planner, audit, latency loop, TUI) reads these models and
never pyVmomi objects, so each feature can be unit-tested from a saved JSON snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar

from pydantic import Field

from vnettool import userfile
from vnettool.models.base import Identified, Model
from vnettool.models.policy import (
    NetworkPolicy,
    SecurityPolicy,
    ShapingPolicy,
    TeamingPolicy,
    VlanSpec,
)


class Datacenter(Identified):
    moref: str
    name: str


class Cluster(Identified):
    _identifiers = ("datacenter", "name")
    moref: str
    name: str
    datacenter: str
    drs_enabled: bool | None = None
    ha_enabled: bool | None = None


class LinkNeighbor(Model):
    """CDP or LLDP information seen on a physical NIC."""

    protocol: Literal["cdp", "lldp"]
    switch_id: str | None = None
    port_id: str | None = None
    vlan: int | None = None
    mtu: int | None = None


class PhysicalNic(Identified):
    _identifiers = ("host", "device")
    host: str
    device: str
    mac: str | None = None
    driver: str | None = None
    pci: str | None = None
    link_up: bool = False
    speed_mb: int | None = None
    full_duplex: bool | None = None
    neighbors: list[LinkNeighbor] = Field(default_factory=list)

    @property
    def name(self) -> str:
        return self.device


class Host(Identified):
    moref: str
    name: str
    datacenter: str | None = None
    cluster: str | None = None
    connection_state: str = "connected"
    power_state: str | None = None
    maintenance: bool = False
    version: str | None = None
    build: str | None = None
    pnics: list[PhysicalNic] = Field(default_factory=list)
    vms: list[str] = Field(default_factory=list)
    option_manager: str | None = None  # configManager.advancedOption moref
    # advanced settings the hardening guides read (collector.HOST_OPTIONS); a key absent here
    # was not read (or the host has no such option), never "default"
    advanced: dict[str, int | str] = Field(default_factory=dict)


class HostSettings(Model):
    """A host's advanced settings as the engine compares them (the keys a document sets)."""

    host: str
    values: dict[str, int | str] = Field(default_factory=dict)


class VmSettings(Model):
    """A VM's hardening settings as the engine compares them: vMotion encryption and its
    dvFilter extraConfig entries (`ethernet0.filter0.name` -> value)."""

    vm: str
    migrate_encryption: str | None = None
    dvfilters: dict[str, str] = Field(default_factory=dict)


class StandardSwitch(Identified):
    _identifiers = ("host", "name")
    host: str
    name: str
    mtu: int | None = None
    num_ports: int | None = None
    uplinks: list[str] = Field(default_factory=list)
    policy: NetworkPolicy = Field(default_factory=NetworkPolicy)
    portgroups: list[str] = Field(default_factory=list)


class StandardPortGroup(Identified):
    _identifiers = ("host", "name")
    host: str
    name: str
    switch: str
    vlan_id: int = 0
    # What the port group itself overrides (None = inherited from the switch).
    policy: NetworkPolicy = Field(default_factory=NetworkPolicy)
    # What applies: the switch policy with the overrides (vSphere's computedPolicy).
    effective: NetworkPolicy = Field(default_factory=NetworkPolicy)
    network: str | None = None


class PvlanEntry(Identified):
    _identifiers = ("dvs", "secondary_id")
    dvs: str
    primary_id: int
    secondary_id: int
    type: Literal["promiscuous", "isolated", "community"]

    @property
    def name(self) -> str:
        return f"{self.primary_id}/{self.secondary_id}"


class LacpGroup(Identified):
    _identifiers = ("dvs", "name")
    dvs: str
    name: str
    key: str | None = None
    mode: str | None = None
    uplink_count: int | None = None
    load_balance: str | None = None
    uplink_names: list[str] = Field(default_factory=list)


class DvsHostMember(Model):
    host: str
    pnics: dict[str, str] = Field(default_factory=dict)  # pnic device -> uplink port name
    status: str | None = None


class DvsHostUplinks(Identified):
    """One member host's pNIC -> uplink port mapping on one distributed switch, when it
    names LAG ports (`lag1-0`): the state of the `dvs_host_uplinks` engine resource.

    A LAG's ports exist on a host only once it is a member and the LAG exists, so vCenter
    binds a pNIC to one by its port key in a host edit of its own, after both."""

    _identifiers = ("dvs", "host")
    dvs: str
    host: str
    pnics: dict[str, str] = Field(default_factory=dict)  # pnic device -> uplink port name


class NiocTraffic(Model):
    key: str
    shares: int | None = None
    level: str | None = None
    limit_mbps: int | None = None
    reservation_mbps: int | None = None


# The NIOC v3 system traffic classes vCenter 7.0.3 knows; a newer vCenter may send others
# (8.0 added nvmetcp on some builds, later ones more): those are kept and shown as they are.
KNOWN_NIOC_CLASSES = frozenset(
    {
        "management", "faultTolerance", "vmotion", "virtualMachine", "iSCSI", "nfs", "hbr",
        "vsan", "vdp", "backupNfc", "nvmetcp",
    }
)  # fmt: skip


class NiocPool(Identified):
    """A NIOC v3 network resource pool (DVSVmVnicNetworkResourcePool): bandwidth reserved for
    the VM NICs of the port groups that name it, carved out of the virtualMachine traffic
    reservation. vCenter keys it; `name` is its identity for vnettool."""

    _identifiers = ("dvs", "name")
    dvs: str
    name: str
    key: str | None = None
    description: str | None = None
    reservation_mbps: int | None = None  # allocationInfo.reservationQuota, Mbit/s
    config_version: str | None = None


class NetflowConfig(Model):
    """A switch's NetFlow (IPFIX) export: where flows go and how they are sampled.

    vCenter always returns the timeouts and sampling rate; no `collector_ip` means NetFlow
    exports nothing, whatever the port groups say.
    """

    collector_ip: str | None = None
    collector_port: int | None = None
    observation_domain: int | None = None
    active_timeout_s: int | None = None
    idle_timeout_s: int | None = None
    sampling_rate: int | None = None
    internal_only: bool | None = None


class MirrorSession(Identified):
    """A port mirroring (VSPAN) session; `key` is the server's, `name` is its identity."""

    _identifiers = ("dvs", "name")
    dvs: str
    name: str
    key: str | None = None
    type: str | None = None
    enabled: bool | None = None
    description: str | None = None
    sources_transmitted: list[str] = Field(default_factory=list)  # DV port keys
    sources_received: list[str] = Field(default_factory=list)
    source_vlans: list[int] = Field(default_factory=list)  # remote mirroring destination
    destination_ports: list[str] = Field(default_factory=list)
    destination_uplinks: list[str] = Field(default_factory=list)
    destination_ips: list[str] = Field(default_factory=list)
    packet_length: int | None = None
    sampling_rate: int | None = None
    encapsulation_vlan: int | None = None
    strip_vlan: bool | None = None
    normal_traffic: bool | None = None
    encapsulation: str | None = None
    erspan_id: int | None = None


class HealthCheckConfig(Model):
    """A switch's health check (config.healthCheckConfig): the VLAN/MTU check and the teaming
    check, each on or off with its interval in minutes. vCenter creates every switch with
    both off at 1 minute; benchmarks want them off outside a troubleshooting window."""

    vlan_mtu: bool | None = None
    vlan_mtu_interval: int | None = None  # minutes
    teaming: bool | None = None
    teaming_interval: int | None = None  # minutes

    @property
    def enabled(self) -> bool:
        return bool(self.vlan_mtu or self.teaming)


VlanRange = tuple[int, int]


class HealthCheckResult(Model):
    """One health check result of a member host (runtime.hostMemberRuntime[].healthCheckResult).

    `check` is `vlan`, `mtu` (per uplink) or `teaming` (per host); a result class this version
    does not know (a newer vCenter's) is kept with its class name as `check` and its summary,
    never dropped or fatal. VLAN lists are inclusive (start, end) ranges.
    """

    host: str
    check: str
    uplink: str | None = None  # uplink port name (uplink1), from the member's uplink port key
    uplink_port_key: str | None = None
    pnic: str | None = None
    summary: str | None = None
    trunked_vlans: list[VlanRange] = Field(default_factory=list)
    untrunked_vlans: list[VlanRange] = Field(default_factory=list)
    mtu_mismatch: bool | None = None
    vlans_mtu_ok: list[VlanRange] = Field(default_factory=list)
    vlans_mtu_not_ok: list[VlanRange] = Field(default_factory=list)
    teaming_status: str | None = None  # iphashMatch | nonIphashMatch | iphashMismatch | ...

    @property
    def ok(self) -> bool | None:
        """False: a mismatch; True: none; None: a result of a kind this version cannot judge."""
        if self.check == "vlan":
            return not self.untrunked_vlans
        if self.check == "mtu":
            return not self.mtu_mismatch and not self.vlans_mtu_not_ok
        if self.check == "teaming":
            return not (self.teaming_status or "").endswith("Mismatch")
        return None

    @property
    def text(self) -> str:
        """What the result says, in one cell (the same words in the CLI, TUI and workbook)."""
        if self.check == "vlan":
            if self.untrunked_vlans:
                return f"VLANs not trunked: {format_ranges(self.untrunked_vlans)}"
            return f"trunked: {format_ranges(self.trunked_vlans)}"
        if self.check == "mtu":
            if self.mtu_mismatch or self.vlans_mtu_not_ok:
                bad = format_ranges(self.vlans_mtu_not_ok)
                return "MTU mismatch" + (f" on VLANs {bad}" if bad else "")
            return "MTU matches"
        if self.check == "teaming":
            return self.teaming_status or "unknown"
        return f"{self.summary or 'no summary'} (result type not known to this version)"

    @property
    def state(self) -> str:
        return {True: "ok", False: "MISMATCH", None: "?"}[self.ok]


def format_ranges(ranges: list[VlanRange]) -> str:
    """Compact VLAN ranges as people write them: `0-199, 201-4094`."""
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


class IpQualifier(Model):
    """The IP part of a traffic rule (DvsIpNetworkRuleQualifier); unset = any. Addresses are
    an IP or `prefix/length`, ports a number or `first-last`; `negate` names the parts that
    match when they do *not* match (the API's NegatableExpression.negate)."""

    source: str | None = None
    destination: str | None = None
    protocol: int | None = None  # IANA protocol number (6 TCP, 17 UDP, 1 ICMP)
    source_port: str | None = None
    destination_port: str | None = None
    tcp_flags: int | None = None
    negate: list[str] = Field(default_factory=list)


class MacQualifier(Model):
    """The MAC part of a traffic rule (DvsMacNetworkRuleQualifier): addresses are a MAC or
    `address/mask`; `ethertype` the EtherType (the API's `protocol`)."""

    source: str | None = None
    destination: str | None = None
    ethertype: int | None = None
    vlan: int | None = None
    negate: list[str] = Field(default_factory=list)


class SystemQualifier(Model):
    """The system traffic part of a traffic rule (DvsSystemTrafficNetworkRuleQualifier)."""

    type: str  # DistributedVirtualSwitchHostInfrastructureTrafficClass: vmotion, vsan, …
    negate: bool = False


# A traffic rule's action in the UI's words, by the API's type; others are shown by type.
RULE_ACTIONS = {
    "DvsAcceptNetworkRuleAction": "allow",
    "DvsDropNetworkRuleAction": "drop",
    "DvsPuntNetworkRuleAction": "punt",
    "DvsUpdateTagNetworkRuleAction": "tag",
}


class TrafficRule(Model):
    """One rule of a traffic filter (DvsTrafficRule). `name` is its description (what the
    vSphere Client calls the rule's name); `sequence` orders the rules of a ruleset; `action`
    is allow / drop / punt / tag, or the API type of an action vnettool does not write (rate
    limit, MAC rewrite, log, GRE, copy: shown, kept, never sent)."""

    name: str
    key: str | None = None
    sequence: int | None = None
    direction: str | None = None  # incomingPackets | outgoingPackets | both
    action: str
    dscp: int | None = None  # tag: DSCP 0-63 (0 clears)
    cos: int | None = None  # tag: 802.1p CoS 0-7 (0 clears)
    ip: IpQualifier | None = None
    mac: MacQualifier | None = None
    system: SystemQualifier | None = None

    def summary(self) -> str:
        """One line, as plans, tables and the workbook show it:
        `tag dscp 46 cos 5, out: ip dst 10.0.0.0/8 proto 17 dport 16384-32767`."""
        act = self.action
        if act == "tag":
            marks = [
                f"{k} {v}" for k, v in (("dscp", self.dscp), ("cos", self.cos)) if v is not None
            ]
            act = " ".join(["tag", *marks])
        way = {"incomingPackets": "in", "outgoingPackets": "out"}.get(self.direction or "", "both")
        match: list[str] = []
        for kind, q, labels in (
            ("ip", self.ip, _IP_LABELS),
            ("mac", self.mac, _MAC_LABELS),
        ):
            if q is None:
                continue
            bits = [kind]
            for field, label in labels:
                v = getattr(q, field)
                if v is None:
                    continue
                shown = f"0x{v:04x}" if field == "ethertype" else v
                bits.append(f"{label} {'not ' if field in q.negate else ''}{shown}")
            match.append(" ".join(bits) if len(bits) > 1 else f"{kind} any")
        if self.system is not None:
            match.append(f"system {'not ' if self.system.negate else ''}{self.system.type}")
        return f"{act}, {way}: {'; '.join(match) or 'any'}"


_IP_LABELS = (
    ("source", "src"),
    ("destination", "dst"),
    ("protocol", "proto"),
    ("source_port", "sport"),
    ("destination_port", "dport"),
    ("tcp_flags", "flags"),
)
_MAC_LABELS = (("source", "src"), ("destination", "dst"), ("ethertype", "type"), ("vlan", "vlan"))


class TrafficRuleset(Identified):
    """A port group's own traffic filtering and marking (the DvsTrafficRuleset of the
    DvsTrafficFilterConfig in its default port config's filterPolicy), rules in sequence
    order. A port group without one (or inheriting the switch's) has none."""

    _identifiers = ("dvs", "portgroup")
    dvs: str
    portgroup: str
    uplink: bool = False  # the switch's uplink port group
    filter_key: str | None = None  # the DvsTrafficFilterConfig's key (the server's)
    key: str | None = None  # the ruleset's key
    enabled: bool | None = None
    precedence: int | None = None
    rules: list[TrafficRule] = Field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.dvs}/{self.portgroup}"


class DvPortSetting(Model):
    """Port settings of a DVS default port config or a DV port group."""

    vlan: VlanSpec = Field(default_factory=VlanSpec)
    security: SecurityPolicy = Field(default_factory=SecurityPolicy)
    in_shaping: ShapingPolicy = Field(default_factory=ShapingPolicy)
    out_shaping: ShapingPolicy = Field(default_factory=ShapingPolicy)
    teaming: TeamingPolicy = Field(default_factory=TeamingPolicy)
    blocked: bool | None = None
    netflow: bool | None = None  # ipfixEnabled


class DistributedSwitch(Identified):
    moref: str
    name: str
    uuid: str
    datacenter: str | None = None
    version: str | None = None
    config_version: str | None = None
    max_mtu: int | None = None
    description: str | None = None
    uplink_names: list[str] = Field(default_factory=list)
    ldp_protocol: str | None = None
    ldp_operation: str | None = None
    nioc_enabled: bool | None = None
    nioc: list[NiocTraffic] = Field(default_factory=list)
    lacp_api_version: str | None = None
    default_port: DvPortSetting = Field(default_factory=DvPortSetting)
    pvlans: list[PvlanEntry] = Field(default_factory=list)
    lags: list[LacpGroup] = Field(default_factory=list)
    hosts: list[DvsHostMember] = Field(default_factory=list)
    contact: str | None = None
    netflow: NetflowConfig = Field(default_factory=NetflowConfig)
    mirrors: list[MirrorSession] = Field(default_factory=list)
    health_check: HealthCheckConfig = Field(default_factory=HealthCheckConfig)
    nioc_pools: list[NiocPool] = Field(default_factory=list)
    health: list[HealthCheckResult] = Field(default_factory=list)  # while a check is on


class DistributedPortGroup(Identified):
    _identifiers = ("dvs", "name")
    moref: str
    key: str
    name: str
    dvs: str
    dvs_uuid: str | None = None
    config_version: str | None = None
    uplink: bool = False
    binding: str | None = None
    num_ports: int | None = None
    auto_expand: bool | None = None
    description: str | None = None
    setting: DvPortSetting = Field(default_factory=DvPortSetting)
    override_allowed: dict[str, bool] = Field(default_factory=dict)
    port_keys: list[str] = Field(default_factory=list)  # what a mirroring session may name
    # network resource pool name (vmVnicNetworkResourcePoolKey); "": none, None: not read
    nioc_pool: str | None = None
    traffic: TrafficRuleset | None = None  # traffic filtering and marking

    @property
    def vlan(self) -> VlanSpec:
        return self.setting.vlan


class VmkernelAdapter(Identified):
    _identifiers = ("host", "device")
    host: str
    device: str
    portgroup: str | None = None  # standard port group name
    dvs_uuid: str | None = None
    dv_portgroup_key: str | None = None
    dv_port: str | None = None
    mac: str | None = None
    ip: str | None = None
    netmask: str | None = None
    dhcp: bool = False
    ipv6: list[str] = Field(default_factory=list)
    gateway: str | None = None
    mtu: int | None = None
    netstack: str | None = None
    services: list[str] = Field(default_factory=list)

    @property
    def name(self) -> str:
        return self.device


class VmNic(Model):
    key: int
    label: str
    type: str | None = None
    mac: str | None = None
    connected: bool = False
    start_connected: bool = False
    network: str | None = None  # port group name (standard or DV)
    dvs_uuid: str | None = None
    dv_portgroup_key: str | None = None
    dv_port: str | None = None


# extraConfig keys the inventory keeps (collector reads all of config.extraConfig, the reader
# keeps only these): the STIG's per-NIC dvFilter settings and vnettool's own appliance tags
DVFILTER_KEY = re.compile(r"^ethernet[0-9]+\.filter[0-9]+\.")
APPLIANCE_TAG = "vnettool.appliance"


def kept_extra_config(key: str) -> bool:
    return key.startswith(APPLIANCE_TAG) or DVFILTER_KEY.match(key) is not None


class VirtualMachine(Identified):
    moref: str
    name: str
    host: str | None = None
    cluster: str | None = None
    power_state: str | None = None
    template: bool = False
    guest_os: str | None = None
    guest_ip: str | None = None  # guest.ipAddress (VMware Tools), for appliance IPs
    # config.migrateEncryption (API 6.7+): disabled | opportunistic | required; None = not read
    migrate_encryption: str | None = None
    # the kept extraConfig entries (kept_extra_config), as strings
    extra_config: dict[str, str] = Field(default_factory=dict)
    nics: list[VmNic] = Field(default_factory=list)

    @property
    def dvfilters(self) -> dict[str, str]:
        """The VM's dvFilter settings: `ethernet0.filter0.name` -> value."""
        return {k: v for k, v in self.extra_config.items() if DVFILTER_KEY.match(k)}

    @property
    def appliance(self) -> str | None:
        """The vnettool appliance definition this VM belongs to (its tag), if any."""
        return self.extra_config.get(APPLIANCE_TAG)


T = TypeVar("T")

SNAPSHOT_MAX_BYTES = 512 * 1024 * 1024
"""A snapshot of a very large vCenter is hundreds of MB of JSON; more is not a snapshot."""


def _group(items: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    out: dict[str, list[T]] = {}
    for it in items:
        out.setdefault(key(it), []).append(it)
    return out


# The Inventory fields holding identified objects, in model order (drift, watch, live updates).
IDENTIFIED_COLLECTIONS = (
    "datacenters",
    "clusters",
    "hosts",
    "standard_switches",
    "standard_port_groups",
    "distributed_switches",
    "distributed_port_groups",
    "vmkernel_adapters",
    "vms",
)


class Inventory(Model):
    """An immutable snapshot of the network side of a vCenter, with indexes for lookups."""

    SCHEMA: ClassVar[int] = 1

    vcenter: str = ""
    api_version: str | None = None
    collected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # the PropertyCollector update version a live inventory is at; None for a one-time read
    # (it printed as `"version": ""` in every snapshot, which reads like a missing vCenter version)
    version: str | None = None
    datacenters: list[Datacenter] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)
    hosts: list[Host] = Field(default_factory=list)
    standard_switches: list[StandardSwitch] = Field(default_factory=list)
    standard_port_groups: list[StandardPortGroup] = Field(default_factory=list)
    distributed_switches: list[DistributedSwitch] = Field(default_factory=list)
    distributed_port_groups: list[DistributedPortGroup] = Field(default_factory=list)
    vmkernel_adapters: list[VmkernelAdapter] = Field(default_factory=list)
    vms: list[VirtualMachine] = Field(default_factory=list)
    dvs_versions: list[str] = Field(
        default_factory=list,
        description="switch versions vCenter can create (QueryAvailableDvsSpec); [] = unknown",
    )

    model_config = Model.model_config | {"ignored_types": (cached_property,)}

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: Path, *, make_parents: bool = False) -> None:
        """Write atomically and user-only: a reader never sees half a snapshot, others none."""
        userfile.write_text(
            path, self.model_dump_json(indent=1), what="snapshot", make_parents=make_parents
        )

    @classmethod
    def load(cls, path: Path) -> Inventory:
        """A saved snapshot; a device, pipe or endless file is a UserFileError, not a hang."""
        raw = userfile.read_bytes(path, limit=SNAPSHOT_MAX_BYTES, what="snapshot")
        return cls.model_validate_json(raw)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy without the cached indexes: pydantic copies ``__dict__``, and an index built
        for the old lists would silently answer for the new ones."""
        copied = super().model_copy(update=update, deep=deep)
        for name in _CACHED:
            copied.__dict__.pop(name, None)
        return copied

    # -- indexes ----------------------------------------------------------------------------
    @cached_property
    def host_by_name(self) -> dict[str, Host]:
        return {h.name: h for h in self.hosts}

    @cached_property
    def vm_by_name(self) -> dict[str, VirtualMachine]:
        return {v.name: v for v in self.vms}

    @cached_property
    def dvs_by_name(self) -> dict[str, DistributedSwitch]:
        return {d.name: d for d in self.distributed_switches}

    @cached_property
    def dvs_by_uuid(self) -> dict[str, DistributedSwitch]:
        return {d.uuid: d for d in self.distributed_switches}

    @cached_property
    def dvpg_by_key(self) -> dict[str, DistributedPortGroup]:
        return {p.key: p for p in self.distributed_port_groups}

    def hosts_in(self, cluster: str | None = None, datacenter: str | None = None) -> list[Host]:
        return [
            h
            for h in self.hosts
            if (cluster is None or h.cluster == cluster)
            and (datacenter is None or h.datacenter == datacenter)
        ]

    # Per-host and per-switch groupings, built once: rules, planners and the TUI ask for them
    # once per object, which as list scans was quadratic at 1,000 hosts.
    @cached_property
    def switches_by_host(self) -> dict[str, list[StandardSwitch]]:
        return _group(self.standard_switches, lambda s: s.host)

    @cached_property
    def portgroups_by_host(self) -> dict[str, list[StandardPortGroup]]:
        return _group(self.standard_port_groups, lambda p: p.host)

    @cached_property
    def vmknics_by_host(self) -> dict[str, list[VmkernelAdapter]]:
        return _group(self.vmkernel_adapters, lambda v: v.host)

    @cached_property
    def dvpgs_by_dvs(self) -> dict[str, list[DistributedPortGroup]]:
        return _group(self.distributed_port_groups, lambda p: p.dvs)

    def switches_of(self, host: str) -> list[StandardSwitch]:
        return list(self.switches_by_host.get(host, []))

    def portgroups_of(self, host: str) -> list[StandardPortGroup]:
        return list(self.portgroups_by_host.get(host, []))

    def vmknics_of(self, host: str) -> list[VmkernelAdapter]:
        return list(self.vmknics_by_host.get(host, []))

    def dv_portgroups_of(self, dvs: str) -> list[DistributedPortGroup]:
        return list(self.dvpgs_by_dvs.get(dvs, []))

    def collections(self) -> Iterable[tuple[str, list[Identified]]]:
        """(name, objects) for every identified collection — used by drift and watch diffs."""
        for name in IDENTIFIED_COLLECTIONS:
            yield name, getattr(self, name)


_CACHED = tuple(k for k, v in vars(Inventory).items() if isinstance(v, cached_property))
