"""Odd inventory names (unicode, very long, quotes, a leading `=`, markup) created on the lab
through pyVmomi: `inventory --json` keeps them byte for byte, plan/apply address them, and no
output shows a traceback or interprets them (rich markup, spreadsheet formulas).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.lab.conftest import FaultRow, record

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
ODD = [
    "Ünïcødé-网络-🚀",
    "x" * 200,
    "quo\"te's `back`",
    '=HYPERLINK("http://evil")',
    "+1-2",
    "[bold red]markup[/]",
    "tab\tname",
    "   spaced   ",
]
# names vSphere (or another client) can hold but a desired state may not write (models/text.py):
# they are inventoried as they are; a playbook naming them gets a located refusal.
UNWRITABLE = {"Ünïcødé-网络-🚀": "emoji", "tab\tname": "tab", "   spaced   ": "starts or ends"}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VNETTOOL, *args], check=False, env=env, capture_output=True, text=True, timeout=180
    )


def test_odd_names_survive_inventory_plan_and_apply(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=1, host=1, vm=1)
    with lab.session(insecure=True, thumbprint=None) as s:
        view = s.content.viewManager.CreateContainerView(
            s.content.rootFolder, [vim.HostSystem], True
        )
        host = view.view[0]
        hns = host.configManager.networkSystem
        for i, name in enumerate(ODD):
            hns.AddPortGroup(
                vim.host.PortGroup.Specification(
                    name=name,
                    vlanId=10 + i,
                    vswitchName="vSwitch0",
                    policy=vim.host.NetworkPolicy(),
                )
            )
    env = os.environ | lab.env() | {"COLUMNS": "200"}
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    inv = _run(env, "inventory", "--json", "--insecure")
    assert inv.returncode == 0, inv.stderr
    names = {p["name"] for p in json.loads(inv.stdout)["standard_port_groups"]}
    assert set(ODD) <= names
    table = _run(env, "inventory", "--insecure")
    assert table.returncode == 0 and "Traceback" not in table.stdout + table.stderr
    assert "[bold red]markup[/]" in table.stdout or "markup" in table.stdout
    # a desired state that changes the odd port groups: planned and applied by name
    desired = tmp_path / "odd.yml"
    writable = [n for n in ODD if n not in UNWRITABLE]
    desired.write_text(
        json.dumps(
            {
                "standard_port_groups": [
                    {"name": n, "switch": "vSwitch0", "vlan": 100 + i}
                    for i, n in enumerate(writable)
                    if len(n) <= 59
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    bad = tmp_path / "unwritable.yml"
    bad.write_text(
        json.dumps(
            {"standard_port_groups": [{"name": n, "vlan": 7} for n in UNWRITABLE]},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    before = _run(env, "inventory", "--json", "--insecure").stdout
    unwritable = _run(env, "plan", str(bad), "--insecure")
    out = unwritable.stdout + unwritable.stderr
    assert unwritable.returncode == 1, out
    assert f"{bad}:1:" in out and all(why in out for why in UNWRITABLE.values()), out
    refused_apply = _run(env, "apply", str(bad), "--insecure", "--yes")
    assert refused_apply.returncode == 1
    after = json.loads(_run(env, "inventory", "--json", "--insecure").stdout)
    assert after["standard_port_groups"] == json.loads(before)["standard_port_groups"]
    p = _run(env, "plan", str(desired), "--insecure", "--json")
    assert p.returncode == 2, p.stdout + p.stderr
    a = _run(env, "apply", str(desired), "--insecure", "--yes")
    assert a.returncode == 0, a.stdout + a.stderr
    again = _run(env, "plan", str(desired), "--insecure")
    assert again.returncode == 0, again.stdout + again.stderr
    # longer than vSphere's 59 characters (the lab takes it, a vCenter would not): refused
    long_doc = tmp_path / "long.yml"
    long_doc.write_text(json.dumps({"standard_port_groups": [{"name": "x" * 200, "vlan": 1}]}))
    refused = _run(env, "plan", str(long_doc), "--insecure")
    assert refused.returncode == 1 and "at most 59" in refused.stdout + refused.stderr
    for out in (p, a, again, refused, unwritable, refused_apply):
        assert "Traceback" not in out.stdout + out.stderr
    record(
        FaultRow("odd names", f"{len(ODD)} odd port group names", 3, "inventory/plan/apply ok", 0)
    )
