"""The fault suite: real requests to the lab fail the way a vCenter or a network can
(mocks/vcsim/faults.go), and every run either completes correctly or stops with a report of
what was and was not applied — the re-plan afterwards shows exactly the remainder.

Each test adds rows to a table printed at the end of the pytest run (tests/lab/conftest.py):
fault injected, runs, outcome, changes lost (must be 0), unsafe migrations (must be 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import RunningLab
from tests.lab.conftest import FaultRow, record
from vnettool.engine import apply, plan
from vnettool.inventory.collect import collect
from vnettool.lab.faults import add_fault, clear_faults, list_faults
from vnettool.models.desired import DesiredState
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab


@pytest.fixture
def flab(fresh_lab: Callable[..., RunningLab]) -> Iterator[RunningLab]:
    lab = fresh_lab(cluster=1, host=3, vm=3)
    yield lab
    clear_faults(lab.lab)


def _session(lab: RunningLab) -> Session:
    return lab.session(insecure=True, thumbprint=None)


def _without_time(inv: Any) -> dict[str, Any]:
    return dict(inv.model_dump(mode="json", exclude={"collected_at", "version"}))


@pytest.mark.parametrize(
    ("reader", "method", "action", "count"),
    [
        ("fast", "RetrievePropertiesEx", "503", 2),
        ("fast", "RetrievePropertiesEx", "drop", 1),
        ("fast", "RetrievePropertiesEx", "expire", 1),
        ("fast", "CreateContainerView", "503", 3),
        ("pyvmomi", "RetrievePropertiesEx", "503", 2),
        ("pyvmomi", "RetrievePropertiesEx", "expire", 1),
    ],
)
def test_inventory_survives_transient_faults(
    flab: RunningLab, reader: str, method: str, action: str, count: int
) -> None:
    with _session(flab) as s:
        clean = collect(s, reader=reader)
        add_fault(method, action, count=count, lab=flab.lab)  # type: ignore[arg-type]
        got = collect(s, reader=reader)
    assert list_faults(flab.lab) == [], "every injected fault fired"
    assert _without_time(got) == _without_time(clean)
    record(FaultRow(f"inventory ({reader})", f"{method} {action} x{count}", 1, "completed", 0))


PGS = {
    "target": {"cluster": "DC0_C0"},
    "standard_port_groups": [
        {"name": f"pg-fault-{i}", "switch": "vSwitch0", "vlan": 300 + i} for i in range(3)
    ],
}


@pytest.mark.parametrize(
    ("method", "action", "fault", "count", "transient"),
    [
        ("AddPortGroup", "503", None, 2, True),
        ("AddPortGroup", "drop", None, 1, True),
        ("AddPortGroup", "fault", "HostNotConnected", 1, False),
        ("AddPortGroup", "fault", "ResourceInUse", 2, False),
        ("AddPortGroup", "fault", "TaskInProgress", 1, False),
    ],
)
def test_standard_apply_under_faults_loses_nothing(
    flab: RunningLab, method: str, action: str, fault: str | None, count: int, transient: bool
) -> None:
    desired = DesiredState.model_validate(PGS)
    with _session(flab) as s:
        p = plan(desired, collect(s))
        total = len(p.changes)
        assert total == 9  # 3 port groups x 3 hosts
        add_fault(method, action, fault=fault, count=count, lab=flab.lab)  # type: ignore[arg-type]
        results = apply(p, s)
        failed = [r for r in results if r.failed]
        # every failure is reported with the object and the fault, never silently dropped
        for r in failed:
            assert r.error and (fault or "") in r.error
        remainder = plan(desired, collect(s))
        # the re-plan is exactly what was reported as not applied
        assert sorted(c.id for c in remainder.changes) == sorted(r.change.id for r in failed)
        if transient:
            assert not failed
        else:
            assert len(failed) == count
        # finishing the run loses nothing
        second = apply(remainder, s)
        left = plan(desired, collect(s)).changes
        lost = len(left)
    assert lost == 0, ([c.summary() for c in left], [(r.change.id, r.error) for r in second])
    outcome = (
        "completed (retried)"
        if transient
        else f"stopped: {len(failed)} reported, re-plan = remainder"
    )
    record(
        FaultRow(
            "apply standard port groups", f"{method} {fault or action} x{count}", 2, outcome, lost
        )
    )


DVPG = {
    "distributed_port_groups": [
        {
            "name": "pg-fault-dv",
            "switch": "DVS0",
            "vlan": 610,
            "ingress_shaping": {"average_kbps": 10000, "peak_kbps": 20000, "burst_kb": 1024},
        }
    ]
}


@pytest.mark.parametrize(
    ("method", "fault", "count"),
    [
        ("AddDVPortgroup_Task", "ConcurrentAccess", 1),
        ("AddDVPortgroup_Task", "ResourceInUse", 1),
    ],
)
def test_distributed_apply_under_faults(
    flab: RunningLab, method: str, fault: str, count: int
) -> None:
    desired = DesiredState.model_validate(DVPG)
    with _session(flab) as s:
        p = plan(desired, collect(s))
        add_fault(method, "fault", fault=fault, count=count, lab=flab.lab)
        results = apply(p, s)
        failed = [r for r in results if r.failed]
        remainder = plan(desired, collect(s))
        assert sorted(c.id for c in remainder.changes) == sorted(r.change.id for r in failed)
        for r in failed:
            assert fault in (r.error or "")
        apply(remainder, s)
        lost = len(plan(desired, collect(s)).changes)
    assert lost == 0
    outcome = (
        "completed (re-read, retried)" if not failed else "stopped: reported, re-plan = remainder"
    )
    record(FaultRow("apply DV port group", f"{method} {fault} x{count}", 2, outcome, lost))


def test_latency_probe_fault_is_a_failed_sample_not_a_crash(flab: RunningLab) -> None:
    from vnettool.latency.mover import RebalanceState
    from vnettool.latency.probe import endpoints, mesh
    from vnettool.latency.rebalance import live_ops
    from vnettool.models.latency import PingSpec

    with _session(flab) as s:
        inv = collect(s)
        eps, _ = endpoints(inv, "DC0_C0")
        ops = live_ops(s, inv, RebalanceState())
        add_fault("ExecuteSoap", "fault", fault="HostNotConnected", count=2, lab=flab.lab)
        m = mesh(ops.ping, eps, PingSpec(count=1), workers=1)
    bad = [x for x in m.samples if not x.ok]
    assert len(bad) == 2 and all("HostNotConnected" in (x.error or "") for x in bad)
    assert len(m.samples) == len(eps) * (len(eps) - 1)
    record(
        FaultRow(
            "latency probe", "ExecuteSoap HostNotConnected x2", 1, "2 failed samples reported", 0
        )
    )


def test_no_vm_moves_when_the_move_fails(flab: RunningLab) -> None:
    """A vMotion that faults leaves the VM where it was and is journaled as failed."""
    from vnettool.latency.mover import RebalanceState
    from vnettool.latency.rebalance import live_ops

    with _session(flab) as s:
        inv = collect(s)
        vm = next(v for v in inv.vms if v.host)
        dest = next(h.name for h in inv.hosts if h.name != vm.host and h.cluster == vm.cluster)
        ops = live_ops(s, inv, RebalanceState())
        add_fault("RelocateVM_Task", "fault", fault="InvalidState", count=1, lab=flab.lab)
        with pytest.raises(Exception, match="InvalidState"):
            ops.relocate(vm, dest)
        after = {v.name: v.host for v in collect(s).vms}
    assert after[vm.name] == vm.host
    record(FaultRow("vMotion", "RelocateVM_Task InvalidState x1", 1, "refused, VM stayed", 0, 0))


@pytest.mark.parametrize("fault", ["ResourceInUse", "HostNotConnected"])
def test_distributed_task_that_fails_after_it_started(flab: RunningLab, fault: str) -> None:
    """The call returns a task, the task then fails: reported with the fault, nothing lost."""
    desired = DesiredState.model_validate(DVPG)
    with _session(flab) as s:
        p = plan(desired, collect(s))
        add_fault("AddDVPortgroup_Task", "task_fail", fault=fault, count=1, lab=flab.lab)
        results = apply(p, s)
        failed = [r for r in results if r.failed]
        assert failed, "a failed task must be reported"
        for r in failed:
            assert fault in (r.error or ""), r.error
        remainder = plan(desired, collect(s))
        assert sorted(c.id for c in remainder.changes) == sorted(r.change.id for r in failed)
        apply(remainder, s)
        lost = len(plan(desired, collect(s)).changes)
    assert lost == 0
    record(
        FaultRow(
            "apply DV port group",
            f"AddDVPortgroup_Task task fails {fault}",
            2,
            "stopped: reported, re-plan = remainder",
            lost,
        )
    )


@pytest.mark.parametrize("reader", ["fast", "pyvmomi"])
def test_malformed_server_answer_is_a_clear_error(flab: RunningLab, reader: str) -> None:
    from vnettool.errors import VnetError

    with _session(flab) as s:
        add_fault("RetrievePropertiesEx", "malformed", count=0, lab=flab.lab)
        with pytest.raises(VnetError) as info:
            collect(s, reader=reader)
        clear_faults(flab.lab)
        msg = str(info.value)
        # the session still works once the server is sane again
        assert collect(s, reader=reader).hosts
    assert msg and "Traceback" not in msg
    record(
        FaultRow(
            f"inventory ({reader})", "RetrievePropertiesEx malformed body", 1, "clear error", 0
        )
    )


PVLAN = {"pvlans": [{"switch": "DVS0", "primary": 800, "isolated": 801, "community": [802]}]}
VMK = {
    "target": {"cluster": "DC0_C0"},
    "standard_switches": [{"name": "vSwitch-f", "mtu": 9000, "uplinks": ["vmnic2"]}],
    "standard_port_groups": [{"name": "pg-vmk-f", "switch": "vSwitch-f", "vlan": 31}],
    "vmkernel_adapters": [
        {"portgroup": "pg-vmk-f", "ip": {"cidr": "172.17.0.{index+10}/24"}, "mtu": 9000}
    ],
}


@pytest.mark.parametrize(
    ("area", "doc", "method", "action", "fault"),
    [
        ("apply PVLAN map", PVLAN, "ReconfigureDvs_Task", "fault", "ConcurrentAccess"),
        ("apply PVLAN map", PVLAN, "ReconfigureDvs_Task", "task_fail", "ResourceInUse"),
        ("apply PVLAN map", PVLAN, "ReconfigureDvs_Task", "expire", None),
        ("apply vSS + vmknics", VMK, "AddVirtualNic", "fault", "HostNotConnected"),
        ("apply vSS + vmknics", VMK, "AddVirtualNic", "503", None),
        ("apply vSS + vmknics", VMK, "AddVirtualSwitch", "fault", "InvalidArgument"),
        ("apply vSS + vmknics", VMK, "*", "expire", None),
    ],
)
def test_apply_under_faults_re_plan_is_the_remainder(
    fresh_lab: Callable[..., RunningLab],
    area: str,
    doc: dict[str, Any],
    method: str,
    action: str,
    fault: str | None,
) -> None:
    flab = fresh_lab(cluster=1, host=2, vm=1, dvs=0 if "vmknics" in area else 1)
    desired = DesiredState.model_validate(doc)
    with _session(flab) as s:
        p = plan(desired, collect(s))
        add_fault(method, action, fault=fault, count=1, lab=flab.lab)  # type: ignore[arg-type]
        results = apply(p, s)
        not_applied = [r for r in results if not r.changed]
        for r in results:
            if r.failed:
                assert r.error, r  # every failure names its reason
        remainder = plan(desired, collect(s))
        # the re-plan is exactly what the run reported as not applied (failed or skipped)
        assert sorted(c.id for c in remainder.changes) == sorted(
            r.change.id for r in not_applied
        ), ([c.summary() for c in remainder.changes], [(r.change.id, r.error) for r in results])
        apply(remainder, s)
        left = plan(desired, collect(s)).changes
    clear_faults(flab.lab)
    assert left == []
    outcome = (
        "completed (retried / re-read)"
        if not not_applied
        else f"stopped: {len(not_applied)} not applied, reported; re-plan = remainder"
    )
    record(FaultRow(area, f"{method} {fault or action} x1", 2, outcome, len(left)))
