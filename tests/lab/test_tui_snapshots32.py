"""Every TUI screen at 80x24 and 120x40 on a 32-host lab (2 clusters x 16 hosts), live.

The app runs against the simulator as a user runs it (one pyVmomi session, the watch, the
audit, the probes) under `App.run_test()`; each screen is rendered to text and compared with
a reviewed snapshot. Besides the snapshot, each capture is checked for what issue 28 item 7
is about: a number or a key name cut so that it reads as another one (`vlan 1` for VLAN 10,
`DC0_C0_H1` for DC0_C0_H12) — every VLAN id shown is the port group's whole id, every host
and VM name shown is whole or visibly cut in its middle, no digit run is split by an ellipsis,
and the host count in the status bar is whole. Update after an intended change with
`uv run pytest tests/lab/test_tui_snapshots32.py --snapshot-update` and read the diff.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim
from rich.console import Console
from textual.pilot import Pilot

from tests.conftest import RunningLab, _start
from vnettool.inventory import collect
from vnettool.lab.runner import Topology
from vnettool.tui.app import VnetApp
from vnettool.tui.widgets import HELP, ConfirmScreen

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]
REPO = Path(__file__).resolve().parents[2]
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
SIZES = [(80, 24), (120, 40)]
IDS = [f"{w}x{h}" for w, h in SIZES]
# port groups the test adds on one host: VLAN ids of 2-4 digits, a long name, a short one
EXTRA_PGS = {"pg-backup-network-2024": 10, "pg-db": 1234, "pg-trunk-all": 4095, "pg-a": 7}
EXTRA_HOST = "DC0_C1_H12"


@pytest.fixture(scope="module")
def lab32(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    home = tmp_path_factory.mktemp("vnettool-home")
    running = _start(home, Topology(cluster=2, host=16))
    old = os.environ.get("VNETTOOL_HOME")
    os.environ["VNETTOOL_HOME"] = str(running.lab.dir.parent)  # journals, history: this lab's
    with running.session() as s:
        c = s.content
        view = c.viewManager.CreateContainerView(c.rootFolder, [vim.HostSystem], True)
        host = next(h for h in view.view if h.name == EXTRA_HOST)
        ns = host.configManager.networkSystem
        for name, vlan in EXTRA_PGS.items():
            spec = vim.host.PortGroup.Specification(
                name=name, vlanId=vlan, vswitchName="vSwitch0", policy=vim.host.NetworkPolicy()
            )
            ns.AddPortGroup(spec)
    env = os.environ | running.env()
    env.pop("VSPHERE_SERVER", None)
    t = subprocess.run(
        [VNETTOOL, "lab", "template", "fw-template"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    assert t.returncode == 0, t.stderr
    book = str(REPO / "playbooks" / "appliance-firewall.yml")
    d = subprocess.run(
        [VNETTOOL, "appliance", "deploy", book, "--yes", "--json", "--insecure"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert d.returncode == 0, d.stderr
    yield running
    if old is None:
        os.environ.pop("VNETTOOL_HOME", None)
    else:
        os.environ["VNETTOOL_HOME"] = old
    running.stop()


def screen_text(app: VnetApp) -> str:
    """The screen as a terminal shows it (modal screens over the ones below), as text."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def normalized(text: str) -> str:
    """What changes from run to run: the lab's port, clock times, the live update count."""
    lines = text.splitlines()
    lines[0] = re.sub(r"\s+", " ", re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", lines[0]))
    out = "\n".join(line.rstrip() for line in lines)
    out = re.sub(r"updated \d\d:\d\d:\d\d", "updated HH:MM:SS", out)
    out = re.sub(r" │ \d+ live updates", "", out)
    out = re.sub(r"\d+\.\d s/round", "T s/round", out)
    return out + "\n"


async def until(
    pilot: Pilot[None], cond: Callable[[], bool], what: str, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{screen_text(pilot.app)}")  # type: ignore[arg-type]
        await pilot.pause(0.1)


Steps = Callable[[Pilot[None], VnetApp], Awaitable[None]]


def capture(lab: RunningLab, size: tuple[int, int], steps: Steps) -> str:
    async def run() -> str:
        app = VnetApp(lab.credentials(), poll_s=1)
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.state == "connected", "the first inventory")
            await steps(pilot, app)
            await pilot.pause(0.3)
            return screen_text(app)

    return asyncio.run(asyncio.wait_for(run(), 300))


def no_split_number(text: str) -> None:
    """An ellipsis never sits inside a digit run (`vlan 1…0`), and the host count is whole."""
    assert not re.search(r"\d…\d", text), text
    assert "32 hosts" in text, text


def names_whole_or_middle_cut(text: str, names: list[str]) -> None:
    """A host/VM name token on screen is a whole name, never its head: `DC0_C0_H1` shown for
    DC0_C0_H12 is exactly the misreading this guards against (a token followed by a digit or
    cut at the tail would not be in `names`)."""
    known = set(names)
    for token in re.findall(r"DC0_C\d+(?:_RP\d+)?_(?:H|VM)\d+(?![\d…])", text):
        assert token in known, (token, text)


def host_names(lab: RunningLab) -> list[str]:
    with lab.session() as s:
        inv = collect(s)
    return [h.name for h in inv.hosts] + [v.name.removeprefix("fw-") for v in inv.vms]


# -- screens -----------------------------------------------------------------------------------
async def network_port_groups(pilot: Pilot[None], app: VnetApp) -> None:
    """DC0_C1 → DC0_C1_H12 → vSwitch0 → its port groups, cursor on the long-named one."""
    from textual.widgets import Tree

    tree = app.query_one("#net-tree", Tree)

    def find(parent: Any, pred: Callable[[Any], bool]) -> Any:
        return next((n for n in (parent.children if parent else []) if pred(n)), None)

    def node(*path: tuple[str, ...]) -> Any:
        cur: Any = tree.root
        for key in path:
            cur = find(cur, lambda n, k=key: n.data == k)  # type: ignore[misc]
            if cur is None:
                return None
            if not cur.is_expanded and cur.allow_expand and key != path[-1]:
                cur.expand()
        return cur

    path = [("dc", "DC0"), ("cluster", "DC0", "DC0_C1"), ("host", EXTRA_HOST)]
    path.append(("vss", EXTRA_HOST, "vSwitch0"))
    await until(pilot, lambda: node(*path) is not None, "the vSwitch node")
    node(*path).expand()
    tree.focus()
    target = ("pg", EXTRA_HOST, "pg-trunk-all")  # the last: the view scrolls to show them all
    await until(pilot, lambda: node(*path, target) is not None, "the port groups")
    tree.move_cursor(node(*path, target))
    await until(
        pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data == target, "cursor"
    )
    await pilot.pause(0.5)


async def network_dvs(pilot: Pilot[None], app: VnetApp) -> None:
    from textual.widgets import Tree

    tree = app.query_one("#net-tree", Tree)

    def dvs() -> Any:
        dc = tree.root.children[0] if tree.root.children else None
        return next((n for n in (dc.children if dc else []) if n.data == ("dvs", "DVS0")), None)

    await until(pilot, lambda: dvs() is not None, "the DVS0 node")
    for n in tree.root.children[0].children:  # the first cluster opens at start: close it
        n.collapse()
    tree.focus()

    def on_dvs() -> bool:
        if tree.cursor_node is not dvs():
            tree.move_cursor(dvs())
            return False
        return True

    await until(pilot, on_dvs, "the cursor on DVS0")
    dvs().expand()
    await until(pilot, lambda: len(dvs().children) > 1, "DVS0's port groups")
    await pilot.pause(0.5)


async def findings(pilot: Pilot[None], app: VnetApp) -> None:
    from textual.widgets import DataTable

    await pilot.press("2")
    table = app.query_one("#findings-table", DataTable)
    await until(pilot, lambda: table.row_count > 0, "the findings")
    await pilot.pause(0.5)


async def latency(pilot: Pilot[None], app: VnetApp) -> None:
    from vnettool.lab.netem import set_time_scale
    from vnettool.tui.latency import LatencyPane

    set_time_scale(0, lab=_LAB[0].lab)
    try:
        await pilot.press("3", "c")  # DC0_C1: 16 hosts, numbered columns
        pane = app.query_one(LatencyPane)
        await until(pilot, lambda: pane.cluster == "DC0_C1", "cluster DC0_C1")
        await pilot.press("p")
        await until(pilot, lambda: pane.rounds >= 1, "a probe round")
        await pilot.press("p")  # stopped after one round: the figures stay still
        await pilot.pause(0.3)
    finally:
        set_time_scale(1, lab=_LAB[0].lab)


async def plan(pilot: Pilot[None], app: VnetApp) -> None:
    from vnettool.tui.plan import PlanPane

    await pilot.press("4")
    pane = app.query_one(PlanPane)
    pane.open_file("playbooks/standard-portgroups.yml")  # relative: the same text anywhere
    await until(pilot, lambda: pane.loaded is not None, "the plan")


async def plan_confirm(pilot: Pilot[None], app: VnetApp) -> None:
    await plan(pilot, app)
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    await pilot.pause(0.3)


async def vmotion(pilot: Pilot[None], app: VnetApp) -> None:
    from vnettool.tui.vmotion import VmotionPane

    await pilot.press("5")
    pane = app.query_one(VmotionPane)
    await pilot.press("slash", *"C1_RP0")
    await until(pilot, lambda: pane.vm is not None and "C1_RP0" in pane.vm.name, "a DC0_C1 VM")
    await pilot.press("escape")
    await pilot.pause(0.5)


async def appliances(pilot: Pilot[None], app: VnetApp) -> None:
    from vnettool.tui.appliances import AppliancesPane

    await pilot.press("6")
    pane = app.query_one(AppliancesPane)
    pane.set_path("playbooks/appliance-firewall.yml")
    await pilot.press("c")
    await until(pilot, lambda: len(pane.statuses) == 16, "16 appliances")
    await pilot.pause(0.3)


async def help_screen(pilot: Pilot[None], app: VnetApp) -> None:
    await pilot.press("question_mark")
    await pilot.pause(0.5)


_LAB: list[RunningLab] = []


@pytest.fixture
def lab(lab32: RunningLab) -> RunningLab:
    _LAB[:] = [lab32]
    return lab32


def run_in_repo(fn: Callable[[], str]) -> str:
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return fn()
    finally:
        os.chdir(cwd)


# -- tests ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_network_port_groups_vlan_ids_whole(
    lab: RunningLab, size: tuple[int, int], snapshot
) -> None:  # type: ignore[no-untyped-def]
    text = normalized(capture(lab, size, network_port_groups))

    no_split_number(text)
    names_whole_or_middle_cut(text, host_names(lab))
    shown = re.findall(r"◇ (\S+)\s+vlan (\d+)", text)
    # every port group of the host is on screen with its whole VLAN id (a name cut in the
    # middle matches by its two ends)
    for name, vlan in EXTRA_PGS.items():

        def same(n: str, name: str = name) -> bool:
            head, _, tail = n.partition("…")
            return n == name or (bool(_) and name.startswith(head) and name.endswith(tail))

        assert [v for n, v in shown if same(n)] == [str(vlan)], (name, shown, text)
    assert text == snapshot


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_network_dvs(lab: RunningLab, size: tuple[int, int], snapshot) -> None:  # type: ignore[no-untyped-def]
    text = normalized(capture(lab, size, network_dvs))
    no_split_number(text)
    assert re.search(r"DC0_DVPG0\s+vlan none", text) and "vlan 0-4094" in text, text
    assert text == snapshot


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_findings_failures_first_objects_tell_rows_apart(
    lab: RunningLab, size: tuple[int, int], snapshot
) -> None:  # type: ignore[no-untyped-def]
    text = normalized(capture(lab, size, findings))
    no_split_number(text)
    names_whole_or_middle_cut(text, host_names(lab))
    rows = [
        line
        for line in text.splitlines()
        if re.match(r"^\W?\s*(low|med|medium|high|info|crit)\s", line)
    ]
    assert rows, text
    states = [re.split(r"\s{2,}", r.strip(" ▌█▐"))[2] for r in rows]
    assert "N/A" not in states or states.index("N/A") > max(
        i for i, s in enumerate(states) if s == "FAIL"
    )
    objects = [re.split(r"\s{2,}", r.strip(" ▌█▐"))[3] for r in rows]
    sec12 = [o for r, o in zip(rows, objects, strict=True) if "SEC-12" in r]
    assert len(set(sec12)) == len(sec12), sec12  # each row names its own host
    assert text == snapshot


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_latency_matrix_numbered_names_whole(
    lab: RunningLab, size: tuple[int, int], snapshot
) -> None:  # type: ignore[no-untyped-def]
    text = normalized(capture(lab, size, latency))
    no_split_number(text)
    names_whole_or_middle_cut(text, host_names(lab))
    rows = re.findall(r"^\W?\s*(\d+) (DC0_C1_H\d+)\s", text, re.M)
    visible = size[1] - 12
    assert [int(n) for n, _ in rows][: min(visible, 4)] == list(range(1, min(visible, 4) + 1))
    assert all(h == f"DC0_C1_H{int(n) - 1}" for n, h in rows), rows  # natural order, whole
    assert "0.20" in text
    assert text == snapshot


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_plan(lab: RunningLab, size: tuple[int, int], snapshot) -> None:  # type: ignore[no-untyped-def]
    text = normalized(run_in_repo(lambda: capture(lab, size, plan)))
    no_split_number(text)
    for vlan in ("vlan: 120", "vlan: 110"):
        assert vlan in text, text
    assert text == snapshot


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_plan_confirmation(lab: RunningLab, size: tuple[int, int], snapshot) -> None:  # type: ignore[no-untyped-def]
    text = normalized(run_in_repo(lambda: capture(lab, size, plan_confirm)))
    no_split_number(text)
    assert "Apply" in text and "Cancel (n)" in text
    assert text == snapshot


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_vmotion_hosts_whole(lab: RunningLab, size: tuple[int, int], snapshot) -> None:  # type: ignore[no-untyped-def]
    text = normalized(capture(lab, size, vmotion))
    no_split_number(text)
    names_whole_or_middle_cut(text, host_names(lab))
    listed = re.findall(r"(DC0_C1_RP0_VM\d+)\s+(DC0_C1_H\d+)", text)
    assert len(listed) == 8, text
    with lab.session() as s:
        where = {v.name: v.host for v in collect(s).vms}
    assert all(where[vm] == host for vm, host in listed), listed
    assert text == snapshot


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_appliances(lab: RunningLab, size: tuple[int, int], snapshot) -> None:  # type: ignore[no-untyped-def]
    text = normalized(run_in_repo(lambda: capture(lab, size, appliances)))
    no_split_number(text)
    names_whole_or_middle_cut(text, host_names(lab))
    pairs = re.findall(r"fw-(DC0_C0_H\d+)\s+(DC0_C0_H\d+)", text)
    assert pairs and all(a == b for a, b in pairs), text  # each pinned to its own host, whole
    assert text == snapshot


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_help_phrases_never_split(lab: RunningLab, size: tuple[int, int], snapshot) -> None:  # type: ignore[no-untyped-def]
    """Each key phrase on screen is whole: no line ends with the start of a phrase whose rest
    went to the next line (every width is checked in tests/unit/test_tui_model.py)."""
    text = normalized(capture(lab, size, help_screen))
    phrases = [p for _, keys, _ in HELP for p in keys]
    inside = [m.group(1) for m in re.finditer(r"█ (.*?)\s*█", text)]
    assert any("Screens" in line for line in inside), text
    seen = 0
    for line in inside:
        for piece in re.split(r"\s{3,}", re.sub(r"^\S+\s{2,}", "", line).strip()):
            if piece in phrases:
                seen += 1
                continue
            cut = [p for p in phrases if p.startswith(piece) and len(piece) > 2]
            assert not cut, (piece, cut, text)
    assert seen >= 10, text
    assert text == snapshot
