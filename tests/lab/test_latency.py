"""Latency probes and the latency-aware mover against the lab, over HTTPS with real pyVmomi.

The lab answers esxcli `network diag ping` with per-host RTT/loss/MTU set through its control
endpoint (`vnettool.lab.netem`); time_scale 0 makes pings answer at once, and a fake clock
drives the policy and the cooldowns.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from vnettool.inventory.collect import collect
from vnettool.lab.netem import reset_netem, set_netem, set_time_scale
from vnettool.latency.mover import MoverConfig, RebalanceState
from vnettool.latency.probe import endpoints, mesh
from vnettool.latency.rebalance import cycle, live_ops
from vnettool.models.inventory import Inventory
from vnettool.models.latency import PingSpec
from vnettool.vsphere.connection import Session
from vnettool.vsphere.esxcli import Esxcli

pytestmark = pytest.mark.lab
SPEC = PingSpec(count=3, interval_s=0.2, wait_s=1.0)


class FakeClock:
    """Advances `step` per call, so each probe round and decision has its own time."""

    def __init__(self, step_s: float = 1.0) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.step = timedelta(seconds=step_s)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _session(lab: RunningLab) -> Session:
    # Pinned TLS is the connection tests' subject; these tests are about latency.
    return lab.session(thumbprint=None, insecure=True)


@pytest.fixture
def small_lab(fresh_lab: Callable[..., RunningLab]) -> Iterator[RunningLab]:
    running = fresh_lab(cluster=1, host=4, vm=8)
    set_time_scale(0, lab=running.lab)
    yield running


def _dvs_members(s: Session, hosts: list[str]) -> None:
    """Make exactly these hosts members of the lab's DVS (the pre-check reads membership)."""
    content = s.content
    view = content.viewManager.CreateContainerView(
        content.rootFolder, [vim.DistributedVirtualSwitch], True
    )
    dvs = view.view[0]
    current = {m.config.host.name: m.config.host for m in dvs.config.host or []}
    hview = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    by_name = {h.name: h for h in hview.view}
    changes = [
        vim.dvs.HostMember.ConfigSpec(operation="add", host=by_name[h])
        for h in hosts
        if h not in current
    ] + [
        vim.dvs.HostMember.ConfigSpec(operation="remove", host=ref)
        for h, ref in current.items()
        if h not in hosts
    ]
    if not changes:
        return
    spec = vim.DistributedVirtualSwitch.ConfigSpec(
        configVersion=dvs.config.configVersion, host=changes
    )
    task = dvs.ReconfigureDvs_Task(spec)
    while task.info.state not in ("success", "error"):
        pass
    assert task.info.state == "success", task.info.error


def _wait(task: object) -> None:
    while task.info.state not in ("success", "error"):  # type: ignore[attr-defined]
        pass
    assert task.info.state == "success", task.info.error  # type: ignore[attr-defined]


def _std_network_on(s: Session, pg: str, hosts: list[str], vms: list[str]) -> None:
    """Add standard port group `pg` to `hosts` only, and put the VMs' NICs on it."""
    content = s.content

    def objs(kind: type) -> dict[str, object]:
        v = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
        return {o.name: o for o in v.view}

    for h in hosts:
        ns = objs(vim.HostSystem)[h].configManager.networkSystem  # type: ignore[attr-defined]
        ns.AddPortGroup(
            vim.host.PortGroup.Specification(
                name=pg, vlanId=0, vswitchName="vSwitch0", policy=vim.host.NetworkPolicy()
            )
        )
    net = objs(vim.Network)[pg]
    all_vms = objs(vim.VirtualMachine)
    for name in vms:
        vm = all_vms[name]
        changes = []
        for dev in vm.config.hardware.device:  # type: ignore[attr-defined]
            if isinstance(dev, vim.vm.device.VirtualEthernetCard):
                dev.backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
                    deviceName=pg, network=net
                )
                changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=dev))
        _wait(vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=changes)))  # type: ignore[attr-defined]


def _placement(inv: Inventory) -> dict[str, str]:
    return {v.name: v.host or "" for v in inv.vms}


def test_mesh_matrix_shows_the_slow_host(small_lab: RunningLab) -> None:
    with _session(small_lab) as s:
        inv = collect(s)
        eps, skipped = endpoints(inv)
        assert len(eps) == 4 and skipped == {}
        slow = eps[1].host
        set_netem(slow, rtt_ms=12, lab=small_lab.lab)
        esx = Esxcli(s)
        m = mesh(lambda src, t, sp: esx.ping(src.host_moref, t, sp), eps, SPEC, workers=4)
    assert len(m.cells) == 12
    for (a, b), sample in m.cells.items():
        assert sample.ok and sample.sent == 3 and sample.received == 3
        expected = 12000 if slow in (a, b) else 200
        assert sample.rtt_avg_us == expected, (a, b, sample)
        assert sample.vmk == "vmk1"


def test_full_loss_counts_as_unhealthy(small_lab: RunningLab) -> None:
    with _session(small_lab) as s:
        inv = collect(s)
        dead = sorted(h.name for h in inv.hosts)[2]
        set_netem(dead, loss_pct=100, lab=small_lab.lab)
        state = RebalanceState()
        ops = live_ops(s, inv, state)
        report = cycle(
            inv,
            ops.ping,
            state,
            MoverConfig(),
            FakeClock(),
            3,
            SPEC,
            ops.relocate,
            dry_run=True,
        )
    assert report.view[dead].state == "unhealthy"
    assert report.view[dead].loss_pct == 100
    assert report.view[dead].smoothed_ms == state.policy.loss_penalty_ms
    assert {h for h, v in report.view.items() if v.state == "unhealthy"} == {dead}


def test_slow_host_vms_move_to_hosts_with_their_networks_and_stay(
    small_lab: RunningLab,
) -> None:
    clock = FakeClock(step_s=30)
    with _session(small_lab) as s:
        inv = collect(s)
        names = sorted(h.name for h in inv.hosts)
        slow, outsider = names[1], names[3]
        victims = sorted(v.name for v in inv.vms if v.host == slow)
        assert victims, "the lab put no VM on the slow host"
        # The victims move to a standard port group the outsider host does not have.
        _std_network_on(s, "app-net", [n for n in names if n != outsider], victims)
        inv = collect(s)
        assert {n.network for v in victims for n in inv.vm_by_name[v].nics} == {"app-net"}
        assert "app-net" not in {p.name for p in inv.portgroups_of(outsider)}
        set_netem(slow, rtt_ms=25, lab=small_lab.lab)
        state = RebalanceState()
        cfg = MoverConfig(max_moves_per_cycle=8, max_per_destination=8)
        moved_at: dict[str, int] = {}
        for i in range(3):  # one probe round per cycle: the policy needs 3 samples
            inv = collect(s)
            ops = live_ops(s, inv, state)
            report = cycle(inv, ops.ping, state, cfg, clock, 1, SPEC, ops.relocate, ops.check)
            for e in report.journal:
                moved_at.setdefault(e.vm, i)
                assert e.outcome == "moved", e
            for d in report.decisions:
                assert "no standard port group 'app-net'" in d.rejected[outsider]
        after = _placement(collect(s))
        assert set(moved_at) == set(victims)
        assert set(moved_at.values()) == {2}, "moved before the required samples"
        for vm in victims:
            assert after[vm] not in (slow, outsider), (vm, after[vm])
        assert sorted(j.vm for j in state.journal) == victims
        assert all("unhealthy" in j.reason for j in state.journal)

        # The host recovers: within the cooldown nothing moves back.
        set_netem(slow, rtt_ms=0.2, lab=small_lab.lab)
        for _ in range(6):
            inv = collect(s)
            ops = live_ops(s, inv, state)
            report = cycle(inv, ops.ping, state, cfg, clock, 1, SPEC, ops.relocate, ops.check)
            assert report.journal == []
        assert state.hosts[slow].state == "healthy"
        assert _placement(collect(s)) == after


def test_flapping_host_causes_no_moves(small_lab: RunningLab) -> None:
    clock = FakeClock(step_s=30)
    with _session(small_lab) as s:
        names = sorted(h.name for h in collect(s).hosts)
        _dvs_members(s, names)
        inv = collect(s)
        before = _placement(inv)
        flapper = names[0]
        state = RebalanceState()
        for i in range(12):
            set_netem(flapper, rtt_ms=25 if i % 2 == 0 else 0.2, lab=small_lab.lab)
            inv = collect(s)
            ops = live_ops(s, inv, state)
            report = cycle(inv, ops.ping, state, MoverConfig(), clock, 1, SPEC, ops.relocate)
            assert report.journal == [] and not [d for d in report.decisions]
            assert report.view[flapper].state in ("unknown", "healthy")
        assert _placement(collect(s)) == before
        assert len(state.hosts[flapper].figures) >= 10


def _set_vmk_mtu(s: Session, mtu: int, device: str = "vmk1") -> None:
    view = s.content.viewManager.CreateContainerView(s.content.rootFolder, [vim.HostSystem], True)
    for h in view.view:
        ns = h.configManager.networkSystem
        vnic = next(v for v in ns.networkInfo.vnic if v.device == device)
        spec = vnic.spec
        spec.mtu = mtu
        ns.UpdateVirtualNic(device, spec)


def _set_vmk_mtu_on(s: Session, host: str, mtu: int, device: str = "vmk1") -> None:
    view = s.content.viewManager.CreateContainerView(s.content.rootFolder, [vim.HostSystem], True)
    h = next(h for h in view.view if h.name == host)
    ns = h.configManager.networkSystem
    spec = next(v for v in ns.networkInfo.vnic if v.device == device).spec
    spec.mtu = mtu
    ns.UpdateVirtualNic(device, spec)


def _set_switch_mtu(
    s: Session, mtu: int, switch: str = "vSwitch0", only: set[str] | None = None
) -> None:
    """The standard switch's MTU on every host (or `only` these): a jumbo vmknic needs its
    switch at 9000 too, or the lab (like ESXi) drops its frames there."""
    view = s.content.viewManager.CreateContainerView(s.content.rootFolder, [vim.HostSystem], True)
    for h in view.view:
        if only is not None and h.name not in only:
            continue
        ns = h.configManager.networkSystem
        sw = next(v for v in ns.networkInfo.vswitch if v.name == switch)
        spec = sw.spec
        spec.mtu = mtu
        ns.UpdateVirtualSwitch(switch, spec)


def _cli(lab: RunningLab, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | lab.env() | {"COLUMNS": "200"}
    return subprocess.run(
        ["uv", "run", "vnettool", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_jumbo_probe_names_exactly_the_low_mtu_host(small_lab: RunningLab) -> None:
    with _session(small_lab) as s:
        _set_vmk_mtu(s, 9000)
        _set_switch_mtu(s, 9000)
        names = sorted(h.name for h in collect(s).hosts)
    ok = _cli(small_lab, "latency", "probe", "--mtu", "9000", "--json", "--insecure")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["mtu_limited_hosts"] == []
    low = names[2]
    assert _cli(small_lab, "lab", "netem", low, "--mtu", "1500").returncode == 0
    bad = _cli(small_lab, "latency", "probe", "--mtu", "9000", "--json", "--insecure")
    assert bad.returncode == 3, bad.stderr
    doc = json.loads(bad.stdout)
    assert doc["mtu_limited_hosts"] == [low]
    assert doc["vmknic_mtu_too_small"] == []
    # A standard frame still passes everywhere.
    std = _cli(small_lab, "latency", "probe", "--mtu", "1500", "--json", "--insecure")
    assert std.returncode == 0 and json.loads(std.stdout)["failing_paths"] == 0


def test_mtu_sweep_reports_each_path_per_its_vmknic_switch_and_physical_mtu(
    small_lab: RunningLab,
) -> None:
    """9000 everywhere except: H1's vSwitch0 left at 1500 (its jumbo vmknic's frames die at
    its own switch, and frames to it too), H2's vmknic at 1500 (it refuses to send 9000; others'
    9000 frames die at it), and the physical path H0<->H3 at 1500 (netem)."""
    with _session(small_lab) as s:
        names = sorted(h.name for h in collect(s).hosts)
        h0, h1, h2, h3 = names
        _set_vmk_mtu(s, 9000)
        _set_switch_mtu(s, 9000, only={h0, h2, h3})
        _set_vmk_mtu_on(s, h2, 1500)
    assert _cli(small_lab, "lab", "netem", h0, "--peer", h3, "--mtu", "1500").returncode == 0
    out = _cli(small_lab, "latency", "probe", "--sweep", "--json", "--insecure")
    assert out.returncode == 3, out.stderr
    doc = json.loads(out.stdout)
    assert doc["sweep"] == [1500, 9000]
    got = {
        (p["source"], p["target"]): tuple(r["outcome"] for r in p["results"]) for p in doc["paths"]
    }
    expected = {}
    for src in names:
        for dst in names:
            if src == dst:
                continue
            if src == h2:
                jumbo = "vmknic_mtu"
            elif {src, dst} == {h0, h3} or h1 in (src, dst) or dst == h2:
                jumbo = "dropped"
            else:
                jumbo = "ok"
            expected[(src, dst)] = ("ok", jumbo)
    assert got == expected
    mtus = {
        (p["source"], p["target"]): (p["source_mtu"], p["target_mtu"], p["path_mtu"])
        for p in doc["paths"]
    }
    assert mtus[(h3, h2)] == (9000, 1500, 1500) and mtus[(h2, h3)] == (1500, 9000, 1500)
    assert sorted((p["source"], p["target"]) for p in doc["paths"] if p["path_mtu"] == 9000) == (
        sorted(k for k, v in expected.items() if v == ("ok", "ok"))
    )
    assert doc["black_holes"] == sum(1 for v in expected.values() if v[1] == "dropped")
    # the table names the paths that drop what their vmknic sends
    text = _cli(small_lab, "latency", "probe", "--sweep", "--insecure")
    assert text.returncode == 3
    assert f"{h0}→{h3} carries 1500" in text.stdout and "DROPPED" in text.stdout


def test_cli_rebalance_once_moves_then_second_once_does_nothing(small_lab: RunningLab) -> None:
    with _session(small_lab) as s:
        names = sorted(h.name for h in collect(s).hosts)
        _dvs_members(s, names)
        on_slow = sorted(v.name for v in collect(s).vms if v.host == names[0])
    assert on_slow
    assert _cli(small_lab, "lab", "netem", names[0], "--rtt-ms", "25").returncode == 0
    dry = _cli(small_lab, "rebalance", "--dry-run", "--json", "--insecure")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert {d["vm"] for d in planned["decisions"] if d["action"] == "move"} == set(on_slow)
    assert {e["outcome"] for e in planned["journal"]} == {"dry-run"}
    with _session(small_lab) as s:
        original = _placement(collect(s))
    first = _cli(small_lab, "rebalance", "--once", "--insecure")
    assert first.returncode == 0, first.stderr
    assert "unhealthy" in first.stdout and "moved" in first.stdout
    assert "undo the moves with: vnettool apply --rollback" in first.stdout
    for vm in on_slow:
        assert vm in first.stdout
    with _session(small_lab) as s:
        placement = _placement(collect(s))
    assert all(placement[vm] != names[0] for vm in on_slow)
    second = _cli(small_lab, "rebalance", "--once", "--json", "--insecure")
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    assert [d for d in doc["decisions"] if d["action"] == "move"] == []
    assert doc["journal"] == []
    with _session(small_lab) as s:
        assert _placement(collect(s)) == placement
    reset_netem(lab=small_lab.lab)
    # the moves were journaled (written ahead) like any change: --rollback moves them back
    back = _cli(small_lab, "apply", "--rollback", "last", "--yes", "--insecure")
    assert back.returncode == 0, back.stdout + back.stderr
    assert sum("vm relocation" in line for line in back.stdout.splitlines()) == len(on_slow)
    with _session(small_lab) as s:
        assert _placement(collect(s)) == original


def test_playbook_latency_and_rebalance_steps_use_the_same_probes_and_mover(
    small_lab: RunningLab, tmp_path: Path
) -> None:
    with _session(small_lab) as s:
        names = sorted(h.name for h in collect(s).hosts)
        _dvs_members(s, names)
        on_slow = sorted(v.name for v in collect(s).vms if v.host == names[0])
    assert on_slow
    set_netem(names[0], rtt_ms=25, lab=small_lab.lab)
    book = tmp_path / "lat.yml"
    book.write_text(
        "name: latency\nsteps:\n"
        "  - name: rebalance\n    rebalance: {dry_run: true, max_moves: 20}\n"
        "  - name: probe\n    latency: {count: 2, warn_ms: 1.0, fail_ms: 10.0}\n"
    )
    try:
        proc = _cli(small_lab, "run", str(book), "--json")
    finally:
        reset_netem(lab=small_lab.lab)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    rebalance_step, probe_step = doc["steps"]
    assert probe_step["status"] == "failed"
    slow_lines = [d for d in probe_step["details"] if d.startswith("FAIL")]
    # every failing path touches the slow host, and every path from or to it fails
    assert slow_lines and all(names[0] in d for d in slow_lines)
    assert len(slow_lines) == 2 * (len(names) - 1)
    assert rebalance_step["status"] == "ok"
    moves = {d.split()[2] for d in rebalance_step["details"] if d.split()[1] == "move"}
    assert moves == set(on_slow)
    with _session(small_lab) as s:
        assert {v.name for v in collect(s).vms if v.host == names[0]} == set(on_slow)


def test_no_vmotion_over_a_path_outside_the_round_trip_budget(small_lab: RunningLab) -> None:
    """H0 is healthy by its median, but its path to the slow host takes 200 ms: no VM of the
    slow host goes there (vSphere supports vMotion up to 150 ms)."""
    clock = FakeClock(step_s=30)
    with _session(small_lab) as s:
        inv = collect(s)
        names = sorted(h.name for h in inv.hosts)
        far, slow = names[0], names[1]
        _dvs_members(s, names)
        set_netem(slow, rtt_ms=25, lab=small_lab.lab)
        set_netem(slow, peer=far, rtt_ms=200, lab=small_lab.lab)
        state = RebalanceState()
        cfg = MoverConfig(max_moves_per_cycle=8, max_per_destination=8)
        inv = collect(s)
        ops = live_ops(s, inv, state)
        report = cycle(inv, ops.ping, state, cfg, clock, 3, SPEC, ops.relocate, ops.check)
    assert report.view[far].state == "healthy"
    moves = [d for d in report.decisions if d.action == "move"]
    assert moves, report.decisions
    for d in report.decisions:
        assert d.destination != far
        assert d.rejected[far] == f"vMotion round-trip budget: 200.0 ms > 150 ms on {slow}↔{far}"
