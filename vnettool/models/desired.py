"""Desired-state documents: the network an admin wants, as the configuration engine reads it.

The YAML shape is documented in docs/engine.md. Units are the ones people type (kbit/s, KB,
the UI's "failback"); the engine converts to API units when it compares with the inventory.
Ownership is explicit: a field left out is left alone on the server, a resource not named is
not touched, and only `absent` deletes.

Issue 6 adds `distributed_switches`, `distributed_port_groups` and `pvlans` (and their
`absent` lists) as further optional fields of `DesiredState` and `Absent`; the planner ignores
the keys it does not know, so each resource module only reads its own part.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from vnettool.models.base import Model

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

VlanId = Annotated[int, Field(ge=0, le=4095)]
Kbps = Annotated[int, Field(ge=1, le=2**53)]
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
    burst_kb: Kbps | None = None

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
    name: str = Field(min_length=1, max_length=32)
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
    name: str = Field(min_length=1, max_length=59)
    switch: str
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


class Absent(Model):
    """Things that must not exist on the targeted hosts (the only way to delete)."""

    standard_switches: list[str] = Field(default_factory=list)
    standard_port_groups: list[str] = Field(default_factory=list)
    vmkernel_adapters: list[AbsentVmknic] = Field(default_factory=list)


class DesiredState(Model):
    """A desired-state document. Every section is optional; an empty document plans nothing."""

    target: Target = Field(default_factory=Target)
    standard_switches: list[StandardSwitchSpec] = Field(default_factory=list)
    standard_port_groups: list[StandardPortGroupSpec] = Field(default_factory=list)
    vmkernel_adapters: list[VmkernelAdapterSpec] = Field(default_factory=list)
    absent: Absent = Field(default_factory=Absent)

    @model_validator(mode="after")
    def _unique_names(self) -> DesiredState:
        for section in ("standard_switches", "standard_port_groups"):
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
