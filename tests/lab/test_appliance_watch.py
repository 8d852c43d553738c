"""`vnettool appliance watch`: host changes are handled when they happen, not on the next run.

A deployed definition (one pinned appliance per host of DC0_C0, VMs protected) is watched by
the CLI in the background. With plain pyVmomi, as an admin would: a host enters maintenance
mode -> its protected VMs are re-homed and its appliance powered off; it leaves -> the
appliance is powered on and the VMs are protected again; a host of another cluster is moved
in (in maintenance mode) -> its segment, and its appliance once it leaves maintenance mode. No deploy is run by the test; every result is read back
with pyVmomi and a separate inventory pass.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.lab.test_appliances import CLUSTER, failures, make_template, obj, run, spec
from vnettool.inventory import collect
from vnettool.vsphere.tasks import wait_task

pytestmark = [pytest.mark.lab, pytest.mark.timeout(400)]

PLAYBOOK = """\
target: {cluster: DC0_C0}
steps:
  - name: firewalls
    appliance:
      name: fw
      source: {template: fw-template}
      resources: {cpus: 2, memory_mb: 1024, cpu_reservation_mhz: 2000}
      networks: {management: VM Network, unprotected: DC0_DVPG0, protected: fw-protected}
      segment: {kind: vss, switch: vSwitch-fw}
      protect: {vms: ["DC0_C0_RP0_VM*"], from_portgroup: DC0_DVPG0}
"""


def until(cond: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def test_watch_handles_maintenance_and_a_new_host_when_they_happen(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=2, host=4, vm=4)
    book = tmp_path / "fw.yml"
    book.write_text(PLAYBOOK)
    log = tmp_path / "watch.log"
    with lab.session() as s:
        make_template(s)
        _, results = run(s, spec())
        assert not failures(results)
        inv = collect(s)
        host = next(h for h in inv.hosts if h.cluster == CLUSTER and len(h.vms) > 2)
        behind = sorted(
            v.name for v in inv.vms if v.host == host.name and v.name.startswith("DC0_C0_RP0_VM")
        )
        assert behind
        env = os.environ | lab.env() | {"COLUMNS": "200"}
        with open(log, "w") as out:
            proc = subprocess.Popen(
                ["uv", "run", "vnettool", "appliance", "watch", str(book), "--yes", "--insecure"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            until(lambda: "watching 4 host(s)" in log.read_text(), "the watch to start")
            fw = obj(s, vim.VirtualMachine, f"fw-{host.name}")
            h = obj(s, vim.HostSystem, host.name)

            def nets() -> set[str]:
                now = collect(s)
                return {n.network or "" for v in now.vms if v.name in behind for n in v.nics}

            # 1. maintenance: VMs re-homed first, then the appliance parked — no deploy run
            wait_task(s, h.EnterMaintenanceMode_Task(0), "EnterMaintenanceMode_Task", host.name)
            until(lambda: fw.runtime.powerState == "poweredOff", "the appliance parked")
            assert nets() == {"DC0_DVPG0"}
            # 2. out of maintenance: appliance on, healthy, VMs back behind it
            wait_task(s, h.ExitMaintenanceMode_Task(0), "ExitMaintenanceMode_Task", host.name)
            until(lambda: fw.runtime.powerState == "poweredOn", "the appliance back")
            until(lambda: nets() == {"fw-protected"}, "the VMs protected again")
            # 3. a host of the other cluster joins this one (in maintenance mode, moved in, as
            # an admin drags it): nothing while in maintenance, its appliance when it leaves
            newcomer = obj(s, vim.ClusterComputeResource, "DC0_C1").host[0]
            name = newcomer.name
            wait_task(s, newcomer.EnterMaintenanceMode_Task(0), "EnterMaintenanceMode_Task", name)
            cluster = obj(s, vim.ClusterComputeResource, CLUSTER)
            wait_task(s, cluster.MoveInto_Task([newcomer]), "MoveInto_Task", name)
            until(lambda: f"{name} moved from DC0_C1 to DC0_C0" in log.read_text(), "the move")
            until(
                lambda: any(
                    x.host == name and x.name == "vSwitch-fw" for x in collect(s).standard_switches
                ),
                "the new host's segment",
            )
            assert not any(v.name == f"fw-{name}" for v in collect(s).vms)
            wait_task(s, newcomer.ExitMaintenanceMode_Task(0), "ExitMaintenanceMode_Task", name)
            until(lambda: any(v.name == f"fw-{name}" for v in collect(s).vms), "the new appliance")
            new = obj(s, vim.VirtualMachine, f"fw-{name}")
            until(lambda: new.runtime.powerState == "poweredOn", "the new appliance running")
            assert new.runtime.host.name == name
            rules = {r.name for r in cluster.configurationEx.rule}
            assert f"vnettool-fw-{name}-pin" in rules
        finally:
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=60)
            print(log.read_text())  # shown when the test fails
        text = log.read_text()
        assert rc == 0, text
        # the event (posted when the task starts) is what a vCenter waiting on the appliance
        # needs: the lab enters at once, so the event and the flag arrive together
        assert f"{host.name} is entering maintenance mode (event" in text
        assert f"{host.name} left maintenance mode" in text
        assert text.count("recorded") >= 4, text  # each reaction is a journaled run
        assert "failed" not in text.replace("0 failed", ""), text
