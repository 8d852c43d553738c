"""The TUI driven by a pilot over a saved inventory (read-only mode; no simulator needed)."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.widgets import DataTable, Static, TabbedContent, Tree

from tests.factories import snapshot
from vnettool.tui.app import VnetApp
from vnettool.tui.findings import FindingsPane
from vnettool.tui.plan import PlanPane
from vnettool.tui.widgets import ConfirmScreen, HelpScreen

REPO = Path(__file__).resolve().parents[2]


def sync(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async pilot test on its own event loop (no asyncio plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


def app() -> VnetApp:
    return VnetApp(inventory=snapshot(), source="test_tui_inventory.json")


def plain(app: VnetApp, selector: str) -> str:
    widget = app.query_one(selector, Static)
    if isinstance(getattr(widget, "plain", None), str):  # a PhraseLine or the StatusBar
        return str(widget.plain)
    content = widget.content
    console = Console(width=200, record=True, color_system=None)
    console.print(content)
    return console.export_text()


@sync
async def test_navigate_to_a_port_group_and_see_its_vms() -> None:
    a = app()
    async with a.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tree = a.query_one("#net-tree", Tree)
        assert tree.has_focus
        # DC0 and its first cluster are open: DC0, DC0_C0, DC0_C0_H0 ...
        await pilot.press("down", "down")
        assert tree.cursor_node is not None and tree.cursor_node.data == ("host", "DC0_C0_H0")
        assert "Host DC0_C0_H0" in plain(a, "#net-detail")
        await pilot.press("right", "down", "down")  # open the host, go to its vDS
        assert tree.cursor_node.data == ("hdvs", "DC0_C0_H0", "DVS0")
        assert "PVLAN map of DVS0" in plain(a, "#net-detail")
        await pilot.press("right", "down")  # DC0_DVPG0 on this host
        assert tree.cursor_node.data[0] == "hdvpg"
        assert "DV port group DC0_DVPG0" in plain(a, "#net-detail")
        await pilot.press("right", "down")
        await pilot.pause()
        node = tree.cursor_node
        assert node.data[0] == "vmnic"
        vm = a.inventory.vm_by_name[str(node.label).split()[1]]
        assert vm.host == "DC0_C0_H0"
        assert f"VM {vm.name}" in plain(a, "#net-detail")
        await pilot.press("left")  # on a leaf: back to the port group, which closes
        assert tree.cursor_node.data[0] == "hdvpg" and not tree.cursor_node.is_expanded


@sync
async def test_filter_shows_only_matches_with_their_path() -> None:
    a = app()
    async with a.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"vmk1")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        tree = a.query_one("#net-tree", Tree)
        vmk_nodes = [n for n in _nodes(tree.root) if n.data and n.data[0] == "vmk"]
        assert sorted(n.data[1] for n in vmk_nodes) == sorted(h.name for h in a.inventory.hosts)
        assert all(n.data[2] == "vmk1" for n in vmk_nodes)
        assert "8 matches for 'vmk1'" in plain(a, "#net-info")
        assert tree.has_focus and tree.cursor_node is not None
        assert tree.cursor_node.data[0] == "vmk"
        await pilot.press("escape")  # clear the filter: the full tree is back
        await pilot.pause()
        assert any(n.data == ("cluster", "DC0", "DC0_C1") for n in tree.root.children[0].children)


@sync
async def test_screens_help_theme_and_palette_entries() -> None:
    a = app()
    async with a.run_test(size=(80, 24)) as pilot:
        tabs = a.query_one(TabbedContent)
        for key, tab in zip(
            "23451", ["findings", "latency", "plan", "vmotion", "network"], strict=True
        ):
            await pilot.press(key)
            assert tabs.active == tab
        await pilot.press("question_mark")
        assert isinstance(a.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(a.screen, HelpScreen)
        before = a.theme
        await pilot.press("t")
        assert a.theme != before
        titles = [c.title for c in a.get_system_commands(a.screen)]
        for wanted in (
            "Show Network",
            "Show Findings",
            "Show Latency",
            "Show Plan",
            "Show vMotion",
            "Filter the network tree",
            "Apply the plan",
            "Export findings to a workbook",
            "Start/stop latency probing",
            "Migrate a VM (vMotion)",
            "Reconnect",
        ):
            assert wanted in titles
        assert "offline" in plain(a, "#status") and "8 hosts" in plain(a, "#status")


@sync
async def test_findings_screen_never_invents_findings() -> None:
    a = app()
    async with a.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await a.workers.wait_for_complete()
        await pilot.pause()
        pane = a.query_one(FindingsPane)
        table = a.query_one("#findings-table", DataTable)
        if FindingsPane.audit_module() is None:
            assert "audit not available" in plain(a, "#findings-state")
            assert table.row_count == 0
        else:
            assert table.row_count == len(pane.findings)


@sync
async def test_vmotion_lists_hosts_with_reasons_and_readonly_refuses() -> None:
    a = app()
    async with a.run_test(size=(120, 40)) as pilot:
        vm = next(v for v in a.inventory.vms if v.host == "DC0_C0_H0")
        await pilot.press("5", "slash", *vm.name, "enter")
        await pilot.pause()
        table = a.query_one("#vm-hosts", DataTable)
        rows = {
            str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1]) for i in range(table.row_count)
        }
        assert set(rows) == {"DC0_C0_H1", "DC0_C0_H2", "DC0_C0_H3"}
        assert rows["DC0_C0_H2"] == "✗ host is in maintenance mode"
        assert rows["DC0_C0_H1"].startswith("✓")
        # the excluded host cannot be chosen; an ok host needs a live session
        table.move_cursor(row=[str(table.get_row_at(i)[0]) for i in range(3)].index("DC0_C0_H2"))
        await pilot.press("enter")
        assert not isinstance(a.screen, ConfirmScreen)
        table.move_cursor(row=0)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(a.screen, ConfirmScreen)


@sync
async def test_plan_a_desired_state_file_offline() -> None:
    a = app()
    async with a.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        pane = a.query_one(PlanPane)
        pane.open_file(str(REPO / "playbooks" / "standard-portgroups.yml"))
        await a.workers.wait_for_complete()
        await pilot.pause()
        assert pane.loaded is not None
        hosts = {h.name for h in a.inventory.hosts_in(cluster="DC0_C1")}
        assert {c.host for c in pane.loaded.plan.changes} == hosts
        body = plain(a, "#plan-body")
        assert "+ standard port group pg-web" in body and "vlan: 100" in body
        await pilot.press("a")  # read-only snapshot: no confirmation, nothing to apply to
        await pilot.pause()
        assert not isinstance(a.screen, ConfirmScreen)
        pane.open_file(str(REPO / "no-such-file.yml"))
        await a.workers.wait_for_complete()
        await pilot.pause()
        assert pane.loaded is None and "no-such-file.yml" in plain(a, "#plan-body")


def _nodes(root: object) -> list:  # type: ignore[type-arg]
    out, stack = [], list(root.children)  # type: ignore[attr-defined]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.children)
    return out


@sync
async def test_appliances_screen_needs_a_live_connection_and_says_so() -> None:
    a = app()
    async with a.run_test(size=(120, 40)) as pilot:
        await pilot.press("6")
        assert a.query_one(TabbedContent).active == "appliances"
        assert a.query_one("#app-table", DataTable).has_focus
        await pilot.press("c")
        assert "give the path of a playbook" in plain(a, "#app-state")
        a.query_one("#app-path").value = "playbooks/appliance-firewall.yml"  # type: ignore[attr-defined]
        await pilot.press("c")
        await pilot.pause()
        text = plain(a, "#app-state")
        assert "read-only" in text and "checked live" in text
        assert a.query_one("#app-table", DataTable).row_count == 0


def with_services() -> Any:
    """The stored snapshot with DVS0's services set: a NetFlow collector, a mirroring session
    and traffic rules on DC0_DVPG0 (the second ruleset's disabled)."""
    from vnettool.models.inventory import (
        Inventory,
        IpQualifier,
        MirrorSession,
        NetflowConfig,
        SystemQualifier,
        TrafficRule,
        TrafficRuleset,
    )

    inv = snapshot()
    dvs = [
        d.model_copy(
            update={
                "netflow": NetflowConfig(collector_ip="192.0.2.10", collector_port=2055),
                "mirrors": [
                    MirrorSession(
                        dvs="DVS0",
                        name="span-web",
                        type="dvPortMirror",
                        enabled=True,
                        sources_transmitted=["0"],
                        sources_received=["0", "1"],
                        destination_ports=["7"],
                    )
                ],
            }
        )
        for d in inv.distributed_switches
    ]
    rules = [
        TrafficRule(
            name="mark-voice",
            sequence=10,
            direction="outgoingPackets",
            action="tag",
            dscp=46,
            cos=5,
            ip=IpQualifier(protocol=17, destination_port="16384-32767"),
        ),
        TrafficRule(
            name="drop-vmotion",
            sequence=20,
            action="drop",
            system=SystemQualifier(type="vmotion", negate=True),
        ),
    ]
    pgs = [
        p.model_copy(
            update={
                "traffic": TrafficRuleset(dvs="DVS0", portgroup=p.name, enabled=True, rules=rules)
            }
        )
        if p.name == "DC0_DVPG0"
        else p
        for p in inv.distributed_port_groups
    ]
    return Inventory.model_validate(
        {
            **inv.model_dump(),
            "distributed_switches": [d.model_dump() for d in dvs],
            "distributed_port_groups": [p.model_dump() for p in pgs],
        }
    )


@sync
async def test_switch_and_port_group_detail_show_netflow_mirroring_and_traffic_rules() -> None:
    a = VnetApp(inventory=with_services(), source="services")
    async with a.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tree = a.query_one("#net-tree", Tree)
        await pilot.press("down", "down", "right", "down", "down")
        assert tree.cursor_node is not None
        assert tree.cursor_node.data == ("hdvs", "DC0_C0_H0", "DVS0")
        text = plain(a, "#net-detail")
        assert re.search(r"NetFlow +192\.0\.2\.10:2055", text)
        assert re.search(r"mirroring +1 session", text)
        assert "span-web" in text and "dvPortMirror" in text
        assert "Traffic rules of DVS0" in text
        assert "tag dscp 46 cos 5, out" in text and "ip proto 17 dport 16384-32767" in text
        assert "system not vmotion" in text
        await pilot.press("right", "down")  # DC0_DVPG0 on this host
        text = plain(a, "#net-detail")
        assert re.search(r"traffic rules +2 \(on\)", text)
        assert "mark-voice" in text and "drop-vmotion" in text
