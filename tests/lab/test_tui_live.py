"""The TUI against the real simulator: live updates, the confirm flow, vMotion, reconnect.

Each test mutates, so each uses a private small lab (`fresh_lab`). The app runs headless
under `App.run_test()`; changes "from elsewhere" are made with plain pyVmomi in the test.
"""

from __future__ import annotations

import asyncio
import functools
import io
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
from textual.widgets import DataTable, Tree

from tests.conftest import RunningLab
from vnettool.inventory import collect
from vnettool.tui.app import VnetApp
from vnettool.tui.plan import PlanPane
from vnettool.tui.widgets import Banner, ConfirmScreen, PhraseLine, StatusBar

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
        assert "live updates" in app.query_one(StatusBar).plain


@sync
async def test_detail_pane_follows_a_live_change_with_and_without_a_filter(
    fresh_lab: Callable[..., RunningLab],
) -> None:
    """Issue 28 item 7: the detail pane of the selected object re-renders with the new values
    when the inventory changes under it — from the plain tree and from a filtered tree."""
    lab = fresh_lab(cluster=1, host=2, vm=2)
    app = VnetApp(lab.credentials(), poll_s=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        tree = app.query_one("#net-tree", Tree)
        detail = app.query_one("#net-detail")

        def shown() -> str:
            return plain_render(detail)

        # DC0 → DVS0 (vCenter-wide) → DC0_DVPG0: the cursor on the port group
        def child(parent: Any, match: Callable[[Any], bool]) -> Any:
            return next((n for n in (parent.children if parent else []) if match(n)), None)

        def dvs() -> Any:
            dc = tree.root.children[0] if tree.root.children else None
            return child(dc, lambda n: n.data == ("dvs", "DVS0"))

        def pg() -> Any:
            node = dvs()
            if node is not None and not node.is_expanded:
                node.expand()  # (again, if a live update rebuilt the tree meanwhile)
            return child(node, lambda n: "DC0_DVPG0" in str(n.label))

        tree.focus()
        await until(pilot, lambda: pg() is not None, "the port group node")
        tree.move_cursor(pg())
        await until(pilot, lambda: "DC0_DVPG0" in shown(), "the port group's detail")
        assert "VLAN" in shown()
        await asyncio.to_thread(set_dvpg_vlan, lab, "DC0_DVPG0", 321)
        await until(pilot, lambda: "321" in shown(), "the detail to show VLAN 321")
        # the same through a filter
        await pilot.press("slash", *"DVPG0", "enter")
        await until(pilot, lambda: "DC0_DVPG0" in shown(), "the filtered port group")
        await asyncio.to_thread(set_dvpg_vlan, lab, "DC0_DVPG0", 322)
        await until(pilot, lambda: "322" in shown(), "the detail to show VLAN 322")
        assert "321" not in shown()


def plain_render(widget: Any) -> str:
    """What a widget shows, as text (tables and groups included)."""
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


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
        assert "cancelled" in pane.query_one("#plan-state", PhraseLine).plain
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
async def test_rollback_key_undoes_the_last_applied_run(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28 item 7: `u` on the Plan screen rolls back the last applied run through the
    engine's rollback (journal → plan against a fresh inventory → confirm → apply under the
    run lock with a journal of its own → verified), like `vnettool apply --rollback`."""
    from vnettool.engine.journal import RunRecord

    lab = fresh_lab(cluster=1, host=2, vm=2)
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path / "home"))
    host = "DC0_C0_H1"
    doc = tmp_path / "vlan.yml"

    def server_vlan() -> int | None:
        with lab.session() as s:
            pg = next(
                (
                    p
                    for p in collect(s).standard_port_groups
                    if p.host == host and p.name == "tui-pg"
                ),
                None,
            )
        return pg.vlan_id if pg else None

    app = VnetApp(lab.credentials(), poll_s=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        pane = app.query_one(PlanPane)
        await pilot.press("4")
        # nothing applied yet on this vCenter: u says so and changes nothing
        await pilot.press("u")
        await until(
            pilot,
            lambda: "cannot roll back" in pane.query_one("#plan-state", PhraseLine).plain,
            "the refusal",
        )
        assert "no run recorded" in pane.query_one("#plan-state", PhraseLine).plain
        for vlan in (100, 200):  # create, then change: the rollback undoes only the last run
            doc.write_text(DESIRED.format(host=host, vlan=vlan))
            pane.open_file(str(doc))
            await until(
                pilot, lambda: pane.loaded is not None and not pane.loaded.plan.empty, "plan"
            )
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
            await pilot.press("y")
            await until(
                pilot, lambda: pane.last_run_id is not None and not pane.applying, "apply", 60
            )
            pane.last_run_id = None if vlan == 100 else pane.last_run_id
        assert await asyncio.to_thread(server_vlan) == 200
        applied = pane.last_run_id
        await pilot.press("u")
        await until(
            pilot, lambda: isinstance(app.screen, ConfirmScreen), "the rollback confirmation"
        )
        text = plain(app.screen.query_one("#confirm-body").content)
        assert f"run {applied}" in text and "vlan: 200 → 100" in text, text
        await pilot.press("n")  # cancelled: nothing changes
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the modal to close")
        assert await asyncio.to_thread(server_vlan) == 200
        await pilot.press("u")
        await until(
            pilot, lambda: isinstance(app.screen, ConfirmScreen), "the rollback confirmation"
        )
        await pilot.press("y")
        await until(
            pilot, lambda: pane.last_run_id != applied and not pane.applying, "rollback", 60
        )
        assert "verified" in plain(pane.query_one("#plan-body").content)
    assert await asyncio.to_thread(server_vlan) == 100  # read back by plain pyVmomi
    runs = sorted(
        (RunRecord(p) for p in (tmp_path / "home" / "runs").glob("*.jsonl")),
        key=lambda r: r.started_ns,
    )
    assert [r.header.get("rollback_of") for r in runs] == [None, None, applied]
    assert runs[-1].header["source"] == f"rollback of {applied}"
    assert [(r.change.summary(), r.changed) for r in runs[-1].results] == [
        (f"update standard_port_group {host}: tui-pg", True)
    ]


@sync
async def test_rebalance_now_previews_then_runs_one_cycle(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28 item 7: `b` on the Latency screen runs one `latency rebalance` cycle: a dry
    run first (nothing changed, shown in a confirmation), then the real cycle on yes."""
    from vnettool.lab.netem import reset_netem, set_netem, set_time_scale
    from vnettool.latency.mover import RebalanceState
    from vnettool.tui.latency import LatencyPane

    lab = fresh_lab(cluster=1, host=4, vm=4)  # one slow host of four: the others stay healthy
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path / "home"))
    set_time_scale(0, lab=lab.lab)
    set_netem("DC0_C0_H2", rtt_ms=30.0, lab=lab.lab)

    def vms_on(host: str) -> list[str]:
        with lab.session() as s:
            return sorted(v.name for v in collect(s).vms if v.host == host)

    before = await asyncio.to_thread(vms_on, "DC0_C0_H2")
    assert before
    app = VnetApp(lab.credentials(), poll_s=1)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.state == "connected", "the first inventory")
            pane = app.query_one(LatencyPane)
            await pilot.press("3")
            await pilot.press("b")
            state = pane.query_one("#lat-state", PhraseLine)
            await until(
                pilot,
                lambda: isinstance(app.screen, ConfirmScreen) or not pane.rebalancing,
                "the preview",
                60,
            )
            assert isinstance(app.screen, ConfirmScreen), state.plain
            text = plain(app.screen.query_one("#confirm-body").content)
            assert "unhealthy: DC0_C0_H2 30.0 ms" in text, text
            assert f"dry-run: move {before[0]} DC0_C0_H2 → " in text, text
            # the dry run changed nothing and saved no state
            assert await asyncio.to_thread(vms_on, "DC0_C0_H2") == before
            with lab.session() as s:
                key = s.instance_key
            assert not RebalanceState.default_path(key).exists()
            await pilot.press("y")
            await until(pilot, lambda: not pane.rebalancing, "the real cycle", 60)
            assert pane.last_rebalance is not None
            moved = [e for e in pane.last_rebalance.journal if e.outcome == "moved"]
            assert [(e.vm, e.source) for e in moved] == [(v, "DC0_C0_H2") for v in before]
            # the moves and the ladder's vmotion rung that made them
            assert f"rebalance cycle done: {len(before) + 1} action(s), 0 failed" in state.plain
    finally:
        reset_netem(lab=lab.lab)
        set_time_scale(1, lab=lab.lab)
    # read back through plain pyVmomi, the saved state and the run journal
    assert await asyncio.to_thread(vms_on, "DC0_C0_H2") == []
    saved = RebalanceState.load(RebalanceState.default_path(key))
    assert sorted(e.vm for e in saved.journal if e.outcome == "moved") == before
    from vnettool.engine.journal import instance_uuid, last_run

    with lab.session() as s:
        run = last_run(instance_uuid(s))
    assert run is not None and run.header["source"] == "rebalance (tui)"
    assert sorted(r.change.name for r in run.results if r.changed) == before


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
async def test_vmotion_acts_on_the_vm_highlighted_after_filtering(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28 item 7: the vMotion screen migrated the VM chosen before the list was
    filtered, with that VM's (stale) pre-checks. Now the host table and the move follow the
    highlighted VM."""
    lab = fresh_lab(cluster=1, host=3, vm=4)
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path / "home"))
    app = VnetApp(lab.credentials(), poll_s=1)

    def hosts() -> dict[str, str | None]:
        with lab.session() as s:
            return {v.name: v.host for v in collect(s).vms}

    before = await asyncio.to_thread(hosts)
    first, other = sorted(before)[0], sorted(before)[-1]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.state == "connected", "the first inventory")
        from vnettool.tui.vmotion import VmotionPane

        pane = app.query_one(VmotionPane)
        table = app.query_one("#vm-hosts", DataTable)
        await pilot.press("5")
        app.open_vmotion(first)  # chosen: its hosts are listed
        await until(pilot, lambda: pane.vm is not None and pane.vm.name == first, "the first VM")
        await pilot.press("slash", *other[-4:])  # a filter that leaves only the other VM
        await until(pilot, lambda: pane.vm is not None and pane.vm.name == other, "the filtered VM")
        assert pane.highlighted_vm() is not None and pane.highlighted_vm().name == other
        src = before[other]
        await until(pilot, lambda: table.row_count == 2, "the other VM's hosts")
        assert src not in {str(table.get_row_at(i)[0]) for i in range(2)}  # its own pre-checks
        table.focus()
        table.move_cursor(row=0)
        dest = str(table.get_row_at(0)[0])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        body = plain(app.screen.query_one("#confirm-body").content)
        assert f"of VM {other}" in body and f"from host {src}" in body and first not in body
        await pilot.press("y")
        await until(pilot, lambda: app.inventory.vm_by_name[other].host == dest, "the move", 60)
    after = await asyncio.to_thread(hosts)
    assert after[other] == dest and after[first] == before[first]  # plain pyVmomi read-back
    from vnettool.engine.journal import instance_uuid, last_run

    with lab.session() as s:
        run = last_run(instance_uuid(s))
    assert run is not None and run.header["source"] == f"tui: vMotion {other} to {dest}"


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
