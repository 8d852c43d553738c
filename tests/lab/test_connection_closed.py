"""A server that closes the connection mid-call is named as such, never as "unreachable".

The lab's fault injection (`drop`: the connection is closed before the call answers) stands in
for a vCenter that crashed or cut the request: the error names the method and the object so
the admin looks for that request in the server's logs, not at the network.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import RunningLab
from tests.lab.test_scope import ROOT
from vnettool.engine import apply, plan
from vnettool.errors import ConnectionFailed
from vnettool.inventory.collect import collect
from vnettool.lab.faults import add_fault, clear_faults
from vnettool.models.desired import DesiredState

pytestmark = pytest.mark.lab

BUDGET = {"VNETTOOL_RETRY_BUDGET": "2"}


@pytest.fixture
def flab(fresh_lab: Any) -> Iterator[RunningLab]:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    yield lab
    clear_faults(lab.lab)


def test_a_read_cut_every_time_names_the_call_not_unreachable(flab: RunningLab) -> None:
    with flab.session(retry_budget_s=2.0) as s:
        add_fault("RetrievePropertiesEx", "drop", count=0, lab=flab.lab)
        with pytest.raises(ConnectionFailed) as info:
            collect(s, reader="pyvmomi")
    msg = str(info.value)
    assert "the server closed the connection during RetrievePropertiesEx" in msg
    assert "unreachable" not in msg


def test_the_cli_says_closed_during_the_method(flab: RunningLab) -> None:
    add_fault("RetrievePropertiesEx", "drop", count=0, lab=flab.lab)
    env = os.environ | flab.env() | BUDGET
    env.pop("VSPHERE_SERVER", None)
    env.pop("GOVC_URL", None)
    proc = subprocess.run(
        ["uv", "run", "--project", str(ROOT), "vnettool", "inventory", "--insecure"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "the server closed the connection during RetrievePropertiesEx" in proc.stderr
    assert "unreachable" not in proc.stderr + proc.stdout


def test_a_write_cut_every_time_names_the_method_and_object(flab: RunningLab) -> None:
    desired = DesiredState.model_validate(
        {"standard_port_groups": [{"name": "pg-drop", "switch": "vSwitch0"}]}
    )
    with flab.session(retry_budget_s=2.0) as s:
        p = plan(desired, collect(s))
        add_fault("AddPortGroup", "drop", count=0, lab=flab.lab)
        results = apply(p, s)
    errors = [r.error or "" for r in results if r.failed]
    assert len(errors) == len(p.changes) == 2
    for r in results:
        assert f"the server closed the connection during AddPortGroup on {r.change.host}" in (
            r.error or ""
        ), r.error
        assert "unreachable" not in (r.error or "")
