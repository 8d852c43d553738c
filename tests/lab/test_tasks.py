"""vsphere/tasks.py against the lab: waiting on many tasks through a PropertyCollector of
the wait's own, the read that spares it for tasks already ended, and the fallback to reading
when that collector fails. Real simulator, real pyVmomi; the lab's fault rules make tasks
run (and fail) for a while, and a 1 ms `delay` rule counts the WaitForUpdatesEx calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from vnettool.lab.faults import add_fault, clear_faults, list_faults
from vnettool.vsphere.connection import Session
from vnettool.vsphere.tasks import TaskFailed, wait_all, wait_task

SPEC = vim.vm.ConfigSpec(annotation="tasks test")


@pytest.fixture
def lab_vm(lab: RunningLab, session: Session) -> Iterator[Any]:
    view = session.content.viewManager.CreateContainerView(
        session.content.rootFolder, [vim.VirtualMachine], True
    )
    vm = next(v for v in view.view if not v.config.template)
    view.DestroyView()
    try:
        yield vm
    finally:
        clear_faults(lab=lab.lab)


def _waits_counted(lab: RunningLab) -> None:
    add_fault("WaitForUpdatesEx", "delay", delay_ms=1, count=0, lab=lab.lab)


def _waits(lab: RunningLab) -> int:
    return sum(r["hits"] for r in list_faults(lab=lab.lab) if r["method"] == "WaitForUpdatesEx")


def _failing(lab: RunningLab, vm: Any, fault: str, delay_ms: int) -> Any:
    add_fault("ReconfigVM_Task", "task_fail", fault=fault, delay_ms=delay_ms, count=1, lab=lab.lab)
    return vm.ReconfigVM_Task(SPEC)


def test_ended_tasks_need_no_collector(lab: RunningLab, session: Session, lab_vm: Any) -> None:
    _waits_counted(lab)
    tasks = [lab_vm.ReconfigVM_Task(SPEC) for _ in range(5)]
    for t in tasks:  # ended before the wait starts: one read answers for all
        for _ in range(500):
            if t.info.state in ("success", "error"):
                break
            time.sleep(0.01)
    assert wait_all(session, tasks, "ReconfigVM_Task", lab_vm.name) == [None] * 5
    assert _waits(lab) == 0


def test_many_running_tasks_waited_for_and_the_first_failure_named(
    lab: RunningLab, session: Session, lab_vm: Any
) -> None:
    _waits_counted(lab)
    first = _failing(lab, lab_vm, "InvalidArgument", 300)
    late = _failing(lab, lab_vm, "NotFound", 1200)
    fine = lab_vm.ReconfigVM_Task(SPEC)
    with pytest.raises(TaskFailed) as exc:
        wait_all(session, [first, late, fine], "ReconfigVM_Task", lab_vm.name)
    assert exc.value.fault == "InvalidArgument"  # the first task's, though all were waited for
    assert [t.info.state for t in (first, late, fine)] == ["error", "error", "success"]
    assert late.info.error.__class__.__name__.endswith("NotFound")
    assert _waits(lab) >= 1  # the running ones were waited for with WaitForUpdatesEx


def test_concurrent_waits_on_one_session_each_see_their_own_task(
    lab: RunningLab, session: Session, lab_vm: Any
) -> None:
    faults = ["InvalidArgument", "NotFound", "InvalidState", "SystemError"]
    tasks = [_failing(lab, lab_vm, f, 400) for f in faults]
    got: dict[int, str] = {}

    def wait(i: int) -> None:
        try:
            wait_task(session, tasks[i], "ReconfigVM_Task", f"{lab_vm.name}#{i}")
        except TaskFailed as exc:
            got[i] = exc.fault

    threads = [threading.Thread(target=wait, args=(i,)) for i in range(len(tasks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert got == dict(enumerate(faults))


def test_a_failing_collector_falls_back_to_reading(
    lab: RunningLab, session: Session, lab_vm: Any
) -> None:
    add_fault("CreatePropertyCollector", "fault", fault="SystemError", count=1, lab=lab.lab)
    task = _failing(lab, lab_vm, "InvalidArgument", 300)
    with pytest.raises(TaskFailed) as exc:
        wait_task(session, task, "ReconfigVM_Task", lab_vm.name)
    assert exc.value.fault == "InvalidArgument"
    assert not [r for r in list_faults(lab=lab.lab) if r["method"] == "CreatePropertyCollector"]
    add_fault("WaitForUpdatesEx", "fault", fault="SystemError", count=1, lab=lab.lab)
    ok = lab_vm.ReconfigVM_Task(SPEC)
    slow = _failing(lab, lab_vm, "NotFound", 300)
    with pytest.raises(TaskFailed) as exc:
        wait_all(session, [ok, slow], "ReconfigVM_Task", lab_vm.name)
    assert exc.value.fault == "NotFound"
    assert ok.info.state == "success"
