"""One changing run per vCenter at a time, across processes on this machine.

Two applies planned from the same inventory and applied together lose each other's changes: a
vSwitch or port group update sends the whole spec read before the other run wrote, and each run
then verifies against a vCenter the other one is still changing. So every run that changes
vSphere holds a lock named by the vCenter's instance UUID (one vCenter however it is addressed),
taken after connecting and before planning: a second run is refused with the first one named,
or with `--wait` plans only once the first has finished, against what the first left.

The lock is a record in `$VNETTOOL_HOME/locks/`: who holds it (PID and that process's start
time, user, machine, command, since when). A run killed with SIGKILL cannot remove its record,
so a record whose PID is gone, or now belongs to a process started at another time (PID
reuse), is stale and taken over. Reading and replacing the record happen under `flock`, so two
runs that find the same stale record cannot both take it. A record written on another machine
(a shared home) cannot be checked from here and is honoured.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import re
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from vnettool import paths
from vnettool.errors import ConfigError


class Holder(BaseModel):
    """Who holds a vCenter's lock: enough to find the process and to tell a reused PID."""

    pid: int
    started: int | None  # the process's start time in clock ticks since boot (Linux)
    machine: str
    user: str
    command: str
    since: datetime
    vcenter: str

    def describe(self) -> str:
        when = self.since.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"`{self.command}` (pid {self.pid}, user {self.user} on {self.machine}, since {when})"
        )


class LockBusy(ConfigError):
    """Another run holds the lock; nothing was planned or changed."""

    def __init__(self, holder: Holder, path: Path) -> None:
        self.holder = holder
        self.path = path
        remote = (
            f"; it runs on another machine: if it is gone, remove {path}"
            if holder.machine != socket.gethostname()
            else ""
        )
        super().__init__(
            f"another vnettool run is changing this vCenter ({holder.vcenter}): "
            f"{holder.describe()}; nothing was changed. Run again when it has finished, or "
            f"pass --wait to start as soon as it has{remote}"
        )


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and ')'."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            after_name = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    try:
        return int(after_name[19])
    except (IndexError, ValueError):
        return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(holder: Holder) -> bool:
    """Whether the recorded process is gone (or its PID now names another process)."""
    if holder.machine != socket.gethostname():
        return False
    if not _running(holder.pid):
        return True
    now = _start_ticks(holder.pid)
    return holder.started is not None and now is not None and now != holder.started


def lock_path(instance_key: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", instance_key)
    return paths.home() / "locks" / f"vcenter-{safe}.lock"


def _me(vcenter: str) -> Holder:
    pid = os.getpid()
    return Holder(
        pid=pid,
        started=_start_ticks(pid),
        machine=socket.gethostname(),
        user=getpass.getuser(),
        command=shlex.join(["vnettool", *sys.argv[1:]]),
        since=datetime.now(UTC),
        vcenter=vcenter,
    )


@contextlib.contextmanager
def _locked_file(path: Path) -> Iterator[int]:
    """The record file, opened without following links and held under flock."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot open the run lock {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing drops the flock


def _read(fd: int) -> Holder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 65536)
    if not raw.strip():
        return None
    try:
        return Holder.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        return None  # a torn or foreign record protects nothing: take it over


def _write(fd: int, holder: Holder | None) -> None:
    os.ftruncate(fd, 0)
    if holder is not None:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, holder.model_dump_json().encode())
    os.fsync(fd)


def _same(a: Holder, b: Holder) -> bool:
    return (a.pid, a.started, a.machine) == (b.pid, b.started, b.machine)


def try_acquire(path: Path, me: Holder) -> tuple[Holder | None, Holder | None]:
    """Take the lock unless a live run holds it: (that holder or None, a stale one replaced)."""
    with _locked_file(path) as fd:
        current = _read(fd)
        if current is not None and not _same(current, me) and not is_stale(current):
            return current, None
        _write(fd, me)
        return None, current if current is not None and not _same(current, me) else None


def release(path: Path, me: Holder) -> None:
    """Remove our record only: a run that took over after us keeps its own."""
    with contextlib.suppress(ConfigError), _locked_file(path) as fd:
        current = _read(fd)
        if current is not None and _same(current, me):
            _write(fd, None)


@contextlib.contextmanager
def hold(
    instance_key: str,
    vcenter: str,
    *,
    wait: bool = False,
    on_wait: Callable[[Holder], None] | None = None,
    on_stale: Callable[[Holder], None] | None = None,
    poll_s: float = 0.5,
) -> Iterator[Holder]:
    """Hold the vCenter's lock for the block; without `wait`, LockBusy names the holder.

    `on_wait` is told once per holder that is waited for, `on_stale` about a dead run's
    record that was taken over (both for the user's benefit).
    """
    path = lock_path(instance_key)
    me = _me(vcenter)
    told: Holder | None = None
    try:
        while True:
            busy, stale = try_acquire(path, me)
            if busy is None:
                break
            if not wait:
                raise LockBusy(busy, path)
            if on_wait is not None and (told is None or not _same(told, busy)):
                on_wait(busy)
            told = busy
            time.sleep(poll_s)
    except KeyboardInterrupt:
        raise ConfigError("stopped waiting for the other run; nothing was changed") from None
    if stale is not None and on_stale is not None:
        on_stale(stale)
    try:
        yield me
    finally:
        release(path, me)
