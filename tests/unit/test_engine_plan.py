"""The pure planner: every field of every standard-switching resource, and the no-change case."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.factories import lab_inventory as inventory
from vnettool.engine import PlanError, plan
from vnettool.models.desired import DesiredState, render_cidr
from vnettool.models.inventory import (
    DistributedSwitch,
    DvsHostMember,
    VirtualMachine,
    VmNic,
)
from vnettool.models.plan import Change
from vnettool.models.policy import NetworkPolicy, SecurityPolicy


def desired(**doc: Any) -> DesiredState:
    return DesiredState.model_validate(doc)


def only(changes: list[Change], resource: str, host: str = "esx1") -> Change:
    found = [c for c in changes if c.resource == resource and c.host == host]
    assert len(found) == 1, found
    return found[0]


def diffs(c: Change) -> dict[str, tuple[Any, Any]]:
    return {d.field: (d.before, d.after) for d in c.diffs}


VMOTION_DOC: dict[str, Any] = {
    "standard_switches": [{"name": "vSwitch1", "mtu": 9000, "uplinks": ["vmnic1"]}],
    "standard_port_groups": [{"name": "pg-vmotion", "switch": "vSwitch1", "vlan": 20}],
    "vmkernel_adapters": [
        {
            "portgroup": "pg-vmotion",
            "ip": {"cidr": "10.10.0.{index}/24"},
            "mtu": 9000,
            "services": ["vmotion"],
        }
    ],
}


# -- no change --------------------------------------------------------------------------------
def test_state_already_reached_plans_nothing() -> None:
    assert plan(desired(**VMOTION_DOC), inventory(with_vswitch1=True)).empty


def test_empty_document_plans_nothing() -> None:
    assert plan(desired(), inventory()).empty


def test_fields_not_given_are_left_alone() -> None:
    doc = {"standard_switches": [{"name": "vSwitch0"}], "standard_port_groups": []}
    assert plan(desired(**doc), inventory()).empty


def test_absent_objects_that_do_not_exist_plan_nothing() -> None:
    doc = {"absent": {"standard_port_groups": ["nope"], "standard_switches": ["vSwitch9"]}}
    assert plan(desired(**doc), inventory()).empty


# -- standard switches ------------------------------------------------------------------------
def test_switch_create_carries_every_given_field() -> None:
    doc = {
        "standard_switches": [
            {
                "name": "vSwitch1",
                "mtu": 9000,
                "uplinks": ["vmnic1"],
                "standby": ["vmnic2"],
                "security": {"promiscuous": False, "mac_changes": False, "forged_transmits": False},
                "shaping": {"average_kbps": 100000, "peak_kbps": 200000, "burst_kb": 102400},
                "teaming": {
                    "policy": "failover_explicit",
                    "notify_switches": True,
                    "failback": False,
                    "beacon_probing": True,
                },
            }
        ]
    }
    p = plan(desired(**doc), inventory())
    assert len(p.changes) == 2
    c = only(p.changes, "standard_switch")
    assert c.kind == "create"
    after = c.after.model_dump(mode="json")
    assert after["mtu"] == 9000
    assert after["uplinks"] == ["vmnic1", "vmnic2"]
    pol = after["policy"]
    assert pol["security"] == {
        "allow_promiscuous": False,
        "mac_changes": False,
        "forged_transmits": False,
        "mac_learning": None,
    }
    assert pol["shaping"] == {
        "enabled": True,
        "average_bps": 100_000_000,
        "peak_bps": 200_000_000,
        "burst_bytes": 102400 * 1024,
    }
    assert pol["teaming"]["policy"] == "failover_explicit"
    assert pol["teaming"]["failback"] is False
    assert pol["teaming"]["check_beacon"] is True
    assert pol["teaming"]["active_uplinks"] == ["vmnic1"]
    assert pol["teaming"]["standby_uplinks"] == ["vmnic2"]
    shown = diffs(c)
    assert shown["shaping.average_kbps"] == (None, 100000)
    assert shown["shaping.burst_kb"] == (None, 102400)
    assert shown["teaming.beacon_probing"] == (None, True)


@pytest.mark.parametrize(
    ("spec", "field", "before", "after"),
    [
        ({"mtu": 9000}, "mtu", 1500, 9000),
        ({"uplinks": ["vmnic0", "vmnic1"]}, "uplinks", ["vmnic0"], ["vmnic0", "vmnic1"]),
        ({"standby": ["vmnic1"]}, "teaming.standby", [], ["vmnic1"]),
        ({"security": {"promiscuous": True}}, "security.promiscuous", False, True),
        ({"security": {"mac_changes": False}}, "security.mac_changes", True, False),
        ({"security": {"forged_transmits": False}}, "security.forged_transmits", True, False),
        ({"shaping": {"enabled": True}}, "shaping.enabled", False, True),
        ({"shaping": {"average_kbps": 5000}}, "shaping.average_kbps", None, 5000),
        ({"shaping": {"peak_kbps": 7000}}, "shaping.peak_kbps", None, 7000),
        ({"shaping": {"burst_kb": 64}}, "shaping.burst_kb", None, 64),
        (
            {"teaming": {"policy": "loadbalance_ip"}},
            "teaming.policy",
            "loadbalance_srcid",
            "loadbalance_ip",
        ),
        ({"teaming": {"notify_switches": False}}, "teaming.notify_switches", True, False),
        ({"teaming": {"failback": False}}, "teaming.failback", True, False),
        ({"teaming": {"beacon_probing": True}}, "teaming.beacon_probing", False, True),
    ],
)
def test_switch_update_of_one_field(
    spec: dict[str, Any], field: str, before: Any, after: Any
) -> None:
    p = plan(desired(standard_switches=[{"name": "vSwitch0", **spec}]), inventory())
    c = only(p.changes, "standard_switch")
    assert c.kind == "update"
    shown = diffs(c)
    assert shown[field] == (before, after)
    # Only that field (and the linked teaming order/uplink set) moves.
    assert set(shown) <= {field, "uplinks", "teaming.active", "teaming.standby", "shaping.enabled"}
    # The update carries the switch's whole state: nothing else is reset.
    assert c.after.model_dump(mode="json")["num_ports"] == 128
    assert c.after.model_dump(mode="json")["policy"]["security"]["allow_promiscuous"] == (
        field == "security.promiscuous"
    )


def test_switch_with_same_values_in_other_order_is_unchanged() -> None:
    inv = inventory()
    sw = inv.standard_switches[0].model_copy(update={"uplinks": ["vmnic1", "vmnic0"]})
    inv2 = inv.model_copy(update={"standard_switches": [sw, *inv.standard_switches[1:]]})
    doc = {
        "standard_switches": [{"name": "vSwitch0", "uplinks": ["vmnic0"], "standby": ["vmnic1"]}]
    }
    teaming = sw.policy.teaming.model_copy(
        update={"active_uplinks": ["vmnic0"], "standby_uplinks": ["vmnic1"]}
    )
    sw2 = sw.model_copy(update={"policy": sw.policy.model_copy(update={"teaming": teaming})})
    inv3 = inv2.model_copy(update={"standard_switches": [sw2, *inv.standard_switches[1:]]})
    assert [c.host for c in plan(desired(**doc), inv3).changes] == ["esx2"]


def test_switch_delete_through_absent_only() -> None:
    inv = inventory(with_vswitch1=True)
    doc = {
        "absent": {
            "standard_switches": ["vSwitch1"],
            "standard_port_groups": ["pg-vmotion"],
            "vmkernel_adapters": [{"portgroup": "pg-vmotion"}],
        }
    }
    p = plan(desired(**doc), inv)
    kinds = [(c.resource, c.kind) for c in p.changes if c.host == "esx1"]
    assert kinds == [
        ("vmkernel_adapter", "delete"),
        ("standard_port_group", "delete"),
        ("standard_switch", "delete"),
    ]
    pg = only(p.changes, "standard_port_group")
    assert pg.depends_on == ["vmkernel_adapter:esx1:pg-vmotion"]
    sw = only(p.changes, "standard_switch")
    assert sw.depends_on == ["standard_port_group:esx1:pg-vmotion"]
    assert not any(c.unsafe for c in p.changes)


def test_unknown_pnic_is_a_plan_error_naming_the_host() -> None:
    doc = {"standard_switches": [{"name": "vSwitch1", "uplinks": ["vmnic7"]}]}
    with pytest.raises(PlanError, match=r"esx1: standard switch vSwitch1: no pNIC vmnic7"):
        plan(desired(**doc), inventory())


def test_pnic_used_by_another_switch_or_dvs_is_a_plan_error() -> None:
    doc = {"standard_switches": [{"name": "vSwitch1", "uplinks": ["vmnic0"]}]}
    with pytest.raises(PlanError, match=r"vmnic0 \(on vSwitch0\)"):
        plan(desired(**doc), inventory())
    dvs = DistributedSwitch(
        moref="dvs-1",
        name="DSwitch",
        uuid="u",
        hosts=[DvsHostMember(host="esx1", pnics={"vmnic2": "uplink1"})],
    )
    doc = {"standard_switches": [{"name": "vSwitch1", "uplinks": ["vmnic2"]}]}
    with pytest.raises(PlanError, match=r"vmnic2 \(on DSwitch \(distributed\)\)"):
        plan(desired(**doc), inventory(distributed_switches=[dvs]))


def test_removing_last_uplink_of_management_switch_is_unsafe() -> None:
    doc = {"standard_switches": [{"name": "vSwitch0", "uplinks": []}]}
    c = only(plan(desired(**doc), inventory()).changes, "standard_switch")
    assert "last uplink" in c.unsafe
    assert "vmk0" in c.unsafe


def test_deleting_management_switch_is_unsafe() -> None:
    doc = {"absent": {"standard_switches": ["vSwitch0"]}}
    c = only(plan(desired(**doc), inventory()).changes, "standard_switch")
    assert "management vmknic vmk0" in c.unsafe


# -- port groups ------------------------------------------------------------------------------
def test_portgroup_create_on_every_targeted_host() -> None:
    doc = {
        "target": {"cluster": "C0"},
        "standard_port_groups": [
            {
                "name": "pg-web",
                "switch": "vSwitch0",
                "vlan": 100,
                "security": {"forged_transmits": False},
            }
        ],
    }
    p = plan(desired(**doc), inventory(3))
    assert [(c.host, c.kind) for c in p.changes] == [
        ("esx1", "create"),
        ("esx2", "create"),
        ("esx3", "create"),
    ]
    after = p.changes[0].after.model_dump(mode="json")
    assert after["vlan_id"] == 100
    # Overrides only what is given: the rest stays inherited (None).
    assert after["policy"]["security"] == {
        "allow_promiscuous": None,
        "mac_changes": None,
        "forged_transmits": False,
        "mac_learning": None,
    }


@pytest.mark.parametrize(
    ("spec", "field", "after"),
    [
        ({"vlan": 4095}, "vlan", 4095),
        ({"security": {"promiscuous": True}}, "security.promiscuous", True),
        ({"security": {"mac_changes": False}}, "security.mac_changes", False),
        ({"shaping": {"average_kbps": 1000, "peak_kbps": 2000}}, "shaping.peak_kbps", 2000),
        ({"teaming": {"policy": "failover_explicit"}}, "teaming.policy", "failover_explicit"),
        ({"teaming": {"notify_switches": False}}, "teaming.notify_switches", False),
        ({"teaming": {"failback": False}}, "teaming.failback", False),
        ({"teaming": {"beacon_probing": True}}, "teaming.beacon_probing", True),
        ({"teaming": {"active": ["vmnic0"]}}, "teaming.active", ["vmnic0"]),
    ],
)
def test_portgroup_update_of_one_field(spec: dict[str, Any], field: str, after: Any) -> None:
    doc = {"standard_port_groups": [{"name": "Management Network", "switch": "vSwitch0", **spec}]}
    c = only(plan(desired(**doc), inventory()).changes, "standard_port_group")
    assert c.kind == "update"
    assert diffs(c)[field][1] == after


def test_portgroup_override_merges_with_existing_overrides() -> None:
    inv = inventory()
    pg = inv.standard_port_groups[0].model_copy(
        update={"policy": NetworkPolicy(security=SecurityPolicy(allow_promiscuous=True))}
    )
    inv = inv.model_copy(update={"standard_port_groups": [pg, *inv.standard_port_groups[1:]]})
    doc = {
        "target": {"hosts": ["esx1"]},
        "standard_port_groups": [
            {"name": "Management Network", "switch": "vSwitch0", "security": {"mac_changes": False}}
        ],
    }
    c = only(plan(desired(**doc), inv).changes, "standard_port_group")
    assert c.after.model_dump(mode="json")["policy"]["security"]["allow_promiscuous"] is True
    assert diffs(c) == {"security.mac_changes": (None, False)}


def test_portgroup_teaming_uplink_must_belong_to_switch() -> None:
    doc = {
        "standard_port_groups": [
            {"name": "pg-a", "switch": "vSwitch0", "teaming": {"active": ["vmnic3"]}}
        ]
    }
    with pytest.raises(PlanError, match="vmnic3 not an uplink of vSwitch0"):
        plan(desired(**doc), inventory())


def test_portgroup_cannot_move_between_switches() -> None:
    doc = {"standard_port_groups": [{"name": "Management Network", "switch": "vSwitch9"}]}
    with pytest.raises(PlanError, match="cannot move between switches"):
        plan(desired(**doc), inventory())


def test_portgroup_on_missing_switch_is_a_plan_error() -> None:
    doc = {"standard_port_groups": [{"name": "pg-x", "switch": "vSwitch9"}]}
    with pytest.raises(PlanError, match="no standard switch vSwitch9"):
        plan(desired(**doc), inventory())


def test_portgroup_depends_on_its_new_switch() -> None:
    p = plan(desired(**VMOTION_DOC), inventory())
    pg = only(p.changes, "standard_port_group")
    vmk = only(p.changes, "vmkernel_adapter")
    assert pg.depends_on == ["standard_switch:esx1:vSwitch1"]
    assert vmk.depends_on == [
        "standard_port_group:esx1:pg-vmotion",
        "standard_switch:esx1:vSwitch1",
    ]
    assert [c.resource for c in p.changes[:3]] == ["standard_switch"] * 2 + ["standard_port_group"]


def test_delete_portgroup_with_powered_on_vm_is_unsafe() -> None:
    inv = inventory(with_vswitch1=True)
    vm = VirtualMachine(
        moref="vm-1",
        name="web01",
        host="esx1",
        power_state="poweredOn",
        nics=[VmNic(key=4000, label="Network adapter 1", network="pg-vmotion")],
    )
    off = vm.model_copy(
        update={"moref": "vm-2", "name": "web02", "host": "esx2", "power_state": "poweredOff"}
    )
    inv = inv.model_copy(update={"vms": [vm, off]})
    doc = {
        "absent": {
            "standard_port_groups": ["pg-vmotion"],
            "vmkernel_adapters": [{"portgroup": "pg-vmotion"}],
        }
    }
    p = plan(desired(**doc), inv)
    assert "web01" in only(p.changes, "standard_port_group", "esx1").unsafe
    assert only(p.changes, "standard_port_group", "esx2").unsafe is None


def test_delete_portgroup_with_vmknic_left_on_it_is_unsafe() -> None:
    doc = {"absent": {"standard_port_groups": ["pg-vmotion"]}}
    c = only(plan(desired(**doc), inventory(with_vswitch1=True)).changes, "standard_port_group")
    assert "vmk1" in c.unsafe


# -- VMkernel adapters ------------------------------------------------------------------------
def test_vmknic_ip_index_follows_sorted_target_hosts() -> None:
    doc = dict(VMOTION_DOC)
    p = plan(desired(**doc), inventory(12))
    ips = {
        c.host: c.after.model_dump(mode="json")["ip"]
        for c in p.changes
        if c.resource == "vmkernel_adapter"
    }
    assert ips["esx1"] == "10.10.0.1"
    assert ips["esx2"] == "10.10.0.2"
    assert ips["esx10"] == "10.10.0.10"
    assert ips["esx12"] == "10.10.0.12"
    c = only(p.changes, "vmkernel_adapter", "esx10")
    assert c.after.model_dump(mode="json")["netmask"] == "255.255.255.0"
    assert c.after.model_dump(mode="json")["services"] == ["vmotion"]
    assert c.after.model_dump(mode="json")["mtu"] == 9000


@pytest.mark.parametrize(
    ("spec", "field", "before", "after"),
    [
        ({"ip": {"cidr": "10.10.0.{index+100}/24"}}, "ip", "10.10.0.1", "10.10.0.101"),
        ({"ip": {"cidr": "10.10.0.{index}/16"}}, "netmask", "255.255.255.0", "255.255.0.0"),
        ({"ip": {"dhcp": True}}, "dhcp", False, True),
        ({"mtu": 1500}, "mtu", 9000, 1500),
        (
            {"services": ["vmotion", "provisioning"]},
            "services",
            ["vmotion"],
            ["vSphereProvisioning", "vmotion"],
        ),
        ({"services": []}, "services", ["vmotion"], []),
    ],
)
def test_vmknic_update_of_one_field(
    spec: dict[str, Any], field: str, before: Any, after: Any
) -> None:
    doc = {"vmkernel_adapters": [{"portgroup": "pg-vmotion", **spec}]}
    c = only(plan(desired(**doc), inventory(with_vswitch1=True)).changes, "vmkernel_adapter")
    assert c.kind == "update"
    assert c.device == "vmk1"
    assert diffs(c)[field] == (before, after)


def test_vmknic_host_glob_limits_hosts() -> None:
    doc = {"vmkernel_adapters": [{"host": "esx2", "portgroup": "pg-vmotion", "mtu": 1500}]}
    p = plan(desired(**doc), inventory(3, with_vswitch1=True))
    assert [c.host for c in p.changes] == ["esx2"]


def test_vmknic_same_address_on_many_hosts_is_a_plan_error() -> None:
    doc = {"vmkernel_adapters": [{"portgroup": "pg-vmotion", "ip": {"cidr": "10.0.0.5/24"}}]}
    with pytest.raises(PlanError, match="same address"):
        plan(desired(**doc), inventory(2, with_vswitch1=True))


def test_vmknic_on_missing_portgroup_is_a_plan_error() -> None:
    doc = {"vmkernel_adapters": [{"portgroup": "pg-none", "ip": {"dhcp": True}}]}
    with pytest.raises(PlanError, match="no standard port group pg-none"):
        plan(desired(**doc), inventory())


def test_removing_management_from_only_management_vmknic_is_unsafe() -> None:
    doc = {"vmkernel_adapters": [{"portgroup": "Management Network", "services": ["vmotion"]}]}
    c = only(plan(desired(**doc), inventory()).changes, "vmkernel_adapter")
    assert "only management" in c.unsafe
    doc = {"absent": {"vmkernel_adapters": [{"device": "vmk0"}]}}
    c = only(plan(desired(**doc), inventory()).changes, "vmkernel_adapter")
    assert c.kind == "delete"
    assert "only management" in c.unsafe


# -- targets and documents --------------------------------------------------------------------
def test_target_matching_no_host_is_an_error() -> None:
    with pytest.raises(PlanError, match="matches no host"):
        plan(desired(target={"cluster": "nope"}, **VMOTION_DOC), inventory())


def test_target_hosts_glob() -> None:
    p = plan(desired(target={"hosts": ["esx1*"]}, **VMOTION_DOC), inventory(11))
    assert sorted({c.host or "" for c in p.changes}) == ["esx1", "esx10", "esx11"]
    # {index} counts within the target: esx1, esx10, esx11 -> 1, 2, 3
    ips = [
        c.after.model_dump(mode="json")["ip"] for c in p.changes if c.resource == "vmkernel_adapter"
    ]
    assert ips == ["10.10.0.1", "10.10.0.2", "10.10.0.3"]


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        desired(standard_switches=[{"name": "vSwitch1", "mtuu": 9000}])
    with pytest.raises(ValidationError):
        desired(distributed_switchs=[])


@pytest.mark.parametrize(
    "doc",
    [
        {"standard_port_groups": [{"name": "a", "switch": "s", "vlan": 4096}]},
        {"standard_switches": [{"name": "s", "mtu": 10000}]},
        {"standard_switches": [{"name": "s", "uplinks": ["vmnic1"], "standby": ["vmnic1"]}]},
        {"standard_switches": [{"name": "s", "shaping": {"average_kbps": 10, "peak_kbps": 5}}]},
        {"standard_switches": [{"name": "s"}, {"name": "s"}]},
        {"vmkernel_adapters": [{"portgroup": "p", "ip": {}}]},
        {"vmkernel_adapters": [{"portgroup": "p", "ip": {"cidr": "10.0.0.{host}/24"}}]},
        {"vmkernel_adapters": [{"portgroup": "p", "services": ["telnet"]}]},
        {"absent": {"vmkernel_adapters": [{"host": "*"}]}},
    ],
)
def test_invalid_documents_are_rejected(doc: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        desired(**doc)


def test_render_cidr() -> None:
    assert render_cidr("10.0.{index}.1/16", 3) == ("10.0.3.1", "255.255.0.0")
    assert render_cidr("10.0.0.{index-1}/24", 1) == ("10.0.0.0", "255.255.255.0")
    with pytest.raises(ValueError, match="prefix length"):
        render_cidr("10.0.0.{index}", 1)
    with pytest.raises(ValueError):
        render_cidr("10.0.0.{index+300}/24", 1)


def test_both_desired_and_absent_is_a_plan_error() -> None:
    doc = {
        "standard_switches": [{"name": "vSwitch1"}],
        "absent": {"standard_switches": ["vSwitch1"]},
    }
    with pytest.raises(PlanError, match="both desired and absent"):
        plan(desired(**doc), inventory())


def test_new_vmknic_needs_an_address() -> None:
    doc = {"vmkernel_adapters": [{"portgroup": "Management Network", "mtu": 9000}]}
    assert not plan(desired(**doc), inventory(1)).changes[0].after.model_dump(mode="json")["dhcp"]
    doc = {"vmkernel_adapters": [{"portgroup": "pg-new", "mtu": 9000}]}
    doc["standard_port_groups"] = [{"name": "pg-new", "switch": "vSwitch0"}]
    with pytest.raises(PlanError, match="needs ip"):
        plan(desired(**doc), inventory(1))
