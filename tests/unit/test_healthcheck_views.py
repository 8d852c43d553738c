"""The health check as people read it: durations of `healthcheck run --for`, the words of a
result, and the same results in `inventory health`, the TUI switch pane and the workbook's
dvsHealthCheck tab."""

from __future__ import annotations

import pytest
from rich.console import Console

from tests import factories
from vnettool.audit.workbook.extra import dvs_health_check
from vnettool.cli import inventory_views as views
from vnettool.cli.healthcheck import parse_duration
from vnettool.errors import ConfigError
from vnettool.models.inventory import HealthCheckConfig, HealthCheckResult, Inventory
from vnettool.tui.model import NetIndex, dvs_details

ON = HealthCheckConfig(vlan_mtu=True, vlan_mtu_interval=2, teaming=True, teaming_interval=1)
UP = {"host": "DC0_C0_H0", "uplink": "uplink2", "uplink_port_key": "1", "pnic": "vmnic3"}
RESULTS = [
    HealthCheckResult(check="vlan", trunked_vlans=[(0, 199), (201, 4094)],
                      untrunked_vlans=[(200, 200)], **UP),
    HealthCheckResult(check="mtu", mtu_mismatch=True, vlans_mtu_not_ok=[(0, 199)], **UP),
    HealthCheckResult(host="DC0_C0_H0", check="teaming", teaming_status="nonIphashMatch"),
    HealthCheckResult(host="DC0_C0_H1", check="VMwareDVSFutureHealthCheckResult",
                      summary="warning"),
]  # fmt: skip


def _inv(hc: HealthCheckConfig, results: list[HealthCheckResult]) -> Inventory:
    inv = factories.snapshot()
    dvs = [
        d.model_copy(update={"health_check": hc, "health": results}) if d.name == "DVS0" else d
        for d in inv.distributed_switches
    ]
    return inv.model_copy(update={"distributed_switches": dvs})


@pytest.mark.parametrize(
    "text,secs", [("90s", 90), ("10m", 600), ("1h30m", 5400), ("45", 45), ("2H", 7200)]
)
def test_durations(text: str, secs: float) -> None:
    assert parse_duration(text) == secs


@pytest.mark.parametrize("text", ["10 minutes", "m10", "0s", "25h", ""])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--for"):
        parse_duration(text)


def test_result_words() -> None:
    assert [(r.state, r.text) for r in RESULTS] == [
        ("MISMATCH", "VLANs not trunked: 200"),
        ("MISMATCH", "MTU mismatch on VLANs 0-199"),
        ("ok", "nonIphashMatch"),
        ("?", "warning (result type not known to this version)"),
    ]


def test_inventory_health_rows() -> None:
    rows = [r for r in views.health(_inv(ON, RESULTS)) if r["switch"] == "DVS0"]
    assert [(r["host"], r["uplink"], r["check"], r["state"]) for r in rows] == [
        ("DC0_C0_H0", "uplink2 (vmnic3)", "vlan", "MISMATCH"),
        ("DC0_C0_H0", "uplink2 (vmnic3)", "mtu", "MISMATCH"),
        ("DC0_C0_H0", "-", "teaming", "ok"),
        ("DC0_C0_H1", "-", "VMwareDVSFutureHealthCheckResult", "?"),
    ]
    off = [r for r in views.health(_inv(HealthCheckConfig(), [])) if r["switch"] == "DVS0"]
    assert [(r["result"], r["enabled"]) for r in off] == [("checks off", "vlan-mtu -, teaming -")]


def test_workbook_tab_has_a_row_per_result_and_one_per_switch_without() -> None:
    tab = dvs_health_check(_inv(ON, RESULTS))
    assert tab.headers[:7] == ["Switch", "Host", "Check", "Uplink", "pnic", "State", "Result"]
    rows = [dict(zip(tab.headers, v, strict=True)) for v in tab.values()]
    dvs0 = [r for r in rows if r["Switch"] == "DVS0"]
    assert [(r["Check"], r["Untrunked VLANs"], r["Check Enabled"], r["Interval (min)"])
            for r in dvs0] == [
        ("VLAN", "200", "True", 2),
        ("MTU", None, "True", 2),
        ("Teaming", None, "True", 1),
        ("VMwareDVSFutureHealthCheckResult", None, "True", 2),
    ]  # fmt: skip
    assert dvs0[1]["VLANs not OK for MTU"] == "0-199"
    off = dvs_health_check(_inv(HealthCheckConfig(vlan_mtu=False, teaming=False), []))
    row = dict(zip(off.headers, next(iter(off.values())), strict=True))
    assert row["Result"] == "no results: the checks are off" and row["Host"] is None


def test_tui_switch_pane_shows_the_config_and_mismatches_first() -> None:
    inv = _inv(ON, list(reversed(RESULTS)))
    ix = NetIndex.build(inv)
    console = Console(width=120, record=True)
    console.print(dvs_details(ix.dvs["DVS0"], ix))
    text = console.export_text()
    assert "VLAN/MTU on (2 min), teaming on (1 min); 2 mismatch(es) in 4 results" in text
    lines = [ln for ln in text.splitlines() if "DC0_C0_H" in ln]
    assert "MISMATCH" in lines[0] and "MISMATCH" in lines[1] and "MISMATCH" not in lines[2]
