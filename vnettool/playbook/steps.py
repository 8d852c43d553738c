"""The playbook language as pydantic models: what a playbook may say, and nothing else.

Every model forbids unknown keys (a misspelled key is an error with a suggestion, never
silently ignored). A step is a mapping with common keys (name, tags, loop) and exactly one
*action* key naming its kind — the Ansible shape admins already know::

    - name: vMotion VLAN is everywhere
      tags: [check]
      assert:
        that:
          - portgroup: {name: vMotion, vlan: 100}

Value types carry their meaning (`VlanId`, `Mtu`), so a VLAN of 5000 is reported as an
out-of-range VLAN at its line, not as a generic integer error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from vnettool.models.appliance import ApplianceSpec

VLAN_MAX = 4095
MTU_MIN, MTU_MAX = 1280, 9000


def _vlan(v: int) -> int:
    if not 0 <= v <= VLAN_MAX:
        raise PydanticCustomError(
            "vlan_range", "VLAN id {value} is out of range 0-4095", {"value": v}
        )
    return v


def _mtu(v: int) -> int:
    if not MTU_MIN <= v <= MTU_MAX:
        raise PydanticCustomError(
            "mtu_range", "MTU {value} is out of range 1280-9000", {"value": v}
        )
    return v


VlanId = Annotated[int, AfterValidator(_vlan)]
Mtu = Annotated[int, AfterValidator(_mtu)]
Name = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Unknown keys are errors; the schema says so too (additionalProperties: false). Values
    are not coerced: ``vlan: true`` or ``count: "3"`` is an error, not 1 or 3."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Scope(Strict):
    """Which hosts a step is about: name patterns (shell globs) for datacenter, cluster, host."""

    datacenter: str | None = Field(None, description="Datacenter name or glob")
    cluster: str | None = Field(None, description="Cluster name or glob")
    hosts: str | None = Field(None, description="Host name glob, e.g. 'esx-0[1-4]*'")


class Loop(Scope):
    """Run the step once per matching host; inside it ``${host}`` is the host's name."""


# -- step bodies ------------------------------------------------------------------------------


class SnapshotBody(Strict):
    """Save the inventory as JSON (for drift reports and audits against a baseline)."""

    path: Name = Field(description="File to write, e.g. reports/before.json")


class PortGroupCondition(Strict):
    """Every host in scope has this standard port group (optionally on this VLAN / switch)."""

    name: Name
    vlan: VlanId | None = None
    switch: str | None = None


class DvPortGroupCondition(Strict):
    """This distributed port group exists (optionally on this DVS, with this VLAN)."""

    name: Name
    dvs: str | None = None
    vlan: VlanId | None = None


class VmknicCondition(Strict):
    """Every host in scope has a VMkernel adapter with this service / port group / MTU."""

    service: (
        Literal[
            "management",
            "vmotion",
            "vsan",
            "faultToleranceLogging",
            "vSphereReplication",
            "vSphereReplicationNFC",
            "vSphereProvisioning",
        ]
        | None
    ) = None
    portgroup: str | None = None
    mtu: Mtu | None = None

    @model_validator(mode="after")
    def _something(self) -> VmknicCondition:
        if self.service is None and self.portgroup is None:
            raise PydanticCustomError(
                "vmknic_empty", "a vmknic condition needs 'service' or 'portgroup'"
            )
        return self


class SwitchCondition(Strict):
    """Every host in scope has this standard switch (optionally with this MTU, uplinks)."""

    name: Name
    mtu: Mtu | None = None
    min_uplinks: Annotated[int, Field(ge=0, le=32)] | None = None


class PvlanCondition(Strict):
    """This DVS's PVLAN map has this entry."""

    dvs: Name
    primary: VlanId
    secondary: VlanId
    type: Literal["promiscuous", "isolated", "community"] | None = None


class HostCountCondition(Strict):
    """The scope has at least / at most this many connected hosts."""

    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=0)] | None = None


CONDITION_KINDS = ("portgroup", "dv_portgroup", "vmknic", "switch", "pvlan", "hosts")


def _exactly_one(obj: BaseModel, kinds: tuple[str, ...], what: str) -> None:
    present = [k for k in kinds if getattr(obj, k) is not None]
    if len(present) != 1:
        raise PydanticCustomError(
            "one_kind",
            "{what} needs exactly one of: {kinds}; found {found}",
            {"what": what, "kinds": ", ".join(kinds), "found": ", ".join(present) or "none"},
        )


class Condition(Strict):
    """One inventory condition; exactly one key."""

    portgroup: PortGroupCondition | None = None
    dv_portgroup: DvPortGroupCondition | None = None
    vmknic: VmknicCondition | None = None
    switch: SwitchCondition | None = None
    pvlan: PvlanCondition | None = None
    hosts: HostCountCondition | None = None

    @model_validator(mode="after")
    def _one(self) -> Condition:
        _exactly_one(self, CONDITION_KINDS, "a condition")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in CONDITION_KINDS if getattr(self, k) is not None)


class AssertBody(Strict):
    """Fail the step unless every condition holds for the scope."""

    that: list[Condition] = Field(min_length=1)
    scope: Scope | None = Field(None, description="Default: the playbook's target")
    message: str | None = Field(None, description="Shown when the assertion fails")


class AuditBody(Strict):
    """Run the audit rules and write a workbook; fail on findings of a severity or worse."""

    out: str | None = Field(None, description="Workbook path (default reports/...)")
    baseline: str | None = Field(None, description="A saved snapshot to report drift against")
    fail_on: Literal["critical", "high", "medium", "low", "info", "never"] = "never"
    rules: list[str] | None = Field(None, description="Only these rule ids")


class LatencyBody(Strict):
    """Probe VMkernel latency and report; fail above thresholds."""

    scope: Scope | None = None
    target: str | None = Field(None, description="IP to ping; default each peer's vmknic")
    vmknic: str | None = Field(None, description="Source adapter, e.g. vmk1")
    count: Annotated[int, Field(ge=1, le=100)] = 5
    size: Annotated[int, Field(ge=1, le=8972)] | None = None
    warn_ms: Annotated[float, Field(gt=0)] | None = None
    fail_ms: Annotated[float, Field(gt=0)] | None = None


class RebalanceBody(Strict):
    """Latency-aware vMotion. Dry run unless ``dry_run: false`` (and never under --check)."""

    scope: Scope | None = None
    dry_run: bool = True
    max_moves: Annotated[int, Field(ge=0, le=1000)] = 4


class ApplianceBody(ApplianceSpec):
    """Deploy, check or remove one appliance definition (see docs/appliances.md). `deploy`
    and `remove` plan first and apply unless --check; `status` only reads."""

    action: Literal["deploy", "remove", "status"] = "deploy"
    scope: Scope | None = Field(None, description="Default: the playbook's target")

    def definition(self) -> ApplianceSpec:
        return ApplianceSpec.model_validate(self.model_dump(exclude={"action", "scope"}))


STEP_KINDS = (
    "configure",
    "audit",
    "latency",
    "rebalance",
    "appliance",
    "assert",
    "snapshot",
)


class Step(Strict):
    """One step: common keys and exactly one action key (its kind)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = Field(None, description="Shown in the run output")
    tags: list[Name] = Field(default_factory=list, description="Select with --tags")
    loop: Loop | None = Field(None, description="Run once per matching host as ${host}")
    configure: dict[str, Any] | None = Field(
        None, description="Desired state (the configuration engine's model)"
    )
    audit: AuditBody | None = None
    latency: LatencyBody | None = None
    rebalance: RebalanceBody | None = None
    appliance: ApplianceBody | None = None
    assert_: AssertBody | None = Field(None, alias="assert")
    snapshot: SnapshotBody | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_body(cls, data: Any) -> Any:
        """``snapshot:`` with nothing after it means an empty body (so the error is the
        missing key inside it, at that line), not a missing action."""
        if isinstance(data, dict):
            return {k: ({} if k in STEP_KINDS and v is None else v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _one(self) -> Step:
        present = [k for k in STEP_KINDS if self.body_of(k) is not None]
        if len(present) != 1:
            raise PydanticCustomError(
                "one_kind",
                "a step needs exactly one action key ({kinds}); found {found}",
                {"kinds": ", ".join(STEP_KINDS), "found": ", ".join(present) or "none"},
            )
        return self

    def body_of(self, kind: str) -> Any:
        return getattr(self, "assert_" if kind == "assert" else kind)

    @property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if self.body_of(k) is not None)

    @property
    def body(self) -> Any:
        return self.body_of(self.kind)

    def title(self, index: int) -> str:
        return self.name or f"{self.kind} #{index + 1}"


class IncludeStep(Strict):
    """``- include: FILE`` — replaced by the file's steps while loading (see loader); this
    model exists so the JSON Schema (and so editors) know the form."""

    include: Name = Field(description="Path relative to this file")
    tags: list[Name] = Field(default_factory=list, description="Added to every included step")


class Playbook(Strict):
    """A list of steps run in order against a target, after the whole file validates."""

    name: str | None = None
    description: str | None = None
    target: Scope | None = Field(None, description="Default scope of every step")
    vars: dict[str, Any] = Field(
        default_factory=dict, description="Variables, used as ${name}; --var overrides"
    )
    steps: list[Step] = Field(min_length=1)
