"""Status of a deployed network appliance, shared by the appliance manager and the audit.

It lives in models (not in `vnettool.appliances`) because the audit workbook's Appliances tab
and the TUI show it, and audit and appliances are sibling layers that must not import each
other: the caller (CLI, playbook, TUI) computes the statuses and hands them to the workbook.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from vnettool.models.base import Identified, Model

Health = Literal["ok", "failed", "unknown"]
NicRole = Literal["management", "unprotected", "protected"]


class ApplianceNic(Model):
    role: NicRole
    label: str
    network: str | None = None
    expected_network: str | None = None
    connected: bool = False

    @property
    def wired(self) -> bool:
        return self.connected and self.network == self.expected_network


class ApplianceStatus(Identified):
    """One appliance VM: where it runs, whether it is healthy and compliant with its definition."""

    _identifiers: ClassVar[tuple[str, ...]] = ("definition", "vm")

    definition: str
    vm: str
    role: str = ""
    host: str | None = None
    expected_host: str | None = None
    power_state: str | None = None
    health: Health = "unknown"
    health_detail: str = ""
    pinned: bool = False
    nics: list[ApplianceNic] = Field(default_factory=list)
    cpu_reservation_mhz: int | None = None
    memory_reservation_mb: int | None = None
    reservation_compliant: bool = False
    latency_sensitivity: str | None = None
    latency_compliant: bool = False
    protected_vms: int = 0

    @property
    def wiring_compliant(self) -> bool:
        return all(n.wired for n in self.nics)

    @property
    def wiring(self) -> str:
        """One line: `m:<management> u:<unprotected> p:<protected>`, `(off)` if disconnected."""
        return " ".join(
            f"{n.role[0]}:{n.network or '-'}{'' if n.connected else '(off)'}" for n in self.nics
        )

    @property
    def compliant(self) -> bool:
        return (
            self.pinned
            and self.wiring_compliant
            and self.reservation_compliant
            and self.latency_compliant
            and self.host == self.expected_host
        )


# -- definition (what a playbook declares) ------------------------------------------------------

Role = Literal["firewall", "load-balancer", "ipam", "wan-acceleration", "ids", "other"]


class SecretRef(Model):
    """A value read from the environment when the change is applied, so that it never lands
    in a plan, a journal or a log (OVF properties the descriptor marks `password`)."""

    env: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class ApplianceSource(Model):
    """Where the appliance VM comes from: a template (or VM) of the inventory to clone, or an
    OVF/OVA package (a local path or an http(s) URL) imported on each host."""

    template: str | None = Field(None, description="name of a VM template in the inventory")
    ovf: str | None = Field(
        None,
        min_length=1,
        description="OVF/OVA: a path (relative to the playbook) or an http(s) URL",
    )
    networks: dict[str, NicRole] | None = Field(
        None,
        description="OVF network name -> NIC role; default: the OVF's NICs in order are "
        "management, unprotected, protected",
    )
    properties: dict[str, str | SecretRef] = Field(
        default_factory=dict,
        description="OVF property values by id (vApp options); {env: VAR} for secrets",
    )
    deployment_option: str | None = Field(None, description="OVF DeploymentOptionSection id")
    datastore: str | None = Field(
        None, description="OVF: datastore for the disks (default: the host's with most space)"
    )

    @model_validator(mode="after")
    def _one(self) -> ApplianceSource:
        if (self.template is None) == (self.ovf is None):
            raise ValueError("give exactly one of template, ovf")
        if self.template is not None and (
            self.networks or self.properties or self.deployment_option or self.datastore
        ):
            raise ValueError(
                "networks, properties, deployment_option and datastore apply to ovf sources only"
            )
        if self.networks is not None:
            roles = list(self.networks.values())
            dup = sorted({r for r in roles if roles.count(r) > 1})
            if dup:
                raise ValueError(f"networks: role {', '.join(dup)} given to more than one network")
        return self


class AppliancePlacement(Model):
    """`per: host` pins one appliance to every host; `per: cluster` runs `count` of them with a
    VM-VM anti-affinity rule, placed on distinct hosts."""

    per: Literal["host", "cluster"] = "host"
    count: Annotated[int, Field(ge=1, le=64)] = 1


class ApplianceResources(Model):
    """Size, reservations (MHz, MB) and latency sensitivity. `high` needs a CPU reservation and
    all memory reserved (vSphere refuses to power it on otherwise), so both are checked here."""

    cpus: Annotated[int, Field(ge=1, le=128)] = 2
    memory_mb: Annotated[int, Field(ge=128, le=1048576)] = 2048
    cpu_reservation_mhz: Annotated[int, Field(ge=0)] = 0
    memory_reservation_mb: Annotated[int, Field(ge=0)] | None = Field(
        None, description="default: all of memory_mb"
    )
    latency_sensitivity: Literal["normal", "high"] = "high"

    @property
    def memory_reserved(self) -> int:
        return self.memory_mb if self.memory_reservation_mb is None else self.memory_reservation_mb

    @model_validator(mode="after")
    def _high(self) -> ApplianceResources:
        if self.memory_reserved > self.memory_mb:
            raise ValueError("memory_reservation_mb exceeds memory_mb")
        if self.latency_sensitivity == "high":
            if self.memory_reserved != self.memory_mb:
                raise ValueError("latency_sensitivity high needs all memory reserved")
            if self.cpu_reservation_mhz <= 0:
                raise ValueError("latency_sensitivity high needs cpu_reservation_mhz > 0")
        return self


class ApplianceNetworks(Model):
    """Port groups (standard or DV) of the three NICs, in template NIC order."""

    management: str
    unprotected: str = Field(description="uplink side: where traffic comes from")
    protected: str = Field(description="VM side: the segment the protected VMs live on")


class ProtectedSegment(Model):
    """Create the protected segment. `vss`: a switch without uplinks on every host, with the
    protected port group on it (traffic leaves the host only through the appliance). `pvlan`:
    an isolated secondary on a DVS for the protected VMs, the appliance on the promiscuous
    primary's port group `appliance_portgroup`."""

    kind: Literal["vss", "pvlan"]
    switch: str = Field(description="vss: the new switch's name; pvlan: the DVS")
    primary: Annotated[int, Field(ge=1, le=4094)] | None = None
    isolated: Annotated[int, Field(ge=1, le=4094)] | None = None
    appliance_portgroup: str | None = Field(None, description="pvlan: port group on the primary")

    @model_validator(mode="after")
    def _pvlan(self) -> ProtectedSegment:
        if self.kind == "pvlan" and (
            self.primary is None or self.isolated is None or not self.appliance_portgroup
        ):
            raise ValueError("a pvlan segment needs primary, isolated and appliance_portgroup")
        return self


class ProtectSpec(Model):
    """Which VMs move behind the appliance: their NICs on `from_portgroup` go to the protected
    port group (service insertion); `remove` moves them back there."""

    vms: list[str] = Field(min_length=1, description="VM name globs")
    nic: str = Field("*", description="NIC label glob")
    from_portgroup: str


class HttpProbe(Model):
    """An HTTP(S) GET: healthy = the status is one of `status` and, with `body`, the regular
    expression is found in the first 64 KiB of the answer."""

    scheme: Literal["http", "https"] = "https"
    port: Annotated[int, Field(ge=1, le=65535)] | None = Field(None, description="default 80/443")
    path: str = Field("/", pattern=r"^/[^\s]*$", max_length=2048)
    status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=lambda: [200], min_length=1
    )
    body: str | None = Field(None, max_length=1024, description="regex searched in the answer")
    verify_tls: bool = Field(
        False,
        description="check the appliance's certificate (appliances boot with self-signed ones)",
    )
    ca_file: str | None = Field(None, description="PEM bundle to verify against (implies verify)")

    @model_validator(mode="after")
    def _regex(self) -> HttpProbe:
        if self.body is not None:
            try:
                re.compile(self.body)
            except re.error as exc:
                raise ValueError(f"body is not a regular expression: {exc}") from None
        return self


class HealthCheck(Model):
    """Healthy = a TCP connect to `port` on the appliance's guest IP (or `address`) succeeds;
    or, with `http`, an HTTP(S) GET there answers as expected; without either, VMware Tools
    running with a green heartbeat."""

    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    http: HttpProbe | None = None
    address: str | None = None
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0

    @model_validator(mode="after")
    def _one(self) -> HealthCheck:
        if self.port is not None and self.http is not None:
            raise ValueError("give port (a TCP check) or http (its own port), not both")
        return self


class ApplianceSpec(Model):
    """One appliance definition, as written in a playbook's `appliance` step."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    role: Role = "firewall"
    source: ApplianceSource
    placement: AppliancePlacement = Field(default_factory=AppliancePlacement)
    resources: ApplianceResources = Field(default_factory=ApplianceResources)
    networks: ApplianceNetworks
    segment: ProtectedSegment | None = None
    protect: ProtectSpec | None = None
    on_remove: Literal["rehome", "disconnect"] = Field(
        "rehome", description="protected VMs' NICs: back to protect.from_portgroup, or unplugged"
    )
    health: HealthCheck = Field(default_factory=HealthCheck)

    @property
    def appliance_side(self) -> str:
        """The port group of the appliance's protected NIC."""
        if self.segment and self.segment.kind == "pvlan" and self.segment.appliance_portgroup:
            return self.segment.appliance_portgroup
        return self.networks.protected


# -- what the vSphere layer reads back -----------------------------------------------------------


class VmNicState(Model):
    key: int
    label: str
    network: str | None = None
    dv_portgroup_key: str | None = None
    connected: bool = False
    start_connected: bool = False


class ApplianceVm(Model):
    """An appliance VM as read from vCenter (its tags are `vnettool.appliance.*` extraConfig)."""

    moref: str
    name: str
    host_moref: str | None = None
    power_state: str | None = None
    cpus: int | None = None
    memory_mb: int | None = None
    cpu_reservation_mhz: int | None = None
    memory_reservation_mb: int | None = None
    latency_sensitivity: str | None = None
    guest_ip: str | None = None
    heartbeat: str | None = None
    nics: list[VmNicState] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)


class NetworkRef(Model):
    """How to reach a port group: a DV one (switch, uuid, key; key None until a port group
    created by the same plan exists) or a standard one (portgroup alone)."""

    portgroup: str
    switch: str | None = None
    uuid: str | None = None
    key: str | None = None


class ApplianceWant(Model):
    """An appliance VM as its definition wants it (sizes in the units vSphere takes)."""

    cpus: int
    memory_mb: int
    cpu_reservation_mhz: int
    memory_reservation_mb: int
    latency_sensitivity: str
    networks: dict[str, NetworkRef]  # by NIC role


class OvfOrder(Model):
    """What an OVF import needs at apply time: the package (absolute path or URL), the role of
    each of the OVF's NICs in order (None = not wanted: dropped), the network mapping and the
    property values (secrets as references, resolved when applied)."""

    source: str
    nic_roles: list[NicRole | None] = Field(default_factory=list)
    network_roles: dict[str, NicRole] = Field(default_factory=dict)
    properties: dict[str, str | SecretRef] = Field(default_factory=dict)
    deployment_option: str | None = None
    datastore: str | None = None


class ApplianceOrder(Model):
    """What an appliance change needs beyond its diffs to be applied and undone."""

    definition: str | None = None
    cluster_moref: str | None = None
    want: ApplianceWant | None = None
    per: Literal["host", "cluster"] | None = None
    health: HealthCheck | None = None
    template_moref: str | None = None
    ovf: OvfOrder | None = None  # an OVF/OVA import instead of a clone
    datacenter_moref: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    park: bool = False  # power the VM off (its host is in maintenance mode)
    power_state: str | None = None  # of a VM being deleted
    pin_names: list[str] = Field(default_factory=list)  # DRS groups and rules it goes with
    rule_vms: list[str] | None = None  # an anti-affinity rule change: the VMs it keeps apart
    connect: bool = False  # a protected NIC change: connect (True) or disconnect it


class DrsGroup(Model):
    name: str
    kind: Literal["vm", "host"]
    members: list[str] = Field(default_factory=list)


class DrsRule(Model):
    key: int
    name: str
    kind: Literal["vm-host", "anti-affinity", "affinity"]
    enabled: bool = False
    mandatory: bool = False
    vm_group: str | None = None
    host_group: str | None = None
    vms: list[str] = Field(default_factory=list)


class ClusterRules(Model):
    cluster_moref: str
    groups: list[DrsGroup] = Field(default_factory=list)
    rules: list[DrsRule] = Field(default_factory=list)

    def group(self, name: str) -> DrsGroup | None:
        return next((g for g in self.groups if g.name == name), None)

    def rule(self, name: str) -> DrsRule | None:
        return next((r for r in self.rules if r.name == name), None)
