"""A bulk plan stays exact where it was made cheaper.

- The blast radius skips tracing a standard port group that no endpoint of its host uses or
  names (most of a bulk create); the plan must be the same as with every change traced,
  including the port groups that VM NICs name before they exist and the one a vmknic is on.
- The planner pauses the cyclic garbage collector; it must give it back as it found it,
  also when the plan is refused.
"""

from __future__ import annotations

import gc

import pytest

from tests.factories import lab_inventory, vm, vm_nic
from vnettool.engine import plan
from vnettool.engine.common import PlanError
from vnettool.impact.blast import World
from vnettool.models.desired import DesiredState
from vnettool.models.impact import Impact
from vnettool.models.inventory import Inventory


def _inventory() -> Inventory:
    base = lab_inventory(3, with_vswitch1=True)
    vms = [
        # a NIC whose network does not exist yet: creating it reconnects the NIC
        vm("app1", "vm-1", "esx1", power_state="poweredOn", nics=[vm_nic("scale-001")]),
        vm("app2", "vm-2", "esx2", power_state="poweredOn", nics=[vm_nic("pg-vmotion")]),
    ]
    return base.model_copy(update={"vms": vms})


def _desired() -> DesiredState:
    pgs = [{"name": f"scale-{i:03d}", "switch": "vSwitch0", "vlan": 100 + i} for i in range(4)]
    pgs.append({"name": "pg-vmotion", "switch": "vSwitch1", "vlan": 30})  # vmk1 + app2 on it
    return DesiredState.model_validate({"standard_port_groups": pgs})


def test_skipping_unused_port_groups_gives_the_same_plan() -> None:
    inv, desired = _inventory(), _desired()
    fast = plan(desired, inv)
    World.skip_unused = False
    try:
        full = plan(desired, inv)
    finally:
        World.skip_unused = True
    assert fast == full
    assert len(fast.changes) == 3 * 4 + 3
    # the shortcut was not taken where it matters: these changes have real impact
    impact = {(c.host, c.name): c.impact for c in fast.changes}
    assert [t.key for t in impact["esx1", "scale-001"].vlan_changed] == ["vm:app1/nic1"]
    assert [t.key for t in impact["esx1", "pg-vmotion"].vlan_changed] == ["vmk:esx1/vmk1"]
    assert impact["esx1", "scale-002"] == Impact(stays=3)


@pytest.mark.parametrize("enabled", [True, False])
def test_plan_gives_the_collector_back_as_it_found_it(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        plan(_desired(), _inventory())
        assert gc.isenabled() is enabled
        bad = DesiredState.model_validate(
            {"standard_port_groups": [{"name": "x", "switch": "vSwitch9", "vlan": 5}]}
        )
        with pytest.raises(PlanError):
            plan(bad, _inventory())
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
