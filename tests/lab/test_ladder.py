"""The ladder of remedies on the lab, over HTTPS with real pyVmomi.

The lab's queueing model (docs/latency.md, mocks/vcsim/queueing.go): congestion set on one
uplink of a host reaches the pings of a vmknic whose port sends out of it, halved by NIOC
shares "high" for its traffic class, and left behind when the port's teaming puts another
uplink first. A fake clock drives the policy, the cooldowns and the exit window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.lab.test_latency import SPEC, FakeClock, _session, _wait
from vnettool.inventory.collect import collect
from vnettool.lab.netem import reset_netem, set_netem, set_time_scale
from vnettool.latency.ladder import LadderConfig
from vnettool.latency.mover import MoverConfig, RebalanceState
from vnettool.latency.rebalance import CycleReport, cycle, live_ops, live_remedies
from vnettool.models.inventory import Inventory
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab

LADDER = LadderConfig(settle_rounds=2, step_cooldown_s=120, exit_window_s=300)
MOVER = MoverConfig(max_moves_per_cycle=8, max_per_destination=8, vm_cooldown_s=1800)


@pytest.fixture
def dv_lab(fresh_lab: Callable[..., RunningLab]) -> Iterator[RunningLab]:
    """Four hosts whose vMotion vmknics sit on a DV port group that lets a port choose its
    own uplink order (vCenter's default forbids it; the ladder does not change that)."""
    running = fresh_lab(cluster=1, host=4, vm=8)
    set_time_scale(0, lab=running.lab)
    with _session(running) as s:
        content = s.content
        view = content.viewManager.CreateContainerView(
            content.rootFolder, [vim.dvs.DistributedVirtualPortgroup], True
        )
        pg = next(p for p in view.view if not p.config.uplink)
        policy = vim.dvs.VmwareDistributedVirtualSwitch.VMwarePortgroupPolicy(
            blockOverrideAllowed=True,
            shapingOverrideAllowed=False,
            vendorConfigOverrideAllowed=False,
            livePortMovingAllowed=False,
            portConfigResetAtDisconnect=True,
            vlanOverrideAllowed=False,
            uplinkTeamingOverrideAllowed=True,
            securityPolicyOverrideAllowed=False,
        )
        spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
            configVersion=pg.config.configVersion, policy=policy
        )
        _wait(pg.ReconfigureDVPortgroup_Task(spec))
        uuid = pg.config.distributedVirtualSwitch.uuid
        hosts = content.viewManager.CreateContainerView(
            content.rootFolder, [vim.HostSystem], True
        ).view
        for h in hosts:
            nic = vim.host.VirtualNic.Specification(
                distributedVirtualPort=vim.dvs.PortConnection(switchUuid=uuid, portgroupKey=pg.key)
            )
            h.configManager.networkSystem.UpdateVirtualNic("vmk1", nic)
    yield running


def _run(
    s: Session, state: RebalanceState, clock: FakeClock, rounds: int = 1
) -> tuple[CycleReport, Inventory]:
    inv = collect(s)
    ops = live_ops(s, inv, state)
    report = cycle(
        inv, ops.ping, state, MOVER, clock, rounds, SPEC, ops.relocate, ops.check,
        ladder=LADDER, remedies=live_remedies(s),
    )  # fmt: skip
    return report, inv


def _vmotion_shares(inv: Inventory) -> tuple[int | None, str | None]:
    [dvs] = [d for d in inv.distributed_switches if d.hosts]
    t = next(t for t in dvs.nioc if t.key == "vmotion")
    return t.shares, t.level


def _port_orders(s: Session, host: str) -> dict[str, bool]:
    """vmk1's and the host's VM ports: is their uplink order inherited?"""
    inv = collect(s)
    [dvs] = [d for d in inv.distributed_switches if d.hosts]
    keys = [a.dv_port for a in inv.vmknics_of(host) if a.dv_port]
    keys += [n.dv_port for v in inv.vms if v.host == host for n in v.nics if n.dv_port]
    sw = vim.dvs.VmwareDistributedVirtualSwitch(dvs.moref, s.stub)
    ports = sw.FetchDVPorts(vim.dvs.PortCriteria(portKey=keys))
    return {
        p.key: bool(p.config.setting.uplinkTeamingPolicy.uplinkPortOrder.inherited) for p in ports
    }


def _steps(state: RebalanceState) -> list[tuple[str, str, str]]:
    return [(e.action, e.step, e.outcome) for e in state.remedies if e.action != "skip"]


def test_ladder_climbs_nioc_uplink_vmotion_and_descends_in_reverse(dv_lab: RunningLab) -> None:
    clock = FakeClock(step_s=1)
    state = RebalanceState()
    with _session(dv_lab) as s:
        inv = collect(s)
        slow = sorted(h.name for h in inv.hosts)[1]
        victims = sorted(v.name for v in inv.vms if v.host == slow)
        assert victims, "the lab put no VM on the slow host"
        assert _vmotion_shares(inv) == (50, "normal")
        # both uplinks congested: NIOC halves it, another uplink does not help
        for pnic in ("vmnic2", "vmnic3"):
            set_netem(slow, uplink=pnic, rtt_ms=60, lab=dv_lab.lab)
        report, _ = _run(s, state, clock, rounds=3)
        assert [(e.step, e.outcome) for e in report.remedies] == [("nioc", "done")]
        assert "≥ enter 10 ms" in report.remedies[0].reason
        assert report.journal == []
        assert _vmotion_shares(collect(s)) == (100, "high")

        clock.advance(150)
        report, _ = _run(s, state, clock, rounds=2)
        assert report.view[slow].last_ms == pytest.approx(30.2, abs=0.5)  # NIOC halved it
        assert [(e.step, e.outcome) for e in report.remedies] == [("uplink", "done")]
        assert "still unhealthy 2 rounds after nioc" in report.remedies[0].reason
        assert not any(_port_orders(s, slow).values()), "every port got its own order"

        clock.advance(150)
        report, _ = _run(s, state, clock, rounds=2)
        assert report.view[slow].last_ms == pytest.approx(30.2, abs=0.5)  # vmnic3 is as slow
        assert [(e.step, e.outcome) for e in report.remedies] == [("vmotion", "done")]
        assert sorted(j.vm for j in report.journal) == victims
        assert all(j.outcome == "moved" for j in report.journal)
        moved_at = {j.vm: j.at for j in report.journal}

        clock.advance(150)
        report, _ = _run(s, state, clock, rounds=2)
        assert report.remedies == [] and report.journal == []
        assert "every allowed remedy" in report.waiting[slow]

        # netem reset: healthy after the exit hysteresis, then one undo per exit window
        reset_netem(slow, lab=dv_lab.lab)
        undone: list[str] = []
        for _ in range(40):
            clock.advance(100)
            report, inv = _run(s, state, clock)
            undone += [e.step for e in report.remedies if e.action == "undo"]
            for j in report.journal:  # moved back: never within the VM cooldown
                assert j.at - moved_at[j.vm] >= timedelta(seconds=MOVER.vm_cooldown_s), j
            if not state.ladder[slow].applied:
                break
        assert undone == ["vmotion", "uplink", "nioc"]
    assert _steps(state) == [
        ("apply", "nioc", "done"),
        ("apply", "uplink", "done"),
        ("apply", "vmotion", "done"),
        ("undo", "vmotion", "done"),
        ("undo", "uplink", "done"),
        ("undo", "nioc", "done"),
    ]
    with _session(dv_lab) as s:  # read back by a separate inventory pass
        inv = collect(s)
        assert _vmotion_shares(inv) == (50, "normal")
        assert all(_port_orders(s, slow).values()), "every port inherits again"
        assert sorted(v.name for v in inv.vms if v.host == slow) == victims


def test_uplink_move_ends_the_climb_when_one_uplink_is_congested(dv_lab: RunningLab) -> None:
    clock = FakeClock(step_s=1)
    state = RebalanceState()
    with _session(dv_lab) as s:
        slow = sorted(h.name for h in collect(s).hosts)[2]
        set_netem(slow, uplink="vmnic2", rtt_ms=60, lab=dv_lab.lab)
        _run(s, state, clock, rounds=3)
        clock.advance(150)
        report, _ = _run(s, state, clock, rounds=2)
        assert [e.step for e in report.remedies] == ["uplink"], report.remedies
        for _ in range(6):
            clock.advance(60)  # within the exit window: the uplink move stays
            report, _ = _run(s, state, clock, rounds=1)
            assert report.journal == [], "no vMotion once the port left the congested uplink"
            if report.view[slow].state == "healthy":
                break
        assert report.view[slow].state == "healthy"
        assert report.view[slow].last_ms == pytest.approx(0.2, abs=0.05)
    assert [e.step for e in state.remedies if e.action == "apply"] == ["nioc", "uplink"]
