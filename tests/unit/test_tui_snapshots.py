"""Snapshot tests of the main screens at 80x24 and 120x40 (pytest-textual-snapshot).

Deterministic by construction: a fixed inventory loaded from a saved snapshot (read-only
mode: no connection, no clock in the status line, no live data). Update the SVGs after an
intended change with `uv run pytest tests/unit/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.factories import snapshot
from vnettool.tui.app import VnetApp

REPO = Path(__file__).resolve().parents[2]
SIZES = [(80, 24), (120, 40)]


def make_app() -> VnetApp:
    return VnetApp(inventory=snapshot(), source="test_tui_inventory.json")


async def settle(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_network_port_group_vms(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    # host DC0_C0_H0 → DVS0 → DC0_DVPG0 → its VM NICs, cursor on the port group
    keys = ["_", "down", "down", "right", "down", "down", "right", "down", "right"]
    assert snap_compare(make_app(), terminal_size=size, press=keys, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_network_dvs_pvlan_map(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    keys = ["_", "down", "down", "right", "down", "down"]
    assert snap_compare(make_app(), terminal_size=size, press=keys, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_network_dvs_services(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    # DVS0 with a NetFlow collector, a mirroring session and traffic rules on DC0_DVPG0
    from tests.unit.test_tui_app import with_services

    app = VnetApp(inventory=with_services(), source="test_tui_inventory.json")
    keys = ["_", "down", "down", "right", "down", "down"]
    assert snap_compare(app, terminal_size=size, press=keys, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_plan_diff(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def open_plan(pilot: Pilot[None]) -> None:
        await pilot.press("4")
        app = pilot.app
        assert isinstance(app, VnetApp)
        from vnettool.tui.plan import PlanPane

        # a relative path keeps the screen the same wherever the repository is checked out
        app.query_one(PlanPane).open_file("playbooks/standard-portgroups.yml")
        await settle(pilot)

    import os

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        assert snap_compare(make_app(), terminal_size=size, run_before=open_plan)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_vmotion_candidates(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    keys = ["5", "slash", *"DC0_C0_RP0_VM4", "enter"]
    assert snap_compare(make_app(), terminal_size=size, press=keys, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_latency_idle(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=size, press=["3"], run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=size, press=["question_mark"], run_before=settle)
