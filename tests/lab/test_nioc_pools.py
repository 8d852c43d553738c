"""NIOC v3 network resource pools against the lab: apply twice (second plan empty), read back
with plain pyVmomi (the pools and each port group's pool key), an edit keeps vCenter's key,
removal after the port groups left the pool, exact rollback, and bad input refused at plan
time with nothing sent."""

from __future__ import annotations

from typing import Any

import pytest
from pyVmomi import vim

from tests.lab.test_dvs_services import _rolled_back
from tests.lab.test_engine import INSECURE
from tests.lab.test_engine_dvs import apply_and_check, dv_objects
from vnettool.engine import plan
from vnettool.engine.common import PlanError
from vnettool.inventory import collect
from vnettool.models.desired import DesiredState

pytestmark = pytest.mark.lab

DOC: dict[str, Any] = {
    "distributed_switches": [
        {
            "name": "DVS0",
            "traffic": {"virtualMachine": {"reservation_mbps": 500}},
            "nioc_pools": [
                {"name": "gold", "reservation_mbps": 600, "description": "tier 1"},
                {"name": "silver", "reservation_mbps": 200},
            ],
        }
    ],
    "distributed_port_groups": [
        {"name": "DC0_DVPG0", "switch": "DVS0", "nioc_pool": "gold"},
        {"name": "pg-silver", "switch": "DVS0", "vlan": 40, "nioc_pool": "silver"},
    ],
}


def _pools(s: Any) -> dict[str, Any]:
    sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
    return {p.name: p for p in sw.config.vmVnicNetworkResourcePool}


def test_network_resource_pools_apply_read_back_and_roll_back(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        before = collect(s)
        assert before.dvs_by_name["DVS0"].nioc_pools == []
        assert {p.nioc_pool for p in before.distributed_port_groups} == {""}
        results = apply_and_check(s, DOC)
        kinds = [r.change.resource for r in results]
        # the VM reservation first, then the pools, then the port groups naming them
        assert kinds.index("distributed_switch") < kinds.index("nioc_pool")
        assert max(i for i, k in enumerate(kinds) if k == "nioc_pool") < kinds.index(
            "distributed_port_group"
        )

        pools = _pools(s)  # an independent client's view
        assert {n: p.allocationInfo.reservationQuota for n, p in pools.items()} == {
            "gold": 600,
            "silver": 200,
        }
        assert pools["gold"].description == "tier 1"
        pgs = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)
        assert pgs["DC0_DVPG0"].config.vmVnicNetworkResourcePoolKey == pools["gold"].key
        assert pgs["pg-silver"].config.vmVnicNetworkResourcePoolKey == pools["silver"].key
        assert pgs["DC0_DVPG1"].config.vmVnicNetworkResourcePoolKey in (None, "", "-1")
        inv = collect(s)
        assert {p.name: p.nioc_pool for p in inv.distributed_port_groups if not p.uplink} == {
            "DC0_DVPG0": "gold",
            "DC0_DVPG1": "",
            "pg-silver": "silver",
        }

        # an edit by name keeps vCenter's key
        key = pools["gold"].key
        edit = {"distributed_switches": [{"name": "DVS0", "nioc_pools": [{"name": "gold",
                                                                           "reservation_mbps": 700}]}]}  # fmt: skip
        more = apply_and_check(s, edit)
        pools = _pools(s)
        assert (pools["gold"].key, pools["gold"].allocationInfo.reservationQuota) == (key, 700)

        # removal: the port group leaves the pool first, in the same document
        gone = apply_and_check(
            s,
            {
                "distributed_port_groups": [
                    {"name": "pg-silver", "switch": "DVS0", "nioc_pool": "none"}
                ],
                "absent": {"nioc_pools": ["DVS0/silver"]},
            },
        )
        assert [r.change.resource for r in gone] == ["distributed_port_group", "nioc_pool"]
        assert set(_pools(s)) == {"gold"}

        _rolled_back(s, [*results, *more, *gone])
        after = collect(s)
        assert after.dvs_by_name["DVS0"].nioc_pools == []
        assert after.dvs_by_name["DVS0"].nioc == before.dvs_by_name["DVS0"].nioc
        old = {p.name: p.nioc_pool for p in before.distributed_port_groups}
        assert {p.name: p.nioc_pool for p in after.distributed_port_groups} == old
        assert _pools(s) == {}


def test_bad_pool_input_is_located_and_changes_nothing(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        apply_and_check(s, DOC)
        inv = collect(s)
        version = inv.dvs_by_name["DVS0"].config_version
        for doc, msg in (
            (  # 500 Mbit/s x 2 uplinks of VM reservation; 600 + 200 + 300 does not fit
                {"distributed_switches": [{"name": "DVS0", "nioc_pools": [
                    {"name": "bronze", "reservation_mbps": 300}]}]},
                r"nioc_pools reserve 1100 Mbit/s but virtualMachine traffic reserves 500",
            ),
            (
                {"distributed_port_groups": [
                    {"name": "DC0_DVPG1", "switch": "DVS0", "nioc_pool": "platinum"}]},
                r"DC0_DVPG1: nioc_pool platinum is not a network resource pool of DVS0",
            ),
            (
                {"absent": {"nioc_pools": ["DVS0/gold"]}},
                r"nioc_pool DVS0/gold: still used by port group DC0_DVPG0",
            ),
        ):  # fmt: skip
            with pytest.raises(PlanError, match=msg):
                plan(DesiredState.model_validate(doc), inv)
        assert collect(s).dvs_by_name["DVS0"].config_version == version
