"""Network policies as value objects shared by standard and distributed switching.

Fields are ``None`` when a level does not set them: on a standard port group that means
"inherited from the switch", on a DV port group "inherited from the switch's default port
config". Units are those of the vSphere API (bits per second, bytes) so that a reading can be
compared with what the API returns without rounding.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import Field

from vnettool.models.base import Model

TeamingPolicyName = Literal[
    "loadbalance_srcid",
    "loadbalance_ip",
    "loadbalance_srcmac",
    "loadbalance_loadbased",
    "failover_explicit",
]


class SecurityPolicy(Model):
    allow_promiscuous: bool | None = None
    mac_changes: bool | None = None
    forged_transmits: bool | None = None
    # vDS 6.7+ macManagementPolicy only
    mac_learning: bool | None = None


class ShapingPolicy(Model):
    enabled: bool | None = None
    average_bps: int | None = None
    peak_bps: int | None = None
    burst_bytes: int | None = None


class TeamingPolicy(Model):
    policy: str | None = None
    notify_switches: bool | None = None
    # API field rollingOrder is the inverse of the UI's "failback"; we store the UI meaning.
    failback: bool | None = None
    check_beacon: bool | None = None
    active_uplinks: list[str] | None = None
    standby_uplinks: list[str] | None = None


class NetworkPolicy(Model):
    """The policy block of a vSS, a vSS port group, or a DV port's settings."""

    security: SecurityPolicy = Field(default_factory=SecurityPolicy)
    shaping: ShapingPolicy = Field(default_factory=ShapingPolicy)
    teaming: TeamingPolicy = Field(default_factory=TeamingPolicy)


class VlanSpec(Model):
    """VLAN of a port group: none, one id, trunk ranges (VGT), or a PVLAN secondary id."""

    kind: Literal["none", "vlan", "trunk", "pvlan"] = "none"
    vlan_id: int | None = None
    ranges: list[tuple[int, int]] = Field(default_factory=list)
    pvlan_id: int | None = None

    def display(self) -> str:
        if self.kind == "vlan":
            return str(self.vlan_id)
        if self.kind == "trunk":
            return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in self.ranges)
        if self.kind == "pvlan":
            return f"pvlan {self.pvlan_id}"
        return "none"


P = TypeVar("P", bound=Model)


def merge_policy(base: NetworkPolicy, override: NetworkPolicy) -> NetworkPolicy:
    """Apply the fields an override sets on top of a base policy (vSS inheritance rule)."""

    def merged(b: P, o: P) -> P:
        # both are valid already, so copying the set fields over needs no re-validation
        # (a bulk plan merges once per port group: 25,600 times for 100 on 256 hosts)
        got = {k: v for k in type(o).model_fields if (v := getattr(o, k)) is not None}
        return b.model_copy(update=got) if got else b

    return NetworkPolicy.model_construct(
        security=merged(base.security, override.security),
        shaping=merged(base.shaping, override.shaping),
        teaming=merged(base.teaming, override.teaming),
    )
