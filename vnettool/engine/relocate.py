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
from vnettool.errors import VnetError
from vnettool.models.inventory import Inventory, VirtualMachine
from vnettool.models.plan import Change, FieldDiff, Result
from vnettool.vsphere import vmotion
from vnettool.vsphere.connection import Session

RESOURCE = "vm_relocation"
# created after these resources (deleted before them): engine/registry.py orders by it
AFTER: tuple[str, ...] = ()


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
        spec={
            "lane": f"vm:{vm.name}",
            "vm_moref": vm.moref,
            "from": {"host": src, "moref": hosts[src].moref if src in hosts else None},
            "to": {"host": dest, "moref": hosts[dest].moref if dest in hosts else None},
        },
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


def depends(change: Change, same_host: list[Change]) -> list[str]:
    return []


def apply(change: Change, session: Session, facts: dict[str, Any]) -> None:
    to = change.spec["to"]
    if not to.get("moref"):
        raise VnetError(f"{change.name}: host {to.get('host')} is not in the inventory")
    vmotion.relocate(session, str(change.spec["vm_moref"]), str(to["moref"]))


def _where(change: Change, inv: Inventory) -> str | None:
    vm = next((v for v in inv.vms if v.moref == change.spec.get("vm_moref")), None)
    if vm is None:
        raise CannotRestore(f"VM {change.name} is no longer in the inventory")
    return vm.host


def restore(change: Change, facts: dict[str, Any], inv: Inventory) -> Change | None:
    """Move the VM back to the host it left, unless it is there already."""
    src = change.spec["from"]
    now = _where(change, inv)
    if now == src["host"]:
        return None
    if src["host"] not in inv.host_by_name:
        raise CannotRestore(f"host {src['host']} is no longer in the inventory")
    return change.model_copy(
        update={
            "host": now,
            "diffs": [FieldDiff(field="host", before=now, after=src["host"])],
            "spec": {
                **{k: v for k, v in change.spec.items() if k != "facts"},
                "from": {"host": now, "moref": None},
                "to": {**src, "moref": inv.host_by_name[src["host"]].moref},
            },
            "depends_on": [],
        }
    )


def conflict(change: Change, facts: dict[str, Any], inv: Inventory) -> str | None:
    """The VM is no longer on the host the run moved it to."""
    try:
        now = _where(change, inv)
    except CannotRestore as exc:
        return str(exc)
    want = change.spec["to"]["host"]
    return None if now == want else f"is on {now} now, the run moved it to {want}"
