"""When is a host's network "slow"? Smoothing, hysteresis and a flap guard over probe rounds.

Each probe round gives every host one figure: the median over the pairs it takes part in
(as source or target), so one slow host does not make its healthy peers look slow. Loss
counts as latency (`loss_penalty_ms` per 100 %), so a host that answers nothing is the worst
host, not a host without data. A host enters "unhealthy" only when the smoothed figure is over
`enter_ms` *and* the last `sustain` raw figures all are; it leaves only when both are under
`exit_ms`. A host whose RTT alternates each round therefore never flips state, and never
causes a move.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import Field

from vnettool.models.base import Model
from vnettool.models.latency import HostLatency, LatencySample


class PolicyConfig(Model):
    smoothing: Literal["ewma", "median"] = "ewma"
    alpha: float = Field(default=0.5, gt=0, le=1)
    window: int = Field(default=10, ge=1)
    enter_ms: float = Field(default=10.0, gt=0)
    exit_ms: float = Field(default=5.0, gt=0)
    min_samples: int = Field(default=3, ge=1)
    sustain: int = Field(default=3, ge=1)
    loss_penalty_ms: float = Field(default=1000.0, gt=0)


def effective_ms(s: LatencySample, penalty_ms: float) -> float:
    """Latency with loss folded in: a fully lost probe costs `penalty_ms`."""
    if s.received == 0 or s.rtt_avg_us is None:
        return penalty_ms
    return s.rtt_avg_us / 1000.0 + penalty_ms * min(max(s.loss_pct, 0.0), 100.0) / 100.0


def round_figures(samples: Iterable[LatencySample], penalty_ms: float = 1000.0) -> dict[str, float]:
    """Per host, the median effective latency of all pairs it is part of in one round."""
    per: dict[str, list[float]] = {}
    for s in samples:
        v = effective_ms(s, penalty_ms)
        per.setdefault(s.host, []).append(v)
        if s.target_host:
            per.setdefault(s.target_host, []).append(v)
    return {h: statistics.median(vs) for h, vs in per.items()}


def round_loss(samples: Iterable[LatencySample]) -> dict[str, float]:
    """Per host, the mean loss percentage of the pairs it is part of in one round."""
    per: dict[str, list[float]] = {}
    for s in samples:
        for h in (s.host, s.target_host):
            if h:
                per.setdefault(h, []).append(s.loss_pct)
    return {h: sum(vs) / len(vs) for h, vs in per.items()}


class HostSeries(Model):
    """A host's recent per-round figures and its hysteresis state; persisted between runs."""

    figures: list[float] = Field(default_factory=list)
    times: list[datetime] = Field(default_factory=list)
    ewma: float | None = None
    state: Literal["unknown", "healthy", "unhealthy"] = "unknown"
    changed_at: datetime | None = None
    recovered_at: datetime | None = None


def smoothed(series: HostSeries, cfg: PolicyConfig) -> float | None:
    if not series.figures:
        return None
    if cfg.smoothing == "median":
        return float(statistics.median(series.figures[-cfg.window :]))
    return series.ewma


def _crossings(values: Sequence[float], threshold: float) -> int:
    above = [v >= threshold for v in values]
    return sum(1 for a, b in itertools.pairwise(above) if a != b)


def update(
    series: HostSeries, figure: float, at: datetime, cfg: PolicyConfig
) -> tuple[HostSeries, str]:
    """Add one round's figure; return the new series and why the state is what it is."""
    figures = [*series.figures, figure][-max(cfg.window, cfg.sustain) :]
    times = [*series.times, at][-len(figures) :]
    ewma = figure if series.ewma is None else cfg.alpha * figure + (1 - cfg.alpha) * series.ewma
    nxt = series.model_copy(update={"figures": figures, "times": times, "ewma": ewma})
    value = smoothed(nxt, cfg)
    n = len(figures)
    state = series.state
    recent = figures[-cfg.sustain :]
    if n < cfg.min_samples or value is None:
        reason = f"{n}/{cfg.min_samples} samples"
        state = "unknown"
    elif state != "unhealthy":
        if value >= cfg.enter_ms and len(recent) >= cfg.sustain and min(recent) >= cfg.enter_ms:
            state = "unhealthy"
            reason = (
                f"smoothed {value:.2f} ms ≥ enter {cfg.enter_ms:g} ms and the last "
                f"{cfg.sustain} samples ≥ {cfg.enter_ms:g} ms"
            )
        else:
            state = "healthy"
            flips = _crossings(figures, cfg.enter_ms)
            if value >= cfg.enter_ms or flips >= 2:
                reason = (
                    f"smoothed {value:.2f} ms but not sustained "
                    f"({flips} threshold crossings in {n} samples: flapping)"
                    if flips >= 2
                    else f"smoothed {value:.2f} ms, not yet {cfg.sustain} samples over"
                )
            else:
                reason = f"smoothed {value:.2f} ms < enter {cfg.enter_ms:g} ms"
    elif value <= cfg.exit_ms and max(recent) <= cfg.exit_ms:
        state = "healthy"
        reason = f"recovered: smoothed {value:.2f} ms ≤ exit {cfg.exit_ms:g} ms"
    else:
        reason = f"still unhealthy: smoothed {value:.2f} ms > exit {cfg.exit_ms:g} ms"
    if state != series.state:
        upd: dict[str, object] = {"state": state, "changed_at": at}
        if series.state == "unhealthy":
            upd["recovered_at"] = at
        nxt = nxt.model_copy(update=upd)
    return nxt, reason


def evaluate(
    series: Mapping[str, HostSeries],
    round_: Mapping[str, float],
    at: datetime,
    cfg: PolicyConfig,
    loss: Mapping[str, float] | None = None,
) -> tuple[dict[str, HostSeries], dict[str, HostLatency]]:
    """Feed one round to every host; hosts absent from the round keep their series."""
    out = dict(series)
    view: dict[str, HostLatency] = {}
    for host, fig in sorted(round_.items()):
        new, reason = update(series.get(host, HostSeries()), fig, at, cfg)
        out[host] = new
        view[host] = HostLatency(
            host=host,
            samples=len(new.figures),
            smoothed_ms=smoothed(new, cfg),
            last_ms=fig,
            loss_pct=(loss or {}).get(host, 0.0),
            state=new.state,
            reason=reason,
        )
    return out, view
