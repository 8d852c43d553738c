"""VM moves between hosts (the latency rebalancer's vMotions) as journaled, undoable changes.

The rebalancer decides its moves from measurements and keeps its own decision log in the
rebalance state (cooldowns, reasons). Each move it makes is also a change in a run journal,
written ahead like every other change, so that a killed rebalance leaves a record of the
vMotions that may have happened and `vnettool apply --rollback RUN` can move the VMs back
(refusing, as a conflict, a VM that has moved on since).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vnettool.engine.common import CannotRestore
from vnettool.engine.journal import Journal
from vnettool.engine.resource import Resource
from vnettool.errors import VnetError
from vnettool.models.inventory import Inventory, VirtualMachine
from vnettool.models.plan import Change, Facts, FieldDiff, Placement, Result
from vnettool.vsphere import vm as vm_api
from vnettool.vsphere.connection import Session

RESOURCE = "vm_relocation"


def move(vm: VirtualMachine, dest: str, inv: Inventory) -> Change:
    """The change that moves `vm` from its current host to `dest`."""
    hosts = inv.host_by_name
    src = vm.host or ""
    return Change(
        kind="update",
        resource=RESOURCE,
        host=src or None,
        name=vm.name,
        diffs=[FieldDiff(field="host", before=src, after=dest)],
        lane=f"vm:{vm.name}",
        vm_moref=vm.moref,
        source=Placement(host=src, moref=hosts[src].moref if src in hosts else None),
        dest=Placement(host=dest, moref=hosts[dest].moref if dest in hosts else None),
    )


def journaled(
    relocate: Callable[[VirtualMachine, str], None], journal: Journal, inv: Inventory
) -> Callable[[VirtualMachine, str], None]:
    """`relocate` with the move's intent made durable first and its outcome recorded after;
    a move whose intent cannot be written is not made."""

    def run(vm: VirtualMachine, dest: str) -> None:
        change = move(vm, dest, inv)
        try:
            journal.intent(change)
        except OSError as exc:
            raise VnetError(f"not moved: cannot write the run journal: {exc}") from exc
        try:
            relocate(vm, dest)
        except VnetError as exc:
            journal.result(Result(change=change, failed=True, error=str(exc)))
            raise
        journal.result(Result(change=change, changed=True, diff=change.diffs))

    return run


def _where(change: Change, inv: Inventory) -> str | None:
    vm = next((v for v in inv.vms if v.moref == change.vm_moref), None)
    if vm is None:
        raise CannotRestore(f"VM {change.name} is no longer in the inventory")
    return vm.host


class Relocations(Resource[Placement]):
    """vMotions the rebalancer made; never planned from a desired state."""

    name = RESOURCE
    model = Placement

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        to = change.dest or Placement()
        if not to.moref:
            raise VnetError(f"{change.name}: host {to.host} is not in the inventory")
        vm_api.relocate(session, str(change.vm_moref), to.moref)

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        """Move the VM back to the host it left, unless it is there already."""
        src = change.source or Placement()
        now = _where(change, inv)
        if now == src.host:
            return None
        if src.host not in inv.host_by_name:
            raise CannotRestore(f"host {src.host} is no longer in the inventory")
        return change.model_copy(
            update={
                "host": now,
                "diffs": [FieldDiff(field="host", before=now, after=src.host)],
                "facts": Facts(),
                "source": Placement(host=now),
                "dest": src.model_copy(update={"moref": inv.host_by_name[src.host].moref}),
                "depends_on": [],
            }
        )

    def conflict(self, change: Change, inv: Inventory) -> str | None:
        """The VM is no longer on the host the run moved it to."""
        try:
            now = _where(change, inv)
        except CannotRestore as exc:
            return str(exc)
        want = (change.dest or Placement()).host
        return None if now == want else f"is on {now} now, the run moved it to {want}"


resource = Relocations()
