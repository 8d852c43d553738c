"""Drift between two snapshots: objects matched by identity, one row per changed field with
before -> after, nested lists keyed by element name, noise (morefs, config versions, opt-in
neighbours) left out."""

from __future__ import annotations

from typing import Any

from tests.factories import snapshot
from vnettool.audit.drift import drift
from vnettool.models.inventory import (
    DistributedSwitch,
    DvsHostMember,
    Host,
    Inventory,
    LinkNeighbor,
    PhysicalNic,
    PvlanEntry,
    StandardPortGroup,
    VirtualMachine,
    VmNic,
)
from vnettool.models.policy import NetworkPolicy, SecurityPolicy


def base() -> Inventory:
    return snapshot()


def with_(inv: Inventory, **update: Any) -> Inventory:
    return inv.model_copy(update=update)


def test_identical_snapshots_have_no_drift() -> None:
    assert drift(base(), base()) == []


def test_a_changed_vlan_is_one_row_with_before_and_after() -> None:
    inv = base()
    pg = inv.standard_port_groups[0]
    pgs = [pg.model_copy(update={"vlan_id": pg.vlan_id + 7}), *inv.standard_port_groups[1:]]
    rows = drift(inv, with_(inv, standard_port_groups=pgs))
    assert [(r.collection, r.object, r.change, r.field, r.before, r.after) for r in rows] == [
        (
            "standard_port_groups",
            pg.ident(),
            "changed",
            "vlan_id",
            str(pg.vlan_id),
            str(pg.vlan_id + 7),
        )
    ]


def test_a_renamed_port_group_is_removed_plus_added() -> None:
    inv = base()
    pg = inv.standard_port_groups[0]
    renamed = pg.model_copy(update={"name": "renamed-pg"})
    rows = drift(inv, with_(inv, standard_port_groups=[renamed, *inv.standard_port_groups[1:]]))
    assert sorted((r.change, r.object) for r in rows) == [
        ("added", renamed.ident()),
        ("removed", pg.ident()),
    ]


def test_a_nested_policy_change_names_the_dotted_field() -> None:
    host = Host(moref="host-1", name="esx1")
    pg = StandardPortGroup(host="esx1", name="web", switch="vSwitch0")
    promisc = NetworkPolicy(security=SecurityPolicy(allow_promiscuous=True))
    before = Inventory(hosts=[host], standard_port_groups=[pg])
    after = Inventory(
        hosts=[host], standard_port_groups=[pg.model_copy(update={"effective": promisc})]
    )
    rows = drift(before, after)
    assert [(r.field, r.before, r.after) for r in rows] == [
        ("effective.security.allow_promiscuous", "", "True")
    ]


def test_a_vm_nic_moved_to_another_network_is_keyed_by_its_label() -> None:
    nics = [
        VmNic(key=4000, label="Network adapter 1", network="web"),
        VmNic(key=4001, label="Network adapter 2", network="db"),
    ]
    vm = VirtualMachine(moref="vm-1", name="app", nics=nics)
    moved = vm.model_copy(
        update={"nics": [nics[0], nics[1].model_copy(update={"network": "quarantine"})]}
    )
    rows = drift(Inventory(vms=[vm]), Inventory(vms=[moved]))
    assert [(r.object, r.field, r.before, r.after) for r in rows] == [
        ("app", "nics[Network adapter 2].network", "db", "quarantine")
    ]


def test_a_new_pvlan_secondary_is_one_element_of_the_switch() -> None:
    dvs = DistributedSwitch(
        moref="dvs-1",
        name="DVS",
        uuid="u",
        pvlans=[PvlanEntry(dvs="DVS", primary_id=100, secondary_id=100, type="promiscuous")],
        hosts=[DvsHostMember(host="esx1", pnics={"vmnic2": "uplink1"})],
    )
    grown = dvs.model_copy(
        update={
            "pvlans": [
                *dvs.pvlans,
                PvlanEntry(dvs="DVS", primary_id=100, secondary_id=101, type="isolated"),
            ]
        }
    )
    rows = drift(Inventory(distributed_switches=[dvs]), Inventory(distributed_switches=[grown]))
    changed = {(r.field, r.before, r.after) for r in rows}
    assert ("pvlans[101].type", "", "isolated") in changed
    assert all(r.field.startswith("pvlans[101].") for r in rows)


def test_morefs_and_config_versions_are_not_drift() -> None:
    inv = base()
    d = inv.distributed_switches[0]
    bumped = d.model_copy(update={"moref": "dvs-999", "config_version": "999"})
    assert drift(inv, with_(inv, distributed_switches=[bumped])) == []


def test_neighbours_count_only_when_both_snapshots_read_them() -> None:
    def inv(neighbors: list[LinkNeighbor]) -> Inventory:
        nic = PhysicalNic(host="esx1", device="vmnic0", neighbors=neighbors)
        return Inventory(hosts=[Host(moref="host-1", name="esx1", pnics=[nic])])

    cdp = [LinkNeighbor(protocol="cdp", switch_id="sw1", port_id="Gi1/0/1")]
    moved = [LinkNeighbor(protocol="cdp", switch_id="sw1", port_id="Gi1/0/2")]
    assert drift(inv([]), inv(cdp)) == []  # the first snapshot was read without neighbours
    rows = drift(inv(cdp), inv(moved))
    assert [(r.field, r.before, r.after) for r in rows] == [
        ("pnics[vmnic0].neighbors[cdp].port_id", "Gi1/0/1", "Gi1/0/2")
    ]


def test_added_and_removed_hosts_and_vms() -> None:
    inv = base()
    fewer = with_(inv, hosts=inv.hosts[1:], vms=inv.vms[1:])
    rows = drift(inv, fewer)
    assert {(r.collection, r.change, r.object) for r in rows} == {
        ("hosts", "removed", inv.hosts[0].ident()),
        ("vms", "removed", inv.vms[0].ident()),
    }
    back = drift(fewer, inv)
    assert {(r.collection, r.change) for r in back} == {("hosts", "added"), ("vms", "added")}


def test_rows_get_the_user_and_time_of_the_latest_event_about_their_object() -> None:
    from datetime import UTC, datetime

    from vnettool.audit.drift import DriftRow, attribute
    from vnettool.models.events import ChangeEvent

    t = [datetime(2026, 1, 1, 10, m, tzinfo=UTC) for m in range(4)]
    rows = [
        DriftRow(collection="dv_port_groups", object="DVS0/pg-a", change="changed", field="x"),
        DriftRow(collection="standard_port_groups", object="h1/vSwitch0/VM", change="changed"),
        DriftRow(collection="vms", object="vm-9", change="added"),
    ]
    events = [
        ChangeEvent(key=1, time=t[0], user="alice", kind="k", network="pg-a", dvs="DVS0"),
        # later, but about the switch only: the port group's own event wins
        ChangeEvent(key=2, time=t[2], user="bob", kind="k", dvs="DVS0"),
        ChangeEvent(key=3, time=t[1], user="carol", kind="k", host="h1"),
        ChangeEvent(key=4, time=t[3], user="dave", kind="k", host="h2"),
    ]
    out = attribute(rows, events)
    assert [(r.changed_by, r.changed_at) for r in out] == [
        ("alice", t[0]),
        ("carol", t[1]),
        ("", None),
    ]
    assert [r.model_copy(update={"changed_by": "", "changed_at": None}) for r in out] == rows
