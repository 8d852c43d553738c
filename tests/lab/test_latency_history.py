"""Latency history between runs on the lab, from the user's entry points: two `latency probe`
runs (one host made slow by netem in between) are kept; `latency history` shows them; the TUI's
Latency screen starts its sparklines from them and adds its own rounds; the audit workbook
charts them on its Latency tab."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from textual.widgets import Sparkline

from tests.conftest import RunningLab
from tests.lab.test_tui_live import TEST_BOUND_S, sync, until
from vnettool.lab.netem import set_time_scale
from vnettool.latency.history import History
from vnettool.tui.app import VnetApp
from vnettool.tui.latency import LatencyPane
from vnettool.tui.widgets import PhraseLine

pytestmark = [pytest.mark.lab, pytest.mark.timeout(TEST_BOUND_S + 120)]


def cli(lab: RunningLab, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | lab.env() | {"COLUMNS": "200"}
    return subprocess.run(
        ["uv", "run", "vnettool", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@sync
async def test_history_kept_between_runs_shown_in_cli_tui_and_workbook(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = fresh_lab(cluster=1, host=3, vm=2)
    monkeypatch.setenv("VNETTOOL_HOME", lab.env()["VNETTOOL_HOME"])  # the TUI's and the CLI's
    set_time_scale(0, lab=lab.lab)
    hosts = ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"]
    first = await asyncio.to_thread(cli, lab, "latency", "probe", "--insecure")
    assert first.returncode == 0, first.stderr
    assert (
        await asyncio.to_thread(cli, lab, "lab", "netem", hosts[1], "--rtt-ms", "30")
    ).returncode == 0
    second = await asyncio.to_thread(cli, lab, "latency", "probe", "--insecure")
    assert second.returncode == 2, second.stderr  # a path at 30 ms >= --crit-ms: CRITICAL

    shown = await asyncio.to_thread(cli, lab, "latency", "history", "--json", "--insecure")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    figs: dict[str, list[float]] = {}
    for p in doc["points"]:
        assert p["source"] == "probe" and p["cluster"] == "DC0_C0"
        figs.setdefault(p["host"], []).append(p["ms"])
    assert sorted(figs) == hosts and all(len(v) == 2 for v in figs.values())
    assert figs[hosts[1]][0] < 1 and figs[hosts[1]][1] == pytest.approx(30.2, abs=0.5)
    # the slow host's peers: the median of their pairs is still fast (one slow pair of two)
    assert all(figs[h][1] < 31 for h in (hosts[0], hosts[2]))
    table = await asyncio.to_thread(cli, lab, "latency", "history", "--insecure")
    assert table.returncode == 0 and "DC0_C0_H1" in table.stdout and "▁█" in table.stdout

    store = History(Path(doc["file"]))
    app = VnetApp(lab.credentials(), poll_s=1)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        await pilot.press("3")
        pane = app.query_one(LatencyPane)
        await until(pilot, lambda: pane.history_points == 6, "the kept history")
        spark = app.query_one("#spark-DC0_C0_H1", Sparkline)
        await until(pilot, lambda: list(spark.data or []) == figs[hosts[1]], "the sparkline")
        assert "6 kept" in pane.query_one("#lat-state", PhraseLine).plain
        await pilot.press("p")
        await until(pilot, lambda: pane.rounds >= 1, "a probe round", 60)
        await pilot.press("p")
        assert len(spark.data or []) >= 3
    tui = [p for p in store.load() if p.source == "tui"]
    assert {p.host for p in tui} == set(hosts)

    out = tmp_path / "audit.xlsx"
    audit = await asyncio.to_thread(
        cli, lab, "audit", "--out", str(out), "--fail-on", "never", "--insecure"
    )
    assert audit.returncode == 0, audit.stderr
    rows = list(load_workbook(out, read_only=True)["Latency"].iter_rows(values_only=True))
    assert rows[0] == ("Time (UTC)", "Cluster", *hosts)
    assert len(rows) - 1 == len({p.at.replace(microsecond=0) for p in store.load()})
    assert rows[2][3] == pytest.approx(figs[hosts[1]][1])
