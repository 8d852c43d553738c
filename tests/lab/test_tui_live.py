"""The TUI against the real simulator: live updates, the confirm flow, vMotion, reconnect.

Each test mutates, so each uses a private small lab (`fresh_lab`). The app runs headless
under `App.run_test()`; changes "from elsewhere" are made with plain pyVmomi in the test.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import time
import urllib.request
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.conftest import RunningLab
from vnettool.inventory import collect
from vnettool.tui.app import VnetApp
from vnettool.tui.plan import PlanPane
from vnettool.tui.widgets import Banner, ConfirmScreen

# Each test takes 3-6 s; the bounds make a regression (e.g. a watch thread that never
# ends, which once made `run_test()` wait forever on exit) fail loudly instead of hanging.
TEST_BOUND_S = 90
pytestmark = [pytest.mark.lab, pytest.mark.timeout(TEST_BOUND_S + 30)]


def sync(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), TEST_BOUND_S))

    return wrapper


async def until(
    pilot: Pilot[None], cond: Callable[[], bool], what: str, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.1)


def set_dvpg_vlan(lab: RunningLab, name: str, vlan: int) -> None:
    """Another client (plain pyVmomi) changes a DV port group's VLAN."""
    with lab.session() as s:
        c = s.content
        view = c.viewManager.CreateContainerView(
            c.rootFolder, [vim.dvs.DistributedVirtualPortgroup], True
        )
        pg = next(p for p in view.view if p.name == name)
        spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(configVersion=pg.config.configVersion)
        spec.defaultPortConfig = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
            vlan=vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(vlanId=vlan, inherited=False)
        )
        task = pg.ReconfigureDVPortgroup_Task(spec)
        deadline = time.monotonic() + 30
        while task.info.state not in ("success", "error") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert task.info.state == "success", task.info.error


def plain(content: Any) -> str:
    """The text of a widget's content (a Text, a Group of them, or a string)."""
    if hasattr(content, "plain"):
        return str(content.plain)
    if hasattr(content, "renderables"):
        return "\n".join(plain(r) for r in content.renderables)
    return str(content)


def dvpg_vlan(app: VnetApp, name: str) -> str | None:
    g = next((g for g in app.inventory.distributed_port_groups if g.name == name), None)
    return g.vlan.display() if g else None


def expire_sessions(lab: RunningLab) -> int:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(lab.state.control + "sessions/expire", method="POST", data=b"")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return int(json.loads(resp.read())["expired"])


@sync
async def test_change_by_another_client_appears_live(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    app = VnetApp(lab.credentials(), poll_s=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        assert len(app.inventory.hosts) == 2
        assert dvpg_vlan(app, "DC0_DVPG0") == "none"
        updates = app.updates
        await asyncio.to_thread(set_dvpg_vlan, lab, "DC0_DVPG0", 321)
        await until(pilot, lambda: dvpg_vlan(app, "DC0_DVPG0") == "321", "the live update")
        assert app.updates > updates
        # the tree shows it: the vCenter-wide DVS node lists the port group with its VLAN
        labels = [n.label for n in app.index.children(("dvs", "DVS0"))]
        assert "DC0_DVPG0  vlan 321" in labels
        assert "live updates" in str(app.query_one("#status").content)


@sync
async def test_reconnect_after_the_lab_drops_the_session(
    fresh_lab: Callable[..., RunningLab],
) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    app = VnetApp(lab.credentials(), poll_s=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        first = app.session
        assert await asyncio.to_thread(expire_sessions, lab) >= 1
        await until(pilot, lambda: app.reconnects >= 1, "the reconnect")
        assert app.state == "connected" and app.session is not first
        assert not app.query_one(Banner).has_class("-shown")
        # the new watch is live: a change made now still arrives
        await asyncio.to_thread(set_dvpg_vlan, lab, "DC0_DVPG1", 654)
        await until(
            pilot, lambda: dvpg_vlan(app, "DC0_DVPG1") == "654", "an update after reconnect"
        )


DESIRED = """\
target: {{hosts: [{host}]}}
standard_port_groups:
  - name: tui-pg
    switch: vSwitch0
    vlan: {vlan}
"""


@sync
async def test_confirm_flow_cancel_changes_nothing_confirm_applies(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path / "home"))  # the app's run journals
    app = VnetApp(lab.credentials(), poll_s=1)
    host = "DC0_C0_H1"
    doc = tmp_path / "vlan.yml"
    doc.write_text(DESIRED.format(host=host, vlan=100))

    def server_vlan() -> int | None:
        with lab.session() as s:
            inv = collect(s)
        pg = next(
            (p for p in inv.standard_port_groups if p.host == host and p.name == "tui-pg"), None
        )
        return pg.vlan_id if pg else None

    def app_vlan() -> int | None:
        pg = app.index.pg.get((host, "tui-pg"))
        return pg.vlan_id if pg else None

    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        pane = app.query_one(PlanPane)
        await pilot.press("4")

        async def plan(vlan: int, expect: str) -> None:
            doc.write_text(DESIRED.format(host=host, vlan=vlan))
            pane.open_file(str(doc))
            await until(
                pilot, lambda: pane.loaded is not None and not pane.loaded.plan.empty, "the plan"
            )
            body = plain(pane.query_one("#plan-body").content)
            assert expect in body, body

        # 1. create, cancelled: nothing changes on the server
        await plan(100, "+ standard port group tui-pg")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        text = plain(app.screen.query_one("#confirm-body").content)
        assert host in text and "tui-pg" in text
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the modal to close")
        assert "cancelled" in str(pane.query_one("#plan-state").content)
        assert await asyncio.to_thread(server_vlan) is None
        assert app_vlan() is None

        # 2. create, confirmed: applied, verified, and the tree shows it
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app_vlan() == 100, "the tree to show the new port group", 60)
        assert await asyncio.to_thread(server_vlan) == 100
        await until(pilot, lambda: not pane.applying, "the apply to finish")
        assert "verified" in plain(pane.query_one("#plan-body").content)

        # 3. change its VLAN: the confirmation states before → after
        await plan(200, "vlan: 100 → 200")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert "100 → 200" in plain(app.screen.query_one("#confirm-body").content)
        await pilot.press("y")
        await until(pilot, lambda: app_vlan() == 200, "the tree to show the new VLAN", 60)
        assert await asyncio.to_thread(server_vlan) == 200
        labels = [n.label for n in app.index.children(("vss", host, "vSwitch0"))]
        assert "tui-pg  vlan 200" in labels
        await until(pilot, lambda: not pane.applying, "the apply to finish")

    # 4. each confirmed apply wrote a run journal of this vCenter (the cancelled one none)
    from vnettool.engine.journal import RunRecord, instance_uuid

    with lab.session() as s:
        me = instance_uuid(s)
    mine = [RunRecord(p) for p in (tmp_path / "home" / "runs").glob("*.jsonl")]
    assert [(r.header["source"], r.instance_uuid) for r in mine] == [(f"tui: {doc}", me)] * 2
    last = max(mine, key=lambda r: r.started_ns)
    assert [(r.change.summary(), r.changed) for r in last.results] == [
        (f"update standard_port_group {host}: tui-pg", True)
    ]


@sync
async def test_vmotion_to_a_host_passing_the_checks(fresh_lab: Callable[..., RunningLab]) -> None:
    lab = fresh_lab(cluster=1, host=3, vm=2)
    app = VnetApp(lab.credentials(), poll_s=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        vm = sorted(app.inventory.vms, key=lambda v: v.name)[0]
        source = vm.host
        await pilot.press("5")
        app.open_vmotion(vm.name)
        await pilot.pause()
        table = app.query_one("#vm-hosts", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the candidate hosts")
        # the pre-checks run in workers; the watch worker never completes, so wait on the table
        await until(
            pilot,
            lambda: any(str(table.get_row_at(i)[1]).startswith("✓") for i in range(2)),
            "the pre-check results",
        )
        dest = str(table.get_row_at(0)[0])
        assert dest != source and str(table.get_row_at(0)[1]).startswith("✓")
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert f"to   host {dest}" in plain(app.screen.query_one("#confirm-body").content)
        await pilot.press("y")
        await until(
            pilot,
            lambda: app.inventory.vm_by_name[vm.name].host == dest,
            "the VM to show on its new host",
            60,
        )
        with lab.session() as s:
            assert collect(s).vm_by_name[vm.name].host == dest


@sync
async def test_appliances_screen_shows_each_appliance_and_its_compliance(
    fresh_lab: Callable[..., RunningLab],
) -> None:
    from vnettool.appliances import manager
    from vnettool.lab.control import request
    from vnettool.playbook.validate import validate

    lab = fresh_lab(cluster=1, host=2, vm=2)
    request(lab.lab, "POST", "template", {"name": "fw-template"})
    book = Path(__file__).parents[2] / "playbooks" / "appliance-firewall.yml"
    spec = next(s.appliance for s in validate(book).playbook.steps if s.appliance).definition()
    with lab.session() as s:
        inv = collect(s)
        p = manager.plan("deploy", s, spec, inv, inv.hosts, {"cluster": "DC0_C0"})
        assert not [r for r in manager.apply(p, s) if r.failed]
    app = VnetApp(lab.credentials(), poll_s=1, playbook=book)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        await pilot.press("6")
        table = app.query_one("#app-table", DataTable)
        await pilot.press("c")
        await until(
            pilot,
            lambda: table.row_count == 2,
            "a row per appliance: " + plain(app.query_one("#app-state").content),
        )
        state = plain(app.query_one("#app-state").content)
        assert "2 appliance(s), 0 unhealthy or not compliant" in state, state
        assert sorted(str(table.get_row_at(i)[0]) for i in range(2)) == [
            "fw-DC0_C0_H0",
            "fw-DC0_C0_H1",
        ]
        assert "✓ protected: fw-protected" in plain(app.query_one("#app-detail").content)
