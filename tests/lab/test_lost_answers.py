"""Lost answers: every write the engine and the appliances send runs on the lab, and its answer
never comes back (the lab's `lose` action: the call runs, then the connection is closed).

The client must neither send a write twice (a second adapter with the same address, a
second LAG, a failed "add" of what the first one created) nor report an applied change as
failed: every run completes, the re-plan is empty, nothing is duplicated. Each method's loss
is counted in the fault table (tests/lab/conftest.py) as "lost responses correct".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.lab.conftest import FaultRow, record
from tests.lab.test_appliances import make_template, obj, run, spec
from vnettool.engine import apply, plan
from vnettool.inventory import collect
from vnettool.lab.faults import add_fault, clear_faults, list_faults
from vnettool.models.desired import DesiredState
from vnettool.models.plan import Result
from vnettool.vsphere.connection import Session
from vnettool.vsphere.vm import relocate

pytestmark = pytest.mark.lab

ENGINE_WRITES = {
    "AddVirtualSwitch",
    "UpdateVirtualSwitch",
    "RemoveVirtualSwitch",
    "AddPortGroup",
    "UpdatePortGroup",
    "RemovePortGroup",
    "AddVirtualNic",
    "UpdateVirtualNic",
    "RemoveVirtualNic",
    "SelectVnicForNicType",
    "DeselectVnicForNicType",
    "EnableNetworkResourceManagement",
    "CreateDVS_Task",
    "ReconfigureDvs_Task",
    "AddDVPortgroup_Task",
    "ReconfigureDVPortgroup_Task",
    "UpdateDVSLacpGroupConfig_Task",
    "Destroy_Task",
    "ReconfigVM_Task",
}
APPLIANCE_WRITES = {
    "CloneVM_Task",
    "ReconfigVM_Task",
    "PowerOnVM_Task",
    "PowerOffVM_Task",
    "ReconfigureComputeResource_Task",
    "Destroy_Task",
    "RelocateVM_Task",
}


class Losses:
    """Loses the first answer of every write method, phase after phase; counts what fired."""

    def __init__(self, lab: RunningLab, methods: set[str]) -> None:
        self.lab, self.methods = lab, methods
        self.fired: Counter[str] = Counter()

    def phase(self, fn: Callable[[], None]) -> None:
        for m in sorted(self.methods):
            add_fault(m, "lose", count=1, lab=self.lab.lab)
        try:
            fn()
        finally:
            left = {r["method"] for r in list_faults(self.lab.lab)}
            clear_faults(self.lab.lab)
        self.fired.update(self.methods - left)


def applied(session: Session, doc: dict[str, Any]) -> list[Result]:
    """Apply; every change reported applied, and the re-plan (a fresh read) is empty."""
    desired = DesiredState.model_validate(doc)
    p = plan(desired, collect(session))
    assert not p.empty, "the step changes something"
    results = apply(p, session)
    assert [(r.change.id, r.error) for r in results if not r.changed] == []
    again = plan(desired, collect(session))
    assert again.empty, [c.summary() for c in again.changes]
    return results


def step(session: Session, doc: dict[str, Any]) -> None:
    applied(session, doc)
    no_duplicates(session)


def no_duplicates(session: Session) -> None:
    inv = collect(session)
    addresses = Counter((v.host, v.ip) for v in inv.vmkernel_adapters if v.ip)
    assert [a for a, n in addresses.items() if n > 1] == []
    per_pg = Counter((v.host, v.portgroup) for v in inv.vmkernel_adapters if v.portgroup)
    assert [a for a, n in per_pg.items() if n > 1] == []
    assert [n for n, k in Counter(d.name for d in inv.distributed_switches).items() if k > 1] == []
    for d in inv.distributed_switches:
        assert len({g.name for g in d.lags}) == len(d.lags)
    vms = Counter(v.name for v in inv.vms)
    assert [n for n, k in vms.items() if k > 1] == []


STANDARD: dict[str, Any] = {
    "target": {"cluster": "DC0_C0"},
    "standard_switches": [{"name": "vSwitch-la", "mtu": 1500, "uplinks": ["vmnic2"]}],
    "standard_port_groups": [{"name": "pg-la", "switch": "vSwitch-la", "vlan": 40}],
    "vmkernel_adapters": [
        {"portgroup": "pg-la", "ip": {"cidr": "172.20.0.{index+10}/24"}, "services": ["vmotion"]}
    ],
}
DISTRIBUTED: dict[str, Any] = {
    "target": {"cluster": "DC0_C0"},
    "distributed_switches": [
        {
            "name": "dvs-la",
            "max_mtu": 1500,
            "nioc": False,
            "lags": [{"name": "lag-la", "ports": 2, "mode": "active"}],
            "hosts": {"cluster": "DC0_C0", "uplinks": {"vmnic3": "uplink1"}},
        }
    ],
    "distributed_port_groups": [{"name": "dv-la", "switch": "dvs-la", "vlan": 41}],
    "migrations": {
        "vm_nics": [
            {
                "vms": ["DC0_C0_RP0_VM0"],
                "nic": "Network adapter 1",
                "from_portgroup": "VM Network",
                "to_portgroup": "dv-la",
            }
        ]
    },
}


@pytest.fixture
def llab(fresh_lab: Callable[..., RunningLab]) -> Iterator[RunningLab]:
    lab = fresh_lab(cluster=1, host=2, vm=2, dvs=0)
    yield lab
    clear_faults(lab.lab)


def test_engine_writes_whose_answer_is_lost_run_once_and_report_applied(llab: RunningLab) -> None:
    losses = Losses(llab, ENGINE_WRITES)
    with llab.session(insecure=True, thumbprint=None) as s:
        losses.phase(lambda: step(s, STANDARD))
        update = {
            **STANDARD,
            "standard_switches": [{"name": "vSwitch-la", "mtu": 9000, "uplinks": ["vmnic2"]}],
            "standard_port_groups": [{"name": "pg-la", "switch": "vSwitch-la", "vlan": 42}],
            "vmkernel_adapters": [
                {
                    "portgroup": "pg-la",
                    "ip": {"cidr": "172.20.1.{index+10}/24"},
                    "services": ["vsan"],
                }
            ],
        }
        losses.phase(lambda: step(s, update))
        losses.phase(lambda: step(s, DISTRIBUTED))
        dv_update = {
            "distributed_switches": [
                {
                    "name": "dvs-la",
                    "max_mtu": 9000,
                    "nioc": True,
                    "lags": [{"name": "lag-la", "mode": "passive"}],
                }
            ],
            "distributed_port_groups": [{"name": "dv-la", "switch": "dvs-la", "vlan": 43}],
        }
        losses.phase(lambda: step(s, dv_update))
        back = {
            "target": {"cluster": "DC0_C0"},
            "migrations": {
                "vm_nics": [
                    {
                        "vms": ["DC0_C0_RP0_VM0"],
                        "nic": "Network adapter 1",
                        "from_portgroup": "dv-la",
                        "to_portgroup": "VM Network",
                    }
                ]
            },
        }
        losses.phase(lambda: step(s, back))
        gone = {
            "target": {"cluster": "DC0_C0"},
            "absent": {
                "vmkernel_adapters": [{"portgroup": "pg-la"}],
                "standard_port_groups": ["pg-la"],
                "standard_switches": ["vSwitch-la"],
                "lags": ["dvs-la/lag-la"],
                "distributed_port_groups": ["dv-la"],
            },
        }
        losses.phase(lambda: step(s, gone))
        losses.phase(lambda: step(s, {"absent": {"distributed_switches": ["dvs-la"]}}))
    assert set(losses.fired) == ENGINE_WRITES, ENGINE_WRITES - set(losses.fired)
    n = sum(losses.fired.values())
    record(
        FaultRow(
            "lost answers (engine)",
            f"{len(ENGINE_WRITES)} write methods lose",
            n,
            f"{n}/{n} lost responses correct: applied once, reported applied",
            0,
            kind="lost answer",
        )
    )


def test_appliance_and_vmotion_writes_whose_answer_is_lost(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=2, host=4, vm=4)
    losses = Losses(lab, APPLIANCE_WRITES)
    sp = spec()
    try:
        with lab.session() as s:
            make_template(s)

            def deploy() -> None:
                _, results = run(s, sp)
                assert [(r.change.id, r.error) for r in results if not r.changed] == []
                p, _ = run(s, sp)
                assert p.empty, [c.summary() for c in p.changes]
                no_duplicates(s)

            def move() -> None:
                inv = collect(s)
                vm = next(v for v in inv.vms if v.name == "DC0_C1_RP0_VM0")
                other = next(h for h in inv.hosts if h.cluster == "DC0_C1" and h.name != vm.host)
                relocate(s, vm.moref, other.moref)
                assert obj(s, vim.VirtualMachine, vm.name).runtime.host.name == other.name

            def remove() -> None:
                _, results = run(s, sp, "remove")
                assert [(r.change.id, r.error) for r in results if not r.changed] == []
                p, _ = run(s, sp, "remove")
                assert p.empty, [c.summary() for c in p.changes]
                inv = collect(s)
                assert not [v for v in inv.vms if v.name.startswith("fw-") and not v.template]

            losses.phase(deploy)
            losses.phase(move)
            losses.phase(remove)
    finally:
        clear_faults(lab.lab)
    assert set(losses.fired) == APPLIANCE_WRITES, APPLIANCE_WRITES - set(losses.fired)
    n = sum(losses.fired.values())
    record(
        FaultRow(
            "lost answers (appliances)",
            f"{len(APPLIANCE_WRITES)} write methods lose",
            n,
            f"{n}/{n} lost responses correct: applied once, reported applied",
            0,
            kind="lost answer",
        )
    )
