"""`vnettool --fleet fleet.yml tui`: the vCenter picker against two labs of `lab start --fleet 2`.

The app runs headless under `App.run_test()`; it picks fra, shows fra's inventory, switches
to ams with `v`, and never shows a password (the credentials come from the 0600 files the
fleet file references).
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from textual.widgets import OptionList

from tests.lab.test_fleet import Fleet
from tests.lab.test_tui_live import TEST_BOUND_S, until
from vnettool.fleet.connect import FleetTargets
from vnettool.playbook.fleet_file import load_fleet
from vnettool.tui.app import VnetApp
from vnettool.tui.fleet import FleetPicker
from vnettool.tui.widgets import StatusBar

pytestmark = [pytest.mark.lab, pytest.mark.timeout(TEST_BOUND_S + 60)]


@pytest.fixture
def fleet2(tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path / "home", tmp_path / "home" / "fleet" / "fleet.yml", [])
    out = f.run("lab", "start", "--fleet", "2", "--clusters", "1", "--hosts", "2", "--vms", "2")
    try:
        assert out.returncode == 0, out.stderr
        f.sites = YAML(typ="safe").load(f.file.read_text())["vcenters"]
        yield f
    finally:
        f.run("lab", "stop")


def _screen_text(app: VnetApp) -> str:
    """The screen as text (the SVG export, its entities and non-breaking spaces undone)."""
    return html.unescape(str(app.export_screenshot())).replace("\xa0", " ")


def test_the_picker_connects_to_the_chosen_vcenter_and_v_switches(fleet2: Fleet) -> None:
    fleet = load_fleet(fleet2.file)
    targets = FleetTargets(fleet, fleet2.file.parent, list(fleet.vcenters))
    passwords = [fleet2.password(s["name"]) for s in fleet2.sites]

    async def scenario() -> None:
        app = VnetApp(fleet=targets, source=str(fleet2.file))
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, FleetPicker), "the picker")
            picker = app.screen.query_one(OptionList)
            assert [picker.get_option_at_index(i).id for i in range(2)] == ["ams", "fra"]
            text = _screen_text(app)
            assert fleet2.sites[1]["url"] in text and "L2 l2-1" in text
            await pilot.press("down", "enter")  # fra
            await until(
                pilot,
                lambda: app.state == "connected" and bool(app.inventory.datacenters),
                "fra's inventory",
            )
            assert app.vcenter == "fra"
            assert [d.name for d in app.inventory.datacenters] == ["fra-DC0"]
            assert "fra: administrator@vsphere.local@127.0.0.1" in str(
                app.query_one(StatusBar).render()
            )
            await pilot.press("v")
            await until(pilot, lambda: isinstance(app.screen, FleetPicker), "the picker again")
            await pilot.press("up", "enter")  # ams
            await until(
                pilot,
                lambda: (
                    app.vcenter == "ams"
                    and app.state == "connected"
                    and [d.name for d in app.inventory.datacenters] == ["ams-DC0"]
                ),
                "ams's inventory",
            )
            # Escape in the picker keeps the vCenter that is open
            await pilot.press("v")
            await until(pilot, lambda: isinstance(app.screen, FleetPicker), "the picker")
            await pilot.press("escape")
            await pilot.pause(0.2)
            assert app.vcenter == "ams" and not isinstance(app.screen, FleetPicker)
            screens = _screen_text(app)
            assert not any(p in screens for p in passwords)

    t0 = time.monotonic()
    asyncio.run(asyncio.wait_for(scenario(), TEST_BOUND_S))
    assert time.monotonic() - t0 < TEST_BOUND_S


def test_a_credentials_file_that_is_not_private_is_said_in_the_picker(fleet2: Fleet) -> None:
    creds = fleet2.file.parent / "fra" / "credentials.yml"
    creds.chmod(0o644)
    fleet = load_fleet(fleet2.file)
    targets = FleetTargets(fleet, fleet2.file.parent, list(fleet.vcenters))
    password = fleet2.password("fra")

    async def scenario() -> None:
        app = VnetApp(fleet=targets, source=str(fleet2.file))
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, FleetPicker), "the picker")
            await pilot.press("down", "enter")
            await until(
                pilot,
                lambda: isinstance(app.screen, FleetPicker) and "0644" in _screen_text(app),
                "the error in the picker",
            )
            assert app.vcenter is None and app.session is None
            assert password not in _screen_text(app)
            await pilot.press("escape")  # nothing open: leaving the picker leaves the app
            await until(pilot, lambda: not app.is_running, "the app to exit")

    asyncio.run(asyncio.wait_for(scenario(), TEST_BOUND_S))
