"""The latency history kept between runs: figures from samples, the JSON-lines store (filters,
torn lines, the size bound), the sparkline and the workbook's Latency tab with its chart."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.factories import snapshot
from vnettool.audit.workbook import write_workbook
from vnettool.latency import history
from vnettool.latency.history import History, points, series, sparkline
from vnettool.models.latency import HistoryPoint, LatencySample

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def sample(src: str, dst: str, ms: float | None, loss: float = 0.0) -> LatencySample:
    got = 0 if ms is None else 3
    return LatencySample(
        host=src,
        target=f"ip-{dst}",
        target_host=dst,
        at=T0,
        sent=3,
        received=got,
        loss_pct=100.0 if ms is None else loss,
        rtt_avg_us=None if ms is None else ms * 1000,
    )


def test_points_are_the_policys_host_figures() -> None:
    samples = [
        sample("a", "b", 1.0),
        sample("b", "a", 1.2),
        sample("a", "c", 20.0),
        sample("c", "a", 22.0),
        sample("b", "c", None),  # lost: costs the 1000 ms penalty
        sample("c", "b", 21.0),
    ]
    pts = {p.host: p for p in points(samples, T0, {"a": "C0", "b": "C0", "c": "C0"}, "probe")}
    assert pts["a"].ms == pytest.approx(10.6)  # median of 1.0, 1.2, 20, 22
    assert pts["c"].ms == pytest.approx(21.5)
    assert pts["b"].probes == 4 and pts["b"].loss_pct == 25.0
    assert {p.cluster for p in pts.values()} == {"C0"} and pts["a"].at == T0


def test_store_roundtrip_filters_and_torn_lines(tmp_path: Path) -> None:
    h = History(tmp_path / "latency" / "history-x.jsonl")
    assert h.load() == []
    for i in range(3):
        h.append(
            [
                HistoryPoint(at=T0 + timedelta(minutes=i), cluster="C0", host="a", ms=1.0 + i),
                HistoryPoint(at=T0 + timedelta(minutes=i), cluster="C1", host="z", ms=5.0),
            ]
        )
    with open(h.path, "a") as f:
        f.write('{"at": "2026-12-07T10:0')  # a writer killed mid-line
        f.write("\nnot json\n")
    h.append([HistoryPoint(at=T0 + timedelta(minutes=9), cluster="C0", host="a", ms=9.0)])
    assert [p.ms for p in h.load(cluster="C0")] == [1.0, 2.0, 3.0, 9.0]
    assert [p.ms for p in h.load(since=T0 + timedelta(minutes=2), hosts=["a"])] == [3.0, 9.0]
    assert oct(h.path.stat().st_mode & 0o777) == "0o600"
    assert list(series(h.load())) == ["a", "z"]


def test_store_drops_the_oldest_half_when_too_big(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "MAX_BYTES", 4000)
    h = History(tmp_path / "h.jsonl")
    for i in range(100):
        h.append([HistoryPoint(at=T0 + timedelta(seconds=i), host="a", ms=float(i))])
    assert h.path.stat().st_size <= 4000
    kept = [p.ms for p in h.load()]
    assert kept[-1] == 99.0 and kept == sorted(kept) and len(kept) < 100
    assert kept == [float(i) for i in range(int(kept[0]), 100)]  # newest kept, none missing


def test_sparkline() -> None:
    assert sparkline([]) == ""
    assert sparkline([1, 1, 1]) == "▁▁▁"
    assert sparkline([0, 5, 10]) == "▁▅█"
    assert len(sparkline(list(range(100)), width=40)) == 40


def test_workbook_latency_tab_and_chart(tmp_path: Path) -> None:
    pts = [
        HistoryPoint(at=T0 + timedelta(minutes=i), cluster="DC0_C0", host=h, ms=ms)
        for i in range(4)
        for h, ms in (("DC0_C0_H0", 0.2), ("DC0_C0_H1", 0.2 + 10 * i))
    ]
    out = write_workbook(tmp_path / "a.xlsx", snapshot(), [], latency=pts)
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames[-1] == "Latency"
    rows = list(wb["Latency"].iter_rows(values_only=True))
    assert rows[0] == ("Time (UTC)", "Cluster", "DC0_C0_H0", "DC0_C0_H1")
    assert len(rows) == 5 and rows[4][1:] == ("DC0_C0", 0.2, 30.2)
    assert rows[1][0] == (T0).replace(tzinfo=None)
    with zipfile.ZipFile(out) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    xml = next(x for x in charts if "'Latency'" in x)
    assert "<lineChart>" in xml
    assert "<f>'Latency'!C1</f>" in xml and "<f>'Latency'!$D$2:$D$5</f>" in xml
    assert "<f>'Latency'!$A$2:$A$5</f>" in xml  # the round times are the categories
    plain = write_workbook(tmp_path / "b.xlsx", snapshot(), [])
    assert "Latency" not in load_workbook(plain, read_only=True).sheetnames
