"""`playbook validate --inventory SNAP` reports, located, what would make the run do nothing or
fail half-way: scopes that select no host together, and switches nobody has."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from tests.factories import snapshot
from vnettool.cli.main import app

PLAYBOOK = """\
name: references
target:
  cluster: DC0_C0
  hosts: "DC0_C1_H*"
steps:
  - name: per host
    loop: {cluster: DC0_C1, hosts: "DC0_C0_H*"}
    assert:
      scope: {hosts: "${host}"}
      that: [{portgroup: {name: VM Network}}]
  - name: scoped check
    assert:
      scope: {cluster: DC0_C1}
      that: [{hosts: {min: 1}}]
  - name: configure
    configure:
      target: {cluster: NOPE}
      standard_switches: [{name: vSwitchNew}]
      distributed_switches: [{name: DVSNew}]
      standard_port_groups:
        - {name: pg1, switch: vSwitchNope}
        - {name: pg2, switch: vSwitchNew}
        - {name: pg3, switch: vSwitch0}
      distributed_port_groups:
        - {name: dpg1, switch: DVS1}
        - {name: dpg2, switch: DVSNew}
      pvlans:
        - {switch: NoSuchDVS, primary: 100}
      vmkernel_adapters:
        - {portgroup: pg2, ip: {dhcp: true}}
"""


def _run(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    snap = tmp_path / "snap.json"
    snapshot("lab").save(snap)
    pb = tmp_path / "pb.yml"
    pb.write_text(text)
    result = CliRunner().invoke(app, ["playbook", "validate", "--inventory", str(snap), str(pb)])
    errors = [ln for ln in result.output.splitlines() if re.match(r"\S+pb\.yml:\d+:\d+: ", ln)]
    return result.exit_code, errors


def test_dead_scopes_and_unknown_switches_are_reported_located(tmp_path: Path) -> None:
    code, errors = _run(tmp_path, PLAYBOOK)
    assert code == 1
    got = [re.sub(r"^\S+pb\.yml:", "", e).split(" at ")[0] for e in errors]
    assert got == [
        "3:3: target selects no host in the inventory (cluster 'DC0_C0', hosts 'DC0_C1_H*' "
        "have no host in common)",
        "13:14: this scope matches no host within the playbook's target (a step's scope "
        "narrows the target, it never leaves it)",
        "17:25: configure target cluster 'NOPE' matches nothing in the inventory",
        "21:31: standard switch 'vSwitchNope' is neither in the playbook nor in the inventory",
        "25:32: distributed switch 'DVS1' is neither in the playbook nor in the inventory",
        "28:20: distributed switch 'NoSuchDVS' is neither in the playbook nor in the inventory",
    ]
    assert "did you mean 'DVS0'?" in errors[4]


def test_the_same_playbook_fixed_is_ok(tmp_path: Path) -> None:
    fixed = (
        PLAYBOOK.replace('hosts: "DC0_C1_H*"', 'hosts: "DC0_C0_H*"')
        .replace("loop: {cluster: DC0_C1", "loop: {cluster: DC0_C0")
        .replace("scope: {cluster: DC0_C1}", "scope: {cluster: DC0_C0}")
        .replace("NOPE", "DC0_C0")
        .replace("vSwitchNope", "vSwitchNew")
        .replace("switch: DVS1", "switch: DVS0")
        .replace("NoSuchDVS", "DVS0")
    )
    code, errors = _run(tmp_path, fixed)
    assert errors == []
    assert code == 0
