"""Latency measurements and rebalance decisions as plain values.

The probes, the policy, the mover, the CLI and the TUI all exchange these models, so each part
can be tested from recorded samples without a server, and a journal written today can be read
by a later version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from vnettool.models.base import Model

# ICMP (8) + IPv4 (20) headers: the largest unfragmented payload is MTU - 28.
ICMP_IP_OVERHEAD = 28


def payload_for_mtu(mtu: int) -> int:
    """ICMP payload that fills one frame of `mtu` bytes (1472 for 1500, 8972 for 9000)."""
    return mtu - ICMP_IP_OVERHEAD


class PingTrace(Model):
    """One echo reply as ESXi reports it (a `Trace` element)."""

    seq: int | None = None
    host: str | None = None
    received_bytes: int | None = None
    ttl: int | None = None
    rtt_us: float | None = None
    dup: bool = False
    detail: str = ""


class PingResult(Model):
    """The decoded answer of `esxcli network diag ping` (a `Summary` and its `Trace`s).

    `rtt_field` records which ESXi field the round-trip figures came from (`RoundtripAvg`
    on current builds, `RoundtripAvgMS` on older ones, which hold microseconds too).
    """

    host_addr: str | None = None
    transmitted: int = 0
    received: int = 0
    duplicated: int = 0
    loss_pct: float = 0.0
    rtt_min_us: float | None = None
    rtt_avg_us: float | None = None
    rtt_max_us: float | None = None
    rtt_field: str | None = None
    traces: list[PingTrace] = Field(default_factory=list)


class PingSpec(Model):
    """What to send: the knobs of vmkping that matter for latency and path-MTU checks."""

    count: int = Field(default=3, ge=1, le=100)
    interval_s: float | None = Field(default=None, gt=0)
    size: int | None = Field(default=None, ge=1, le=65507)
    df: bool = False
    netstack: str | None = None
    interface: str | None = None
    wait_s: float | None = Field(default=None, gt=0)
    warmup: bool = True


class LatencySample(Model):
    """One probe from a host's VMkernel adapter to a target, with its outcome.

    A failed probe (e.g. "Message too long" with DF set, or an API fault) is still a sample:
    `error` says why and `loss_pct` is 100, so policies count it as bad latency.
    """

    host: str
    vmk: str | None = None
    netstack: str | None = None
    target: str
    target_host: str | None = None
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    sent: int = 0
    received: int = 0
    duplicated: int = 0
    loss_pct: float = 0.0
    rtt_min_us: float | None = None
    rtt_avg_us: float | None = None
    rtt_max_us: float | None = None
    size: int | None = None
    df: bool = False
    mtu_ok: bool | None = None
    error: str | None = None
    duration_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.received > 0

    @property
    def rtt_avg_ms(self) -> float | None:
        return None if self.rtt_avg_us is None else self.rtt_avg_us / 1000.0


SWEEP_MTUS = (1500, 9000)
MtuOutcome = Literal["ok", "vmknic_mtu", "dropped", "error"]


class MtuResult(Model):
    """One DF probe of a frame of `mtu` bytes on a path: `ok` (replies came back),
    `vmknic_mtu` (the source adapter refused it: "Message too long"), `dropped` (sent, and
    nothing came back: a smaller MTU along the way) or `error` (the probe failed otherwise)."""

    mtu: int
    outcome: MtuOutcome
    rtt_ms: float | None = None
    error: str | None = None


class PathMtu(Model):
    """The MTU sweep of one path (source vmknic -> target vmknic)."""

    cluster: str | None = None
    source: str
    target: str
    vmk: str | None = None
    source_mtu: int | None = None  # the adapters' configured MTUs, as read from the inventory
    target_mtu: int | None = None
    results: list[MtuResult] = Field(default_factory=list)

    @property
    def path_mtu(self) -> int | None:
        """The largest swept frame that got through (None: not even the smallest)."""
        ok = [r.mtu for r in self.results if r.outcome == "ok"]
        return max(ok) if ok else None

    @property
    def black_hole(self) -> bool:
        """A frame the source adapter sent was dropped on the way: a mismatch a vMotion or
        vSAN stream would hit as stalls, unlike a frame the adapter refuses by configuration."""
        return any(r.outcome == "dropped" for r in self.results)


class HistoryPoint(Model):
    """One host's figure of one probe round, as kept between runs (latency/history.py): the
    median effective latency of the pairs it took part in (the policy's figure; loss counts
    as latency), its mean loss and how many probes it is made of."""

    at: datetime
    cluster: str | None = None
    host: str
    ms: float
    loss_pct: float = 0.0
    probes: int = 0
    source: str = "probe"  # probe, watch, rebalance, tui


class HostLatency(Model):
    """A host's smoothed figure and the state the hysteresis put it in."""

    host: str
    samples: int
    smoothed_ms: float | None
    last_ms: float | None
    loss_pct: float
    state: Literal["unknown", "healthy", "unhealthy"]
    reason: str = ""


class MoveDecision(Model):
    """One thing the mover decided about a VM, with the figures it was based on."""

    vm: str
    vm_moref: str | None = None
    source: str
    destination: str | None = None
    action: Literal["move", "skip"]
    reason: str
    source_ms: float | None = None
    destination_ms: float | None = None
    rejected: dict[str, str] = Field(default_factory=dict)  # host -> why it was not chosen


class JournalEntry(Model):
    """A vMotion the mover started, and how it ended."""

    at: datetime
    vm: str
    source: str
    destination: str
    reason: str
    outcome: Literal["moved", "failed", "dry-run"]
    error: str | None = None
    duration_s: float | None = None
