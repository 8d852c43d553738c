"""The bulk read and model build pause the cyclic garbage collector and restore it."""

from __future__ import annotations

import gc

import pytest

from vnettool.vsphere import collector, reader


def test_build_inventory_runs_with_the_collector_paused_then_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    real = reader._build_inventory

    def spy(*args: object) -> object:
        seen.append(gc.isenabled())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "_build_inventory", spy)
    assert gc.isenabled()
    inv = reader.build_inventory({}, vcenter="vc")
    assert inv.vcenter == "vc"
    assert seen == [False]
    assert gc.isenabled()


def test_an_error_restores_the_collector_and_a_disabled_one_stays_disabled() -> None:
    with pytest.raises(RuntimeError), collector.gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.gc_paused():
            pass
        assert not gc.isenabled()  # not ours to turn on
    finally:
        gc.enable()


def test_the_benchmark_switch_leaves_the_collector_running(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "PAUSE_GC", False)
    with collector.gc_paused():
        assert gc.isenabled()
