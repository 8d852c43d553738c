"""TUI rules without Textual: tree children, search, details, vMotion pre-checks, plan text."""

from __future__ import annotations

import pytest
from rich.console import Console

from tests.factories import snapshot
from vnettool.engine.render import render_plan as plan_text
from vnettool.models.inventory import Inventory
from vnettool.models.latency import LatencySample
from vnettool.models.plan import Change, FieldDiff, Plan
from vnettool.tui.findings import finding_row, matches, sort_key
from vnettool.tui.latency import latency_cell
from vnettool.tui.model import NetIndex, bps
from vnettool.tui.vmotion import candidates


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return snapshot()


@pytest.fixture(scope="module")
def ix(inv: Inventory) -> NetIndex:
    return NetIndex.build(inv)


def text(renderable: object, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_tree_levels_datacenter_to_vm_nics(ix: NetIndex, inv: Inventory) -> None:
    (dc,) = ix.roots()
    kids = ix.children(dc.key)
    clusters = [n for n in kids if n.key[0] == "cluster"]
    assert [n.label for n in clusters] == sorted(c.name for c in inv.clusters)
    assert any(n.key == ("dvs", "DVS0") for n in kids)
    hosts = ix.children(clusters[0].key)
    assert [n.key[1] for n in hosts] == sorted(h.name for h in inv.hosts_in(cluster="DC0_C0"))
    h0 = hosts[0].key[1]
    switches = ix.children(hosts[0].key)
    assert ("vss", h0, "vSwitch0") in [s.key for s in switches]
    assert ("hdvs", h0, "DVS0") in [s.key for s in switches]
    pgs = ix.children(("vss", h0, "vSwitch0"))
    assert {p.key[2] for p in pgs} == {p.name for p in inv.portgroups_of(h0)}
    # the management port group carries vmk0
    mgmt = ix.children(("pg", h0, "Management Network"))
    assert [n.key for n in mgmt] == [("vmk", h0, "vmk0")]
    # a DV port group under a host lists exactly the VM NICs of that host on it
    dvpg0 = next(g for g in inv.distributed_port_groups if g.name == "DC0_DVPG0")
    on_host = ix.children(("hdvpg", h0, dvpg0.key))
    expected = sorted(
        v.name for v in inv.vms if v.host == h0 for n in v.nics if n.dv_portgroup_key == dvpg0.key
    )
    assert expected, "the fixture has VMs on DC0_DVPG0 on the first host"
    assert sorted(n.label.split()[0] for n in on_host) == expected
    # the vCenter-wide DV port group lists every host's NICs on it
    everywhere = ix.children(("dvpg", dvpg0.key))
    assert len(everywhere) == sum(
        1 for v in inv.vms for n in v.nics if n.dv_portgroup_key == dvpg0.key
    )


def test_search_finds_nodes_with_their_path(ix: NetIndex) -> None:
    hits, truncated = ix.search("vmk1")
    assert not truncated
    assert len(hits) == 8  # one vMotion vmknic per host
    node, path = hits[0]
    assert node.key[0] == "vmk"
    assert [p.key[0] for p in path] == ["dc", "cluster", "host", "vss", "pg"]
    hits, truncated = ix.search("DC0", limit=5)
    assert truncated and len(hits) == 5
    assert ix.search("   ") == ([], False)


def test_details_show_vlan_policy_pvlan(ix: NetIndex, inv: Inventory) -> None:
    h0 = inv.hosts[0].name
    pg = text(ix.details(("pg", h0, "vMotion")))
    assert "Port group vMotion" in pg and "VLAN" in pg and "effective" in pg
    assert "inherited" in pg  # the port group overrides nothing in the lab
    dvs = text(ix.details(("dvs", "DVS0")))
    assert "PVLAN map of DVS0" in dvs
    assert "isolated" in dvs and "DC0_DVPG1" in dvs  # secondary 101 is used by DC0_DVPG1
    g1 = next(g for g in inv.distributed_port_groups if g.name == "DC0_DVPG1")
    assert "100/101 isolated" in text(ix.details(("dvpg", g1.key)))
    gone = text(ix.details(("pg", h0, "no-such-pg")))
    assert "no longer in the inventory" in gone


def test_bps_readable() -> None:
    assert bps(100_000_000) == "100 Mbit/s"
    assert bps(None) == "-"
    assert bps(1500) == "1.5 kbit/s"


def test_vmotion_candidates_explain_exclusions(inv: Inventory) -> None:
    vm = next(v for v in inv.vms if v.host == "DC0_C0_H0")
    cands = {c.host: c for c in candidates(inv, vm)}
    assert vm.host not in cands
    assert set(cands) == {h.name for h in inv.hosts_in(cluster=vm.cluster)} - {vm.host}
    assert cands["DC0_C0_H2"].reasons == ["host is in maintenance mode"]
    assert cands["DC0_C0_H1"].ok
    # a host outside the DVS cannot offer the VM's DV port group
    data = inv.model_dump()
    members = data["distributed_switches"][0]["hosts"]
    data["distributed_switches"][0]["hosts"] = [m for m in members if m["host"] != "DC0_C0_H1"]
    smaller = Inventory.model_validate(data)  # a fresh object: the indexes are cached
    c = {c.host: c for c in candidates(smaller, vm)}["DC0_C0_H1"]
    assert not c.ok and "not a member of DVS DVS0" in c.reasons[0]


def test_plan_text_states_each_change() -> None:
    plan = Plan(
        changes=[
            Change(
                kind="update",
                resource="standard_port_group",
                host="esx1",
                name="pg-web",
                diffs=[FieldDiff(field="vlan", before=100, after=200)],
            ),
            Change(
                kind="create",
                resource="standard_switch",
                host="esx2",
                name="vSwitch1",
                diffs=[FieldDiff(field="mtu", after=9000)],
            ),
        ]
    )
    out = plan_text(plan).plain
    assert "~ standard port group pg-web" in out
    assert "vlan: 100 → 200" in out
    assert "+ standard switch vSwitch1" in out and "mtu: 9000" in out
    assert "0 to create" not in out and "1 to create, 1 to update, 0 to delete on 2 hosts" in out
    assert "No changes" in plan_text(Plan()).plain


def test_findings_rows_filter_and_sort() -> None:
    rows = [
        finding_row(
            {"rule_id": "SEC-01", "severity": "high", "object": "pg-a", "title": "promisc"}
        ),
        finding_row(
            {"rule": "HC-03", "severity": "critical", "object": "vSwitch0", "message": "mtu"}
        ),
        finding_row({"rule_id": "SEC-02", "severity": "low", "object": "pg-b"}),
    ]
    assert rows[1]["rule"] == "HC-03" and rows[1]["title"] == "mtu"
    ordered = sorted(rows, key=sort_key("severity"))
    assert [r["severity"] for r in ordered] == ["critical", "high", "low"]
    assert [r["rule"] for r in sorted(rows, key=sort_key("rule"))] == ["HC-03", "SEC-01", "SEC-02"]
    assert [r["rule"] for r in rows if matches(r, "sev:high")] == ["SEC-01"]
    assert [r["rule"] for r in rows if matches(r, "rule:sec pg-b")] == ["SEC-02"]


def test_latency_cell_thresholds() -> None:
    def s(
        avg_us: float | None, received: int = 3, loss: float = 0.0, mtu_ok: bool | None = None
    ) -> LatencySample:
        return LatencySample(
            host="a",
            target="b",
            sent=3,
            received=received,
            loss_pct=loss,
            rtt_avg_us=avg_us,
            mtu_ok=mtu_ok,
        )

    assert latency_cell(s(300)).style == "green"
    assert latency_cell(s(2_000)).style == "yellow"
    assert latency_cell(s(20_000)).style == "red"
    assert latency_cell(s(None, received=0, loss=100)).plain == "lost"
    assert latency_cell(s(300, mtu_ok=False)).plain == "MTU✗"
    assert latency_cell(s(300, loss=66.7)).style == "red"
    assert latency_cell(None).plain == "·"


def test_findings_table_keeps_the_tail_of_a_long_object_path() -> None:
    from vnettool.tui.findings import short_object

    path = "DC0/DC0_C1/DC0_C1_H0/vSwitch0/VM Network"
    short = short_object(path)
    assert len(short) == 26 and short.startswith("…") and short.endswith("vSwitch0/VM Network")
    assert short_object("DVS0") == "DVS0"


def test_findings_summary_counts_failures_by_severity_and_not_judged_apart() -> None:
    from vnettool.tui.findings import summary

    rows = [
        {"severity": "high", "state": "N/A"},
        {"severity": "high", "state": "N/A"},
        {"severity": "medium", "state": "FAIL"},
        {"severity": "low", "state": "FAIL"},
        {"severity": "low", "state": "FAIL"},
    ]
    assert summary(rows) == "FAIL 3 (medium=1 low=2) · N/A 2"
    assert summary([]) == "FAIL 0"
