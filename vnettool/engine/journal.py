"""Run journals: what a run changed, with before-values, for reports and `--rollback`.

One JSON-lines file per run under $VNETTOOL_HOME/runs/ (default ~/.vnettool/runs). The journal
is write-ahead: before each API call an `intent` line (the change with its full before- and
after-state) is written and fsync'd, after it a `result` line. A run killed at any point
(kill -9, power loss after the fsync) therefore leaves a journal that names every change that
may have happened; an intent without a result is "outcome unknown" and rollback treats it like
a failed change (it may have half-happened).

The header records the vCenter's instance UUID (`content.about.instanceUuid`): a rollback on
another vCenter, or on a lab restarted since, is refused rather than planned against objects
that merely share names. The header is written with the first intent, so runs that change
nothing leave no file and `--rollback last` names the last run that changed something.

Run ids sort in start order: a UTC timestamp to the microsecond, then a process-unique
counter and a random suffix; `last` orders by the nanosecond start time recorded inside.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vnettool import paths
from vnettool.errors import ConfigError
from vnettool.models.plan import Change, Result

UNKNOWN_OUTCOME = "outcome unknown: the run stopped before this change reported back"
_counter = itertools.count()


def runs_dir() -> Path:
    return paths.runs_dir()


def new_run_id() -> str:
    now = datetime.now(UTC)
    return (
        now.strftime("%Y%m%dT%H%M%S.%f")[:-3]
        + f"Z-{os.getpid() % 100000:05d}{next(_counter):03d}-{secrets.token_hex(2)}"
    )


def instance_uuid(session: Any) -> str | None:
    """The vCenter's instance UUID: what makes two connections the same vCenter."""
    return getattr(session.about, "instanceUuid", None) or None


class Journal:
    """Writer of one run's journal; safe to use from the executor's worker threads."""

    def __init__(
        self,
        *,
        source: str,
        vcenter: str,
        instance: str | None,
        rollback_of: str | None = None,
        directory: Path | None = None,
    ) -> None:
        self.id = new_run_id()
        self.path = (directory or runs_dir()) / f"{self.id}.jsonl"
        self.header: dict[str, Any] = {
            "type": "run",
            "id": self.id,
            "started": datetime.now(UTC).isoformat(),
            "started_ns": time.time_ns(),
            "source": source,
            "vcenter": vcenter,
            "instance_uuid": instance,
            "rollback_of": rollback_of,
        }
        self._lock = threading.Lock()
        self._seq = 0
        self._pending: dict[str, int] = {}  # change id -> sequence of its open intent
        self._fd: int | None = None
        self.written = False

    @classmethod
    def for_session(
        cls,
        session: Any,
        source: str,
        rollback_of: str | None = None,
        directory: Path | None = None,
    ) -> Journal:
        return cls(
            source=source,
            vcenter=str(session.creds.host),
            instance=instance_uuid(session),
            rollback_of=rollback_of,
            directory=directory,
        )

    def _append(self, records: list[dict[str, Any]]) -> int:
        """Append under the lock; returns the file descriptor for an fsync outside it."""
        data = "".join(json.dumps(r, default=str) + "\n" for r in records).encode()
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # user-only: a journal names every object and value changed in the vCenter
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self._fd, data)
        return self._fd

    def _first(self) -> list[dict[str, Any]]:
        """The header, once: written together with the first record of the run."""
        if self.written:
            return []
        self.written = True
        return [self.header]

    def intent(self, change: Change) -> None:
        """Record, durably, that `change` is about to be sent. Call before the API call.

        The fsync runs outside the lock: concurrent workers' intents are appended in turn and
        their fsyncs overlap (each covers every write before it), instead of queueing."""
        with self._lock:
            self._seq += 1
            self._pending[change.id] = self._seq
            rec = {"type": "intent", "seq": self._seq, "change": change.model_dump(mode="json")}
            first = self._first()
            fd = self._append([*first, rec])
        os.fsync(fd)
        if first:
            _fsync_dir(self.path.parent)

    def result(self, r: Result) -> None:
        """Record a change's outcome (a skipped change has no intent: it was never sent)."""
        with self._lock:
            seq = self._pending.pop(r.change.id, None)
            if seq is None and not self.written:
                return  # nothing was sent in this run: no journal yet
            rec = {"type": "result", "seq": seq, "result": r.model_dump(mode="json")}
            self._append([*self._first(), rec])

    def end(self, *, verified: bool | None, remaining: int | None) -> None:
        with self._lock:
            if not self.written:
                return
            rec = {
                "type": "end",
                "finished": datetime.now(UTC).isoformat(),
                "verified": verified,
                "remaining": remaining,
            }
            fd = self._append([rec])
            os.fsync(fd)
            os.close(fd)
            self._fd = None


def _fsync_dir(directory: Path) -> None:
    """Make the new file's directory entry durable too (else a crash can lose the file)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class RunRecord:
    """A journal read back. `results` has one Result per change sent or skipped, in the
    order they were sent; a change whose intent has no result is reported failed with
    UNKNOWN_OUTCOME (it may or may not have happened)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: dict[str, Any] = {}
        self.end: dict[str, Any] | None = None
        self.results: list[Result] = []
        intents: dict[int, int] = {}  # seq -> index in results
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                if i == len(lines) - 1:
                    break  # a line cut short by a kill: its intent, if any, is not durable
                raise
            kind = rec.get("type")
            if kind == "run":
                self.header = rec
            elif kind == "intent":
                change = Change.model_validate(rec["change"])
                intents[int(rec["seq"])] = len(self.results)
                self.results.append(Result(change=change, failed=True, error=UNKNOWN_OUTCOME))
            elif kind == "result":
                r = Result.model_validate(rec["result"])
                seq = rec.get("seq")
                if seq is not None and int(seq) in intents:
                    self.results[intents.pop(int(seq))] = r
                else:
                    self.results.append(r)
            elif kind == "end":
                self.end = rec

    @property
    def id(self) -> str:
        return str(self.header.get("id") or self.path.stem)

    @property
    def instance_uuid(self) -> str | None:
        value = self.header.get("instance_uuid")
        return str(value) if value else None

    @property
    def unknown(self) -> list[Result]:
        """Changes sent whose outcome the journal does not know (the run was killed)."""
        return [r for r in self.results if r.error == UNKNOWN_OUTCOME]

    @property
    def started_ns(self) -> int:
        value = self.header.get("started_ns")
        return int(value) if value else int(self.path.stat().st_mtime_ns)


def _order(path: Path) -> tuple[int, str]:
    """Start order of a run: its recorded start (ns) when readable, else the file's mtime."""
    try:
        with path.open(encoding="utf-8") as f:
            head = json.loads(f.readline() or "{}")
        ns = int(head.get("started_ns") or 0)
    except (OSError, ValueError):
        ns = 0
    if not ns:
        try:
            ns = path.stat().st_mtime_ns
        except OSError:
            ns = 0
    return ns, path.stem


def find_run(ref: str) -> RunRecord:
    """A run by id, 'last', or path to its journal file."""
    path = Path(ref)
    if not path.is_file():
        runs = sorted(runs_dir().glob("*.jsonl"), key=_order)
        if ref == "last":
            if not runs:
                raise ConfigError(f"no runs recorded under {runs_dir()}")
            path = runs[-1]
        else:
            hits = [p for p in runs if p.stem == ref or p.stem.startswith(ref)]
            if len(hits) != 1:
                known = ", ".join(p.stem for p in runs[-5:]) or "none"
                what = "no run" if not hits else "more than one run"
                raise ConfigError(f"{what} matches {ref!r} in {runs_dir()} (latest: {known})")
            path = hits[0]
    try:
        return RunRecord(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read run journal {path}: {exc}") from exc


def last_run(instance: str | None) -> RunRecord | None:
    """The newest run recorded against vCenter `instance` that changed something (the TUI's
    rollback key: `--rollback last`, but never a run of another vCenter, nor one that only
    failed). Unreadable journals are passed over."""
    for path in sorted(runs_dir().glob("*.jsonl"), key=_order, reverse=True):
        try:
            rec = RunRecord(path)
        except (OSError, ValueError):
            continue
        if rec.instance_uuid == instance and any(r.changed for r in rec.results):
            return rec
    return None
