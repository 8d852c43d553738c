"""Network appliances on the lab: deploy one per host of a 4-host cluster, pinned, reserved,
latency-sensitive and wired; a second run changes nothing; a new host gets one; removal leaves
no protected VM without a path; a failing health probe is reported.

Every result is read back through a separate inventory pass and plain pyVmomi.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from vnettool.appliances import manager
from vnettool.inventory import collect
from vnettool.models.appliance import ApplianceSpec
from vnettool.models.plan import Plan, Result
from vnettool.vsphere.connection import Session
from vnettool.vsphere.tasks import wait_task

pytestmark = pytest.mark.lab

CLUSTER = "DC0_C0"
TARGET = {"cluster": CLUSTER}
SPEC: dict[str, Any] = {
    "name": "fw",
    "role": "firewall",
    "source": {"template": "fw-template"},
    "resources": {
        "cpus": 2,
        "memory_mb": 1024,
        "cpu_reservation_mhz": 2000,
        "latency_sensitivity": "high",
    },
    "networks": {
        "management": "VM Network",
        "unprotected": "DC0_DVPG0",
        "protected": "fw-protected",
    },
    "segment": {"kind": "vss", "switch": "vSwitch-fw"},
    "protect": {"vms": ["DC0_C0_RP0_VM*"], "from_portgroup": "DC0_DVPG0"},
}


def spec(**over: Any) -> ApplianceSpec:
    return ApplianceSpec.model_validate({**SPEC, **over})


def obj(s: Session, kind: Any, name: str) -> Any:
    view = s.content.viewManager.CreateContainerView(s.content.rootFolder, [kind], True)
    try:
        return next(o for o in view.view if o.name == name)
    finally:
        view.Destroy()


def make_template(s: Session, source: str = "DC0_C0_RP0_VM0", name: str = "fw-template") -> None:
    vm = obj(s, vim.VirtualMachine, source)
    folder = vm.parent
    spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), template=True, powerOn=False)
    wait_task(s, vm.CloneVM_Task(folder, name, spec), "CloneVM_Task", name)


def run(
    s: Session, sp: ApplianceSpec, action: str = "deploy", cluster: str = CLUSTER
) -> tuple[Plan, list[Result]]:
    inv = collect(s)
    hosts = [h for h in inv.hosts if h.cluster == cluster]
    p = manager.plan(action, s, sp, inv, hosts, {"cluster": cluster})
    return p, manager.apply(p, s)


def replan(s: Session, sp: ApplianceSpec, action: str = "deploy") -> Plan:
    inv = collect(s)
    hosts = [h for h in inv.hosts if h.cluster == CLUSTER]
    return manager.plan(action, s, sp, inv, hosts, TARGET)


@pytest.fixture
def lab4(fresh_lab: Any) -> Iterator[tuple[RunningLab, Session]]:
    running = fresh_lab(cluster=2, host=4, vm=4)
    with running.session() as s:
        make_template(s)
        yield running, s


def failures(results: list[Result]) -> list[str]:
    return [f"{r.change.summary()}: {r.error}" for r in results if r.failed or r.skipped]


def test_deploy_one_pinned_reserved_latency_sensitive_appliance_per_host(
    lab4: tuple[RunningLab, Session],
) -> None:
    _, s = lab4
    sp = spec()
    p, results = run(s, sp)
    assert not failures(results), failures(results)
    created = [c for c in p.changes if c.resource == "appliance" and c.kind == "create"]
    assert len(created) == 4
    assert replan(s, sp).empty, "second plan must be empty"

    # read back with plain pyVmomi
    cluster = obj(s, vim.ClusterComputeResource, CLUSTER)
    rules = {r.name: r for r in cluster.configurationEx.rule}
    groups = {g.name: g for g in cluster.configurationEx.group}
    for host in cluster.host:
        vm = obj(s, vim.VirtualMachine, f"fw-{host.name}")
        assert vm.runtime.host == host
        assert vm.runtime.powerState == "poweredOn"
        assert vm.config.latencySensitivity.level == "high"
        assert vm.config.cpuAllocation.reservation == 2000
        assert vm.config.memoryAllocation.reservation == 1024
        assert vm.config.memoryReservationLockedToMax
        rule = rules[f"vnettool-fw-{host.name}-pin"]
        assert rule.mandatory and rule.enabled
        assert groups[rule.affineHostGroupName].host == [host]
        assert groups[rule.vmGroupName].vm == [vm]
        nics = [
            d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
        ]
        assert [n.connectable.connected for n in nics] == [True, True, True]
        assert nics[0].backing.deviceName == "VM Network"
        assert nics[2].backing.deviceName == "fw-protected"
    # the protected VMs sit behind the appliance of their host
    inv = collect(s)
    protected = [
        v for v in inv.vms if v.name.startswith("DC0_C0_RP0_VM") and v.name != "fw-template"
    ]
    assert protected and all(n.network == "fw-protected" for v in protected for n in v.nics)
    assert all(not sw.uplinks for sw in inv.standard_switches if sw.name == "vSwitch-fw")
    statuses = manager.status(s, sp, inv, [h for h in inv.hosts if h.cluster == CLUSTER])
    assert len(statuses) == 4 and all(st.compliant and st.health == "ok" for st in statuses)
    assert sum(st.protected_vms for st in statuses) == len(protected)


def test_pinning_blocks_vmotion_and_drift_is_repaired(lab4: tuple[RunningLab, Session]) -> None:
    _, s = lab4
    sp = spec(protect=None)
    _, results = run(s, sp)
    assert not failures(results)
    h0, h1 = obj(s, vim.ClusterComputeResource, CLUSTER).host[:2]
    vm = obj(s, vim.VirtualMachine, f"fw-{h0.name}")
    with pytest.raises(Exception, match=r"VmHostAffinityRuleViolation|violate"):
        wait_task(s, vm.RelocateVM_Task(vim.vm.RelocateSpec(host=h1)), "RelocateVM_Task", vm.name)
    # someone lowers the reservation and unplugs the protected side: the plan shows exactly that
    cfg = vim.vm.ConfigSpec(
        cpuAllocation=vim.ResourceAllocationInfo(
            reservation=0, limit=-1, shares=vim.SharesInfo(level="normal", shares=0)
        )
    )
    wait_task(s, vm.ReconfigVM_Task(cfg), "ReconfigVM_Task", vm.name)
    p = replan(s, sp)
    assert [(c.name, sorted(d.field for d in c.diffs)) for c in p.changes] == [
        (vm.name, ["cpu_reservation_mhz"])
    ]
    manager.apply(p, s)
    assert replan(s, sp).empty


def test_new_host_in_cluster_gets_one_appliance(lab4: tuple[RunningLab, Session]) -> None:
    _, s = lab4
    sp = spec(protect=None)
    _, results = run(s, sp)
    assert not failures(results)
    # a host of the other cluster joins this one (MoveInto, as an admin would drag it)
    newcomer = obj(s, vim.ClusterComputeResource, "DC0_C1").host[0]
    wait_task(s, newcomer.EnterMaintenanceMode_Task(0), "EnterMaintenanceMode_Task", newcomer.name)
    cluster = obj(s, vim.ClusterComputeResource, CLUSTER)
    wait_task(s, cluster.MoveInto_Task([newcomer]), "MoveInto_Task", newcomer.name)
    p = replan(s, sp)
    assert not [c for c in p.changes if c.resource == "appliance"], "none in maintenance mode"
    assert {c.host for c in p.changes} == {newcomer.name}  # its segment is prepared already
    wait_task(s, newcomer.ExitMaintenanceMode_Task(0), "ExitMaintenanceMode_Task", newcomer.name)
    p = replan(s, sp)
    appliances = [c for c in p.changes if c.resource == "appliance"]
    assert [(c.kind, c.name) for c in appliances] == [("create", f"fw-{newcomer.name}")]


def test_remove_rehomes_protected_vms_first(lab4: tuple[RunningLab, Session]) -> None:
    _, s = lab4
    sp = spec()
    _, results = run(s, sp)
    assert not failures(results)
    p, results = run(s, sp, "remove")
    assert not failures(results), failures(results)
    kinds = [(c.resource, c.kind) for c in p.changes]
    first_delete = kinds.index(("appliance", "delete"))
    assert all(k[0] == "vm_nic_migration" for k in kinds[:first_delete])
    inv = collect(s)
    assert not [v for v in inv.vms if v.name.startswith("fw-") and not v.template]
    stranded = [v.name for v in inv.vms for n in v.nics if n.network == "fw-protected"]
    assert stranded == []
    assert all(
        n.network == "DC0_DVPG0"
        for v in inv.vms
        if v.name.startswith("DC0_C0_RP0_VM") and not v.template
        for n in v.nics
    )
    cluster = obj(s, vim.ClusterComputeResource, CLUSTER)
    assert not [r for r in cluster.configurationEx.rule if r.name.startswith("vnettool-fw")]
    assert replan(s, sp, "remove").empty


def test_failed_health_probe_is_reported_and_protects_nothing(
    lab4: tuple[RunningLab, Session],
) -> None:
    _, s = lab4
    with socket.socket() as probe:  # a port that is certainly closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sp = spec(health={"port": port, "address": "127.0.0.1", "timeout_s": 1})
    _, results = run(s, sp)
    failed = [r for r in results if r.failed]
    assert len(failed) == 4 and all("not healthy" in (r.error or "") for r in failed)
    skipped = [r for r in results if r.skipped]
    assert skipped and all(r.change.resource == "vm_nic_migration" for r in skipped)
    inv = collect(s)
    assert not [
        v
        for v in inv.vms
        for n in v.nics
        if n.network == "fw-protected" and not v.name.startswith("fw-")
    ]
    statuses = manager.status(s, sp, inv, [h for h in inv.hosts if h.cluster == CLUSTER])
    assert statuses and all(
        st.health == "failed" and "127.0.0.1" in st.health_detail for st in statuses
    )


def test_example_playbook_cli_status_audit_and_remove(fresh_lab: Any, tmp_path: Any) -> None:
    """The issue's "done when": the example playbook deploys, a second run changes nothing,
    status and the audit's Appliances tab agree, `appliance remove` leaves no VM stranded."""
    import openpyxl

    from tests.lab.test_engine import ROOT, vnettool
    from vnettool.lab.control import request

    running = fresh_lab(cluster=2, host=4, vm=8)
    request(running.lab, "POST", "template", {"name": "fw-template"})
    book = str(ROOT / "playbooks" / "appliance-firewall.yml")
    first = vnettool(running, "run", book, "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "4 appliance(s), 0 unhealthy" in first.stdout
    second = vnettool(running, "run", book, "--yes")
    assert second.returncode == 0 and "in desired state (empty plan)" in second.stdout
    st = vnettool(running, "appliance", "status", book, "--json")
    assert st.returncode == 0, st.stderr
    rows = __import__("json").loads(st.stdout)
    assert len(rows) == 4 and all(r["health"] == "ok" and r["pinned"] for r in rows)
    out = tmp_path / "audit.xlsx"
    audit = vnettool(
        running, "audit", "--out", str(out), "--appliances", book, "--fail-on", "never"
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    ws = openpyxl.load_workbook(out, read_only=True)["Appliances"]
    values = [[c for c in r] for r in ws.iter_rows(values_only=True)]
    assert sorted(r[0] for r in values[1:]) == sorted(r["vm"] for r in rows)
    gone = vnettool(running, "appliance", "remove", book, "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    with running.session() as s:
        inv = collect(s)
    assert not [v.name for v in inv.vms if v.name.startswith("fw-DC0")]
    assert not [v.name for v in inv.vms for n in v.nics if n.network == "fw-protected"]


def test_per_cluster_pair_on_a_pvlan_segment(lab4: tuple[RunningLab, Session]) -> None:
    """Two load balancers per cluster, kept apart by a mandatory anti-affinity rule, on the
    promiscuous primary of a PVLAN whose isolated secondary holds the protected VMs."""
    _, s = lab4
    sp = spec(
        name="lb",
        role="load-balancer",
        placement={"per": "cluster", "count": 2},
        resources={"cpus": 1, "memory_mb": 512, "latency_sensitivity": "normal"},
        networks={
            "management": "VM Network",
            "unprotected": "DC0_DVPG1",
            "protected": "lb-isolated",
        },
        segment={
            "kind": "pvlan",
            "switch": "DVS0",
            "primary": 500,
            "isolated": 501,
            "appliance_portgroup": "lb-promiscuous",
        },
        protect={"vms": ["DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2"], "from_portgroup": "DC0_DVPG0"},
    )
    p, results = run(s, sp)
    assert not failures(results), failures(results)
    assert sorted(c.name for c in p.changes if c.resource == "appliance") == [
        "lb-DC0_C0-0",
        "lb-DC0_C0-1",
        "vnettool-lb-DC0_C0-anti",
    ]
    assert replan(s, sp).empty
    cluster = obj(s, vim.ClusterComputeResource, CLUSTER)
    (rule,) = [r for r in cluster.configurationEx.rule if r.name == "vnettool-lb-DC0_C0-anti"]
    assert isinstance(rule, vim.cluster.AntiAffinityRuleSpec) and rule.mandatory
    assert sorted(v.name for v in rule.vm) == ["lb-DC0_C0-0", "lb-DC0_C0-1"]
    inv = collect(s)
    lbs = [v for v in inv.vms if v.name.startswith("lb-")]
    assert len({v.host for v in lbs}) == 2, "on distinct hosts"
    assert all(v.nics[2].network == "lb-promiscuous" for v in lbs)
    dvs = inv.dvs_by_name["DVS0"]
    assert {(e.primary_id, e.secondary_id, e.type) for e in dvs.pvlans} >= {
        (500, 500, "promiscuous"),
        (500, 501, "isolated"),
    }
    pg = next(p for p in inv.distributed_port_groups if p.name == "lb-isolated")
    assert pg.vlan.pvlan_id == 501
    moved = [v for v in inv.vms if v.name in ("DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2")]
    assert all(n.network == "lb-isolated" for v in moved for n in v.nics)


def test_tcp_health_probe_passes_when_the_port_answers(lab4: tuple[RunningLab, Session]) -> None:
    _, s = lab4
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        sp = spec(protect=None, health={"port": port, "address": "127.0.0.1", "timeout_s": 5})
        _, results = run(s, sp)
        assert not failures(results), failures(results)
        assert all(
            r.change.facts.health == f"tcp 127.0.0.1:{port} open"
            for r in results
            if r.change.resource == "appliance"
        )


def test_host_in_maintenance_protected_vms_first_then_appliance_parked(
    lab4: tuple[RunningLab, Session],
) -> None:
    _, s = lab4
    sp = spec()
    _, results = run(s, sp)
    assert not failures(results)
    inv = collect(s)
    host = next(h for h in inv.hosts if h.cluster == CLUSTER and len(h.vms) > 2)
    behind = sorted(
        v.name for v in inv.vms if v.host == host.name and v.name.startswith("DC0_C0_RP0_VM")
    )
    assert behind
    h = obj(s, vim.HostSystem, host.name)
    wait_task(s, h.EnterMaintenanceMode_Task(0), "EnterMaintenanceMode_Task", host.name)
    p, results = run(s, sp)
    assert not failures(results), failures(results)
    order = [(c.resource, c.name) for c in p.changes]
    assert order[-1] == ("appliance", f"fw-{host.name}")
    assert sorted(n.split("/")[0] for r, n in order[:-1]) == behind
    inv = collect(s)
    assert all(n.network == "DC0_DVPG0" for v in inv.vms if v.name in behind for n in v.nics)
    fw = obj(s, vim.VirtualMachine, f"fw-{host.name}")
    assert fw.runtime.powerState == "poweredOff"
    assert replan(s, sp).empty
    wait_task(s, h.ExitMaintenanceMode_Task(0), "ExitMaintenanceMode_Task", host.name)
    p, results = run(s, sp)
    assert not failures(results), failures(results)
    assert fw.runtime.powerState == "poweredOn"
    inv = collect(s)
    assert all(n.network == "fw-protected" for v in inv.vms if v.name in behind for n in v.nics)
    assert replan(s, sp).empty


def _state(s: Session) -> dict[str, Any]:
    """What an appliance run changes, read back with plain pyVmomi and a fresh inventory."""
    inv = collect(s)
    cluster = obj(s, vim.ClusterComputeResource, CLUSTER)
    ex = cluster.configurationEx
    return {
        "vms": sorted(v.name for v in inv.vms if v.name.startswith("fw-") and not v.template),
        "protected": sorted(
            (v.name, n.network, n.connected)
            for v in inv.vms
            if v.name.startswith("DC0_C0_RP0_VM")
            for n in v.nics
        ),
        "segment": sorted(
            (p.host, p.name) for p in inv.standard_port_groups if p.name == "fw-protected"
        )
        + sorted((w.host, w.name) for w in inv.standard_switches if w.name == "vSwitch-fw"),
        "drs": sorted(r.name for r in ex.rule if r.name.startswith("vnettool-"))
        + sorted(g.name for g in ex.group if g.name.startswith("vnettool-")),
    }


def test_an_appliance_run_is_journaled_and_rolled_back(
    lab4: tuple[RunningLab, Session], tmp_path: Any
) -> None:
    """Appliance, segment and protected-VM moves go back from the run journal: the VMs and
    their DRS pins are removed, the VMs moved home, the segment deleted; a second rollback
    plans nothing."""
    from vnettool.engine import rollback
    from vnettool.engine.journal import Journal, RunRecord

    _, s = lab4
    sp = spec()
    before = _state(s)
    inv = collect(s)
    hosts = [h for h in inv.hosts if h.cluster == CLUSTER]
    p = manager.plan("deploy", s, sp, inv, hosts, TARGET)
    journal = Journal.for_session(s, "appliance deploy fw", directory=tmp_path)
    results = manager.apply(p, s, journal=journal)
    journal.end(verified=None, remaining=None)
    assert not failures(results), failures(results)
    deployed = _state(s)
    assert deployed["vms"] and deployed["drs"] and deployed["segment"] != before["segment"]

    record = RunRecord(journal.path)
    rb = rollback(record.results, collect(s))
    assert rb.unrestorable == [] and rb.conflicts == []
    kinds = sorted({(c.resource, c.kind) for c in rb.plan.changes})
    assert ("appliance", "delete") in kinds and ("vm_nic_migration", "update") in kinds
    back = manager.apply(rb.plan, s)
    assert not failures(back), failures(back)
    assert _state(s) == before
    assert rollback(record.results, collect(s)).plan.empty
    assert replan(s, sp).changes == p.changes


def test_rolling_back_a_removal_plugs_the_protected_nics_in_and_names_the_deleted_vms(
    lab4: tuple[RunningLab, Session],
) -> None:
    from vnettool.engine import rollback

    _, s = lab4
    sp = spec(on_remove="disconnect")
    _, results = run(s, sp)
    assert not failures(results), failures(results)
    deployed = _state(s)
    p, removed = run(s, sp, action="remove")
    assert not failures(removed), failures(removed)
    unplugged = [c for c in p.changes if c.resource == "protected_nic_disconnect"]
    assert unplugged and not [x for x in _state(s)["protected"] if x[2]]
    rb = rollback(removed, collect(s))
    deleted = sorted(c.name for c in p.changes if c.resource == "appliance")
    assert rb.unrestorable == [
        f"delete appliance {c.host}: {c.name}: a removed appliance is not re-created by "
        "--rollback; deploy its definition again (vnettool appliance deploy)"
        for c in p.changes
        if c.resource == "appliance"
    ]
    assert deleted and sorted(c.name for c in rb.plan.changes) == sorted(c.name for c in unplugged)
    back = manager.apply(rb.plan, s)
    assert not failures(back), failures(back)
    assert _state(s)["protected"] == deployed["protected"]
    assert rollback(removed, collect(s)).plan.empty
