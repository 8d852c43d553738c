"""Blast radius of plans: the pure planner on hand-built inventories, each change's impact."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.impact_inventory import build, pnic, vm
from vnettool.engine import UnsafePlan, apply, plan
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import Inventory
from vnettool.models.plan import Change, Plan


def _plan(doc: dict[str, Any], inv: Inventory | None = None) -> Plan:
    return plan(DesiredState.model_validate(doc), inv or build())


def _one(p: Plan, resource: str, host: str | None, name: str) -> Change:
    return next(c for c in p.changes if (c.resource, c.host, c.name) == (resource, host, name))


def test_removing_a_vss_uplink_degrades_what_it_carries() -> None:
    p = _plan(
        {
            "target": {"hosts": ["H0"]},
            "standard_switches": [{"name": "vSwitch0", "uplinks": ["vmnic0"]}],
        }
    )
    imp = _one(p, "standard_switch", "H0", "vSwitch0").impact
    assert imp is not None
    assert [(t.key, t.marked) for t in imp.degraded] == [
        ("vmk:H0/vmk0", True),
        ("vmk:H0/vmk1", True),
    ]
    assert imp.dark == [] and not _one(p, "standard_switch", "H0", "vSwitch0").unsafe
    assert p.impact is not None and p.impact.summary() == "2 lose redundancy (2 management/vMotion)"


def test_last_live_management_uplink_removed_is_refused_with_vmknics_named() -> None:
    # vmnic1 has no link: keeping only vmnic1 leaves management with no live path
    inv = build()
    hosts = [
        h.model_copy(update={"pnics": [pnic("H0", i, up=i != 1) for i in range(4)]})
        if h.name == "H0"
        else h
        for h in inv.hosts
    ]
    inv = inv.model_copy(update={"hosts": hosts})
    p = _plan(
        {
            "target": {"hosts": ["H0"]},
            "standard_switches": [{"name": "vSwitch0", "uplinks": ["vmnic1"]}],
        },
        inv,
    )
    c = _one(p, "standard_switch", "H0", "vSwitch0")
    assert c.unsafe == "cuts the management network of H0 vmk0 [management]"
    assert [t.key for t in (c.impact.dark if c.impact else [])] == ["vmk:H0/vmk0", "vmk:H0/vmk1"]
    with pytest.raises(UnsafePlan, match=r"H0 vmk0 \[management\]"):
        apply(p, session=None)  # type: ignore[arg-type]  # refused before any call


def test_port_group_teaming_override_onto_an_unbridged_pnic_cuts_management() -> None:
    p = _plan(
        {
            "target": {"hosts": ["H1"]},
            "standard_port_groups": [
                {
                    "name": "Management Network",
                    "switch": "vSwitch0",
                    "teaming": {"policy": "failover_explicit", "active": ["vmnic0"], "standby": []},
                }
            ],
        }
    )
    c = _one(p, "standard_port_group", "H1", "Management Network")
    assert c.impact is not None and [t.key for t in c.impact.degraded] == ["vmk:H1/vmk0"]


def test_vlan_change_lists_the_vms_and_vmknics_on_it() -> None:
    vms = [vm("a", "H0", ("VM Network", None)), vm("b", "H0", ("VM Network", None))]
    p = _plan(
        {
            "target": {"hosts": ["H0"]},
            "standard_port_groups": [{"name": "VM Network", "switch": "vSwitch0", "vlan": 55}],
        },
        build(vms=vms),
    )
    imp = _one(p, "standard_port_group", "H0", "VM Network").impact
    assert imp is not None
    assert [(t.key, t.vlan_before, t.vlan_after) for t in imp.vlan_changed] == [
        ("vm:a/ethernet-0", "none", "55"),
        ("vm:b/ethernet-0", "none", "55"),
    ]


def test_deleting_a_port_group_in_use_shows_its_vms_going_dark() -> None:
    vms = [vm("a", "H0", ("VM Network", None))]
    p = _plan(
        {"target": {"hosts": ["H0"]}, "absent": {"standard_port_groups": ["VM Network"]}},
        build(vms=vms),
    )
    c = _one(p, "standard_port_group", "H0", "VM Network")
    assert c.unsafe  # the planner's own in-use refusal stays
    assert c.impact is not None
    assert [(t.key, t.after, t.reason) for t in c.impact.dark] == [
        ("vm:a/ethernet-0", "dark", "no port group VM Network")
    ]


def test_migration_lists_every_vm_nic_and_vmknic_it_moves() -> None:
    vms = [vm("a", "H0", ("VM Network", None)), vm("b", "H1", ("VM Network", None))]
    p = _plan(
        {
            "distributed_port_groups": [
                {"name": "dv-mgmt", "switch": "DVS0", "vlan": 0},
                {"name": "dv-vm", "switch": "DVS0", "vlan": 0},
            ],
            "migrations": {
                "vmkernel_adapters": [
                    {"from_portgroup": "Management Network", "to_portgroup": "dv-mgmt"}
                ],
                "vm_nics": [{"from_portgroup": "VM Network", "to_portgroup": "dv-vm"}],
            },
        },
        build(vms=vms),
    )
    assert p.impact is not None
    moved = {(t.key, t.portgroup_before, t.portgroup_after) for t in p.impact.moved}
    assert moved == {
        ("vmk:H0/vmk0", "Management Network", "dv-mgmt"),
        ("vmk:H1/vmk0", "Management Network", "dv-mgmt"),
        ("vm:a/ethernet-0", "VM Network", "dv-vm"),
        ("vm:b/ethernet-0", "VM Network", "dv-vm"),
    }
    assert p.impact.dark == [] and p.impact.degraded == []
    assert not [c for c in p.changes if c.unsafe]


def test_delete_plus_identical_create_is_flagged_as_a_rename() -> None:
    p = _plan(
        {
            "target": {"hosts": ["H0"]},
            "standard_port_groups": [{"name": "VM Net 2", "switch": "vSwitch0", "vlan": 0}],
            "absent": {"standard_port_groups": ["VM Network"]},
        }
    )
    notes = {c.name: c.impact.notes for c in p.changes if c.impact}
    want = "delete VM Network + create VM Net 2 differ only in name: rename it instead"
    assert notes["VM Network"] == [want] and notes["VM Net 2"] == [want]


def test_empty_plan_has_no_impact() -> None:
    p = _plan({"target": {"hosts": ["H0"]}})
    assert p.empty and p.impact is None


def test_migration_onto_a_switch_created_in_the_same_plan_keeps_management() -> None:
    bare = build(vms=[]).model_copy(
        update={"distributed_switches": [], "distributed_port_groups": []}
    )
    p = _plan(
        {
            "distributed_switches": [
                {
                    "name": "dvs-new",
                    "datacenter": "DC0",
                    "hosts": {"uplinks": {"vmnic2": "uplink1", "vmnic3": "uplink2"}},
                }
            ],
            "distributed_port_groups": [{"name": "dv-mgmt", "switch": "dvs-new", "vlan": 0}],
            "migrations": {
                "vmkernel_adapters": [
                    {"from_portgroup": "Management Network", "to_portgroup": "dv-mgmt"}
                ]
            },
        },
        bare,
    )
    assert not [c.id for c in p.changes if c.unsafe]
    assert p.impact is not None and p.impact.dark == [] and p.impact.degraded == []
    assert sorted(t.key for t in p.impact.moved) == ["vmk:H0/vmk0", "vmk:H1/vmk0"]


# -- LAGs: vmnics into and out of a LAG, a LAG removed ------------------------------------------
def test_taking_vmnics_out_of_a_lag_darkens_the_lag_users_of_that_host() -> None:
    """A switch-wide change that is the first to touch a host: the host's endpoints are judged
    before the change, so the LAG users going dark are seen (they were reported unchanged)."""
    p = _plan(
        {
            "target": {"hosts": ["H0"]},
            "distributed_switches": [
                {"name": "DVS0", "hosts": {"uplinks": {"vmnic2": "uplink1", "vmnic3": "uplink2"}}}
            ],
        },
        build(lag=True),
    )
    c = _one(p, "distributed_switch", None, "DVS0")
    assert c.impact is not None
    assert [t.key for t in c.impact.dark] == ["vm:web1/ethernet-0"]


def test_vmnics_into_a_new_lag_are_planned_by_port_name_and_carry_its_users() -> None:
    inv = build(vms=[vm("web1", "H0", ("web", "dvpg-1"))])
    p = _plan(
        {
            "target": {"hosts": ["H0"]},
            "distributed_switches": [
                {
                    "name": "DVS0",
                    "lags": [{"name": "lag2", "ports": 2}],
                    "hosts": {"uplinks": {"vmnic2": "lag2-0", "vmnic3": "lag2-1"}},
                }
            ],
            "distributed_port_groups": [
                {"name": "web", "switch": "DVS0", "teaming": {"active": ["lag2"], "standby": []}}
            ],
        },
        inv,
    )
    names = [(c.resource, c.name) for c in p.changes]
    assert names == [
        ("lag", "DVS0/lag2"),
        ("dvs_host_uplinks", "DVS0/H0"),
        ("distributed_port_group", "web"),
    ]
    bind = _one(p, "dvs_host_uplinks", None, "DVS0/H0")
    assert "lag:-:DVS0/lag2" in bind.depends_on
    assert [(d.field, d.before, d.after) for d in bind.diffs] == [
        ("pnics.vmnic2", "uplink1", "lag2-0"),
        ("pnics.vmnic3", "uplink2", "lag2-1"),
    ]
    # the pNICs left the uplinks for the (not yet used) LAG: web goes dark until its teaming
    # names the LAG, then it is carried again by both pNICs
    assert bind.impact is not None and [t.key for t in bind.impact.dark] == ["vm:web1/ethernet-0"]
    assert p.impact is not None and p.impact.dark == [] and p.impact.degraded == []


def test_removing_a_lag_unassigns_its_vmnics() -> None:
    p = _plan(
        {
            "target": {"hosts": ["H0", "H1"]},
            "distributed_port_groups": [
                {"name": "web", "switch": "DVS0", "teaming": {"active": ["uplink1", "uplink2"]}}
            ],
            "absent": {"lags": ["DVS0/lag1"]},
        },
        build(lag=True),
    )
    gone = _one(p, "lag", None, "DVS0/lag1")
    assert gone.kind == "delete"
    # web moves off the LAG onto uplinks no pNIC is on any more (the LAG's pNICs are
    # unassigned with it, as vCenter does): web1 goes dark, and the plan says so
    assert p.impact is not None and [t.key for t in p.impact.dark] == ["vm:web1/ethernet-0"]


def test_a_port_group_delete_waits_for_the_nics_moving_off_it() -> None:
    from vnettool.engine.core import link
    from vnettool.models.plan import Placement

    move = Change(
        kind="update",
        resource="vm_nic_migration",
        host="H0",
        name="web1/ethernet-0",
        source=Placement(switch="DVS0", portgroup="web", key="dvpg-1"),
        dest=Placement(portgroup="VM Network"),
    )
    delete = Change(
        kind="delete", resource="distributed_port_group", name="web", switch="DVS0", lane="dvs:DVS0"
    )
    linked = link([delete, move])
    assert [c.id for c in linked] == [move.id, delete.id]
    assert linked[1].depends_on == [move.id]
