"""vMotion calls for the latency mover: CheckRelocate_Task as a veto, RelocateVM_Task to move.

Both take morefs (strings) so the layers above never hold pyVmomi objects. A server without a
provisioning checker (ESXi, or a simulator that advertises one it does not implement) is
reported as `CheckUnsupported`, so the caller can fall back to its own pre-checks once and
remember that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pyVmomi import vim, vmodl

from vnettool.errors import ApiFault, VnetError
from vnettool.vsphere.connection import Session, fault_message, fault_name

# Faults of CheckRelocate that mean "the network is not right on the destination".
NETWORK_FAULTS = (
    "VMotionInterfaceIssue",
    "VMotionLinkDown",
    "VMotionLinkCapacityLow",
    "VMotionNotConfigured",
    "VMotionNotLicensed",
    "VMotionNotSupported",
    "VMotionProtocolIncompatible",
    "MismatchedVMotionNetworkNames",
    "MismatchedNetworkPolicies",
    "NetworksMayNotBeTheSame",
    "VMotionAcrossNetworkNotSupported",
    "CannotAccessNetwork",
    "VMOnVirtualIntranet",
)


class CheckUnsupported(VnetError):
    """The server offers no usable CheckRelocate_Task."""


class TaskFailed(ApiFault):
    pass


def wait_task(session: Session, task: Any, op: str, obj: str, timeout_s: float = 600.0) -> Any:
    """Poll a task until it ends; return its result or raise TaskFailed with the fault."""
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        info = session.call(lambda: task.info, op=op, obj=obj)
        if info.state == vim.TaskInfo.State.success:
            return info.result
        if info.state == vim.TaskInfo.State.error:
            err = info.error
            raise TaskFailed(op, obj, fault_name(err), fault_message(err))
        if time.monotonic() > deadline:
            raise TaskFailed(op, obj, "Timeout", f"task still {info.state} after {timeout_s:.0f} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def run_task(
    session: Session,
    method: Callable[..., Any],
    *args: Any,
    op: str,
    obj: str,
    done: Callable[[], Any | None] | None = None,
    timeout_s: float = 600.0,
    **kwargs: Any,
) -> Any:
    """Start a task and wait for its result.

    Without `done` the method must be safe to run twice (it sets a whole new state) and a
    lost answer is retried. With `done` it is a write that must not: a lost answer is
    settled by `done`, a re-read returning the result when the change is in place (None when
    it is not, and the task is started again), see `Session.write`.
    """

    def send() -> tuple[Any]:
        task = session.call(method, *args, op=op, obj=obj, idempotent=done is None, **kwargs)
        return (wait_task(session, task, op, obj, timeout_s),)

    if done is None:
        return send()[0]
    check = done

    def settled() -> tuple[Any] | None:
        found = check()
        return None if found is None else (found,)

    return session.write(send, settled, op=op, obj=obj)[0]


def read_props(session: Session, obj: Any, paths: list[str]) -> dict[str, Any] | None:
    """Properties of one object; None when it no longer exists."""
    pc = session.content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=obj)],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=type(obj), pathSet=paths)],
    )
    try:
        res = session.call(pc.RetrieveContents, [spec], op="RetrieveContents", obj=str(obj._moId))
    except ApiFault as exc:
        if exc.fault == "ManagedObjectNotFound":
            return None
        raise
    if not res:
        return None
    return {p.name: p.val for p in res[0].propSet or []}


def gone(session: Session, obj: Any) -> bool | None:
    """`done` of a Destroy_Task: True once the object no longer exists."""
    return True if read_props(session, obj, ["name"]) is None else None


def _refs(session: Session, vm_moref: str, host_moref: str) -> tuple[Any, Any]:
    stub = session.stub
    return vim.VirtualMachine(vm_moref, stub), vim.HostSystem(host_moref, stub)


def _classify(fault: Any) -> str:
    """'FaultName: message', naming the first network-related class in the fault's ancestry."""
    names = [c.__name__.rsplit(".", 1)[-1] for c in type(fault).__mro__]
    net = next((n for n in names if n in NETWORK_FAULTS), None)
    label = fault_name(fault)
    msg = fault_message(fault)
    return f"{label}{' (network)' if net else ''}{': ' + msg if msg else ''}"


def check_relocate(session: Session, vm_moref: str, host_moref: str) -> list[str]:
    """Errors CheckRelocate_Task reports for moving the VM to the host (empty = fine)."""
    checker = session.content.vmProvisioningChecker
    if checker is None:
        raise CheckUnsupported("the server has no VM provisioning checker (ESXi?)")
    vm, host = _refs(session, vm_moref, host_moref)
    spec = vim.vm.RelocateSpec(host=host)
    try:
        task = session.call(
            checker.CheckRelocate_Task,
            vm=vm,
            spec=spec,
            testType=["sourceTests", "hostTests", "networkTests"],
            op="CheckRelocate_Task",
            obj=vm_moref,
        )
    except ApiFault as exc:
        if exc.fault in (
            "ManagedObjectNotFound",
            "MethodNotFound",
            "NotSupported",
            "NotImplemented",
        ):
            raise CheckUnsupported(f"CheckRelocate_Task: {exc.fault}") from exc
        raise
    results = wait_task(session, task, "CheckRelocate_Task", vm_moref) or []
    errors: list[str] = []
    for r in results:
        errors.extend(_classify(e) for e in (r.error or []))
    return errors


def relocate(session: Session, vm_moref: str, host_moref: str, timeout_s: float = 600.0) -> None:
    """vMotion the VM to the host (same cluster, same storage) and wait for the task."""
    vm, host = _refs(session, vm_moref, host_moref)
    spec = vim.vm.RelocateSpec(host=host)

    def arrived() -> bool | None:
        props = read_props(session, vm, ["runtime.host"]) or {}
        where = props.get("runtime.host")
        return True if where is not None and where._moId == host_moref else None

    run_task(
        session,
        vm.RelocateVM_Task,
        spec=spec,
        priority=vim.VirtualMachine.MovePriority.defaultPriority,
        op="RelocateVM_Task",
        obj=vm_moref,
        done=arrived,
        timeout_s=timeout_s,
    )


def reconfigure_vm_settings(
    session: Session,
    vm_moref: str,
    vm_name: str,
    migrate_encryption: str | None,
    extra_config: dict[str, str],
) -> None:
    """One ReconfigVM_Task: vMotion encryption (when given) and extraConfig entries by key
    (an empty value removes the entry, as vCenter does). Safe to send twice: it sets values."""
    vm = vim.VirtualMachine(vm_moref, session.stub)
    spec = vim.vm.ConfigSpec(
        extraConfig=[
            vim.option.OptionValue(key=k, value=v) for k, v in sorted(extra_config.items())
        ]
    )
    if migrate_encryption is not None:
        spec.migrateEncryption = migrate_encryption
    run_task(session, vm.ReconfigVM_Task, spec, op="ReconfigVM_Task", obj=vm_name)
