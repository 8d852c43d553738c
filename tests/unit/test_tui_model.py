"""TUI rules without Textual: tree children, search, details, vMotion pre-checks, plan text."""

from __future__ import annotations

import re

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
    assert "Policy (all inherited)" in pg  # the port group overrides nothing in the lab
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


def test_findings_object_column_keeps_the_host_and_the_leaf_of_each_path() -> None:
    """Issue 28 item 7: object paths were cut to their tail, so 32 rows read the same
    `…/vSwitch0/VM Network`. Whole segments shared by the column go first."""
    from vnettool.tui.findings import short_object
    from vnettool.tui.fit import segment_counts

    paths = [f"DC0/DC0_C{c}/DC0_C{c}_H{h}/vSwitch0/VM Network" for c in (0, 1) for h in range(16)]
    common = segment_counts(paths)
    for width in (23, 26, 30):
        shown = [short_object(p, width, common) for p in paths]
        assert len(set(shown)) == len(paths), shown  # every row still tells its host
        assert all(len(x) <= width and x.endswith("/VM Network") for x in shown)
    assert short_object(paths[12], 24, common) == "DC0_C0_H12/…/VM Network"
    assert short_object("DVS0", 26, common) == "DVS0"


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


def test_fit_middle_never_cuts_a_number_and_keeps_both_ends() -> None:
    from vnettool.tui.fit import fit_middle, fit_suffix

    assert fit_middle("DC0_C1_H12", 10) == "DC0_C1_H12"
    for width in range(4, 10):
        cut = fit_middle("DC0_C1_H12", width)
        assert len(cut) <= width and "…" in cut
        # every digit run shown is a whole number of the name
        for run in re.findall(r"\d+", cut):
            assert run in ("0", "1", "12"), (width, cut)
        assert cut.endswith("12") or cut.endswith("…") or width < 6
    assert fit_middle("DC0_C1_RP0_VM12", 12).endswith("VM12")
    # the suffix with the VLAN id stays whole; the name is cut in its middle
    assert fit_suffix("DC0_DVPG0", "vlan 4095", 20) == "DC0_DVPG0  vlan 4095"
    assert fit_suffix("DVS0-DVUplinks-9", "vlan 0-4094", 26).endswith("  vlan 0-4094")
    assert fit_suffix("pg-backup-network", "vlan 10", 16) == "pg-…ork  vlan 10"


def test_wrap_phrases_breaks_between_phrases_only() -> None:
    from vnettool.tui.fit import wrap_phrases

    phrases = ["/ filter", "enter/→ expand", "← collapse", "m migrate the selected VM"]
    lines = wrap_phrases(phrases, 40, indent=2)
    assert lines == ["/ filter   enter/→ expand   ← collapse", "  m migrate the selected VM"]
    joined = " ".join(x.strip() for x in lines)
    assert all(p in joined for p in phrases)


def test_findings_sort_judged_failures_before_not_judged_rules() -> None:
    """Issue 28 item 7: high-severity N/A rules sorted above real failures."""
    from vnettool.tui.findings import sort_key

    rows = [
        {"severity": "high", "rule": "HC-01", "state": "N/A", "object": "DVS0", "title": ""},
        {"severity": "low", "rule": "SEC-12", "state": "FAIL", "object": "H10", "title": ""},
        {"severity": "medium", "rule": "SEC-13", "state": "FAIL", "object": "pg", "title": ""},
        {"severity": "low", "rule": "SEC-12", "state": "FAIL", "object": "H2", "title": ""},
        {"severity": "high", "rule": "HC-02", "state": "UNKNOWN", "object": "DVS0", "title": ""},
    ]
    for by in ("severity", "rule", "object", "state"):
        states = [r["state"] for r in sorted(rows, key=sort_key(by))]
        assert states[-1] == "N/A" and states[:3] == ["FAIL"] * 3, (by, states)
    by_sev = [(r["rule"], r["object"]) for r in sorted(rows, key=sort_key("severity"))]
    assert by_sev[:3] == [("SEC-13", "pg"), ("SEC-12", "H2"), ("SEC-12", "H10")]


def test_help_keeps_every_key_phrase_whole_at_every_width() -> None:
    """Issue 28 item 7: the help wrapped mid-phrase at 80 columns."""
    from vnettool.tui.widgets import HELP, help_text

    for width in range(60, 121, 5):
        lines = help_text(width).plain.splitlines()
        assert all(len(line) <= width for line in lines), (width, lines)
        for _, keys, _ in HELP:
            for phrase in keys:
                assert any(phrase in line for line in lines), (width, phrase)
