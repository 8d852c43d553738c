"""Plan and result models: every configuration operation reports the same way (Nornir's idea).

A `Change` carries the before and after of each field it touches, so a plan prints as an exact
diff, a run journal can roll back from the before-values, and tests can compare plans.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vnettool.models.appliance import ApplianceOrder
from vnettool.models.base import Model
from vnettool.models.impact import Impact
from vnettool.models.inventory import PvlanEntry

ChangeKind = Literal["create", "update", "delete"]

# resource name -> the model of its before/after state. Filled by the engine's Resource classes
# when they are defined, so that a plan or journal read back from JSON gets typed states again.
STATE_MODELS: dict[str, type[Model]] = {}


class Opaque(Model):
    """The state of a change whose resource this process does not know (read back from a
    journal of another version): kept as it was written, never interpreted."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Placement(Model):
    """Where a moved NIC or VM is, or goes: a DV port group (switch, key, uuid), a standard
    port group (portgroup alone), or a host (host, moref)."""

    switch: str | None = None
    portgroup: str | None = None
    key: str | None = None
    uuid: str | None = None
    host: str | None = None
    moref: str | None = None


class HostOp(Model):
    """One host membership edit sent with a distributed switch's reconfigure."""

    op: Literal["add", "edit", "remove"]
    host: str
    moref: str
    pnics: dict[str, str] = Field(default_factory=dict)  # pNIC -> uplink name


class PvlanOp(Model):
    op: Literal["add", "edit", "remove"]
    entry: PvlanEntry


class Concurrent(Model):
    """A reconfigure answered ConcurrentAccess: the version sent, the one found, and which of
    the change's own fields the other client changed (None: none, so it was resent)."""

    sent: str | None = None
    current: str | None = None
    conflict: str | None = None


class Facts(Model):
    """What the server chose while applying a change (ids it assigned, states it reported),
    recorded with the result so that rollback and reports can name the real object."""

    device: str | None = None  # a created VMkernel adapter
    moref: str | None = None  # a created switch or port group
    key: str | None = None  # a created LAG
    connection_state: str | None = None  # the host's, after a management adapter moved
    vm_moref: str | None = None  # a created appliance VM
    health: str | None = None  # an appliance's health check answer
    attempts: int | None = None  # reconfigure attempts after ConcurrentAccess
    config_version: str | None = None  # the object's configVersion after the change
    concurrent: list[Concurrent] = Field(default_factory=list)
    dvs_moref: str | None = None


class FieldDiff(Model):
    field: str
    before: Any = None
    after: Any = None


class Change(Model):
    """One planned operation on one object, with everything apply and rollback need.

    `before` / `after` are the object's whole state in the resource's model (None: it does
    not exist before / after), so apply sends exactly the planned state and rollback sends
    the before-state back. The optional fields below are set by the resources that need them.
    """

    kind: ChangeKind
    resource: str  # e.g. "standard_switch", "standard_port_group", "vmkernel_adapter"
    host: str | None = None  # None for vCenter-wide objects (DVS, DV port group)
    name: str
    diffs: list[FieldDiff] = Field(default_factory=list)
    before: SerializeAsAny[Model] | None = None
    after: SerializeAsAny[Model] | None = None
    host_moref: str | None = None  # the host whose network system is changed
    # vCenter-wide changes name their serialization lane (one per distributed switch / VM)
    lane: str | None = None
    unsafe: str | None = None  # why it would cut management or VM traffic (needs --force)
    irreversible: str | None = None  # why --rollback cannot undo it
    switch: str | None = None  # the switch (standard or distributed) the object is on / part of
    dvs_moref: str | None = None
    pg_moref: str | None = None
    datacenter: str | None = None  # where a new distributed switch is created
    device: str | None = None  # a VMkernel adapter's device (vmk1)
    switches: list[str] = Field(default_factory=list)  # vSS a vmknic's port group is on
    host_ops: list[HostOp] = Field(default_factory=list)
    pvlan_ops: list[PvlanOp] = Field(default_factory=list)
    after_ids: list[str] = Field(default_factory=list)  # ids it must wait for
    vm_moref: str | None = None
    nic_key: int | None = None
    source: Placement | None = None  # where a moved NIC / VM is
    dest: Placement | None = None  # where it goes
    management: bool = False  # a moved VMkernel adapter carries management
    batch: int | None = None  # rollout batch of a migration
    facts: Facts = Field(default_factory=Facts)  # filled when applied
    appliance: ApplianceOrder | None = None  # an appliance VM, DRS rule or protected NIC
    depends_on: list[str] = Field(default_factory=list)
    # What the change does to VM NICs and vmknics (vnettool.impact); None = not computed.
    impact: Impact | None = None

    @model_validator(mode="before")
    @classmethod
    def _lift_spec(cls, data: Any) -> Any:
        """A change journaled by an earlier version kept these fields in a `spec` dict;
        read it into the typed fields, so that such a run can still be rolled back."""
        if not isinstance(data, dict) or data.get("resource") not in STATE_MODELS:
            return data
        spec = dict(data.get("spec") or {})
        if not spec:
            return data
        return {**{k: v for k, v in data.items() if k != "spec"}, **_lifted(spec)}

    @field_validator("before", "after", mode="before")
    @classmethod
    def _typed_state(cls, v: Any, info: ValidationInfo) -> Any:
        """A state read back from JSON becomes its resource's model again."""
        if isinstance(v, dict):
            model = STATE_MODELS.get(str(info.data.get("resource")), Opaque)
            return model.model_validate(v)
        return v

    @property
    def id(self) -> str:
        return f"{self.resource}:{self.host or '-'}:{self.name}"

    def summary(self) -> str:
        where = f"{self.host}: " if self.host else ""
        return f"{self.kind} {self.resource} {where}{self.name}"


class Plan(Model):
    changes: list[Change] = Field(default_factory=list)
    # The whole plan's effect (each change's effects in order, compared to the start).
    impact: Impact | None = None

    @property
    def empty(self) -> bool:
        return not self.changes

    def by_host(self) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = {}
        for c in self.changes:
            out.setdefault(c.host or "(vCenter)", []).append(c)
        return out

    def summary(self) -> str:
        """One line of counts, e.g. `1 to create, 2 to update, 0 to delete on 3 hosts`."""
        n = {k: sum(1 for c in self.changes if c.kind == k) for k in ("create", "update", "delete")}
        hosts = len({c.host for c in self.changes if c.host})
        where = [f"{hosts} host{'s' if hosts != 1 else ''}"] if hosts else []
        if any(c.host is None for c in self.changes):
            where.append("vCenter")  # a DVS belongs to no host: not "on 1 host"
        return (
            f"{n['create']} to create, {n['update']} to update, {n['delete']} to delete "
            f"on {' and '.join(where)}"
        )


class Result(Model):
    change: Change
    changed: bool = False
    failed: bool = False
    skipped: bool = False
    error: str | None = None
    diff: list[FieldDiff] = Field(default_factory=list)
    duration_s: float = 0.0


def _lifted(spec: dict[str, Any]) -> dict[str, Any]:
    """The typed fields of an old `spec` dict (see `Change._lift_spec`)."""
    out: dict[str, Any] = {}
    order: dict[str, Any] = {}
    fields = set(Change.model_fields)
    for key, value in spec.items():
        if key == "ops":
            out["pvlan_ops"] = [{"op": op, "entry": e} for op, e in value]
        elif key == "host_ops":
            out["host_ops"] = [
                {"op": op, "host": h, "moref": m, "pnics": pn or {}} for op, h, m, pn in value
            ]
        elif key in ("from", "to"):
            out["source" if key == "from" else "dest"] = value
        elif key in ("network", "dvs_uuid", "dv_portgroup_key"):  # a protected NIC
            name = {"network": "portgroup", "dvs_uuid": "uuid", "dv_portgroup_key": "key"}[key]
            out.setdefault("dest", {})[name] = value
            order["connect"] = False
        elif key == "vms":
            order["rule_vms"] = value
        elif key == "anti_affinity":
            continue
        elif key in fields:
            out[key] = value
        else:
            order[key] = value
    if order:
        out["appliance"] = order
    return out
