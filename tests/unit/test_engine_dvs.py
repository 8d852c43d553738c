"""The distributed planners and spec builders, without a simulator.

Planning is pure (inventory + desired -> changes), so validation, ordering, partial specs and
batching are tested on hand-built inventories; the lab tests cover the API calls.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.factories import dv_portgroup, dv_switch
from tests.factories import lab_inventory as inventory
from vnettool.engine import PlanError, plan
from vnettool.models.desired import DesiredState, parse_trunk
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    DvsHostMember,
    LacpGroup,
    PvlanEntry,
)
from vnettool.models.policy import ShapingPolicy, TeamingPolicy, VlanSpec
from vnettool.vsphere.specs import dvportgroup as dvpg_spec
from vnettool.vsphere.specs import dvs as dvs_spec


def switch(**kw: Any) -> DistributedSwitch:
    """DVS0 with esx1 as a member and a promiscuous/isolated PVLAN pair."""
    return dv_switch(
        **{
            "datacenter": "DC0",
            "config_version": "7",
            "max_mtu": 1500,
            "uplink_names": ["uplink1", "uplink2"],
            "hosts": [DvsHostMember(host="esx1", pnics={"vmnic2": "0"})],
            "pvlans": [
                PvlanEntry(dvs="DVS0", primary_id=100, secondary_id=100, type="promiscuous"),
                PvlanEntry(dvs="DVS0", primary_id=100, secondary_id=101, type="isolated"),
            ],
        }
        | kw
    )


def pg(name: str, **kw: Any) -> DistributedPortGroup:
    return dv_portgroup(
        name, dvs_uuid="u-1", config_version="3", binding="earlyBinding", num_ports=8, **kw
    )


def inv(**kw: Any) -> Any:
    pgs = kw.pop(
        "pgs", [pg("pg-iso", setting=DvPortSetting(vlan=VlanSpec(kind="pvlan", pvlan_id=101)))]
    )
    return inventory(
        2, distributed_switches=[kw.pop("sw", switch())], distributed_port_groups=pgs, **kw
    )


def doc(**kw: Any) -> DesiredState:
    return DesiredState.model_validate(kw)


def test_pvlan_add_is_one_ordered_change_and_idempotent() -> None:
    d = doc(pvlans=[{"switch": "DVS0", "primary": 200, "isolated": 201, "community": [202]}])
    p = plan(d, inv())
    [c] = p.changes
    assert (c.resource, c.kind, c.host) == ("pvlan", "create", None)
    # the primary goes first in the spec, so vCenter accepts the secondaries
    assert [(o.op, o.entry.secondary_id) for o in c.pvlan_ops] == [
        ("add", 200),
        ("add", 201),
        ("add", 202),
    ]
    done = switch(
        pvlans=[
            *switch().pvlans,
            PvlanEntry(dvs="DVS0", primary_id=200, secondary_id=200, type="promiscuous"),
            PvlanEntry(dvs="DVS0", primary_id=200, secondary_id=201, type="isolated"),
            PvlanEntry(dvs="DVS0", primary_id=200, secondary_id=202, type="community"),
        ]
    )
    assert plan(d, inv(sw=done)).empty


@pytest.mark.parametrize(
    ("d", "message"),
    [
        (
            {
                "pvlans": [
                    {"switch": "DVS0", "primary": 300, "community": [301]},
                    {"switch": "DVS0", "primary": 400, "community": [301]},
                ]
            },
            "PVLAN id 301 is given twice",
        ),
        (
            {"pvlans": [{"switch": "DVS0", "primary": 100, "isolated": 105}]},
            "more than one isolated",
        ),
        (
            {"absent": {"pvlans": [{"switch": "DVS0", "secondary": 101}]}},
            "port group pg-iso still uses it",
        ),
        (
            {"absent": {"pvlans": [{"switch": "DVS0", "secondary": 100}]}},
            "cannot remove primary PVLAN 100",
        ),
        ({"pvlans": [{"switch": "DVS0", "primary": 101}]}, "101 is an isolated"),
        (
            {"distributed_port_groups": [{"name": "x", "switch": "DVS0", "pvlan": 150}]},
            "PVLAN 150 is not a secondary",
        ),
        ({"pvlans": [{"switch": "nope", "primary": 10}]}, "no distributed switch nope"),
    ],
)
def test_pvlan_problems_are_found_before_any_call(d: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan(doc(**d), inv())


def test_secondary_needs_its_primary_in_the_document_shape() -> None:
    with pytest.raises(ValidationError):
        doc(pvlans=[{"switch": "DVS0", "isolated": 101}])
    with pytest.raises(ValidationError, match="ids used twice"):
        doc(pvlans=[{"switch": "DVS0", "primary": 5, "isolated": 6, "community": [6]}])


def test_port_group_update_diffs_only_changed_fields_in_user_units() -> None:
    cur = pg(
        "web",
        setting=DvPortSetting(
            in_shaping=ShapingPolicy(
                enabled=True, average_bps=10_000_000, peak_bps=20_000_000, burst_bytes=1024
            )
        ),
    )
    d = doc(
        distributed_port_groups=[
            {"name": "web", "switch": "DVS0", "ingress_shaping": {"average_kbps": 5000}}
        ]
    )
    [c] = plan(d, inv(pgs=[cur])).changes
    assert [(x.field, x.before, x.after) for x in c.diffs] == [
        ("ingress_shaping.average_kbps", 10000, 5000)
    ]
    # the spec carries only that property (a concurrent edit of another one is not overwritten)
    after = DistributedPortGroup.model_validate(c.after.model_dump(mode="json"))
    spec = dvpg_spec.portgroup_spec(cur, after)
    s = spec.defaultPortConfig
    assert s.inShapingPolicy.averageBandwidth.value == 5_000_000
    assert s.inShapingPolicy.peakBandwidth is None and s.uplinkTeamingPolicy is None
    assert s.vlan is None and s.securityPolicy is None and spec.numPorts is None


def test_teaming_must_name_uplinks_or_lags() -> None:
    bad = doc(
        distributed_port_groups=[{"name": "w", "switch": "DVS0", "teaming": {"active": ["lagX"]}}]
    )
    with pytest.raises(PlanError, match="lagX not an uplink or LAG of DVS0"):
        plan(bad, inv())
    ok = doc(
        distributed_switches=[{"name": "DVS0", "lags": [{"name": "lagX", "ports": 2}]}],
        distributed_port_groups=[{"name": "w", "switch": "DVS0", "teaming": {"active": ["lagX"]}}],
    )
    p = plan(ok, inv())
    ids = [c.id for c in p.changes]
    assert ids.index("lag:-:DVS0/lagX") < ids.index("distributed_port_group:-:w")
    w = next(c for c in p.changes if c.name == "w")
    assert "lag:-:DVS0/lagX" in w.depends_on


def test_lag_in_use_cannot_be_removed() -> None:
    sw = switch(lags=[LacpGroup(dvs="DVS0", name="lag1", key="k1", mode="active", uplink_count=2)])
    used = pg("nfs", setting=DvPortSetting(teaming=TeamingPolicy(active_uplinks=["lag1"])))
    with pytest.raises(PlanError, match="port group nfs still uses it"):
        plan(doc(absent={"lags": ["DVS0/lag1"]}), inv(sw=sw, pgs=[used]))


def test_switch_update_is_partial_and_carries_the_config_version() -> None:
    d = doc(
        distributed_switches=[
            {"name": "DVS0", "max_mtu": 9000, "traffic": {"vmotion": {"shares": "high"}}}
        ]
    )
    [c] = plan(d, inv()).changes
    assert [x.field for x in c.diffs] == ["max_mtu", "nioc.vmotion.level", "nioc.vmotion.shares"]
    before = DistributedSwitch.model_validate(c.before.model_dump(mode="json"))
    after = DistributedSwitch.model_validate(c.after.model_dump(mode="json"))
    spec = dvs_spec.switch_spec(before, after)
    assert spec.maxMtu == 9000 and spec.description is None and spec.defaultPortConfig is None
    assert [t.key for t in spec.infrastructureTrafficResourceConfig] == ["vmotion"]
    assert before.config_version == "7"


def test_moving_the_last_management_uplink_is_refused() -> None:
    d = doc(distributed_switches=[{"name": "DVS9", "hosts": {"uplinks": {"vmnic0": "uplink1"}}}])
    with pytest.raises(PlanError, match="strand management adapter vmk0"):
        plan(d, inv())


def test_migration_batches_and_management_last() -> None:
    i = inventory(
        5,
        distributed_switches=[
            switch(
                hosts=[DvsHostMember(host=f"esx{n}", pnics={"vmnic2": "0"}) for n in range(1, 6)]
            )
        ],
        distributed_port_groups=[pg("dv-m")],
    )
    d = doc(
        migrations={
            "batch": 2,
            "vmkernel_adapters": [{"from_portgroup": "Management Network", "to_portgroup": "dv-m"}],
        }
    )
    p = plan(d, i)
    assert [c.host for c in p.changes] == ["esx1", "esx2", "esx3", "esx4", "esx5"]
    by = {c.host: c for c in p.changes}
    ids = {c.id for c in p.changes}
    assert ids & set(by["esx3"].depends_on) == {
        "vmknic_migration:esx1:vmk0",
        "vmknic_migration:esx2:vmk0",
    }
    assert ids & set(by["esx5"].depends_on) == {
        "vmknic_migration:esx3:vmk0",
        "vmknic_migration:esx4:vmk0",
    }
    assert not ids & set(by["esx1"].depends_on)
    assert (
        by["esx1"].diffs[0].before == "Management Network" and by["esx1"].diffs[0].after == "dv-m"
    )


def test_migration_without_uplink_on_target_is_refused() -> None:
    i = inventory(
        1,
        distributed_switches=[switch(hosts=[DvsHostMember(host="esx1")])],
        distributed_port_groups=[pg("dv-m")],
    )
    d = doc(
        migrations={
            "vmkernel_adapters": [{"from_portgroup": "Management Network", "to_portgroup": "dv-m"}]
        }
    )
    with pytest.raises(PlanError, match="would strand it"):
        plan(d, i)


def test_trunk_ranges_merge_and_validate() -> None:
    assert parse_trunk([300, "100-200", "150-250", 251]) == [(100, 251), (300, 300)]
    with pytest.raises(ValueError, match="within 0-4094"):
        parse_trunk(["10-5000"])
    with pytest.raises(ValidationError, match="only one of vlan, trunk, pvlan"):
        doc(distributed_port_groups=[{"name": "x", "switch": "s", "vlan": 5, "pvlan": 6}])
