"""Playbook language: variables, includes, loops, tags, huge inputs, schema, assert/snapshot.

The assert and snapshot actions and the runner are pure over an `Inventory`; these tests use
the corpus's saved inventory snapshot (a real Inventory document, not a mock).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from tests.factories import snapshot
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import Inventory
from vnettool.playbook import PlaybookError, run, validate
from vnettool.playbook.desired_file import load_desired
from vnettool.playbook.loader import MAX_BYTES, parse_var_option
from vnettool.playbook.schema import playbook_schema, schema_text

CORPUS = Path(__file__).parent / "playbook_corpus"
ROOT = Path(__file__).parents[2]


def only_core(kind: str) -> str | None:
    return None if kind in ("assert", "snapshot") else "not in this build"


@pytest.fixture
def inventory() -> Inventory:
    return snapshot("corpus")


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


# -- huge and deep inputs ---------------------------------------------------------------------


def test_file_over_the_size_limit_is_refused_at_1_1(tmp_path: Path) -> None:
    p = tmp_path / "huge.yml"
    p.write_text("steps:\n" + "  - snapshot: {path: a.json}\n" * (MAX_BYTES // 26 + 10))
    started = time.monotonic()
    with pytest.raises(PlaybookError) as info:
        validate(p, available=only_core)
    issue = info.value.issues[0]
    assert (issue.location.line, issue.location.col) == (1, 1)
    assert "limited to" in issue.message
    assert time.monotonic() - started < 5  # refused before parsing


def test_error_on_the_last_line_of_a_long_playbook(tmp_path: Path) -> None:
    n = 5000
    body = "".join(f"  - snapshot: {{path: s{i}.json}}\n" for i in range(n))
    p = write(tmp_path, "long.yml", "steps:\n" + body + "  - snapshot: {path: x, pth: y}\n")
    with pytest.raises(PlaybookError) as info:
        validate(p, available=only_core)
    [issue] = info.value.issues
    assert (issue.location.line, issue.location.col) == (n + 2, 25)
    assert issue.hint == "did you mean 'path'?"


def test_deep_nesting_and_alias_bombs_are_located_errors() -> None:
    with pytest.raises(PlaybookError) as info:
        validate("steps: " + "[" * 200 + "]" * 200, available=only_core)
    assert "nested" in str(info.value)
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    with pytest.raises(PlaybookError) as info:
        validate(bomb, available=only_core)
    assert "expands to more than" in str(info.value)


def test_all_errors_are_reported_at_once() -> None:
    text = (
        "steps:\n"
        "  - snapshto: {path: a}\n"
        "  - assert:\n"
        "      that: [{portgroup: {name: a, vlan: 9999}}]\n"
        "  - snapshot: {path: '${nope}'}\n"
    )
    with pytest.raises(PlaybookError) as info:
        validate(text, name="all.yml", available=only_core)
    lines = [(i.location.line, i.location.col) for i in info.value.issues]
    assert lines == [(2, 5), (4, 42), (5, 23)]
    assert str(info.value).splitlines()[1].startswith("all.yml:2:5: unknown key 'snapshto'")


# -- variables ----------------------------------------------------------------------------------


def test_variables_keep_their_type_and_interpolate() -> None:
    text = (
        "vars: {vlan: 100, site: lab, base: 'reports/${site}'}\n"
        "steps:\n"
        "  - assert: {that: [{portgroup: {name: 'pg-${site}', vlan: '${vlan}'}}]}\n"
        "  - snapshot: {path: '${base}/${env.SNAPDIR:-snaps}/x-$${literal}.json'}\n"
    )
    vp = validate(text, available=only_core, environ={})
    cond = vp.playbook.steps[0].assert_.that[0].portgroup  # type: ignore[union-attr]
    assert cond is not None and cond.vlan == 100 and cond.name == "pg-lab"
    assert vp.playbook.steps[1].snapshot.path == "reports/lab/snaps/x-${literal}.json"  # type: ignore[union-attr]


def test_cli_vars_override_playbook_vars_and_env_is_read() -> None:
    text = (
        "vars: {vlan: 100}\n"
        "steps:\n"
        "  - assert: {that: [{portgroup: {name: '${env.PG}', vlan: '${vlan}'}}]}\n"
    )
    key, value = parse_var_option("vlan=200")
    vp = validate(text, {key: value}, available=only_core, environ={"PG": "VM Network"})
    cond = vp.playbook.steps[0].assert_.that[0].portgroup  # type: ignore[union-attr]
    assert cond is not None and (cond.name, cond.vlan) == ("VM Network", 200)


def test_var_option_parsing() -> None:
    assert parse_var_option("n=5") == ("n", 5)
    assert parse_var_option("flag=true") == ("flag", True)
    assert parse_var_option("name=a=b") == ("name", "a=b")
    with pytest.raises(PlaybookError):
        parse_var_option("novalue")
    with pytest.raises(PlaybookError):
        parse_var_option("env.X=1")


# -- includes -----------------------------------------------------------------------------------


def test_include_splices_steps_with_their_own_locations_and_tags(tmp_path: Path) -> None:
    write(
        tmp_path,
        "common/checks.yml",
        "vars: {vlan: 7}\nsteps:\n  - name: inner\n    tags: [inner]\n"
        "    assert: {that: [{portgroup: {name: a, vlan: '${vlan}'}}]}\n",
    )
    main = write(
        tmp_path,
        "main.yml",
        "steps:\n  - snapshot: {path: a.json}\n  - include: common/checks.yml\n    tags: [outer]\n"
        "  - snapshot: {path: b.json}\n",
    )
    vp = validate(main, available=only_core)
    names = [s.kind for s in vp.playbook.steps]
    assert names == ["snapshot", "assert", "snapshot"]
    assert vp.playbook.steps[1].tags == ["inner", "outer"]
    cond = vp.playbook.steps[1].assert_.that[0].portgroup  # type: ignore[union-attr]
    assert cond is not None and cond.vlan == 7
    assert vp.step_location(1).endswith("checks.yml:3:5")
    assert vp.step_location(2).endswith("main.yml:5:5")


# -- JSON Schema ----------------------------------------------------------------------------------


def test_schema_forbids_unknown_keys_and_names_every_step_kind() -> None:
    schema = playbook_schema()
    step = schema["$defs"]["Step"]
    assert step["additionalProperties"] is False
    for kind in ("configure", "audit", "latency", "rebalance", "appliance", "assert", "snapshot"):
        assert kind in step["properties"]
    assert schema["required"] == ["steps"]


def test_committed_schema_is_current() -> None:
    committed = ROOT / "docs" / "playbook.schema.json"
    assert committed.read_text() == schema_text(), (
        "run: vnettool playbook schema -o docs/playbook.schema.json"
    )
    json.loads(committed.read_text())


# -- assert, snapshot, runner --------------------------------------------------------------------


def test_assert_reports_each_failing_host(inventory: Inventory, tmp_path: Path) -> None:
    text = (
        "target: {cluster: DC0_C0}\n"
        "steps:\n"
        "  - name: vmotion on 100\n"
        "    assert:\n"
        "      that:\n"
        "        - portgroup: {name: vMotion, vlan: 100}\n"
        "        - vmknic: {service: vmotion, mtu: 9000}\n"
        "        - switch: {name: vSwitch0, mtu: 1500, min_uplinks: 2}\n"
        "        - pvlan: {dvs: DC0_DVS, primary: 100, secondary: 101, type: isolated}\n"
        "        - hosts: {min: 2, max: 2}\n"
        "  - name: VM Network on 200\n"
        "    assert: {that: [{portgroup: {name: VM Network, vlan: 200}}]}\n"
        "  - snapshot: {path: never.json}\n"
    )
    vp = validate(text, available=only_core, inventory=inventory)
    report = run(vp, None, check=False, collect=lambda _s: inventory)
    first, second, third = report.results
    assert first.status == "ok" and "5 conditions hold on 2 host(s)" in first.message
    assert second.status == "failed"
    assert second.details == [
        "DC0_C0_H0: 'VM Network' is on VLAN 0, expected 200",
        "DC0_C0_H1: 'VM Network' is on VLAN 0, expected 200",
    ]
    assert third.status == "skipped" and "earlier step failed" in third.message
    assert report.exit_code == 1


def test_loop_runs_once_per_host_and_tags_select(inventory: Inventory, tmp_path: Path) -> None:
    out = tmp_path / "snaps"
    text = (
        "steps:\n"
        f"  - loop: {{cluster: DC0_C1}}\n    tags: [save]\n    snapshot: {{path: '{out}/${{host}}.json'}}\n"
        "  - tags: [check]\n    assert: {that: [{hosts: {min: 100}}]}\n"
    )
    vp = validate(text, available=only_core, inventory=inventory)
    checked = run(vp, None, check=True, tags=["save"], collect=lambda _s: inventory)
    assert [r.status for r in checked.results] == ["ok", "ok"]
    assert not out.exists(), "--check writes nothing"
    report = run(vp, None, check=False, tags=["save"], collect=lambda _s: inventory)
    assert [(r.host, r.status) for r in report.results] == [
        ("DC0_C1_H0", "ok"),
        ("DC0_C1_H1", "ok"),
    ]
    assert sorted(p.name for p in out.iterdir()) == ["DC0_C1_H0.json", "DC0_C1_H1.json"]
    saved = Inventory.load(out / "DC0_C1_H0.json")
    assert len(saved.hosts) == len(inventory.hosts)
    assert report.exit_code == 0
    skipped = run(vp, None, check=True, skip_tags=["save"], collect=lambda _s: inventory)
    assert [r.status for r in skipped.results] == ["failed"]


def test_unavailable_step_kinds_are_rejected_not_ignored() -> None:
    from vnettool.playbook.kinds import unavailable_reason

    text = "steps:\n  - snapshot: {path: a}\n  - appliance: {action: deploy, name: fw}\n"
    reason = unavailable_reason("appliance")
    if reason is None:
        pytest.skip("appliances are part of this build")
    with pytest.raises(PlaybookError) as info:
        validate(text, name="a.yml")
    [issue] = info.value.issues
    assert str(issue).startswith("a.yml:3:5: step kind 'appliance' is not available yet")
    assert reason in str(issue)


# -- the CLI, as users run it (validation needs no vCenter) ---------------------------------------


def vnettool_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VSPHERE_SERVER", "GOVC_URL")}
    env["VNETTOOL_HOME"] = str(cwd / ".no-lab")
    return subprocess.run(
        ["uv", "run", "--project", str(ROOT), "vnettool", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_misspelled_key_on_line_12_exits_1_with_one_located_suggestion(tmp_path: Path) -> None:
    pb = tmp_path / "vmotion.yml"
    pb.write_text((CORPUS / "unknown-line-12.yml").read_text())
    proc = vnettool_cli("run", "vmotion.yml", cwd=tmp_path)
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("vmotion.yml:")]
    assert errors == [
        "vmotion.yml:12:20: unknown key 'servcie' at steps[0].assert.that[1].vmknic.servcie;"
        " did you mean 'service'?"
    ]
    assert "nothing was run" in proc.stderr
    lines = proc.stderr.splitlines()
    at = lines.index(errors[0])
    assert lines[at + 1] == "          - vmknic: {servcie: vmotion}"
    assert lines[at + 2].index("^") == 2 + 20 - 1  # indented by 2, under column 20
    assert not (tmp_path / "reports").exists()


def test_validate_json_and_schema_commands(tmp_path: Path) -> None:
    proc = vnettool_cli(
        "playbook", "validate", str(CORPUS / "type-hosts-min-word.yml"), "--json", cwd=tmp_path
    )
    assert proc.returncode == 1
    [err] = json.loads(proc.stdout)["errors"]
    assert (err["line"], err["column"], err["path"]) == (5, 18, "steps[0].assert.that[0].hosts.min")
    assert err["expected"] == "an integer"
    ok = vnettool_cli("playbook", "validate", str(ROOT / "playbooks" / "site.yml"), cwd=tmp_path)
    assert ok.returncode == 0 and "3 steps" in ok.stdout
    schema = vnettool_cli("playbook", "schema", cwd=tmp_path)
    assert schema.returncode == 0
    assert json.loads(schema.stdout) == playbook_schema()


# -- configure bodies against a desired-state model ------------------------------------------------


class _PortGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    switch: str
    vlan: int = 0


class _Desired(BaseModel):
    """A desired-state model shaped like the engine's document."""

    model_config = ConfigDict(extra="forbid")
    standard_port_groups: list[_PortGroup] = []


def test_configure_bodies_are_validated_with_located_errors_and_suggestions(
    tmp_path: Path,
) -> None:
    pb = write(
        tmp_path,
        "cfg.yml",
        "steps:\n"
        "  - configure:\n"
        "      standard_port_groups:\n"
        "        - name: pg-web\n"
        "          swtich: vSwitch1\n"
        "          vlan: ten\n",
    )
    with pytest.raises(PlaybookError) as info:
        validate(pb, desired=_Desired, available=lambda _k: None, name="cfg.yml")
    rendered = [str(i) for i in info.value.issues]
    assert rendered == [
        "cfg.yml:4:11: missing required key 'switch' at steps[0].configure.standard_port_groups[0].switch",
        "cfg.yml:5:11: unknown key 'swtich' at steps[0].configure.standard_port_groups[0].swtich;"
        " did you mean 'switch'?",
        "cfg.yml:6:17: wrong value 'ten' at steps[0].configure.standard_port_groups[0].vlan"
        " (expected an integer)",
    ]


def test_schema_embeds_the_desired_state_model_for_editors() -> None:
    schema = playbook_schema(_Desired)
    configure = schema["$defs"]["Step"]["properties"]["configure"]
    ref = configure["anyOf"][0]["$ref"].split("/")[-1]
    assert "standard_port_groups" in schema["$defs"][ref]["properties"]


# -- scope: the target is the boundary ---------------------------------------------------------


def test_a_step_scope_narrows_the_target_and_never_leaves_it(inventory: Inventory) -> None:
    from vnettool.playbook.scope import step_hosts
    from vnettool.playbook.steps import Scope

    target = Scope(cluster="DC0_C1")
    names = [h.name for h in step_hosts(inventory, target, Scope(hosts="*_H1"))]
    assert names == ["DC0_C1_H1"]
    assert step_hosts(inventory, target, Scope(cluster="DC0_C0")) == []
    assert [h.name for h in step_hosts(inventory, target, None, "DC0_C1_H0")] == ["DC0_C1_H0"]
    assert step_hosts(inventory, target, None, "DC0_C0_H0") == []


def test_a_scope_outside_the_target_is_refused_before_running(inventory: Inventory) -> None:
    text = (
        "target: {cluster: DC0_C1}\n"
        "steps:\n"
        "  - assert:\n"
        "      scope: {cluster: DC0_C0}\n"
        "      that: [{hosts: {min: 1}}]\n"
        "  - loop: {hosts: DC0_C0_H*}\n"
        "    snapshot: {path: '${host}.json'}\n"
    )
    with pytest.raises(PlaybookError) as info:
        validate(text, available=only_core, inventory=inventory)
    assert [(i.location.line, i.location.col, i.message) for i in info.value.issues] == [
        (
            4,
            14,
            "this scope matches no host within the playbook's target "
            "(a step's scope narrows the target, it never leaves it)",
        ),
        (
            6,
            11,
            "this scope matches no host within the playbook's target "
            "(a step's scope narrows the target, it never leaves it)",
        ),
    ]


def test_absent_may_name_what_is_already_gone(inventory: Inventory) -> None:
    """Applying a file twice must work: the second time its deletions are already done."""
    doc = "absent:\n  vmkernel_adapters: [{portgroup: long-gone}]\n"
    validate(doc, inventory=inventory)  # no error
    doc = "vmkernel_adapters: [{portgroup: long-gone, ip: {dhcp: true}}]\n"
    with pytest.raises(PlaybookError, match="'long-gone' is neither in the playbook"):
        validate(doc, inventory=inventory)


@pytest.mark.parametrize("section", sorted(set(DesiredState.model_fields) - {"target"}))
def test_run_reads_every_file_plan_reads(tmp_path: Path, section: str) -> None:
    """A desired-state file is a one-step playbook whatever section it has: the keys come from
    the model, so `vnettool run` cannot reject a file `vnettool plan` accepts (`migrations:`
    was refused by run as 'missing required key steps')."""
    one = {
        "migrations": {"batch": 2},
        "absent": {"standard_switches": ["old"]},
        "host_settings": {"block_guest_bpdu": 1},
        "backup": {  # what `vnettool dvs export` writes next to the document
            "format": "vnettool-dvs-backup/1",
            "vcenter": "vc",
            "exported_at": "2026-12-07T10:00:00+00:00",
            "switch": "DVS0",
            "uuid": "u",
            "entities": [
                {
                    "entity_type": "distributedVirtualSwitch",
                    "key": "u",
                    "name": "DVS0",
                    "blob": "AA==",
                }
            ],
        },
    }.get(section, [])
    doc = {"target": {"cluster": "DC0_C1"}, section: one}
    p = write(tmp_path, "desired.yml", json.dumps(doc))
    assert load_desired(p) is not None
    [step] = validate(p).playbook.steps
    assert step.configure is not None


# -- check mode: asserts after pending changes --------------------------------------------------

CHECK_THEN_VERIFY = """\
target: {cluster: DC0_C0}
steps:
  - name: add pg-web
    configure:
      standard_port_groups: [{name: pg-web, switch: vSwitch0, vlan: 100}]
  - name: pg-web on ${host}
    loop: {hosts: "*_H1"}
    assert:
      scope: {hosts: "${host}"}
      that: [{portgroup: {name: pg-web, vlan: 100}}]
"""


def test_check_skips_asserts_that_wait_for_pending_changes(inventory: Inventory) -> None:
    """The configure step plans (the engine's plan is pure: no session needed under --check);
    the assert on what it would create is skipped, not failed, and the exit code is 2."""
    vp = validate(CHECK_THEN_VERIFY, inventory=inventory)
    report = run(vp, None, check=True, collect=lambda _s: inventory)
    configure, verify = report.results
    assert (configure.status, configure.changes) == ("changed", 2)
    assert verify.status == "skipped"
    assert verify.name == "pg-web on DC0_C0_H1"  # ${host} substituted in the step name
    assert verify.message.startswith("depends on pending changes of 'add pg-web'")
    assert report.exit_code == 2


def test_check_still_fails_an_assert_the_pending_changes_do_not_touch(
    inventory: Inventory,
) -> None:
    text = CHECK_THEN_VERIFY + (
        "  - name: management on 7\n"
        "    assert: {that: [{portgroup: {name: Management Network, vlan: 7}}]}\n"
    )
    vp = validate(text, inventory=inventory)
    report = run(vp, None, check=True, collect=lambda _s: inventory)
    assert [r.status for r in report.results] == ["changed", "skipped", "failed"]
    assert report.results[2].details == [
        "DC0_C0_H0: 'Management Network' is on VLAN 0, expected 7",
        "DC0_C0_H1: 'Management Network' is on VLAN 0, expected 7",
    ]
    assert report.exit_code == 1


def test_every_step_kind_is_registered_with_its_check_mode() -> None:
    """The language (`STEP_KINDS`) and the registry (`STEPS`) cannot drift apart, and what
    `--check` runs is the kind's own declaration: read-only kinds run, the ones with a plan or
    dry run run as that, the rest would not."""
    from vnettool.playbook.kinds import STEPS
    from vnettool.playbook.steps import STEP_KINDS

    assert set(STEPS) == set(STEP_KINDS)
    assert {k for k, s in STEPS.items() if s.read_only} == {
        "audit",
        "latency",
        "assert",
        "snapshot",
    }
    assert {k for k, s in STEPS.items() if s.checkable} == {"configure", "rebalance", "appliance"}
    assert all(s.runs_under_check() for s in STEPS.values())


def test_a_rebalance_vmotion_is_confirmed_with_its_exact_change() -> None:
    """Interactive `run` asks before each vMotion the mover decides; 'no' moves nothing."""
    from tests.factories import snapshot
    from vnettool.errors import VnetError
    from vnettool.models.inventory import VirtualMachine
    from vnettool.models.plan import Plan
    from vnettool.playbook.kinds.latency import confirmed

    inv = snapshot()
    vm = next(v for v in inv.vms if v.host)
    dest = next(h.name for h in inv.hosts if h.name != vm.host)
    asked: list[Plan] = []
    moved: list[tuple[str, str]] = []

    def relocate(v: VirtualMachine, d: str) -> None:
        moved.append((v.name, d))

    def answer(yes: bool) -> Callable[[Plan], bool]:
        def approve(plan: Plan) -> bool:
            asked.append(plan)
            return yes

        return approve

    with pytest.raises(VnetError, match=r"not moved .*: cancelled"):
        confirmed(relocate, answer(False), inv)(vm, dest)
    assert moved == []
    confirmed(relocate, answer(True), inv)(vm, dest)
    assert moved == [(vm.name, dest)]
    (change,) = asked[0].changes
    assert (change.name, change.host) == (vm.name, vm.host)
    assert [(d.before, d.after) for d in change.diffs if d.field == "host"] == [(vm.host, dest)]


def test_vm_settings_bad_values_are_located() -> None:
    """A mode vCenter does not know and an empty dvFilter value: each named at its line and
    column, nothing planned."""
    doc = (
        "vm_settings:\n"
        "  - vm: web-*\n"
        "    migrate_encryption: sometimes\n"
        "    dvfilters: {ethernet0.filter0.name: '', nvram: x}\n"
    )
    with pytest.raises(PlaybookError) as err:
        validate(doc)
    text = str(err.value)
    assert ":3:25: wrong value 'sometimes'" in text
    assert "an empty value" in text and ":4:" in text
