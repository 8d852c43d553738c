"""Latency policy: smoothing, hysteresis, flap guard, loss counted as latency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vnettool.latency.policy import (
    HostSeries,
    PolicyConfig,
    effective_ms,
    evaluate,
    round_figures,
    update,
)
from vnettool.models.latency import LatencySample

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sample(src: str, dst: str, ms: float | None, loss: float = 0.0) -> LatencySample:
    lost = ms is None
    return LatencySample(
        host=src,
        target=f"ip-{dst}",
        target_host=dst,
        at=T0,
        sent=3,
        received=0 if lost else 3,
        loss_pct=100.0 if lost else loss,
        rtt_avg_us=None if lost else ms * 1000,
    )


def feed(values: list[float], cfg: PolicyConfig) -> list[tuple[str, str]]:
    s = HostSeries()
    out = []
    for i, v in enumerate(values):
        s, reason = update(s, v, T0 + timedelta(seconds=30 * i), cfg)
        out.append((s.state, reason))
    return out


def test_unknown_until_min_samples_then_unhealthy() -> None:
    cfg = PolicyConfig(min_samples=3, sustain=3, enter_ms=10, exit_ms=5)
    states = [st for st, _ in feed([25, 25, 25, 25], cfg)]
    assert states == ["unknown", "unknown", "unhealthy", "unhealthy"]


def test_flapping_host_never_enters() -> None:
    for smoothing in ("ewma", "median"):
        cfg = PolicyConfig(smoothing=smoothing, enter_ms=10, exit_ms=5)  # type: ignore[arg-type]
        res = feed([25 if i % 2 == 0 else 0.2 for i in range(30)], cfg)
        assert {st for st, _ in res[2:]} == {"healthy"}, smoothing
        assert any("flapping" in r for _, r in res[3:])


def test_hysteresis_between_thresholds_keeps_state() -> None:
    cfg = PolicyConfig(enter_ms=10, exit_ms=5, alpha=0.5)
    s = HostSeries()
    for i, v in enumerate([20, 20, 20]):
        s, _ = update(s, v, T0 + timedelta(seconds=i), cfg)
    assert s.state == "unhealthy"
    for i, v in enumerate([7, 7, 7, 7, 7, 7]):
        s, reason = update(s, v, T0 + timedelta(seconds=10 + i), cfg)
        assert s.state == "unhealthy", reason
    for i in range(6):
        s, reason = update(s, 0.3, T0 + timedelta(seconds=20 + i), cfg)
    assert s.state == "healthy"
    assert s.recovered_at is not None and s.recovered_at > T0
    assert "recovered" in reason or "enter" in reason


def test_healthy_host_below_enter_stays_healthy() -> None:
    cfg = PolicyConfig(enter_ms=10, exit_ms=5)
    res = feed([9.5] * 10, cfg)
    assert res[-1][0] == "healthy"


def test_loss_counts_as_latency() -> None:
    assert effective_ms(sample("a", "b", None), 1000) == 1000
    assert effective_ms(sample("a", "b", 1.0, loss=10), 1000) == 1.0 + 100
    cfg = PolicyConfig()
    figs = round_figures([sample("a", "b", None), sample("b", "a", None)], cfg.loss_penalty_ms)
    assert figs == {"a": 1000, "b": 1000}
    res = feed([figs["a"]] * 3, cfg)
    assert res[-1][0] == "unhealthy"


def test_one_slow_host_does_not_taint_its_peers() -> None:
    hosts = ["h0", "h1", "h2", "h3"]
    rtt = {"h0": 0.2, "h1": 25.0, "h2": 0.2, "h3": 0.2}
    samples = [sample(s, d, max(rtt[s], rtt[d])) for s in hosts for d in hosts if s != d]
    figs = round_figures(samples)
    assert figs["h1"] == 25.0
    assert all(abs(figs[h] - 0.2) < 1e-9 for h in ("h0", "h2", "h3"))
    series: dict[str, HostSeries] = {}
    for i in range(3):
        series, view = evaluate(series, figs, T0 + timedelta(seconds=i), PolicyConfig())
    assert [h for h, v in view.items() if v.state == "unhealthy"] == ["h1"]
    assert view["h0"].state == "healthy"
