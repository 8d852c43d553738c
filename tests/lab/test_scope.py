"""A playbook or desired-state file changes only the hosts of its target.

Every entry point an admin has — `vnettool run` (with and without --check), `vnettool plan` /
`apply` of a desired-state file, and the TUI's plan/apply of a playbook — is run against the
lab's two clusters with a target of one; a fresh inventory of ALL hosts afterwards shows the
other cluster unchanged and the targeted one changed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningLab
from vnettool.inventory import collect
from vnettool.models.inventory import Inventory

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.lab


def vnettool(lab: RunningLab, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    return subprocess.run(
        ["uv", "run", "--project", str(ROOT), "vnettool", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def host_state(inv: Inventory) -> dict[str, dict[str, Any]]:
    """Everything a configuration can change on a host, per host name, for comparison."""
    out: dict[str, dict[str, Any]] = {}
    for h in inv.hosts:
        out[h.name] = {
            "switches": sorted((s.model_dump_json() for s in inv.switches_of(h.name)), key=str),
            "portgroups": sorted(
                (p.model_dump_json(exclude={"network"}) for p in inv.portgroups_of(h.name)),
                key=str,
            ),
            "vmknics": sorted((v.model_dump_json() for v in inv.vmknics_of(h.name)), key=str),
            "dvs": sorted(
                (d.name, m.model_dump_json())
                for d in inv.distributed_switches
                for m in d.hosts
                if m.host == h.name
            ),
        }
    return out


def changed_hosts(before: Inventory, after: Inventory) -> set[str]:
    a, b = host_state(before), host_state(after)
    return {h for h in a if a[h] != b.get(h)} | (set(b) - set(a))


def _clusters(inv: Inventory) -> tuple[str, str]:
    names = sorted(c.name for c in inv.clusters)
    assert len(names) >= 2, "the default lab has two clusters"
    return names[0], names[1]


def _hosts_of(inv: Inventory, cluster: str) -> set[str]:
    return {h.name for h in inv.hosts_in(cluster=cluster)}


PLAYBOOK = """\
name: one cluster only
target: {{datacenter: {dc}, cluster: {cluster}}}
steps:
  - name: add {pg}
    configure:
      standard_port_groups:
        - {{name: {pg}, switch: vSwitch0, vlan: 321}}
"""


def _playbook(tmp_path: Path, inv: Inventory, cluster: str, pg: str) -> Path:
    dc = inv.datacenters[0].name
    path = tmp_path / f"{pg}.yml"
    path.write_text(PLAYBOOK.format(dc=dc, cluster=cluster, pg=pg))
    return path


def test_run_configure_step_honours_the_playbook_target(
    lab: RunningLab, session: Any, tmp_path: Path
) -> None:
    before = collect(session)
    inside, outside = _clusters(before)
    path = _playbook(tmp_path, before, outside, "pg-scope-run")

    check = vnettool(lab, tmp_path, "run", str(path), "--check", "--json")
    assert check.returncode == 2, check.stdout + check.stderr
    step = json.loads(check.stdout)["steps"][0]
    assert step["changes"] == len(_hosts_of(before, outside)), step
    assert not changed_hosts(before, collect(session)), "--check changed something"

    proc = vnettool(lab, tmp_path, "run", str(path), "--yes", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = collect(session)
    assert changed_hosts(before, after) == _hosts_of(before, outside)
    assert not any(
        p.name == "pg-scope-run" for h in _hosts_of(after, inside) for p in after.portgroups_of(h)
    )

    again = vnettool(lab, tmp_path, "run", str(path), "--check", "--json")
    assert again.returncode == 0, again.stdout  # second plan empty


def test_step_target_narrows_and_never_widens_the_playbook_target(
    lab: RunningLab, session: Any, tmp_path: Path
) -> None:
    before = collect(session)
    c0, c1 = _clusters(before)
    one = sorted(_hosts_of(before, c1))[0]
    path = tmp_path / "narrow.yml"
    path.write_text(
        f"target: {{cluster: {c1}}}\n"
        "steps:\n"
        "  - name: one host of the target\n"
        "    configure:\n"
        f"      target: {{hosts: ['{one}']}}\n"
        "      standard_port_groups: [{name: pg-scope-narrow, switch: vSwitch0}]\n"
        "  - name: another cluster, outside the target\n"
        "    configure:\n"
        f"      target: {{cluster: {c0}}}\n"
        "      standard_port_groups: [{name: pg-scope-wide, switch: vSwitch0}]\n"
    )
    proc = vnettool(lab, tmp_path, "run", str(path), "--yes", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert "steps" in out, out
    first, second = out["steps"]
    assert first["status"] == "changed" and first["changes"] == 1, first
    assert second["status"] == "failed"
    assert "matches no host within the playbook's target" in second["message"]
    assert changed_hosts(before, collect(session)) == {one}


def test_plan_and_apply_of_a_desired_state_file_honour_its_target(
    lab: RunningLab, session: Any, tmp_path: Path
) -> None:
    before = collect(session)
    _, outside = _clusters(before)
    path = tmp_path / "desired.yml"
    path.write_text(
        f"target: {{cluster: {outside}}}\n"
        "standard_port_groups: [{name: pg-scope-file, switch: vSwitch0, vlan: 12}]\n"
    )
    plan = vnettool(lab, tmp_path, "plan", str(path), "--json")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    hosts = {c["host"] for c in json.loads(plan.stdout)["changes"]}
    assert hosts == _hosts_of(before, outside)

    proc = vnettool(lab, tmp_path, "apply", str(path), "--yes", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert changed_hosts(before, collect(session)) == _hosts_of(before, outside)


def test_tui_plan_of_a_playbook_honours_its_target(
    lab: RunningLab, session: Any, tmp_path: Path
) -> None:
    """The TUI's Plan screen plans (and applies exactly) what `load_and_plan` returns."""
    from vnettool.tui.plan import load_and_plan

    inv = collect(session)
    _, outside = _clusters(inv)
    path = _playbook(tmp_path, inv, outside, "pg-scope-tui")
    loaded = load_and_plan(path, inv)
    assert {c.host for c in loaded.plan.changes} == _hosts_of(inv, outside)
    # what the screen's apply does with it (PlanPane._run_apply): apply, then verify
    from vnettool import engine

    results = engine.apply(loaded.plan, session)
    assert all(r.changed for r in results), [r.error for r in results]
    assert engine.verify(loaded.desired, session).empty
    assert changed_hosts(inv, collect(session)) == _hosts_of(inv, outside)
