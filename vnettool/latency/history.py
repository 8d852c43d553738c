"""Latency history kept between runs: one JSON line per host per probe round, per vCenter.

Every probe round — `latency probe`, each `latency watch` round, each `rebalance` round, each
TUI round — appends its host figures (`HistoryPoint`: the policy's median effective latency,
loss counting as latency) to `$VNETTOOL_HOME/latency/history-<vCenter>.jsonl`; the TUI's
Latency screen starts its sparklines from it and the audit workbook's Latency tab charts it.

Why JSON lines and host figures: appending a line is atomic enough for one writer per round
(lines are written whole, under a lock file, with O_APPEND), a torn or foreign line is skipped
on read instead of losing the file, and a figure per host per round is what the charts show
(a 32-host cluster is 32 lines a round, where every path would be 992). Bounded: when the file
passes `MAX_BYTES`, the oldest half is dropped (rewritten atomically), so a watcher left
running for months does not fill the disk.
"""

from __future__ import annotations

import fcntl
import json
import os
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from vnettool import paths
from vnettool.latency.policy import effective_ms
from vnettool.models.latency import HistoryPoint, LatencySample

if TYPE_CHECKING:
    from vnettool.latency.probe import Matrix

MAX_BYTES = 8 * 1024 * 1024
SPARK = "▁▂▃▄▅▆▇█"


def points(
    samples: Iterable[LatencySample],
    at: datetime,
    clusters: Mapping[str, str | None],
    source: str = "probe",
    penalty_ms: float = 1000.0,
) -> list[HistoryPoint]:
    """One round's host figures: per host, the median effective latency of its pairs."""
    per: dict[str, list[float]] = {}
    loss: dict[str, list[float]] = {}
    for s in samples:
        v = effective_ms(s, penalty_ms)
        for h in (s.host, s.target_host):
            if h:
                per.setdefault(h, []).append(v)
                loss.setdefault(h, []).append(s.loss_pct)
    return [
        HistoryPoint(
            at=at,
            cluster=clusters.get(h),
            host=h,
            ms=round(statistics.median(vs), 4),
            loss_pct=round(sum(loss[h]) / len(loss[h]), 2),
            probes=len(vs),
            source=source,
        )
        for h, vs in sorted(per.items())
    ]


class History:
    """The history file of one vCenter."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_server(cls, server_key: str) -> History:
        return cls(paths.latency_history(server_key))

    def append(self, pts: Sequence[HistoryPoint]) -> None:
        if not pts:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = "".join(p.model_dump_json() + "\n" for p in pts).encode()
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > MAX_BYTES:
                self._drop_oldest_half()

    def _drop_oldest_half(self) -> None:
        with open(self.path, "rb") as f:
            lines = f.readlines()
        keep = lines[len(lines) // 2 :]
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.writelines(keep)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def load(
        self,
        since: datetime | None = None,
        cluster: str | None = None,
        hosts: Iterable[str] | None = None,
    ) -> list[HistoryPoint]:
        """The points (oldest first), optionally since a time, of a cluster, of some hosts.
        Lines that are not points are skipped: a history is never lost to one torn line."""
        if not self.path.is_file():
            return []
        wanted = set(hosts) if hosts is not None else None
        out = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    p = HistoryPoint.model_validate(json.loads(line))
                except (ValueError, ValidationError):
                    continue
                if since is not None and p.at < since:
                    continue
                if cluster is not None and p.cluster != cluster:
                    continue
                if wanted is not None and p.host not in wanted:
                    continue
                out.append(p)
        out.sort(key=lambda p: p.at)
        return out


def series(pts: Iterable[HistoryPoint]) -> dict[str, list[HistoryPoint]]:
    """Points per host, oldest first."""
    out: dict[str, list[HistoryPoint]] = {}
    for p in sorted(pts, key=lambda p: p.at):
        out.setdefault(p.host, []).append(p)
    return out


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """The last `width` values as block characters scaled to their own min..max."""
    vals = list(values)[-width:]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-9:
        return SPARK[0] * len(vals)
    return "".join(SPARK[round((v - lo) / (hi - lo) * (len(SPARK) - 1))] for v in vals)


def record(server_key: str, results: Sequence[tuple[str | None, Matrix]], source: str) -> None:
    """Append probe rounds (`(cluster, Matrix)` pairs) to this vCenter's history, each round
    stamped with the time its first probe started; shared by `latency probe|watch`,
    and `rebalance`."""
    pts: list[HistoryPoint] = []
    for c, m in results:
        at = min((x.at for x in m.samples), default=datetime.now(UTC))
        pts += points(m.samples, at, dict.fromkeys(m.hosts, c), source=source)
    History.for_server(server_key).append(pts)
