"""The engine core without a server: ordering, the executor's guarantees, rollback, journals."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.factories import lab_inventory as inventory
from tests.unit.test_engine_plan import VMOTION_DOC, desired
from vnettool.engine import UnsafePlan, apply, plan, rollback_plan
from vnettool.engine.core import run_changes
from vnettool.engine.journal import Journal, find_run
from vnettool.errors import ConfigError
from vnettool.models.inventory import VmkernelAdapter
from vnettool.models.plan import Change, Facts, Plan, Result
from vnettool.playbook.desired_file import load_desired
from vnettool.playbook.errors import PlaybookError


def test_pnic_handoff_between_switches_orders_the_giver_first() -> None:
    doc = {
        "standard_switches": [
            # Listed (and named) so that the claimer sorts first without the dependency.
            {"name": "vSwitch-a", "uplinks": ["vmnic0"]},
            {"name": "vSwitch0", "uplinks": ["vmnic1"]},
        ]
    }
    p = plan(desired(**doc), inventory(1))
    assert [c.name for c in p.changes] == ["vSwitch0", "vSwitch-a"]
    claimer = p.changes[1]
    assert claimer.depends_on == ["standard_switch:esx1:vSwitch0"]


def test_two_switches_claiming_one_pnic_is_a_plan_error() -> None:
    doc = {
        "standard_switches": [
            {"name": "vSwitch1", "uplinks": ["vmnic2"]},
            {"name": "vSwitch2", "uplinks": ["vmnic2"]},
        ]
    }
    with pytest.raises(ConfigError, match=r"vmnic2 \(on vSwitch1\)"):
        plan(desired(**doc), inventory(1))


def _changes(n_hosts: int, per_host: int, chain: bool = False) -> list[Change]:
    out = []
    for h in range(n_hosts):
        prev = None
        for i in range(per_host):
            c = Change(
                kind="create",
                resource="standard_port_group",
                host=f"h{h}",
                name=f"pg{i}",
                depends_on=[prev] if chain and prev else [],
            )
            prev = c.id
            out.append(c)
    return out


class Recorder:
    """Counts concurrency per host and overall while 'applying' by sleeping."""

    def __init__(self, fail: set[str] | None = None, delay: float = 0.01) -> None:
        self.lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.total = 0
        self.max_total = 0
        self.max_per_host = 0
        self.order: list[str] = []
        self.fail = fail or set()
        self.delay = delay

    def __call__(self, c: Change) -> Result:
        host = c.host or ""
        with self.lock:
            self.active[host] = self.active.get(host, 0) + 1
            self.total += 1
            self.max_total = max(self.max_total, self.total)
            self.max_per_host = max(self.max_per_host, self.active[host])
            self.order.append(c.id)
        time.sleep(self.delay)
        with self.lock:
            self.active[host] -= 1
            self.total -= 1
        failed = c.id in self.fail
        return Result(change=c, changed=not failed, failed=failed, error="boom" if failed else None)


def test_executor_bounds_workers_and_serializes_each_host() -> None:
    rec = Recorder()
    changes = _changes(12, 3)
    results = run_changes(changes, rec, workers=4)
    assert [r.change.id for r in results] == [c.id for c in changes]
    assert all(r.changed for r in results)
    assert rec.max_total == 4
    assert rec.max_per_host == 1
    # Within a host the plan order holds.
    for h in range(12):
        mine = [i for i in rec.order if i.split(":")[1] == f"h{h}"]
        assert mine == [c.id for c in changes if c.host == f"h{h}"]


def test_executor_runs_hosts_concurrently() -> None:
    rec = Recorder(delay=0.05)
    start = time.perf_counter()
    run_changes(_changes(8, 2), rec, workers=8)
    elapsed = time.perf_counter() - start
    serial = 16 * 0.05
    assert rec.max_total == 8
    assert elapsed < serial / 2


def test_failure_skips_dependents_and_reports_the_rest() -> None:
    changes = _changes(2, 3, chain=True)
    rec = Recorder(fail={"standard_port_group:h0:pg1"})
    seen: list[Result] = []
    results = run_changes(changes, rec, workers=2, on_result=seen.append)
    by_id = {r.change.id: r for r in results}
    assert by_id["standard_port_group:h0:pg0"].changed
    assert by_id["standard_port_group:h0:pg1"].failed
    assert by_id["standard_port_group:h0:pg1"].error == "boom"
    skipped = by_id["standard_port_group:h0:pg2"]
    assert skipped.skipped and not skipped.changed
    assert "standard_port_group:h0:pg1" in (skipped.error or "")
    assert all(by_id[f"standard_port_group:h1:pg{i}"].changed for i in range(3))
    assert "standard_port_group:h0:pg2" not in rec.order
    assert len(seen) == 6


def test_unsafe_plan_is_refused_before_any_call() -> None:
    p = plan(desired(absent={"standard_switches": ["vSwitch0"]}), inventory(1))
    with pytest.raises(UnsafePlan, match=r"--force.*\n.*management vmknic vmk0"):
        apply(p, session=None)  # type: ignore[arg-type]  # refused before the session is used


def test_empty_plan_applies_nothing() -> None:
    assert apply(Plan(), session=None) == []  # type: ignore[arg-type]


def _applied(p: Plan, facts: dict[str, dict[str, Any]] | None = None) -> list[Result]:
    """Results as a run records them (every change succeeded)."""
    out = []
    for c in p.changes:
        f = (facts or {}).get(c.id, {})
        out.append(
            Result(
                change=c.model_copy(update={"facts": Facts.model_validate(f)}),
                changed=True,
                diff=c.diffs,
            )
        )
    return out


def test_rollback_undoes_creates_in_reverse_order() -> None:
    before = inventory(2)
    p = plan(desired(**VMOTION_DOC), before)
    # The state after the run: what the plan created, with the device the server chose.
    after = inventory(2, with_vswitch1=True)
    back = rollback_plan(
        _applied(p, {f"vmkernel_adapter:esx{i}:pg-vmotion": {"device": "vmk1"} for i in (1, 2)}),
        after,
    )
    kinds = [(c.resource, c.kind, c.host) for c in back.changes if c.host == "esx1"]
    assert kinds == [
        ("vmkernel_adapter", "delete", "esx1"),
        ("standard_port_group", "delete", "esx1"),
        ("standard_switch", "delete", "esx1"),
    ]
    assert back.changes[0].device == "vmk1"
    # Rolled back already: nothing left to do.
    assert rollback_plan(_applied(p), before).empty


def test_rollback_restores_updated_fields_including_unset_overrides() -> None:
    inv = inventory(1, with_vswitch1=True)
    doc = {
        "standard_switches": [{"name": "vSwitch1", "mtu": 1500}],
        "standard_port_groups": [
            {
                "name": "pg-vmotion",
                "switch": "vSwitch1",
                "vlan": 30,
                "security": {"promiscuous": True},
            }
        ],
        "vmkernel_adapters": [{"portgroup": "pg-vmotion", "services": ["vmotion", "vsan"]}],
    }
    p = plan(desired(**doc), inv)
    assert len(p.changes) == 3
    # Pretend the run happened: the inventory now equals each change's after-state.
    sw = [
        s.model_copy(update={"mtu": 1500}) if s.name == "vSwitch1" else s
        for s in inv.standard_switches
    ]
    pg_after = p.changes[1].after.model_dump(mode="json")
    pgs = [
        p_.model_validate(pg_after) if p_.name == "pg-vmotion" else p_
        for p_ in inv.standard_port_groups
    ]
    vmks = [
        v.model_copy(update={"services": ["vmotion", "vsan"]}) if v.device == "vmk1" else v
        for v in inv.vmkernel_adapters
    ]
    now = inv.model_copy(
        update={"standard_switches": sw, "standard_port_groups": pgs, "vmkernel_adapters": vmks}
    )
    assert plan(desired(**doc), now).empty
    back = rollback_plan(_applied(p), now)
    shown = {(c.resource, d.field): (d.before, d.after) for c in back.changes for d in c.diffs}
    assert shown[("standard_switch", "mtu")] == (1500, 9000)
    assert shown[("standard_port_group", "vlan")] == (30, 20)
    # The override is removed again (inherit), not set to False.
    assert shown[("standard_port_group", "security.promiscuous")] == (True, None)
    assert shown[("vmkernel_adapter", "services")] == (["vmotion", "vsan"], ["vmotion"])


def test_rollback_recreates_a_deleted_vmknic() -> None:
    inv = inventory(1, with_vswitch1=True)
    p = plan(desired(absent={"vmkernel_adapters": [{"device": "vmk1"}]}), inv)
    gone = inv.model_copy(
        update={"vmkernel_adapters": [v for v in inv.vmkernel_adapters if v.device != "vmk1"]}
    )
    back = rollback_plan(_applied(p), gone)
    (c,) = back.changes
    assert c.kind == "create"
    again = VmkernelAdapter.model_validate(c.after.model_dump(mode="json"))
    assert (again.portgroup, again.ip, again.mtu, again.services) == (
        "pg-vmotion",
        "10.10.0.1",
        9000,
        ["vmotion"],
    )


def test_journal_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path))
    p = plan(desired(**VMOTION_DOC), inventory(1))
    j = Journal(source="x.yml", vcenter="vc", instance="uuid-1")
    for r in _applied(p):
        j.intent(r.change)
        j.result(r)
    j.end(verified=True, remaining=0)
    assert j.path.parent == tmp_path / "runs"
    rec = find_run("last")
    assert rec.id == j.id
    assert [r.change.id for r in rec.results] == [c.id for c in p.changes]
    assert rec.end is not None and rec.end["verified"] is True
    assert find_run(j.id[:12]).id == j.id
    assert find_run(str(j.path)).id == j.id
    with pytest.raises(ConfigError, match="no run matches"):
        find_run("nope")


def test_load_desired_locates_errors(tmp_path: Path) -> None:
    f = tmp_path / "d.yml"
    f.write_text("standard_switches:\n  - name: vSwitch1\n    mtuu: 9000\n")
    with pytest.raises(PlaybookError) as exc:
        load_desired(f)
    (issue,) = exc.value.issues
    assert (issue.location.line, issue.location.col) == (3, 5)
    assert issue.hint == "did you mean 'mtu'?"
    f.write_text("steps: []\n")
    with pytest.raises(PlaybookError, match="vnettool run"):
        load_desired(f)


def test_example_playbooks_load() -> None:
    root = Path(__file__).resolve().parents[2] / "playbooks"
    for name in ("standard-vmotion.yml", "standard-portgroups.yml"):
        d = load_desired(root / name)
        assert d.standard_switches or d.standard_port_groups


def test_apply_order_comes_from_each_resource_after() -> None:
    """core.py names no resource: the order is the registry's, derived from AFTER, and it is
    the apply order plans have always had (ties keep the registration order)."""
    from types import SimpleNamespace

    from vnettool.engine.core import RESOURCES
    from vnettool.engine.registry import RESOURCES as REGISTERED
    from vnettool.engine.registry import apply_order

    assert list(RESOURCES) == [
        "standard_switch",
        "standard_port_group",
        "distributed_switch",
        "lag",
        "dvs_host_uplinks",
        "pvlan",
        "netflow",
        "nioc_pool",
        "distributed_port_group",
        "mirror",
        "health_check",
        "traffic_rules",
        "vmkernel_adapter",
        "vmknic_migration",
        "vm_nic_migration",
        "vm_relocation",
        "host_settings",
        "vm_settings",
        "appliance",
        "protected_nic_disconnect",
    ]
    seen: set[str] = set()
    for m in apply_order(REGISTERED):
        assert set(m.after) <= seen, m.name
        seen.add(m.name)
    # registered out of order: still sorted by `after`
    a, b = SimpleNamespace(name="a", after=("b",)), SimpleNamespace(name="b", after=())
    assert [m.name for m in apply_order([a, b])] == ["b", "a"]  # type: ignore[list-item]
    with pytest.raises(ValueError, match="cycle"):
        apply_order([a, SimpleNamespace(name="b", after=("a",))])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unregistered"):
        apply_order([a])  # type: ignore[list-item]
