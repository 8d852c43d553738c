"""Tasks: start one, wait for one or many, and resend a versioned reconfigure.

Waiting is govmomi's `object/task.go` way: one read of every task's `info` (most lab and
many vCenter tasks have ended by then), and for those still running a PropertyCollector of
the wait's own (`CreatePropertyCollector`, a filter on the tasks' `info`,
`WaitForUpdatesEx` until each ended, `DestroyPropertyCollector`). Its own collector, because
the session's is shared by the engine's worker threads: two waits on one collector would take
each other's updates. Should that collector fail (a re-login in mid-wait makes it unknown to
the new session), the wait goes on by reading `info` again at growing intervals.

`run_task` is the write around a wait: a lost answer of a task that must not run twice is
settled by re-reading the object (`Session.write`). `run_versioned` is the optimistic
concurrency of the distributed switch and its port groups (`configVersion`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pyVmomi import vim, vmodl

from vnettool.errors import ApiFault
from vnettool.vsphere.collector import moref_id
from vnettool.vsphere.connection import AnswerLost, Session, fault_message, fault_name
from vnettool.vsphere.props import read_many

ATTEMPTS = 3  # tries of one versioned reconfigure when other clients keep changing the object
_PC = vmodl.query.PropertyCollector
_ENDED = (vim.TaskInfo.State.success, vim.TaskInfo.State.error)


class TaskFailed(ApiFault):
    pass


def _read_infos(session: Session, tasks: Sequence[Any], op: str, obj: str) -> dict[str, Any]:
    got = read_many(session, tasks, ["info"], kind=vim.Task, what=obj, op=op)
    return {m: p.get("info") for m, p in got.items()}


def _pending(tasks: Sequence[Any], infos: dict[str, Any]) -> list[Any]:
    return [t for t in tasks if getattr(infos.get(moref_id(t)), "state", None) not in _ENDED]


def _watch(
    session: Session, tasks: Sequence[Any], infos: dict[str, Any], obj: str, deadline: float
) -> None:
    """Fill `infos` from WaitForUpdatesEx on a collector of this wait's own until every task
    ended or the deadline passed (then it returns with some still running)."""
    root = session.content.propertyCollector
    pc = session.call(root.CreatePropertyCollector, op="CreatePropertyCollector", obj=obj)
    try:
        spec = _PC.FilterSpec(
            objectSet=[_PC.ObjectSpec(obj=t) for t in tasks],
            propSet=[_PC.PropertySpec(type=vim.Task, pathSet=["info"])],
        )
        # partialUpdates off: a change of info.state reports the whole info
        session.call(pc.CreateFilter, spec, False, op="CreateFilter", obj=obj)
        version = ""
        while _pending(tasks, infos) and time.monotonic() < deadline:
            wait = session.max_wait_s(max(1, int(deadline - time.monotonic())))
            opts = _PC.WaitOptions(maxWaitSeconds=wait)
            res = session.call(pc.WaitForUpdatesEx, version, opts, op="WaitForUpdatesEx", obj=obj)
            if res is None:
                continue
            version = res.version
            for fs in res.filterSet or []:
                for ou in fs.objectSet or []:
                    for ch in ou.changeSet or []:
                        if ch.name == "info" and ch.val is not None:
                            infos[moref_id(ou.obj)] = ch.val
    finally:
        try:
            session.call(pc.DestroyPropertyCollector, op="DestroyPropertyCollector", obj=obj)
        except Exception:
            pass


def _poll(
    session: Session,
    tasks: Sequence[Any],
    infos: dict[str, Any],
    op: str,
    obj: str,
    deadline: float,
) -> None:
    delay = 0.05
    while (pending := _pending(tasks, infos)) and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
        infos.update(_read_infos(session, pending, op, obj))


def wait_all(
    session: Session, tasks: Sequence[Any], op: str, obj: str, timeout_s: float = 600.0
) -> list[Any]:
    """Wait until every task ended; their results in order, or TaskFailed with the first
    failed task's fault (raised only once all ended, so nothing is left running unseen)."""
    if not tasks:
        return []
    deadline = time.monotonic() + timeout_s
    infos = _read_infos(session, tasks, op, obj)
    if _pending(tasks, infos):
        try:
            _watch(session, tasks, infos, obj, deadline)
        except ApiFault:  # the collector is unusable: go on by reading
            pass
        _poll(session, tasks, infos, op, obj, deadline)
    for t in tasks:
        info = infos.get(moref_id(t))
        if info is None:
            raise TaskFailed(op, obj, "ManagedObjectNotFound", f"task {moref_id(t)} is gone")
        if info.state == vim.TaskInfo.State.error:
            raise TaskFailed(op, obj, fault_name(info.error), fault_message(info.error))
        if info.state != vim.TaskInfo.State.success:
            raise TaskFailed(op, obj, "Timeout", f"task still {info.state} after {timeout_s:.0f} s")
    return [infos[moref_id(t)].result for t in tasks]


def wait_task(session: Session, task: Any, op: str, obj: str, timeout_s: float = 600.0) -> Any:
    """Wait for one task; its result, or TaskFailed with the fault."""
    return wait_all(session, [task], op, obj, timeout_s)[0]


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


Conflict = Callable[[Any], str | None]  # the object re-read -> why our change would clobber


def run_versioned(
    session: Session,
    op: str,
    obj: str,
    version: str | None,
    send: Callable[[str | None], Any],
    reread: Callable[[], Any],
    conflict: Conflict,
    facts: dict[str, Any] | None = None,
) -> None:
    """Start `send(version)`'s task and wait; on ConcurrentAccess re-read (`reread()`, a
    model with `config_version`), ask `conflict` whether another client changed one of our
    fields (then stop: nothing is overwritten blindly), else resend with the new version, up
    to ATTEMPTS times.

    A lost answer is settled by the version: moved past the one sent, the reconfiguration ran
    (resending would meet ConcurrentAccess); unchanged, it did not, and it is sent again.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            task = session.call(send, version, op=op, obj=obj, idempotent=version is None)
            wait_task(session, task, op, obj)
            if facts is not None:
                facts["attempts"] = attempt
            return
        except AnswerLost:
            if reread().config_version != version:
                if facts is not None:
                    facts["attempts"] = attempt
                return
            if attempt == ATTEMPTS:
                raise
        except ApiFault as exc:
            if exc.fault != "ConcurrentAccess" or attempt == ATTEMPTS:
                raise
            fresh = reread()
            why = conflict(fresh)
            if facts is not None:
                facts.setdefault("concurrent", []).append(
                    {"sent": version, "current": fresh.config_version, "conflict": why}
                )
            if why:
                raise ApiFault(
                    op,
                    obj,
                    "ConcurrentAccess",
                    f"changed by another client since the plan ({why}); nothing was "
                    "overwritten — plan again",
                ) from exc
            version = fresh.config_version
