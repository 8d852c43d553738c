"""Benchmark controls: every rule's IDs as the field research lists them, control verdicts
over findings (waivers shown per control), `--profile` filtering and the Compliance tab."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.unit.test_audit import inventory
from vnettool.audit.controls import (
    CONTROLS,
    PROFILES,
    compliance_pct,
    control_results,
    profile_rules,
    uncovered,
)
from vnettool.audit.model import Allow, AuditConfig
from vnettool.audit.rules import RULES
from vnettool.audit.run import run_audit
from vnettool.audit.runner import audit
from vnettool.errors import ConfigError


@pytest.mark.parametrize(
    "rid,label",
    [
        ("SEC-03", "STIG-8 ESXI-80-000216 (V-258771)"),
        ("SEC-03", "SCG-8 esxi-8.network-reject-forged-transmit-standardswitch"),
        ("SEC-06", "STIG-7 VCSA-70-000268 (V-256348)"),
        ("SEC-19", "STIG-8 ESXI-80-000215 (V-258770)"),
        ("SEC-16", "STIG-8 VCSA-80-000300 (V-258965)"),
        ("SEC-13", "STIG-8 VCSA-80-000301 (V-258966)"),
        ("SEC-10", "STIG-7 ESXI-70-000063"),
        ("SEC-27", "STIG-8 ESXI-80-000250 (V-265977)"),
    ],
)
def test_rules_carry_their_control_ids(rid: str, label: str) -> None:
    rule = next(r for r in RULES if r.id == rid)
    assert label in rule.controls
    cis = [c for c in rule.controls if c.startswith("CIS")]
    assert all("check against your CIS benchmark version" in c for c in cis)


def test_every_control_names_existing_rules_and_findings_carry_the_labels() -> None:
    ids = {r.id for r in RULES}
    assert {r for c in CONTROLS for r in c.rules} <= ids
    f = next(f for f in audit(inventory(promisc=True)) if f.rule_id == "SEC-01")
    assert "STIG-8 ESXI-80-000218 (V-258773)" in f.controls


def test_each_profile_names_what_vnettool_does_not_check() -> None:
    assert {c.id for c in uncovered("stig-8")} == {"ESXI-80-000214", "ESXI-80-000239"}
    assert {"5.1", "5.2"} <= {c.id for c in uncovered("cis-esxi-8")}
    assert "SEC-12" not in profile_rules("stig-8") and "SEC-12" in profile_rules("cis-esxi-7")


def test_control_verdicts_waived_fail_passes_and_is_named() -> None:
    inv = inventory(promisc=True)
    waiver = Allow(
        pattern="*/web", justification="sniffer", owner="netops", expires=date(2099, 1, 1)
    )
    waived = audit(inv, AuditConfig(allow={"SEC-01": [waiver]}))
    r = next(x for x in control_results("stig-8", waived) if x.control.id == "ESXI-80-000218")
    assert (r.state, r.waived, r.failed) == ("PASS", 1, 0)
    assert "owner netops" in r.waivers[0] and "2099-01-01" in r.waivers[0]
    r = next(x for x in control_results("stig-8", audit(inv)) if x.control.id == "ESXI-80-000218")
    assert (r.state, r.failed) == ("FAIL", 1)
    states = {x.control.id: x.state for x in control_results("stig-8", audit(inv))}
    assert states["ESXI-80-000214"] == "NOT CHECKED"  # the host firewall
    assert states["VMCH-80-000203"] == "UNKNOWN"  # the VMs' vMotion mode was not read
    assert states["VCSA-80-000274"] == "UNKNOWN"  # reserved_vlans not given


def test_compliance_pct_counts_judged_controls_only() -> None:
    results = control_results("stig-8", audit(inventory(promisc=True)))
    passed = sum(r.state == "PASS" for r in results)
    failed = sum(r.state == "FAIL" for r in results)
    assert failed >= 1 and compliance_pct(results) == round(100 * passed / (passed + failed))
    assert compliance_pct([]) is None


def test_profile_runs_only_its_rules_and_a_bad_profile_is_refused(tmp_path: Path) -> None:
    rep = run_audit(inventory(promisc=True), profile="stig-8", write=False)
    assert rep.findings and {f.rule_id for f in rep.findings} <= profile_rules("stig-8")
    assert list(rep.compliance) == ["stig-8"]
    with pytest.raises(ConfigError, match="choose one of stig-8"):
        run_audit(inventory(), profile="stig-9", write=False)


def test_compliance_tab_shows_waivers_as_text(tmp_path: Path) -> None:
    evil = Allow(pattern="*/web", justification='=HYPERLINK("x")', owner="@bob")
    out = tmp_path / "a.xlsx"
    run_audit(inventory(promisc=True), out=out, config=AuditConfig(allow={"SEC-01": [evil]}))
    ws = load_workbook(out)["Compliance"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][:5] == ["Profile", "Control", "V-ID", "Title", "State"]
    hit = [r for r in rows if r[1] == "ESXI-80-000218"]
    assert hit and hit[0][4] == "PASS" and "=HYPERLINK" in hit[0][8]
    assert not [c for r in ws.iter_rows() for c in r if c.data_type == "f"]
    assert {r[0] for r in rows[1:]} == set(PROFILES)
