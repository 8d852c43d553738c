"""The audit workbook as a file: sheet order, RVTools' exact headers, formula safety on every
sheet type, writing conventions, and an atomic private write. Hand-made snapshots, rules and
findings only (no simulator); the lab versions are in tests/lab/test_audit_cli.py."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

from tests.factories import SNAPSHOTS, snapshot
from vnettool.audit.controls import PROFILES
from vnettool.audit.drift import drift
from vnettool.audit.model import AuditConfig, Finding, Rule, score
from vnettool.audit.workbook import safe, write_workbook
from vnettool.models.appliance import ApplianceNic, ApplianceStatus
from vnettool.models.inventory import (
    Inventory,
    LacpGroup,
    MirrorSession,
    TrafficRule,
    TrafficRuleset,
)

# RVTools 4.6/4.7 xlsx headers, in order (../shared/docs/audit-rules.md §1.2-1.8): the reference
# that tools parsing RVTools exports rely on. Our own columns follow, prefixed "x:".
_RV: dict[str, str] = {
    "vNetwork": "VM|Powerstate|Template|SRM Placeholder|NIC label|Adapter|Network|Switch|Connected|"
    "Starts Connected|Mac Address|Type|IPv4 Address|IPv6 Address|Direct Path IO|"
    "Internal Sort Column|Annotation|Datacenter|Cluster|Host|Folder|"
    "OS according to the configuration file|OS according to the VMware Tools|VM ID|VM UUID|"
    "VI SDK Server|VI SDK UUID",
    "vNIC": "Host|Datacenter|Cluster|Network Device|Driver|Speed|Duplex|MAC|Switch|Uplink port|"
    "PCI|WakeOn|VI SDK Server|VI SDK UUID",
    "vSwitch": "Host|Datacenter|Cluster|Switch|# Ports|Free Ports|Promiscuous Mode|Mac Changes|"
    "Forged Transmits|Traffic Shaping|Width|Peak|Burst|Policy|Reverse Policy|Notify Switch|"
    "Rolling Order|Offload|TSO|Zero Copy Xmit|MTU|VI SDK Server|VI SDK UUID",
    "vPort": "Host|Datacenter|Cluster|Port Group|Switch|VLAN|Promiscuous Mode|Mac Changes|"
    "Forged Transmits|Traffic Shaping|Width|Peak|Burst|Policy|Reverse Policy|Notify Switch|"
    "Rolling Order|Offload|TSO|Zero Copy Xmit|VI SDK Server|VI SDK UUID",
    "dvSwitch": "Switch|Datacenter|Name|Vendor|Version|Description|Created|Host members|"
    "Max Ports|# Ports|# VMs|In Traffic Shaping|In Avg|In Peak|In Burst|Out Traffic Shaping|"
    "Out Avg|Out Peak|Out Burst|CDP Type|CDP Operation|LACP Name|LACP Mode|"
    "LACP Load Balance Alg.|Max MTU|Contact|Admin Name|Object ID|VI SDK Server|VI SDK UUID",
    "dvPort": "Port|Switch|Type|# Ports|VLAN|Speed|Full Duplex|Blocked|Allow Promiscuous|"
    "Mac Changes|Active Uplink|Standby Uplink|Policy|Forged Transmits|In Traffic Shaping|"
    "In Avg|In Peak|In Burst|Out Traffic Shaping|Out Avg|Out Peak|Out Burst|Reverse Policy|"
    "Notify Switch|Rolling Order|Check Beacon|Live Port Moving|Check Duplex|Check Error %|"
    "Check Speed|Percentage|Block Override|Config Reset|Shaping Override|"
    "Vendor Config Override|Sec. Policy Override|Teaming Override|Vlan Override|Object ID|"
    "VI SDK Server|VI SDK UUID",
    "vSC_VMK": "Host|Datacenter|Cluster|Port Group|Device|Mac Address|DHCP|IP Address|"
    "IP 6 Address|Subnet mask|Gateway|IP 6 Gateway|MTU|VI SDK Server|VI SDK UUID",
    "vHealth": "Name|Message|Message type|VI SDK Server|VI SDK UUID",
    "vMetaData": "RVTools major version|RVTools version|xlsx creation datetime|Server",
}
RVTOOLS: dict[str, list[str]] = {k: v.split("|") for k, v in _RV.items()}
ORDER = [
    "Summary",
    "Findings",
    "Rules",
    "Compliance",
    "vNetwork",
    "vNIC",
    "vSwitch",
    "vPort",
    "dvSwitch",
    "dvPort",
    "vSC_VMK",
    "vHealth",
    "vMetaData",
    "dvsHostMember",
    "dvsHealthCheck",
    "PVLAN",
    "LACP",
    "NetFlow",
    "Mirroring",
    "TrafficRules",
    "PortGroupMatrix",
    "Appliances",
    "Topology",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# hostile names for every kind of object a sheet shows (vSphere names are user-controlled)
EVIL = {
    "DC0_C0_H0": "=H0()",  # a host: rows everywhere and a PortGroupMatrix column header
    "DVS0": '=HYPERLINK("http://x","y")',
    "VM Network": "+SUM(A1)",
    "DC0_DVPG0": "-2+3",
    "DC0_C0_RP0_VM0": "@SUM(A1)",
    "vcenter.lab.example": "=cmd|' /C calc'!A0",
}


def _rename(node: Any) -> Any:
    if isinstance(node, dict):
        return {EVIL.get(k, k): _rename(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v) for v in node]
    return EVIL.get(node, node) if isinstance(node, str) else node


def hostile_inventory() -> Inventory:
    inv = Inventory.model_validate(_rename(json.loads(SNAPSHOTS["lab"].read_text())))
    dvs = inv.distributed_switches[0]
    lag = LacpGroup(dvs=dvs.name, name="\tlag1", mode="active", uplink_names=["=lag1-0"])
    span = MirrorSession(dvs=dvs.name, name="=span()", type="dvPortMirror", enabled=True)
    rule = TrafficRule(name="+mark", action="tag", dscp=46, sequence=10)
    pgs = [
        p.model_copy(update={"traffic": TrafficRuleset(dvs=p.dvs, portgroup=p.name, rules=[rule])})
        for p in inv.distributed_port_groups
    ]
    sw = dvs.model_copy(update={"lags": [lag], "mirrors": [span]})
    return inv.model_copy(update={"distributed_switches": [sw], "distributed_port_groups": pgs})


def _no_findings(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    return iter(())


RULE = Rule(
    id="SEC-99",
    title="=1+1 a rule title is ours, but goes through the same helper",
    category="SEC",
    severity="high",
    scope="StandardPortGroup",
    reads="HostPortGroup.spec.name",
    logic="-fails when",
    source="+test",
    remediation="@fix it",
    check=_no_findings,
)


def findings(inv: Inventory) -> list[Finding]:
    pg = inv.standard_port_groups[0]
    return [
        Finding(
            rule_id="SEC-99",
            severity=sev,
            state=state,
            title=RULE.title,
            object_type="StandardPortGroup",
            object=f"{pg.host}/{pg.switch}/{pg.name}",
            host_or_cluster=pg.host,
            switch=pg.switch,
            property_path="spec.policy.security.allowPromiscuous",
            actual=f"=TRUE() {state}",
            expected="-False",
            detail="bell\x07 and form feed\x0c are not XML",
            exception="@waiver" if state == "EXCEPTION" else None,
        )
        for sev, state in (
            ("critical", "FAIL"),
            ("high", "FAIL"),
            ("medium", "EXCEPTION"),
            ("low", "UNKNOWN"),
            ("info", "PASS"),
        )
    ]


def appliances() -> list[ApplianceStatus]:
    nics = [ApplianceNic(role="protected", label="nic1", network="+prot")]
    return [ApplianceStatus(definition="=fw", vm="\tfw-01", host="=H0()", nics=nics)]


def write(tmp_path: Path, **kw: Any) -> Path:
    inv = hostile_inventory()
    kw.setdefault("baseline", drift(snapshot(), inv))
    return write_workbook(
        tmp_path / "audit.xlsx",
        inv,
        findings(inv),
        rules=[RULE],
        appliances=appliances(),
        **kw,
    )


def cells(ws: Any) -> list[Cell]:
    return [c for row in ws.iter_rows() for c in row if c.value is not None]


def test_sheets_in_order_with_drift_last_only_given_a_baseline(tmp_path: Path) -> None:
    assert load_workbook(write(tmp_path), read_only=True).sheetnames == [*ORDER, "Drift"]
    plain = write(tmp_path, baseline=None)
    assert load_workbook(plain, read_only=True).sheetnames == ORDER


def test_rvtools_tabs_carry_rvtools_headers_then_x_columns(tmp_path: Path) -> None:
    wb = load_workbook(write(tmp_path), read_only=True)
    for tab, want in RVTOOLS.items():
        head = [c.value for c in next(wb[tab].iter_rows(max_row=1))]
        assert head[: len(want)] == want, tab
        assert all(str(h).startswith("x:") for h in head[len(want) :]), tab


def test_every_sheet_type_writes_hostile_text_as_text(tmp_path: Path) -> None:
    """The §3.6 test: every sheet holds strings starting = + - @ tab; none is a formula, each
    is a string cell with the quote prefix (so editing the cell in Excel does not run it)."""
    wb = load_workbook(write(tmp_path))
    assert not [
        (ws.title, c.coordinate) for ws in wb.worksheets for c in cells(ws) if c.data_type == "f"
    ]
    for ws in wb.worksheets:
        if ws.title == "Compliance":  # the catalogue's text only (SEC-99 is in no benchmark)
            continue
        risky = [c for c in cells(ws) if isinstance(c.value, str) and c.value[:1] in "=+-@\t\r"]
        if ws.title == "Topology":  # pictures; its only text is "Cluster <name>" titles
            assert all(str(c.value).startswith("Cluster ") for c in cells(ws))
            continue
        assert risky, f"{ws.title}: no hostile text reached this sheet"
        assert all(c.data_type == "s" and c.quotePrefix for c in risky), ws.title
    values = {c.value for ws in wb.worksheets for c in cells(ws)}
    assert set(EVIL.values()) <= values  # written verbatim, not dropped or mangled
    matrix_head = [c.value for c in wb["PortGroupMatrix"][1]]
    assert "DC0_C0/=H0()" in matrix_head


def test_text_is_cleaned_capped_and_typed(tmp_path: Path) -> None:
    assert safe("bell\x07") == "bell"
    assert len(safe("x" * 40_000)) == 32_767
    assert safe(True) == "True" and safe(None) is None and safe(3) == 3
    assert safe(["a", "b"]) == "a, b"
    wb = load_workbook(write(tmp_path))
    detail = wb["Findings"]["O2"].value
    assert wb["Findings"]["O1"].value == "Detail"
    assert detail == "bell and form feed are not XML"
    vsw = wb["vSwitch"]
    bools = [c.value for c in vsw["G"][1:]]  # Promiscuous Mode
    assert bools and set(bools) <= {"True", "False", None}
    assert not [c for ws in wb.worksheets for c in cells(ws) if c.value == "None"]


def test_pass_rows_only_with_include_pass_but_always_counted(tmp_path: Path) -> None:
    states = [c.value for c in load_workbook(write(tmp_path))["Findings"]["C"][1:]]
    assert sorted(states) == ["EXCEPTION", "FAIL", "FAIL", "UNKNOWN"]
    (tmp_path / "audit.xlsx").unlink()
    wb = load_workbook(write(tmp_path, include_pass=True))
    assert "PASS" in [c.value for c in wb["Findings"]["C"][1:]]
    rules = wb["Rules"]
    assert [c.value for c in rules[2]][:1] == ["SEC-99"]
    assert [c.value for c in rules[2]][10:14] == [5, 2, 1, 1]  # Evaluated, FAIL, EXCEPTION, UNKNOWN


def test_summary_score_counts_and_chart(tmp_path: Path) -> None:
    inv = hostile_inventory()
    value, grade = score(findings(inv))
    wb = load_workbook(write(tmp_path))
    ws = wb["Summary"]
    labels = {r[0].value: r[1].value for r in ws.iter_rows(max_col=2) if r[0].value}
    assert labels["Score"] == f"{value} / 100 (grade {grade})"
    assert labels["vCenter"] == EVIL["vcenter.lab.example"]
    assert labels["Appliances"] == 1
    assert labels["Hosts (connected / not)"] == f"{len(inv.hosts)} ({len(inv.hosts)} / 0)"
    table = [[c.value for c in r] for r in ws.iter_rows(max_col=5) if r[0].value == "critical"]
    assert table == [["critical", 1, 0, 0, 0]]
    # severity counts and compliance per profile; a chart references cells, it is no formula
    assert len(ws._charts) == 2
    profiles = [r[0].value for r in ws.iter_rows(max_col=2) if r[0].value in PROFILES]
    assert profiles == list(PROFILES)


def test_frozen_panes_and_filters(tmp_path: Path) -> None:
    wb = load_workbook(write(tmp_path))
    assert wb["vNetwork"].freeze_panes == "B2"  # RVTools' own
    assert wb["Findings"].freeze_panes == "A2"
    assert wb["PortGroupMatrix"].freeze_panes == "D2"
    for name in ("Findings", "vNetwork", "dvPort", "Drift"):
        assert wb[name].auto_filter.ref, name
        assert wb[name]["A1"].font.b, name


def test_private_file_and_no_partial_file_over_an_old_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write(tmp_path)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    old = out.read_bytes()

    from openpyxl import Workbook

    def fail(self: Workbook, f: Any) -> None:
        f.write(b"PK half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Workbook, "save", fail)
    with pytest.raises(OSError, match="No space"):
        write(tmp_path)
    assert out.read_bytes() == old  # the previous report is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["audit.xlsx"]


def test_dvport_override_columns_come_from_the_port_group_policy(tmp_path: Path) -> None:
    inv = hostile_inventory()
    pg = inv.distributed_port_groups[0]
    ov = {"blockOverrideAllowed": True, "vlanOverrideAllowed": False}
    inv = inv.model_copy(
        update={
            "distributed_port_groups": [
                pg.model_copy(update={"override_allowed": ov}),
                *inv.distributed_port_groups[1:],
            ]
        }
    )
    out = write_workbook(tmp_path / "o.xlsx", inv, [], rules=[RULE])
    ws = load_workbook(out, read_only=True)["dvPort"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head, row = rows[0], next(r for r in rows[1:] if r[0] == pg.name)
    assert row[head.index("Block Override")] == "True"
    assert row[head.index("Vlan Override")] == "False"
    assert row[head.index("Object ID")] == pg.moref


def test_pvlan_tab_states_each_map_problem_with_its_rule(tmp_path: Path) -> None:
    from vnettool.models.inventory import (
        DistributedPortGroup,
        DistributedSwitch,
        DvPortSetting,
        PvlanEntry,
    )
    from vnettool.models.policy import VlanSpec

    def entry(p: int, s: int, t: Any) -> PvlanEntry:
        return PvlanEntry(dvs="DVS", primary_id=p, secondary_id=s, type=t)

    def pg(name: str, vlan: VlanSpec) -> DistributedPortGroup:
        return DistributedPortGroup(
            moref=name, key=name, name=name, dvs="DVS", setting=DvPortSetting(vlan=vlan)
        )

    dvs = DistributedSwitch(
        moref="dvs-1",
        name="DVS",
        uuid="u",
        pvlans=[
            entry(100, 100, "promiscuous"),
            entry(100, 101, "isolated"),
            entry(100, 102, "community"),
            entry(100, 103, "community"),
            entry(200, 201, "isolated"),
        ],
    )
    inv = Inventory(
        distributed_switches=[dvs],
        distributed_port_groups=[
            pg("iso", VlanSpec(kind="pvlan", pvlan_id=101)),
            pg("ghost", VlanSpec(kind="pvlan", pvlan_id=999)),
            pg("plain", VlanSpec(kind="vlan", vlan_id=103)),
        ],
    )
    out = write_workbook(tmp_path / "p.xlsx", inv, [], rules=[RULE])
    sheet = load_workbook(out, read_only=True)["PVLAN"]
    rows = [([c.value for c in r] + [None] * 7)[:7] for r in sheet.iter_rows()]  # trailing empties
    assert rows[0][-2:] == ["Status", "Rule Refs"]
    got = {r[2]: (r[4], r[5], r[6]) for r in rows[1:]}
    assert got == {
        100: (None, "OK", None),
        101: ("iso", "OK", None),
        102: (None, "unused", None),
        103: (None, "clashes with VLAN", "HC-12"),
        201: (None, "missing promiscuous", "HC-12"),
        999: ("ghost", "orphan secondary", "HC-12"),
    }


def test_topology_tab_has_each_clusters_picture(tmp_path: Path) -> None:
    """One PNG per cluster (the `vnettool topology --cluster C` picture), titled, within a
    printable width, on its own landscape fit-to-width tab."""
    import io

    from PIL import Image as PilImage

    from vnettool.audit.workbook.topology import MAX_WIDTH_PX

    inv = snapshot()
    path = write_workbook(tmp_path / "topo.xlsx", inv, [], rules=[RULE])
    ws = load_workbook(path)["Topology"]
    clusters = sorted(c.name for c in inv.clusters)
    titles = [c.value for c in cells(ws)]
    assert titles == [f"Cluster {c}" for c in clusters]
    images = ws._images
    assert len(images) == len(clusters)
    for img in images:
        assert 0 < img.width <= MAX_WIDTH_PX and img.height > 0
        png = PilImage.open(io.BytesIO(img._data()))
        assert png.format == "PNG" and png.size[0] >= img.width
    title_rows = [c.row for c in cells(ws)]
    assert [i.anchor._from.row + 1 for i in images] == [r + 1 for r in title_rows]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
