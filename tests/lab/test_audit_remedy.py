"""Every failure says what to set, and what it says works: on the seeded audit lab, the
vnettool snippet a failing finding carries, applied alone through `vnettool apply`, turns that
finding into a PASS on a fresh audit (a vSS security rule, a vDS security rule, a VMkernel MTU
and a VLAN the site chooses), a second plan of it is empty, and plain pyVmomi reads the values
back. A snippet with its <VLAN> left unfilled is refused with its location, nothing changed.
The same lab grades C or worse: it has open high failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from vnettool.vsphere.seed import seed_audit

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")

# rule, object: the findings whose snippets are applied (SEC-08's VLAN is the site's choice)
CASES = {
    ("SEC-01", "DC0/DC0_C0/DC0_C0_H0/vSwitch0/pg-promisc"): None,
    ("SEC-18", "DVS0"): None,
    ("HC-05", "DC0_C0_H1/vmk1"): None,
    ("SEC-08", "DC0/DC0_C0/DC0_C0_H0/vSwitch0/pg-vgt"): {"<VLAN>": "40"},
}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VNETTOOL, *args], check=False, env=env, capture_output=True, text=True, timeout=300
    )


def _audit(env: dict[str, str], out: Path, *more: str) -> dict[str, Any]:
    r = _run(env, "audit", "--insecure", "--json", "--fail-on", "never", "--out", str(out), *more)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def _by_key(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["rule_id"], f["object"]): f for f in doc["findings"]}


def _objs(si: Any, kind: type) -> dict[str, Any]:
    content = si.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return {o.name: o for o in view.view}
    finally:
        view.DestroyView()


def test_each_snippet_applied_alone_makes_its_finding_pass(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(scenario="audit")
    with lab.session() as s:
        seed_audit(s)
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    before = _audit(env, tmp_path / "before.xlsx")
    # the grade: open high failures cap it at C (issue 28: 96 read "A" with high failures)
    assert any(f["state"] == "FAIL" and f["severity"] == "high" for f in before["findings"])
    assert before["grade"] in ("C", "D"), (before["score"], before["grade"])
    found = _by_key(before)
    for i, ((rule, obj), fill) in enumerate(CASES.items()):
        f = found[(rule, obj)]
        assert f["state"] == "FAIL", f
        remedy = f["remedy"]
        assert remedy["esxcli"] and remedy["powercli"], remedy
        assert remedy["applies"] is (fill is None), remedy
        path = tmp_path / f"fix{i}.yml"
        if fill:  # first, as written: the placeholder is refused where it stands
            path.write_text(remedy["yaml"])
            refused = _run(env, "apply", str(path), "--insecure", "--yes")
            assert refused.returncode != 0, refused.stdout
            assert f"{path.name}:" in refused.stdout + refused.stderr, refused.stdout
            text = remedy["yaml"]
            for k, v in fill.items():
                text = text.replace(k, v)
            path.write_text(text)
        else:
            path.write_text(remedy["yaml"])
        applied = _run(env, "apply", str(path), "--insecure", "--yes")
        assert applied.returncode == 0, (remedy["yaml"], applied.stdout + applied.stderr)
        again = _run(env, "plan", str(path), "--insecure")
        assert again.returncode == 0, (remedy["yaml"], again.stdout + again.stderr)
    after = _by_key(_audit(env, tmp_path / "after.xlsx", "--include-pass"))
    for key in CASES:
        assert after[key]["state"] == "PASS", after[key]
    # nothing else got worse: every finding failing now failed before
    now = {k for k, f in after.items() if f["state"] == "FAIL"}
    assert now <= {k for k, f in found.items() if f["state"] == "FAIL"}
    with lab.session() as s:  # read back with plain pyVmomi, not vnettool's reader
        hosts = _objs(s, vim.HostSystem)
        pgs = {p.spec.name: p for p in hosts["DC0_C0_H0"].config.network.portgroup}
        assert pgs["pg-promisc"].spec.policy.security.allowPromiscuous is False
        assert pgs["pg-vgt"].spec.vlanId == 40
        vmk = next(v for v in hosts["DC0_C0_H1"].config.network.vnic if v.device == "vmk1")
        assert vmk.spec.mtu == 1500
        dvs = _objs(s, vim.DistributedVirtualSwitch)["DVS0"]
        assert not any(c.enable for c in dvs.config.healthCheckConfig)
