"""Mover planning: pre-checks, destination choice, cooldowns, cap, journal, persistence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.factories import dv_portgroup, dv_switch, host, portgroup, vm, vm_nic, vmk
from vnettool.errors import VnetError
from vnettool.latency.mover import (
    MoverConfig,
    RebalanceState,
    VmMove,
    execute,
    move_one,
    plan,
    vm_networks_missing,
)
from vnettool.latency.policy import HostSeries
from vnettool.models.inventory import (
    DvsHostMember,
    Inventory,
    VirtualMachine,
)
from vnettool.models.latency import HostLatency

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def inventory(maintenance: str | None = None, no_vmotion: str | None = None) -> Inventory:
    """H0..H3 in cluster C; `app` is missing on H1, DSwitch is missing on H2; four VMs on H0/H2."""
    hosts = [f"H{i}" for i in range(4)]
    pgs = {
        "H0": ["VM Network", "app"],
        "H1": ["VM Network"],
        "H2": ["VM Network", "app"],
        "H3": ["VM Network", "app"],
    }
    dv_nic = vm_nic("dv-web", connected=True, dvs_uuid="uuid-1", dv_portgroup_key="dvportgroup-1")
    return Inventory(
        hosts=[host(h, i, cluster="C", maintenance=h == maintenance) for i, h in enumerate(hosts)],
        standard_port_groups=[portgroup(h, p) for h in hosts for p in pgs[h]],
        distributed_switches=[
            dv_switch(
                "DSwitch",
                uuid="uuid-1",
                hosts=[DvsHostMember(host=h) for h in ("H0", "H1", "H3")],
            )
        ],
        distributed_port_groups=[
            dv_portgroup("dv-web", "DSwitch", moref="dvportgroup-1", key="dvportgroup-1", dvs_uuid="uuid-1")
        ],
        vmkernel_adapters=[
            vmk(h, "vmk1", ip=f"10.1.0.{i}", services=[] if h == no_vmotion else ["vmotion"])
            for i, h in enumerate(hosts)
        ],
        vms=[
            vm("app-1", "vm-1", "H0", cluster="C", power_state="poweredOn", nics=[vm_nic("app", connected=True)]),
            vm("web-1", "vm-2", "H0", cluster="C", power_state="poweredOn", nics=[dv_nic]),
            vm("off-1", "vm-3", "H0", cluster="C", power_state="poweredOff"),
            vm("db-1", "vm-4", "H2", cluster="C", power_state="poweredOn"),
        ],
    )  # fmt: skip


def view(**ms: float) -> dict[str, HostLatency]:
    return {
        h: HostLatency(
            host=h,
            samples=3,
            smoothed_ms=v,
            last_ms=v,
            loss_pct=0.0,
            state="unhealthy" if v >= 10 else "healthy",
            reason=f"{v} ms",
        )
        for h, v in ms.items()
    }


def test_network_pre_checks() -> None:
    inv = inventory()
    app, web = inv.vm_by_name["app-1"], inv.vm_by_name["web-1"]
    assert vm_networks_missing(inv, app, "H2") == []
    assert "no standard port group 'app' on H1" in vm_networks_missing(inv, app, "H1")[0]
    assert vm_networks_missing(inv, web, "H3") == []
    assert "not a member of DVS DSwitch" in vm_networks_missing(inv, web, "H2")[0]


def test_moves_go_only_to_hosts_with_the_networks() -> None:
    inv = inventory()
    d = plan(inv, view(H0=25, H1=0.2, H2=0.3, H3=0.4), RebalanceState(), MoverConfig(), T0)
    moves = {x.vm: x for x in d if x.action == "move"}
    assert set(moves) == {"app-1", "web-1"}  # the powered-off VM is not selected
    assert moves["app-1"].destination == "H2"  # H1 is faster but lacks 'app'
    assert "no standard port group 'app'" in moves["app-1"].rejected["H1"]
    assert moves["web-1"].destination == "H1"  # best latency among DVS members
    assert "not a member of DVS" in moves["web-1"].rejected["H2"]
    assert moves["app-1"].source_ms == 25


def test_maintenance_missing_vmknic_and_unhealthy_destinations_rejected() -> None:
    inv = inventory(maintenance="H2", no_vmotion="H3")
    d = plan(inv, view(H0=25, H1=30, H2=0.2, H3=0.2), RebalanceState(), MoverConfig(), T0)
    app = next(x for x in d if x.vm == "app-1")
    assert app.action == "skip"
    assert app.rejected["H2"] == "host is in maintenance mode"
    assert "vmotion" in app.rejected["H3"]
    assert app.rejected["H1"].startswith("latency unhealthy")


def test_vm_cooldown_cap_and_no_move_back() -> None:
    inv = inventory()
    st = RebalanceState(moves={"vm-1": VmMove(at=T0, source="H2", destination="H0")})
    d = plan(
        inv,
        view(H0=25, H1=0.2, H2=0.3, H3=0.4),
        st,
        MoverConfig(vm_cooldown_s=600),
        T0 + timedelta(seconds=60),
    )
    app = next(x for x in d if x.vm == "app-1")
    assert app.action == "skip" and "VM cooldown" in app.reason
    # after the cooldown the VM may move again
    d = plan(
        inv,
        view(H0=25, H1=0.2, H2=0.3, H3=0.4),
        st,
        MoverConfig(vm_cooldown_s=600),
        T0 + timedelta(seconds=601),
    )
    assert next(x for x in d if x.vm == "app-1").action == "move"
    d = plan(
        inv,
        view(H0=25, H1=0.2, H2=0.3, H3=0.4),
        RebalanceState(),
        MoverConfig(max_moves_per_cycle=1),
        T0,
    )
    assert [x.action for x in d] == ["move", "skip"]
    assert "cap of 1" in d[1].reason


def test_recently_recovered_host_is_not_a_destination() -> None:
    inv = inventory()
    st = RebalanceState(hosts={"H2": HostSeries(figures=[0.2], state="healthy", recovered_at=T0)})
    d = plan(
        inv,
        view(H0=25, H1=0.2, H2=0.1, H3=0.4),
        st,
        MoverConfig(host_cooldown_s=300),
        T0 + timedelta(seconds=10),
    )
    app = next(x for x in d if x.vm == "app-1")
    assert app.destination == "H3"
    assert "host cooldown" in app.rejected["H2"]


def test_check_relocate_veto() -> None:
    inv = inventory()

    def check(vm: VirtualMachine, dest: str) -> str | None:
        return "VMotionLinkDown (network)" if dest == "H2" else None

    d = plan(inv, view(H0=25, H1=0.2, H2=0.3, H3=0.4), RebalanceState(), MoverConfig(), T0, check)
    app = next(x for x in d if x.vm == "app-1")
    assert app.destination == "H3"
    assert app.rejected["H2"] == "CheckRelocate: VMotionLinkDown (network)"


def test_execute_journals_and_persists(tmp_path: Path) -> None:
    inv = inventory()
    st = RebalanceState()
    d = plan(inv, view(H0=25, H1=0.2, H2=0.3, H3=0.4), st, MoverConfig(), T0)
    done: list[tuple[str, str]] = []

    def relocate(vm: VirtualMachine, dest: str) -> None:
        done.append((vm.name, dest))

    entries = execute(d, relocate, inv, st, MoverConfig(), lambda: T0)
    assert sorted(done) == [("app-1", "H2"), ("web-1", "H1")]
    assert {e.outcome for e in entries} == {"moved"}
    assert st.moves["vm-1"].source == "H0" and st.moves["vm-1"].destination == "H2"
    path = tmp_path / "state.json"
    st.save(path)
    again = RebalanceState.load(path)
    assert again.journal == st.journal and again.moves == st.moves
    # dry-run: journal entries returned, nothing recorded
    st2 = RebalanceState()
    e2 = execute(d, relocate, inv, st2, MoverConfig(), lambda: T0, dry_run=True)
    assert {e.outcome for e in e2} == {"dry-run"} and st2.moves == {} and len(done) == 2


def test_manual_move_is_journaled_and_starts_the_vm_cooldown() -> None:
    """A vMotion from the TUI goes through move_one: in the journal like the mover's own, and
    the next cycle does not move the VM again (or back) inside its cooldown."""
    inv = inventory()
    st = RebalanceState()
    done: list[tuple[str, str]] = []
    app = inv.vm_by_name["app-1"]
    entry = move_one(app, "H3", lambda vm, dest: done.append((vm.name, dest)), inv, st, lambda: T0)
    assert done == [("app-1", "H3")]
    assert (entry.vm, entry.source, entry.destination, entry.outcome) == (
        "app-1",
        "H0",
        "H3",
        "moved",
    )
    assert entry.reason == "manual vMotion" and st.journal == [entry]
    assert st.moves["vm-1"].destination == "H3"
    later = plan(
        inv, view(H0=25, H1=0.2, H2=0.3, H3=0.4), st, MoverConfig(), T0 + timedelta(seconds=60)
    )
    assert next(x for x in later if x.vm == "app-1").action == "skip"


def test_failed_manual_move_is_journaled_without_a_cooldown() -> None:
    inv = inventory()
    st = RebalanceState()

    def refuse(vm: VirtualMachine, dest: str) -> None:
        raise VnetError("InvalidState: the host is entering maintenance mode")

    entry = move_one(inv.vm_by_name["app-1"], "H2", refuse, inv, st, lambda: T0)
    assert entry.outcome == "failed" and "InvalidState" in (entry.error or "")
    assert st.journal == [entry] and st.moves == {}


def test_destinations_outside_the_vmotion_round_trip_budget_are_rejected() -> None:
    inv = inventory()
    paths = {("H0", "H2"): 180.0, ("H2", "H0"): 170.0, ("H0", "H3"): None, ("H0", "H1"): 0.3}
    v = view(H0=25, H1=0.2, H2=0.3, H3=0.4)
    d = plan(inv, v, RebalanceState(), MoverConfig(), T0, paths=paths)
    app = next(x for x in d if x.vm == "app-1")
    assert app.action == "skip"  # H1 lacks 'app'; H2 and H3 fail the budget
    assert app.rejected["H2"] == "vMotion round-trip budget: 180.0 ms > 150 ms on H0↔H2"
    assert app.rejected["H3"] == "vMotion path H0↔H3: no reply"
    web = next(x for x in d if x.vm == "web-1")
    assert web.destination == "H1"
    wide = MoverConfig(rtt_budget_ms=200)
    moves = {x.vm: x.destination for x in plan(inv, v, RebalanceState(), wide, T0, paths=paths)}
    assert moves["app-1"] == "H2"
