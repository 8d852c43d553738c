"""vmkping probes: one host to one target, or a whole cluster as a host x host mesh.

The probe layer knows nothing about pyVmomi: it is given a `PingFn` (in production
`Esxcli.ping` through `esxcli_pinger`) and turns results and failures alike into
`LatencySample`s, so a failed probe is data the policy can count, not an exception that ends
a monitoring loop.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from vnettool.errors import VnetError
from vnettool.impact.paths import natural_key
from vnettool.models.inventory import Inventory, VmkernelAdapter
from vnettool.models.latency import (
    ICMP_IP_OVERHEAD,
    SWEEP_MTUS,
    LatencySample,
    MtuResult,
    PathMtu,
    PingResult,
    PingSpec,
    payload_for_mtu,
)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Endpoint:
    """A host's probing adapter: where pings leave from and where peers aim theirs."""

    host: str
    host_moref: str
    vmk: str
    ip: str
    netstack: str | None = None
    mtu: int | None = None


class PingFn(Protocol):
    def __call__(self, source: Endpoint, target: str, spec: PingSpec) -> PingResult: ...


class EndpointError(VnetError):
    """A host has no adapter to probe from (no vmknic with the service, or no IPv4 address)."""


def pick_vmknic(
    adapters: Sequence[VmkernelAdapter], device: str | None = None, service: str = "vmotion"
) -> VmkernelAdapter | None:
    """The adapter named `device`, else the first with `service`, else None."""
    if device:
        return next((a for a in adapters if a.device == device), None)
    with_service = [a for a in adapters if service in a.services and a.ip]
    return sorted(with_service, key=lambda a: a.device)[0] if with_service else None


def endpoints(
    inv: Inventory,
    cluster: str | None = None,
    device: str | None = None,
    service: str = "vmotion",
) -> tuple[list[Endpoint], dict[str, str]]:
    """Probing endpoints of the cluster's hosts, and the hosts left out with the reason."""
    out: list[Endpoint] = []
    skipped: dict[str, str] = {}
    for h in sorted(inv.hosts_in(cluster=cluster), key=lambda h: natural_key(h.name)):
        if h.connection_state != "connected":
            skipped[h.name] = f"host is {h.connection_state}"
            continue
        a = pick_vmknic(inv.vmknics_of(h.name), device, service)
        if a is None or not a.ip:
            what = device or f"a VMkernel adapter with the {service} service"
            skipped[h.name] = f"no {what} with an IPv4 address"
            continue
        out.append(Endpoint(h.name, h.moref, a.device, a.ip, a.netstack, a.mtu))
    return out, skipped


def spec_for(
    base: PingSpec, source: Endpoint, mtu: int | None = None, netstack: bool = True
) -> PingSpec:
    """The spec for one source: its interface and netstack; with `mtu`, a DF frame that fills it."""
    upd: dict[str, object] = {"interface": source.vmk}
    if netstack and source.netstack and source.netstack != "defaultTcpipStack":
        upd["netstack"] = source.netstack
    if mtu is not None:
        upd |= {"size": payload_for_mtu(mtu), "df": True}
    return base.model_copy(update=upd)


def probe(
    ping: PingFn,
    source: Endpoint,
    target: str,
    spec: PingSpec,
    target_host: str | None = None,
    clock: Clock = utcnow,
) -> LatencySample:
    """One sample; any failure becomes a sample with `error` and 100 % loss."""
    at = clock()
    t0 = time.perf_counter()
    common = {
        "host": source.host,
        "vmk": source.vmk,
        "netstack": source.netstack,
        "target": target,
        "target_host": target_host,
        "at": at,
        "size": spec.size,
        "df": spec.df,
    }
    try:
        r = ping(source, target, spec)
    except VnetError as exc:
        msg = str(exc)
        return LatencySample(
            **common,  # type: ignore[arg-type]
            sent=spec.count,
            loss_pct=100.0,
            mtu_ok=False if spec.df and "message too long" in msg.lower() else None,
            error=msg,
            duration_s=time.perf_counter() - t0,
        )
    mtu_ok: bool | None = None
    if spec.df and spec.size is not None:
        # A smaller MTU further along drops DF frames silently: nothing comes back.
        mtu_ok = r.received > 0
    return LatencySample(
        **common,  # type: ignore[arg-type]
        sent=r.transmitted,
        received=r.received,
        duplicated=r.duplicated,
        loss_pct=r.loss_pct,
        rtt_min_us=r.rtt_min_us,
        rtt_avg_us=r.rtt_avg_us,
        rtt_max_us=r.rtt_max_us,
        mtu_ok=mtu_ok,
        error=None if r.received > 0 else "no reply",
        duration_s=time.perf_counter() - t0,
    )


@dataclass
class Matrix:
    """A host x host mesh result: `cells[(src, dst)]` is the sample src → dst."""

    hosts: list[str]
    cells: dict[tuple[str, str], LatencySample] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def samples(self) -> list[LatencySample]:
        return [self.cells[k] for k in sorted(self.cells)]

    @property
    def serial_s(self) -> float:
        """What the same probes would have taken one after another."""
        return sum(s.duration_s or 0.0 for s in self.cells.values())

    def failing(self) -> list[LatencySample]:
        return [s for s in self.samples if not s.ok or s.mtu_ok is False]

    def to_json(self) -> str:
        return json.dumps(
            {
                "hosts": self.hosts,
                "skipped": self.skipped,
                "wall_s": round(self.wall_s, 4),
                "samples": [s.model_dump(mode="json") for s in self.samples],
            },
            indent=1,
        )


@dataclass(frozen=True)
class HostSummary:
    """One host's share of a mesh: every probe it sent or answered (both directions)."""

    host: str
    paths: int
    median_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    lost: int
    worst_peer: str | None


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (what a person checks by counting): p95 of 62 values is the
    59th smallest. `values` must not be empty."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def host_summaries(m: Matrix) -> list[HostSummary]:
    """Per host: median, p95 and max RTT of its paths, lost paths, and its slowest peer.

    A lost path (nothing came back) has no RTT: it is counted in `lost` and makes the peer
    the worst, but it is not turned into a number that would move the median.
    """
    out = []
    for h in m.hosts:
        mine = [(a, b, s) for (a, b), s in m.cells.items() if h in (a, b)]
        rtts = [(s.rtt_avg_ms, b if a == h else a) for a, b, s in mine if s.ok]
        values = [ms for ms, _ in rtts if ms is not None]
        lost = [b if a == h else a for a, b, s in mine if not s.ok]
        worst: str | None = min(lost, key=natural_key) if lost else None
        if worst is None and values and max(values) > statistics.median(values):
            # only a peer that stands out; with every path alike there is no worst one
            worst = max(rtts, key=lambda x: (x[0] or 0.0, x[1]))[1]
        out.append(
            HostSummary(
                host=h,
                paths=len(mine),
                median_ms=statistics.median(values) if values else None,
                p95_ms=percentile(values, 95) if values else None,
                max_ms=max(values) if values else None,
                lost=len(lost),
                worst_peer=worst,
            )
        )
    return out


def worst_pairs(m: Matrix, top: int) -> list[LatencySample]:
    """The `top` worst paths: lost ones first, then by RTT, slowest first."""
    return sorted(
        m.cells.values(),
        key=lambda s: (
            s.ok,
            -(s.rtt_avg_ms or 0.0),
            natural_key(s.host),
            natural_key(s.target_host or s.target),
        ),
    )[: max(0, top)]


def critical(m: Matrix, crit_ms: float) -> list[LatencySample]:
    """Paths at or above the critical RTT, or with nothing back (Nagios CRITICAL)."""
    return [
        s for s in m.samples if not s.ok or (s.rtt_avg_ms is not None and s.rtt_avg_ms >= crit_ms)
    ]


def matrix_dict(m: Matrix) -> dict[str, dict[str, float | None]]:
    """The mesh as {source: {target: RTT avg ms or None when lost}} for JSON."""
    return {
        src: {
            dst: (None if not s.ok or s.rtt_avg_ms is None else round(s.rtt_avg_ms, 4))
            for dst in m.hosts
            if (s := m.cells.get((src, dst))) is not None
        }
        for src in m.hosts
    }


def pair_order(eps: Sequence[Endpoint]) -> list[tuple[Endpoint, Endpoint]]:
    """Every ordered pair once, in rounds: round k pairs host i with host i+k (mod n).

    Each round has every host once as a source and once as a target, so the first pairs
    handed out touch different hosts and the per-host bound in `mesh` rarely has to hold a
    probe back (source-major order would give one host n-1 probes in a row).
    """
    n = len(eps)
    return [
        (eps[i], eps[(i + k) % n])
        for k in range(1, n)
        for i in range(n)
        if eps[i].host != eps[(i + k) % n].host
    ]


def mesh(
    ping: PingFn,
    eps: Sequence[Endpoint],
    spec: PingSpec,
    workers: int = 32,
    mtu: int | None = None,
    clock: Clock = utcnow,
    per_host: int = 2,
) -> Matrix:
    """Every endpoint pings every other: at most `workers` probes in flight in all, and at
    most `per_host` that involve any one host (as source or target; 0 = no per-host bound).

    Why both bounds: one vmkping mostly waits (count x interval), so many in flight make a
    round of a 32-host cluster (992 probes) fast; but every probe runs in the source host's
    hostd and lands on the target's vmknic, and piling them on one host would both load its
    management agent and measure the probes' own queueing. The per-host bound keeps each
    host's share small however many hosts the cluster has.
    """
    pending = pair_order(eps)
    m = Matrix(hosts=[e.host for e in eps])
    cond = threading.Condition()
    busy: dict[str, int] = {}

    def take() -> tuple[Endpoint, Endpoint] | None:
        """The first pending pair whose two hosts are below the bound (waits for one)."""
        with cond:
            while pending:
                for i, (src, dst) in enumerate(pending):
                    if per_host <= 0 or (
                        busy.get(src.host, 0) < per_host and busy.get(dst.host, 0) < per_host
                    ):
                        del pending[i]
                        busy[src.host] = busy.get(src.host, 0) + 1
                        busy[dst.host] = busy.get(dst.host, 0) + 1
                        return src, dst
                cond.wait()
            return None

    def worker() -> None:
        while (pair := take()) is not None:
            src, dst = pair
            try:
                sample = probe(ping, src, dst.ip, spec_for(spec, src, mtu), dst.host, clock)
            finally:
                with cond:
                    busy[src.host] -= 1
                    busy[dst.host] -= 1
                    cond.notify_all()
            with cond:
                m.cells[(src.host, dst.host)] = sample

    t0 = time.perf_counter()
    n = max(1, min(workers, len(pending)))
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="vmkping") as pool:
        for f in [pool.submit(worker) for _ in range(n)]:
            f.result()
    m.wall_s = time.perf_counter() - t0
    return m


def mtu_outcome(s: LatencySample) -> MtuResult:
    """What one DF probe says about the path (see `MtuResult`)."""
    mtu = (s.size or 0) + ICMP_IP_OVERHEAD
    if s.error and "message too long" in s.error.lower():
        return MtuResult(mtu=mtu, outcome="vmknic_mtu", error=s.error)
    if s.received > 0:
        return MtuResult(mtu=mtu, outcome="ok", rtt_ms=s.rtt_avg_ms)
    if s.error and s.error != "no reply":
        return MtuResult(mtu=mtu, outcome="error", error=s.error)
    return MtuResult(mtu=mtu, outcome="dropped")


def sweep(
    ping: PingFn,
    eps: Sequence[Endpoint],
    spec: PingSpec,
    mtus: Sequence[int] = SWEEP_MTUS,
    workers: int = 8,
    cluster: str | None = None,
    clock: Clock = utcnow,
) -> list[PathMtu]:
    """DF pings of every swept frame size on every path of the mesh, reported per path.

    One mesh per size (smallest first); a path's result lists each size's outcome, so a
    1500 path under a 9000 vmknic shows as `1500 ok, 9000 dropped` (a black hole)."""
    by_ep = {e.host: e for e in eps}
    rounds = [mesh(ping, eps, spec, workers=workers, mtu=m, clock=clock) for m in sorted(mtus)]
    out = []
    for src in eps:
        for dst in eps:
            if src.host == dst.host:
                continue
            results = [
                mtu_outcome(m.cells[(src.host, dst.host)])
                for m in rounds
                if (src.host, dst.host) in m.cells
            ]
            out.append(
                PathMtu(
                    cluster=cluster,
                    source=src.host,
                    target=dst.host,
                    vmk=src.vmk,
                    source_mtu=src.mtu,
                    target_mtu=by_ep[dst.host].mtu,
                    results=results,
                )
            )
    return out


class Window:
    """The last `size` samples per (host, target), oldest dropped first."""

    def __init__(self, size: int = 60) -> None:
        self.size = size
        self._data: dict[tuple[str, str], deque[LatencySample]] = {}
        self._lock = threading.Lock()

    def add(self, samples: Iterable[LatencySample]) -> None:
        with self._lock:
            for s in samples:
                key = (s.host, s.target_host or s.target)
                self._data.setdefault(key, deque(maxlen=self.size)).append(s)

    def samples(self) -> list[LatencySample]:
        with self._lock:
            out = [s for q in self._data.values() for s in q]
        return sorted(out, key=lambda s: (s.at, s.host, s.target))

    def series(self, host: str, target: str) -> list[LatencySample]:
        with self._lock:
            return list(self._data.get((host, target), ()))


CSV_FIELDS = list(LatencySample.model_fields)


def to_csv(samples: Iterable[LatencySample]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for s in samples:
        row = s.model_dump(mode="json")
        w.writerow({k: "" if row[k] is None else row[k] for k in CSV_FIELDS})
    return buf.getvalue()


def to_json(samples: Iterable[LatencySample]) -> str:
    return json.dumps([s.model_dump(mode="json") for s in samples], indent=1)


def from_json(text: str) -> list[LatencySample]:
    return [LatencySample.model_validate(d) for d in json.loads(text)]
