"""The ladder's decisions (pure): when a rung is climbed, when one is undone, and the
relapse back-off that keeps a still-needed remedy from being undone every exit window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from vnettool.latency.ladder import (
    AppliedStep,
    HostLadder,
    LadderConfig,
    decide,
    exit_window,
    observe,
)
from vnettool.models.latency import HostLatency

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CFG = LadderConfig(settle_rounds=2, step_cooldown_s=100, exit_window_s=300)


def lat(state: str, ms: float = 30.0) -> HostLatency:
    return HostLatency(
        host="h",
        samples=5,
        smoothed_ms=ms,
        last_ms=ms,
        loss_pct=0,
        state=state,
        reason="r",  # type: ignore[arg-type]
    )


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_steps_are_put_in_ladder_order_and_not_repeated() -> None:
    assert LadderConfig(steps=["vmotion", "nioc"]).steps == ["nioc", "vmotion"]
    assert LadderConfig().steps == ["nioc", "uplink", "vmotion"]  # (c) is opt-in
    with pytest.raises(ValidationError):
        LadderConfig(steps=["nioc", "nioc"])


def test_first_rung_at_once_next_only_after_settle_rounds_and_cooldown_while_still_high() -> None:
    hl = HostLadder()
    action, _ = decide("h", lat("unhealthy"), hl, CFG, at(0), [30, 30, 30])
    assert action is not None and action.kind == "escalate"
    hl.applied.append(AppliedStep(step="nioc", at=at(0), reason="r"))
    hl.tried.append("nioc")
    observe(hl, lat("unhealthy"), 1, at(50), CFG)
    action, why = decide("h", lat("unhealthy"), hl, CFG, at(50), [30, 30, 30])
    assert action is None and "1/2 rounds" in why
    observe(hl, lat("unhealthy"), 1, at(60), CFG)
    action, why = decide("h", lat("unhealthy"), hl, CFG, at(60), [30, 30, 30])
    assert action is None and "applied 60 s ago" in why
    action, _ = decide("h", lat("unhealthy"), hl, CFG, at(120), [30, 30, 30])
    assert action is not None and "still unhealthy 2 rounds after nioc" in action.reason


def test_a_rung_that_brought_latency_under_enter_is_not_followed_by_the_next() -> None:
    hl = HostLadder(applied=[AppliedStep(step="uplink", at=at(0), reason="r", rounds=2)])
    hl.tried = ["nioc", "uplink"]
    # the policy still says unhealthy (exit hysteresis), but the figures since are low
    action, why = decide("h", lat("unhealthy", 12), hl, CFG, at(500), [30, 0.2, 0.2], 10)
    assert action is None and "uplink helped" in why


def test_undo_after_the_exit_window_one_rung_at_a_time_and_relapse_doubles_it() -> None:
    hl = HostLadder(applied=[AppliedStep(step="nioc", at=at(0), reason="r")], tried=["nioc"])
    observe(hl, lat("healthy", 0.2), 1, at(100), CFG)
    action, why = decide("h", lat("healthy", 0.2), hl, CFG, at(200), [0.2])
    assert action is None and "healthy 100 s of the 300 s exit window" in why
    action, _ = decide("h", lat("healthy", 0.2), hl, CFG, at(400), [0.2])
    assert action is not None and action.kind == "undo"
    hl.applied.pop()
    hl.last_undo = hl.last_change = at(400)
    observe(hl, lat("unhealthy"), 1, at(500), CFG)  # back within the window: a relapse
    assert hl.relapses == 1 and exit_window(hl, CFG) == 600
    assert hl.healthy_since is None


def test_no_rung_left() -> None:
    hl = HostLadder(tried=["nioc", "uplink", "vmotion"])
    action, why = decide("h", lat("unhealthy"), hl, CFG, at(0), [30])
    assert action is None and "every allowed remedy" in why
