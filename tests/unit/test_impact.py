"""The connectivity model and what-if on hand-built inventories (pure: no lab)."""

from __future__ import annotations

import pytest

from tests.unit.impact_inventory import build, dv_pg, pnic, teaming, vm
from vnettool.errors import ConfigError
from vnettool.impact import analyze
from vnettool.impact.whatif import (
    Failure,
    apply_failures,
    compare,
    maintenance,
    parse_failures,
    whatif,
)
from vnettool.models.inventory import Inventory


def _with_pnics(inv: Inventory, host: str, **up: bool) -> Inventory:
    hosts = [
        h.model_copy(
            update={
                "pnics": [
                    pnic(h.name, int(p.device[5:]), up=up.get(p.device, p.link_up)) for p in h.pnics
                ]
            }
        )
        if h.name == host
        else h
        for h in inv.hosts
    ]
    return inv.model_copy(update={"hosts": hosts})


def test_vss_path_traced_to_neighbour_ports() -> None:
    ep = analyze(build()).endpoints["vmk:H0/vmk0"]
    assert (ep.portgroup, ep.switch, ep.distributed, ep.status) == (
        "Management Network",
        "vSwitch0",
        False,
        "ok",
    )
    assert [(u.uplink, u.role) for u in ep.uplinks] == [("vmnic0", "active"), ("vmnic1", "active")]
    hops = [(p.pnic, p.switch, p.port) for u in ep.uplinks for p in u.pnics]
    assert hops == [("vmnic0", "tor-a", "Ethernet1/1"), ("vmnic1", "tor-b", "Ethernet1/2")]
    assert ep.marked and ep.live_pnics == ["vmnic0", "vmnic1"]


def test_one_pnic_down_degrades_both_down_is_dark() -> None:
    one = analyze(_with_pnics(build(), "H0", vmnic1=False)).endpoints["vmk:H0/vmk0"]
    assert (one.status, one.live_pnics, one.reason) == (
        "degraded",
        ["vmnic0"],
        "one live pNIC (vmnic0)",
    )
    both = analyze(_with_pnics(build(), "H0", vmnic0=False, vmnic1=False)).endpoints["vmk:H0/vmk0"]
    assert both.status == "dark" and both.live_pnics == []
    assert "every uplink is down (vmnic0, vmnic1)" in both.reason
    # the other host is untouched
    assert analyze(_with_pnics(build(), "H0", vmnic0=False)).endpoints["vmk:H1/vmk0"].status == "ok"


def test_standby_counts_unused_does_not() -> None:
    inv = build()
    explicit = teaming(["vmnic0"], ["vmnic1"], policy="failover_explicit")
    unused = teaming(["vmnic0"])  # vmnic1 bridged but neither active nor standby
    pgs = [
        p.model_copy(update={"effective": explicit if p.name == "vMotion" else unused})
        if p.host == "H0" and p.name in ("vMotion", "VM Network")
        else p
        for p in inv.standard_port_groups
    ]
    c = analyze(inv.model_copy(update={"standard_port_groups": pgs}))
    vmot = c.endpoints["vmk:H0/vmk1"]
    assert vmot.status == "ok" and [u.role for u in vmot.uplinks] == ["active", "standby"]
    vms = [vm("solo", "H0", ("VM Network", None))]
    solo = analyze(inv.model_copy(update={"standard_port_groups": pgs, "vms": vms}))
    assert solo.endpoints["vm:solo/ethernet-0"].status == "degraded"


def test_all_live_pnics_on_one_switch_is_not_redundant() -> None:
    inv = build()
    hosts = [
        h.model_copy(update={"pnics": [pnic(h.name, i, switch="tor-a") for i in range(4)]})
        if h.name == "H0"
        else h
        for h in inv.hosts
    ]
    ep = analyze(inv.model_copy(update={"hosts": hosts})).endpoints["vmk:H0/vmk0"]
    assert ep.status == "degraded" and ep.reason == "every live pNIC ends on switch tor-a"


def test_dvs_uplinks_and_lag_members() -> None:
    c = analyze(build(lag=True))
    web = c.endpoints["vm:web1/ethernet-0"]
    assert (web.distributed, web.switch, web.vlan, web.status) == (True, "DVS0", "10", "ok")
    assert [(u.uplink, u.lag, [p.pnic for p in u.pnics]) for u in web.uplinks] == [
        ("lag1", True, ["vmnic2", "vmnic3"])
    ]
    db = analyze(build()).endpoints["vm:app1/ethernet-1"]
    assert [(u.uplink, u.role, [p.pnic for p in u.pnics]) for u in db.uplinks] == [
        ("uplink1", "active", ["vmnic2"]),
        ("uplink2", "standby", ["vmnic3"]),
    ]


def test_host_not_on_the_dvs_is_dark() -> None:
    inv = build()
    dvs = inv.distributed_switches[0]
    lone = dvs.model_copy(update={"hosts": [m for m in dvs.hosts if m.host != "H0"]})
    ep = analyze(inv.model_copy(update={"distributed_switches": [lone]})).endpoints[
        "vm:web1/ethernet-0"
    ]
    assert ep.status == "dark" and ep.reason == "H0 is not on DVS0"


def test_whatif_lag_failure_darkens_lag_users_only() -> None:
    inv = build(lag=True)
    failures = parse_failures(["H0/lag1"], inv)
    assert failures == [Failure(kind="lag", host="H0", name="lag1")]
    imp, _ = whatif(inv, failures)
    assert [t.key for t in imp.dark] == ["vm:web1/ethernet-0"]
    assert imp.degraded == [] and imp.stays == 6


def test_whatif_neighbour_port_takes_one_pnic_switch_takes_all() -> None:
    inv = build()
    port, _ = whatif(inv, parse_failures(["neighbour", "tor-a:Ethernet1/1"], inv))
    assert sorted(t.key for t in port.degraded) == ["vmk:H0/vmk0", "vmk:H0/vmk1"]
    switch, after = whatif(inv, parse_failures(["neighbour", "tor-a"], inv))
    assert switch.dark == []
    assert len(switch.degraded) == 7  # every endpoint on both hosts
    assert {t.marked for t in switch.degraded if t.kind == "vmknic"} == {True}
    assert after.endpoints["vmk:H1/vmk0"].live_pnics == ["vmnic1"]


def test_whatif_two_pnics_darken_management_and_marks_it() -> None:
    inv = build()
    imp, _ = whatif(inv, parse_failures(["H0/vmnic0", "H0/vmnic1"], inv))
    assert [(t.key, t.marked, t.before, t.after) for t in imp.dark] == [
        ("vmk:H0/vmk0", True, "ok", "dark"),
        ("vmk:H0/vmk1", True, "ok", "dark"),
    ]
    assert imp.summary() == "2 go dark (2 management/vMotion)"


def test_maintenance_moves_vms_to_a_host_with_their_networks() -> None:
    inv = build(hosts=3)
    imp, after = whatif(inv, [maintenance("H1", inv)])
    assert [(t.key, t.host) for t in imp.moved] == [
        ("vm:app1/ethernet-0", "H0"),
        ("vm:app1/ethernet-1", "H0"),
    ]
    assert imp.dark == [] and after.endpoints["vm:app1/ethernet-0"].reason == "moves to H0"
    # the host's own adapters stay: maintenance does not cut management
    assert after.endpoints["vmk:H1/vmk0"].status == "ok"


def test_maintenance_prefers_a_host_where_the_vm_keeps_redundancy() -> None:
    inv = _with_pnics(build(hosts=3), "H0", vmnic0=False)
    _, after = whatif(inv, [maintenance("H1", inv)])
    assert after.endpoints["vm:app1/ethernet-0"].host == "H2"


def test_maintenance_of_the_only_host_darkens_its_vms() -> None:
    inv = build(hosts=1, vms=[vm("only", "H0", ("VM Network", None))])
    imp, _ = whatif(inv, [maintenance("H0", inv)])
    assert [t.key for t in imp.dark] == ["vm:only/ethernet-0"]
    assert "no other host of its cluster" in imp.dark[0].reason


def test_compare_does_not_report_what_was_broken_already() -> None:
    inv = _with_pnics(build(), "H0", vmnic0=False, vmnic1=False)
    imp, _ = whatif(inv, parse_failures(["H0/vmnic2"], inv))
    assert [t.key for t in imp.dark] == []
    assert [t.key for t in imp.degraded] == ["vm:web1/ethernet-0"]


def test_deleted_endpoint_counts_as_dark() -> None:
    inv = build()
    gone = inv.model_copy(
        update={"vmkernel_adapters": [v for v in inv.vmkernel_adapters if v.device != "vmk1"]}
    )
    imp = compare(analyze(inv), analyze(gone))
    assert [(t.key, t.after, t.reason) for t in imp.dark] == [
        ("vmk:H0/vmk1", None, "deleted"),
        ("vmk:H1/vmk1", None, "deleted"),
    ]


def test_vlan_change_and_move_reported() -> None:
    inv = build()
    pgs = [dv_pg("web", "dvpg-1", ["uplink1", "uplink2"], vlan=11), inv.distributed_port_groups[1]]
    imp = compare(analyze(inv), analyze(inv.model_copy(update={"distributed_port_groups": pgs})))
    assert [(t.key, t.vlan_before, t.vlan_after) for t in imp.vlan_changed] == [
        ("vm:web1/ethernet-0", "10", "11")
    ]


def test_failed_pnic_looks_as_vcenter_shows_it() -> None:
    inv = build()
    failed = apply_failures(inv, [Failure(kind="pnic", host="H0", name="vmnic0")])
    p = failed.host_by_name["H0"].pnics[0]
    assert (p.link_up, p.speed_mb, p.neighbors) == (False, None, [])
    assert inv.host_by_name["H0"].pnics[0].link_up  # the input is not changed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["H9/vmnic0"], "unknown host 'H9'"),
        (["H0/vmnic7"], "H0 has no pNIC or LAG 'vmnic7' (it has: vmnic0, vmnic1, vmnic2, vmnic3)"),
        (["H0"], "expected HOST/vmnicN"),
        (["neighbour"], "needs a switch name"),
        (["neighbour", "tor-z"], "no pNIC sees neighbour switch 'tor-z' (seen: tor-a, tor-b)"),
        ([], "name at least one failure"),
    ],
)
def test_bad_failure_names_are_located_errors(args: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_failures(args, build())


def test_path_text_names_uplinks_standby_lag_and_down_links() -> None:
    from vnettool.impact.paths import path_text

    inv = _with_pnics(build(lag=True), "H0", vmnic1=False, vmnic3=False)
    c = analyze(inv)
    assert path_text(c.endpoints["vmk:H0/vmk0"]) == (
        "Management Network on vSwitch0: vmnic0 → tor-a Ethernet1/1, vmnic1 (down)"
    )
    assert path_text(c.endpoints["vm:web1/ethernet-0"]) == (
        "web on DVS0: lag1 LAG: vmnic2 → tor-a Ethernet1/3 + vmnic3 (down)"
    )
    assert path_text(analyze(build()).endpoints["vm:app1/ethernet-1"]) == (
        "db on DVS0: uplink1: vmnic2 → tor-a Ethernet2/3, uplink2 standby: vmnic3 → tor-b Ethernet2/4"
    )


def test_tui_host_details_show_each_endpoints_path() -> None:
    from rich.console import Console

    from vnettool.tui.model import NetIndex

    inv = _with_pnics(build(), "H0", vmnic1=False)
    console = Console(width=200, record=True)
    console.print(NetIndex.build(inv).details(("host", "H0")))
    text = console.export_text()
    assert "Paths" in text
    assert "H0 vmk0 [management]  degraded  Management Network on vSwitch0: vmnic0" in text
    assert "web1 ethernet-0" in text
