"""The resource contract: what every kind of object the engine manages declares and does.

A resource is a class over its pydantic model (the object's state as the inventory reads it,
in API units). It says what it is — `name`, `model`, compared `fields`, what it comes
`after`, how plans show its fields (`display`) — and implements a few hooks. The core never
names a resource: it loops over the registry (engine/registry.py) and calls these hooks, so a
new capability is one module with one class and a line in the registry (docs/engine.md).

The shape of every hook, with the standard switch as the example:

- `plan(ctx) -> list[Change]`: desired state + inventory (on `ctx`) to changes; problems go to
  `ctx.problems` (all of them, nothing is applied). `Change(kind="update", resource=
  "standard_switch", host="esx1", name="vSwitch1", before=<StandardSwitch mtu=1500>,
  after=<StandardSwitch mtu=9000>, diffs=[mtu: 1500 -> 9000], host_moref="host-12")`.
- `create` / `update` / `delete(change, session, facts)`: send one change; write what the
  server chose into `facts` (`facts["device"] = "vmk1"`). `apply` picks one by `kind`.
- `depends(change, same_host) -> list[str]`: ids of changes this one must wait for, among
  the changes on the same host (or lane): `["standard_switch:esx1:vSwitch1"]`.
- `restore(change, inv) -> Change | None`: the change that puts the object back to
  `change.before`, planned against the current inventory (None: it already is); what the
  server chose is on `change.facts`. The default finds the object with `current` and diffs
  it with `before` in `strict` mode.
- `conflict(change, inv) -> str | None` (optional): how the object moved on since the
  run; the default asks `restore` with the after-state in place of the before-state.
- `simulate(inv, change) -> Inventory | None` (optional): `inv` as it is once the change is
  applied, for the blast radius of a plan (impact/blast.py): replace the change's object in
  its list (`inv.model_copy(update={"standard_switches": [..., <after>]})`) and fill in what
  vSphere would work out (a port group's effective policy). The default, None, says the
  resource does not change connectivity: its changes carry no impact.
- `reach(inv, change) -> set[str]`: the hosts whose VM NICs and vmknics a simulated change
  can affect (only they are traced again). Default: the change's host; for a vCenter-wide
  change the members of the switch it names (`DVS0`, `DVS0/lag1`) and the hosts it adds.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar, cast

from vnettool.engine.common import CannotRestore, Context, field_diffs, host_gone
from vnettool.errors import VnetError
from vnettool.models.base import Model
from vnettool.models.inventory import Host, Inventory
from vnettool.models.plan import STATE_MODELS, Change, ChangeKind, FieldDiff
from vnettool.vsphere.connection import Session

M = TypeVar("M", bound=Model)


class Resource(Generic[M]):
    """Base of every engine resource; subclasses set the class attributes and the hooks."""

    name: ClassVar[str]  # Change.resource, e.g. "standard_switch"
    model: ClassVar[type[Model]]  # the before/after state, e.g. StandardSwitch
    fields: ClassVar[tuple[str, ...]] = ()  # compared fields (dotted paths in diffs)
    after: ClassVar[tuple[str, ...]] = ()  # resources whose creates run first
    # path -> (name shown in plans, divisor to the unit people type), e.g. shaping in kbps
    display: ClassVar[dict[str, tuple[str, int]]] = {}
    host_scoped: ClassVar[bool] = True  # False: vCenter-wide (host=None, a lane per switch)
    # True: a change reaches only the endpoints on its host that use (or name) an object of
    # its name, e.g. a vSS port group; the blast radius skips tracing it when none does
    reach_by_name: ClassVar[bool] = False

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "name" in cls.__dict__ and "model" in cls.__dict__:
            STATE_MODELS[cls.name] = cls.model

    # -- typed access to a change's states --------------------------------------------------
    def old(self, change: Change) -> M | None:
        """`change.before` as this resource's model (None: the object did not exist)."""
        return cast(M | None, change.before)

    def new(self, change: Change) -> M:
        """`change.after` of a create or update: the state to send."""
        if change.after is None:
            raise VnetError(f"{change.summary()}: the change carries no after-state")
        return cast(M, change.after)

    # -- hooks ------------------------------------------------------------------------------
    def plan(self, ctx: Context) -> list[Change]:
        """Changes for the desired state on `ctx` (default: none; a resource only created by
        another tool, e.g. the rebalancer's moves, plans nothing)."""
        return []

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        raise VnetError(f"{change.summary()}: {self.name} cannot be created")

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        raise VnetError(f"{change.summary()}: {self.name} cannot be updated")

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        raise VnetError(f"{change.summary()}: {self.name} cannot be deleted")

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        return []

    def current(self, change: Change, inv: Inventory) -> M | None:
        """The object `change` touched as it is now in `inv` (None: it does not exist)."""
        raise NotImplementedError

    def keep(self, current: M, want: M) -> M:
        """`want` with what the server filled in that the before-reading did not carry (the
        default keeps nothing), so a restore does not fight the server over it."""
        return want

    def tags(self, state: M) -> dict[str, Any]:
        """Typed Change fields that follow from the object's state, set on every change of
        this resource (e.g. a port group's `switch`, read by other resources' `depends`)."""
        return {}

    def diff(self, before: M | None, after: M | None, *, strict: bool = False) -> list[FieldDiff]:
        """The compared fields' diffs, in the names and units plans show."""
        return field_diffs(before, after, self.fields, strict=strict)

    def simulate(self, inv: Inventory, change: Change) -> Inventory | None:
        """`inv` with the change applied, as the connectivity model reads it (see module);
        None (the default): this resource does not change connectivity."""
        return None

    @property
    def simulates(self) -> bool:
        """Whether this resource overrides `simulate` (its changes get an impact)."""
        return type(self).simulate is not Resource.simulate

    def reach(self, inv: Inventory, change: Change) -> set[str]:
        """Hosts a simulated change can affect: its own, or for a vCenter-wide change the
        members of the switch its name starts with and the hosts it adds or removes."""
        if change.host is not None:
            return {change.host}
        dvs = inv.dvs_by_name.get(change.name.partition("/")[0])
        members = {m.host for m in dvs.hosts} if dvs else set()
        return members | {o.host for o in change.host_ops}

    # -- written once -----------------------------------------------------------------------
    def apply(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        """Send one change: `create`, `update` or `delete` by its kind."""
        {"create": self.create, "update": self.update, "delete": self.delete}[change.kind](
            change, session, facts
        )

    def change(
        self,
        where: Host | str,
        name: str,
        before: M | None,
        after: M | None,
        diffs: list[FieldDiff],
        *,
        kind: ChangeKind | None = None,
        **extra: Any,
    ) -> Change | None:
        """A Change of this resource, or None when there is nothing to do. `where` is the
        host, or the lane of a vCenter-wide object; the kind follows from before/after
        unless given (an update without diffs is nothing to do)."""
        if kind is None:
            if before is None and after is None:
                return None
            kind = "create" if before is None else "delete" if after is None else "update"
            if kind == "update" and not diffs:
                return None
        state = after if after is not None else before
        if state is not None:
            extra = {**self.tags(state), **extra}
        if isinstance(where, Host):
            place: dict[str, Any] = {"host": where.name, "host_moref": where.moref}
        else:
            place = {"host": None, "lane": where}
        return Change(
            kind=kind,
            resource=self.name,
            name=name,
            diffs=diffs,
            before=before,
            after=after,
            **place,
            **extra,
        )

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        """The change back to `change.before` against the current inventory (see module)."""
        host = inv.host_by_name.get(change.host or "") if self.host_scoped else None
        if self.host_scoped and host is None:
            return host_gone(change)
        current = self.current(change, inv)
        want = self.old(change)
        if want is not None and current is not None:
            want = self.keep(current, want)
        diffs = self.diff(current, want, strict=True)
        return self.change(host or change.lane or "", change.name, current, want, diffs)

    def ahead(self, change: Change, inv: Inventory) -> str | None:
        """How the object differs from the state the run left it in (None: it does not).

        Asked of `restore` with the after-state in place of the before-state: the change
        that would bring the object to the run's after-state is exactly what someone else
        changed since. Only fields the run itself set count (others may drift freely).
        """
        shifted = change.model_copy(update={"before": change.after})
        try:
            back = self.restore(shifted, inv)
        except CannotRestore as exc:
            return str(exc)
        if back is None:
            return None
        if back.kind == "create":
            return "no longer exists (the run left it in place)"
        if back.kind == "delete":
            return "exists again (the run deleted it)"
        touched = {d.field for d in change.diffs}
        moved = [d for d in back.diffs if d.field in touched]
        if not moved:
            return None
        return "changed since the run: " + "; ".join(
            f"{d.field} is now {d.before!r}, the run set {d.after!r}" for d in moved
        )

    def conflict(self, change: Change, inv: Inventory) -> str | None:
        """How the object moved on since the run (None: it did not); default: `ahead`."""
        return self.ahead(change, inv)


__all__ = ["Resource"]
