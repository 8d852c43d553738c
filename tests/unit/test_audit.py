"""The audit's pure parts: rules on hand-built snapshots, waivers and re-levelling, the config
loader's located errors, drift, and a workbook that no spreadsheet can be tricked into
evaluating."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.factories import (
    dv_portgroup,
    dv_switch,
    host,
    pnics,
    portgroup,
    site,
    vm,
    vm_nic,
    vmk,
    vswitch,
)
from vnettool.audit.config import load_config
from vnettool.audit.drift import drift
from vnettool.audit.model import Allow, AuditConfig, RuleOverride, score
from vnettool.audit.rules import RULES
from vnettool.audit.runner import audit
from vnettool.audit.workbook import write_workbook
from vnettool.errors import ConfigError
from vnettool.models.inventory import (
    DvPortSetting,
    Inventory,
    StandardPortGroup,
    StandardSwitch,
)
from vnettool.models.policy import NetworkPolicy, SecurityPolicy, TeamingPolicy, VlanSpec

EVIL = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tTAB", '=HYPERLINK("http://x","y")']


def inventory(pg_name: str = "web", promisc: bool = False, vlan: int = 10) -> Inventory:
    team = NetworkPolicy(teaming=TeamingPolicy(active_uplinks=["vmnic0", "vmnic1"]))
    eff = team.model_copy(update={"security": SecurityPolicy(allow_promiscuous=promisc)})
    dv_vlan = DvPortSetting(vlan=VlanSpec(kind="vlan", vlan_id=20))
    nic = vm_nic(pg_name, label=EVIL[5], connected=True, start_connected=True)
    return site(
        hosts=[host("esx1", 1, datacenter="DC", cluster="C1", pnics=pnics("esx1", 2, link_up=True))],
        standard_switches=[vswitch("esx1", mtu=1500, uplinks=["vmnic0", "vmnic1"], policy=team)],
        standard_port_groups=[portgroup("esx1", pg_name, vlan_id=vlan, effective=eff)],
        distributed_switches=[dv_switch("DVS", uuid="u1", datacenter="DC", nioc_enabled=True)],
        distributed_port_groups=[dv_portgroup(EVIL[1], "DVS", moref="pg-1", key="pg-1", setting=dv_vlan)],
        vmkernel_adapters=[vmk("esx1", "vmk0", portgroup="mgmt", mtu=1500, services=["management"])],
        vms=[vm(EVIL[0], "vm-1", "esx1", cluster="C1", power_state="poweredOn", nics=[nic])],
    )  # fmt: skip


def fails(findings: list, rid: str) -> list:
    return [f for f in findings if f.rule_id == rid and f.state == "FAIL"]


def test_catalogue_is_complete_and_ordered() -> None:
    ids = [r.id for r in RULES]
    assert ids[:29] == [f"SEC-{i:02d}" for i in range(1, 30)]
    assert ids[29:] == [f"HC-{i:02d}" for i in range(1, 20)]
    assert all(r.title and r.remediation and r.source and r.logic for r in RULES)


def test_promiscuous_port_group_fails_with_evidence_and_clean_one_passes() -> None:
    bad = fails(audit(inventory(promisc=True)), "SEC-01")
    assert [f.object for f in bad] == ["DC/C1/esx1/vSwitch0/web"]
    assert bad[0].actual.startswith("True") and bad[0].expected == "False"
    assert not fails(audit(inventory()), "SEC-01")


def test_waiver_turns_fail_into_exception_until_it_expires() -> None:
    cfg = AuditConfig(
        allow={
            "SEC-01": [Allow(pattern="*/web", justification="IDS sensor", expires=date(2030, 1, 1))]
        }
    )
    got = [
        f
        for f in audit(inventory(promisc=True), cfg, today=date(2029, 12, 31))
        if f.rule_id == "SEC-01" and "web" in f.object
    ]
    assert [f.state for f in got] == ["EXCEPTION"] and "IDS sensor" in (got[0].exception or "")
    late = [
        f
        for f in audit(inventory(promisc=True), cfg, today=date(2030, 1, 2))
        if f.rule_id == "SEC-01" and "web" in f.object
    ]
    assert [f.state for f in late] == ["FAIL"] and "expired" in late[0].detail


def test_rules_can_be_disabled_and_relevelled() -> None:
    cfg = AuditConfig(
        rules={"SEC-01": RuleOverride(severity="critical"), "SEC-12": RuleOverride(enabled=False)}
    )
    found = audit(inventory(promisc=True, vlan=0), cfg)
    assert {f.severity for f in fails(found, "SEC-01")} == {"critical"}
    assert not [f for f in found if f.rule_id == "SEC-12"]
    assert fails(audit(inventory(vlan=0)), "SEC-12")


def test_score_weights_and_grade() -> None:
    assert score(audit(inventory()))[0] > score(audit(inventory(promisc=True, vlan=4095)))[0]


def test_config_errors_are_located(tmp_path: Path) -> None:
    p = tmp_path / "audit.yml"
    p.write_text("native_vlans: [1]\nrules:\n  SEC-01:\n    severity: urgent\n")
    with pytest.raises(ConfigError, match=r"audit.yml:4:\d+: rules.SEC-01.severity"):
        load_config(p)
    p.write_text("native_vlans: [1\n")
    with pytest.raises(ConfigError, match=r"audit.yml:\d+:\d+"):
        load_config(p)
    p.write_text(
        "reserved_vlans: [1001]\nallow:\n  SEC-01:\n    - {pattern: '*', justification: lab}\n"
    )
    assert load_config(p).reserved_vlans == [1001]


def test_drift_reports_field_changes_and_added_removed_objects() -> None:
    rows = drift(inventory(vlan=10), inventory(vlan=11))
    assert [(r.collection, r.change, r.field, r.before, r.after) for r in rows] == [
        ("standard_port_groups", "changed", "vlan_id", "10", "11")
    ]
    rows = drift(inventory(pg_name="old"), inventory(pg_name="new"))
    assert sorted((r.change, r.object) for r in rows if r.collection == "standard_port_groups") == [
        ("added", "esx1/new"),
        ("removed", "esx1/old"),
    ]


def test_workbook_never_holds_a_formula_and_is_private(tmp_path: Path) -> None:
    inv = inventory(pg_name=EVIL[2], promisc=True)
    base = inventory(pg_name=EVIL[3])
    out = write_workbook(
        tmp_path / "a.xlsx", inv, audit(inv), rules=RULES, baseline=drift(base, inv)
    )
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    wb = load_workbook(out)
    cells = [
        c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None
    ]
    assert not [(c.parent.title, c.coordinate) for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    for text in ("=1+1", "+SUM(A1)", "-2", '=HYPERLINK("http://x","y")'):
        assert text in values
    # every sheet type carries some of the hostile strings (names from vSphere are everywhere)
    assert any(isinstance(v, str) and v.endswith("/@cmd") for v in values)  # drift
    seen = {c.parent.title for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@"}
    assert {"vNetwork", "vPort", "dvPort", "PortGroupMatrix"} <= seen
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import Workbook

    def half_then_fail(self: Workbook, f: object) -> None:
        f.write(b"PK partial")  # type: ignore[attr-defined]
        raise RuntimeError("disk full")

    monkeypatch.setattr(Workbook, "save", half_then_fail)
    inv = inventory()
    target = tmp_path / "a.xlsx"
    with pytest.raises(RuntimeError, match="disk full"):
        write_workbook(target, inv, audit(inv), rules=RULES)
    assert list(tmp_path.iterdir()) == []


def test_docs_rule_table_matches_the_catalogue() -> None:
    text = (Path(__file__).parents[2] / "docs" / "audit.md").read_text()
    rows = [
        line.split("|")[1:4] for line in text.splitlines() if line.startswith(("| SEC-", "| HC-"))
    ]
    assert [(a.strip(), b.strip(), c.strip()) for a, b, c in rows] == [
        (r.id, r.severity, r.title) for r in RULES
    ]


def test_a_port_group_on_a_switch_without_uplinks_is_not_a_redundancy_failure() -> None:
    inv = inventory()
    internal = StandardSwitch(host="esx1", name="vSwitch-fw", mtu=1500, uplinks=[])
    pg = StandardPortGroup(host="esx1", name="fw-protected", switch="vSwitch-fw", vlan_id=0)
    inv = inv.model_copy(
        update={
            "standard_switches": [*inv.standard_switches, internal],
            "standard_port_groups": [*inv.standard_port_groups, pg],
        }
    )
    hc08 = {f.object.rsplit("/", 1)[-1]: f for f in audit(inv) if f.rule_id == "HC-08"}
    assert hc08["fw-protected"].state == "N/A" and "internal switch" in hc08["fw-protected"].detail
    assert hc08["web"].state == "PASS"
