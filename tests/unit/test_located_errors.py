"""Issue 28 item 4: every bad input says where and what would be right.

A desired-state file's target and switches are checked against the inventory at file:line:col
with a guess; the audit config names an unknown key with a guess instead of "Field required";
a mistyped choice (`--fail-on hihg`) is a usage error (exit 2) with a guess; the YAML
flow-mapping trap (`name: {pg}-web`, `{{ pg }}`, `{a: b: c}`) gets a hint to quote.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import snapshot
from vnettool.errors import ConfigError
from vnettool.playbook.desired_file import check_against
from vnettool.playbook.errors import PlaybookError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_desired_state_target_and_switch_typos_are_located_with_a_guess(tmp_path: Path) -> None:
    inv = snapshot()
    cluster = sorted(c.name for c in inv.clusters)[0]
    f = _write(
        tmp_path,
        "d.yml",
        f"target:\n  cluster: {cluster}X\nstandard_port_groups:\n"
        "  - name: pg-web\n    switch: vSwitch00\n    vlan: 110\n"
        "pvlans:\n  - switch: DVS9\n    primary: 100\n    isolated: 101\n",
    )
    with pytest.raises(PlaybookError) as err:
        check_against(f, inv)
    text = str(err.value)
    assert f"{f}:2:12: target cluster '{cluster}X' matches no cluster" in text
    assert f"did you mean '{cluster}'?" in text
    assert f"{f}:5:13: standard switch 'vSwitch00' is neither in the file" in text
    assert "did you mean 'vSwitch0'?" in text
    assert f"{f}:8:13: distributed switch 'DVS9'" in text and "did you mean 'DVS0'?" in text


def test_desired_state_fields_that_select_no_host_together(tmp_path: Path) -> None:
    inv = snapshot()
    clusters = sorted(c.name for c in inv.clusters)
    other = next(h.name for h in inv.hosts if h.cluster == clusters[1])
    f = _write(tmp_path, "d.yml", f"target:\n  cluster: {clusters[0]}\n  hosts: [{other}]\n")
    with pytest.raises(PlaybookError, match=r"d\.yml:2:3: target selects no host"):
        check_against(f, inv)
    ok = _write(tmp_path, "ok.yml", f"target:\n  cluster: {clusters[0]}\n")
    check_against(ok, inv)  # nothing to say


def test_desired_state_switch_created_in_the_same_file_is_known(tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        "d.yml",
        "standard_switches:\n  - name: vSwitch7\nstandard_port_groups:\n"
        "  - name: pg\n    switch: vSwitch7\n",
    )
    check_against(f, snapshot())


def test_audit_config_unknown_key_gets_a_guess_not_field_required(tmp_path: Path) -> None:
    from vnettool.audit.config import load_config

    f = _write(
        tmp_path,
        "audit.yml",
        "allow:\n  SEC-01:\n    - patern: 'DC0/*/sniffer-*'\n      justification: IDS\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config(f)
    text = str(err.value)
    assert text == f"{f}:3:7: unknown key 'patern'; did you mean 'pattern'?"
    assert "Field required" not in text
    g = _write(tmp_path, "b.yml", "native_vlan: [1]\nrules:\n  SEC-02: {severty: low}\n")
    with pytest.raises(ConfigError) as err:
        load_config(g)
    assert f"{g}:1:1: unknown key 'native_vlan'; did you mean 'native_vlans'?" in str(err.value)
    assert f"{g}:3:12: unknown key 'severty'; did you mean 'severity'?" in str(err.value)


@pytest.mark.parametrize(
    ("args", "guess"),
    [
        (["audit", "--fail-on", "hihg"], "high"),
        (["audit", "--profile", "stig8"], "stig-8"),
        (["fleet", "merge", "x.json", "--fail-on", "medum"], "medium"),
        (["lab", "start", "--scenario", "audti"], "audit"),
        (["latency", "probe", "-o", "sumary"], "summary"),
    ],
)
def test_mistyped_choice_is_a_usage_error_with_a_guess(args: list[str], guess: str) -> None:
    from vnettool.cli.main import app

    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    flat = " ".join(r.output.replace("│", " ").split())
    assert f"Did you mean '{guess}'?" in flat


def test_flags_show_no_bool_type_in_help() -> None:
    from vnettool.cli.main import app

    r = CliRunner().invoke(app, ["apply", "--help"], env={"COLUMNS": "120"})
    assert r.exit_code == 0
    assert "--yes" in r.output and "<bool>" not in r.output
    assert "<int range>" in r.output  # options with a value keep their type


@pytest.mark.parametrize(
    ("yaml", "hint"),
    [
        ("  - name: {pg}-web\n    switch: vSwitch0\n", 'quote it, e.g. name: "{pg}-web"'),
        ("  - name: {{ pg }}\n    switch: vSwitch0\n", "written ${pg}"),
        ("  - {name: pg-web, switch: vSwitch0 vlan: 110}\n", "entries are separated by ','"),
    ],
)
def test_yaml_flow_mapping_trap_gets_a_hint_to_quote(tmp_path: Path, yaml: str, hint: str) -> None:
    from vnettool.playbook.desired_file import load_desired

    f = _write(tmp_path, "d.yml", "standard_port_groups:\n" + yaml)
    with pytest.raises(PlaybookError) as err:
        load_desired(f)
    assert f"{f}:2:" in str(err.value)
    assert hint in str(err.value)


def test_engine_problems_suggest_the_name_vcenter_has() -> None:
    """A configure step reaches the engine without the file check: its own problems (a
    switch or pNIC the inventory does not have) carry the same guess."""
    from vnettool import engine
    from vnettool.engine.common import PlanError
    from vnettool.models.desired import DesiredState

    inv = snapshot()
    cluster = sorted(c.name for c in inv.clusters)[0]
    desired = DesiredState.model_validate(
        {
            "target": {"cluster": cluster},
            "standard_port_groups": [{"name": "pg", "switch": "vSwitch00", "vlan": 5}],
            "distributed_port_groups": [{"name": "dpg", "switch": "DVS9", "vlan": 6}],
            "pvlans": [{"switch": "DVS9", "primary": 100, "isolated": 101}],
        }
    )
    with pytest.raises(PlanError) as err:
        engine.plan(desired, inv)
    text = str(err.value)
    assert "no standard switch vSwitch00" in text and "did you mean 'vSwitch0'?" in text
    assert "pvlans: no distributed switch DVS9; did you mean 'DVS0'?" in text
    assert "no distributed switch DVS9 (neither in vCenter" in text
