"""Probe plumbing without a server: mesh concurrency, failures as samples, window, export."""

from __future__ import annotations

import threading
import time

import pytest

from vnettool.cli.latency import mtu_limited, parse_duration, vmk_limited
from vnettool.errors import ApiFault, ConfigError
from vnettool.latency.probe import (
    Endpoint,
    Window,
    from_json,
    mesh,
    spec_for,
    sweep,
    to_csv,
    to_json,
)
from vnettool.models.latency import PingResult, PingSpec

EPS = [Endpoint(f"h{i}", f"host-{i}", "vmk1", f"10.1.0.{i}", "defaultTcpipStack") for i in range(6)]
IP_HOST = {e.ip: e.host for e in EPS}


def ping_after(delay: float, mtu_of: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
    """A ping that takes `delay` seconds; DF frames over a host's MTU get nothing back."""
    active = [0, 0]
    lock = threading.Lock()

    def ping(source: Endpoint, target: str, spec: PingSpec) -> PingResult:
        with lock:
            active[0] += 1
            active[1] = max(active)
        time.sleep(delay)
        with lock:
            active[0] -= 1
        mtus = mtu_of or {}
        frame = (spec.size or 56) + 28
        if spec.df and frame > mtus.get(source.host, 9000):
            raise ApiFault(
                "esxcli", source.host, "EsxCLIFault", "sendto() failed (Message too long)"
            )
        if spec.df and frame > mtus.get(IP_HOST[target], 9000):
            return PingResult(transmitted=spec.count, received=0, loss_pct=100)
        return PingResult(transmitted=spec.count, received=spec.count, rtt_avg_us=200)

    ping.peak = active  # type: ignore[attr-defined]
    return ping


def test_mesh_runs_at_most_workers_probes_at_once() -> None:
    ping = ping_after(0.02)
    m = mesh(ping, EPS, PingSpec(), workers=4)
    assert len(m.cells) == 30 and all(s.ok for s in m.samples)
    assert ping.peak[1] == 4  # type: ignore[attr-defined]


def test_failures_become_samples_and_mtu_attribution() -> None:
    m = mesh(ping_after(0, {"h2": 1500}), EPS, PingSpec(), mtu=9000)
    assert all(s.df and s.size == 8972 for s in m.samples)
    refused = m.cells[("h2", "h0")]
    assert refused.error and "Message too long" in refused.error and refused.mtu_ok is False
    assert refused.loss_pct == 100
    dropped = m.cells[("h0", "h2")]
    assert dropped.received == 0 and dropped.mtu_ok is False
    assert m.cells[("h0", "h1")].mtu_ok is True
    assert vmk_limited(m) == ["h2"]
    assert mtu_limited(m) == ["h2"]
    m2 = mesh(ping_after(0), EPS, PingSpec(), mtu=9000)
    assert vmk_limited(m2) == [] and mtu_limited(m2) == [] and m2.failing() == []


def test_sweep_reports_each_path_and_black_holes() -> None:
    eps = [
        e if e.host != "h2" else Endpoint("h2", "host-2", "vmk1", "10.1.0.2", mtu=1500)
        for e in EPS[:3]
    ]
    paths = {(p.source, p.target): p for p in sweep(ping_after(0, {"h2": 1500}), eps, PingSpec())}
    assert len(paths) == 6
    ok = paths[("h0", "h1")]
    assert [(r.mtu, r.outcome) for r in ok.results] == [(1500, "ok"), (9000, "ok")]
    assert ok.path_mtu == 9000 and not ok.black_hole and ok.results[1].rtt_ms == 0.2
    refused = paths[("h2", "h0")]
    assert [r.outcome for r in refused.results] == ["ok", "vmknic_mtu"]
    assert refused.path_mtu == 1500 and not refused.black_hole and refused.source_mtu == 1500
    hole = paths[("h0", "h2")]
    assert [r.outcome for r in hole.results] == ["ok", "dropped"]
    assert hole.path_mtu == 1500 and hole.black_hole and hole.target_mtu == 1500


def test_spec_for_sets_interface_netstack_and_jumbo_payload() -> None:
    ep = Endpoint("h", "host-1", "vmk2", "10.0.0.9", "vmotion")
    s = spec_for(PingSpec(count=2), ep, mtu=9000)
    assert (s.interface, s.netstack, s.size, s.df, s.count) == ("vmk2", "vmotion", 8972, True, 2)
    assert spec_for(PingSpec(), EPS[0]).netstack is None


def test_window_export_roundtrip() -> None:
    w = Window(size=2)
    for _ in range(3):
        w.add(mesh(ping_after(0), EPS[:3], PingSpec()).samples)
    assert len(w.series("h0", "h1")) == 2
    samples = w.samples()
    assert len(samples) == 12
    assert from_json(to_json(samples)) == samples
    csv = to_csv(samples).splitlines()
    assert csv[0].startswith("host,vmk,netstack,target") and len(csv) == 13


def test_parse_duration() -> None:
    assert parse_duration("30s") == 30
    assert parse_duration("2m") == 120
    assert parse_duration("1.5") == 1.5
    assert parse_duration("250ms") == 0.25
    with pytest.raises(ConfigError):
        parse_duration("soon")


def test_mesh_bounds_probes_per_host_as_source_or_target() -> None:
    """With 6 hosts and 2 per host, at most 6 probes can run at once (each holds 2 hosts);
    no host ever has more than 2, and every pair is still probed once."""
    busy: dict[str, int] = {}
    peak: dict[str, int] = {}
    lock = threading.Lock()

    def ping(source: Endpoint, target: str, spec: PingSpec) -> PingResult:
        ends = (source.host, IP_HOST[target])
        with lock:
            for h in ends:
                busy[h] = busy.get(h, 0) + 1
                peak[h] = max(peak.get(h, 0), busy[h])
        time.sleep(0.01)
        with lock:
            for h in ends:
                busy[h] -= 1
        return PingResult(transmitted=1, received=1, rtt_avg_us=200)

    m = mesh(ping, EPS, PingSpec(), workers=32, per_host=2)
    assert len(m.cells) == 30
    assert max(peak.values()) == 2
    peak.clear()
    mesh(ping, EPS, PingSpec(), workers=32, per_host=0)
    assert max(peak.values()) > 2  # no bound: the same mesh piles probes on hosts


def test_pair_order_touches_every_host_once_per_round() -> None:
    from vnettool.latency.probe import pair_order

    pairs = pair_order(EPS)
    assert len(pairs) == len(set((a.host, b.host) for a, b in pairs)) == 30
    first_round = pairs[: len(EPS)]
    assert sorted(a.host for a, _ in first_round) == [e.host for e in EPS]
    assert sorted(b.host for _, b in first_round) == [e.host for e in EPS]


def _ms_ping(slow: dict[str, float], lost: set[str] = frozenset()):  # type: ignore[no-untyped-def, assignment]
    def ping(source: Endpoint, target: str, spec: PingSpec) -> PingResult:
        dst = IP_HOST[target]
        if dst in lost or source.host in lost:
            return PingResult(transmitted=3, received=0, loss_pct=100)
        ms = max(slow.get(source.host, 0.2), slow.get(dst, 0.2))
        return PingResult(transmitted=3, received=3, rtt_avg_us=ms * 1000)

    return ping


def test_host_summaries_median_p95_and_worst_peer() -> None:
    from vnettool.latency.probe import host_summaries, percentile

    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile(list(map(float, range(1, 101))), 95) == 95.0
    m = mesh(_ms_ping({"h3": 12.0}), EPS, PingSpec())
    by = {h.host: h for h in host_summaries(m)}
    # h3's every path is slow; a healthy host has 2 of 10 paths (to and from h3) slow
    assert by["h3"].median_ms == 12.0 and by["h3"].paths == 10
    assert by["h0"].median_ms == 0.2 and by["h0"].p95_ms == 12.0 and by["h0"].max_ms == 12.0
    assert by["h0"].worst_peer == "h3"
    assert by["h3"].worst_peer is None  # every path alike: no peer stands out
    healthy = mesh(_ms_ping({}), EPS, PingSpec())
    assert all(h.worst_peer is None and h.lost == 0 for h in host_summaries(healthy))


def test_worst_pairs_and_critical_put_lost_paths_first() -> None:
    from vnettool.latency.probe import critical, matrix_dict, worst_pairs

    m = mesh(_ms_ping({"h1": 15.0}, lost={"h5"}), EPS, PingSpec())
    worst = worst_pairs(m, 12)
    assert all(not s.ok for s in worst[:10])  # h5's 10 lost paths first
    assert {s.rtt_avg_ms for s in worst[10:]} == {15.0}
    assert len(critical(m, 10.0)) == 10 + 8  # lost, and h1's paths that are not lost
    assert len(critical(m, 20.0)) == 10
    md = matrix_dict(m)
    assert md["h0"]["h5"] is None and md["h0"]["h1"] == 15.0 and "h0" not in md["h0"]
