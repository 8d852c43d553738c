"""Distributed switch health check against the lab: apply twice (second plan empty), read the
config and the per host/uplink results back with plain pyVmomi, results that follow the lab's
physical side (a ToR port with a smaller MTU and a VLAN not allowed), exact rollback, and bad
input refused with nothing sent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pyVmomi import vim, vmodl

from tests.lab.test_dvs_services import _rolled_back
from tests.lab.test_engine import INSECURE
from tests.lab.test_engine_dvs import apply_and_check, dv_objects
from vnettool.errors import VnetError
from vnettool.inventory import collect
from vnettool.lab.physical import changed_ports, reset_ports, set_port
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import HealthCheckConfig
from vnettool.vsphere.connection import Session
from vnettool.vsphere.tasks import wait_task

pytestmark = pytest.mark.lab

DOC: dict[str, Any] = {
    "distributed_switches": [
        {
            "name": "DVS0",
            "health_check": {
                "vlan_mtu": True,
                "vlan_mtu_interval": 2,
                "teaming": True,
                "teaming_interval": 3,
            },
        }
    ]
}
OFF = HealthCheckConfig(vlan_mtu=False, vlan_mtu_interval=1, teaming=False, teaming_interval=1)


def _configs(sw: Any) -> dict[str, tuple[bool, int]]:
    return {c._wsdlName: (c.enable, c.interval) for c in sw.config.healthCheckConfig}


def _tor_port(s: Session, host: str, pnic: str) -> tuple[str, str]:
    """The ToR switch and port a pNIC is cabled to, as the host's CDP hint says."""
    h = {x.name: x for x in dv_objects(s, vim.HostSystem).values()}[host]
    hint = next(x for x in h.configManager.networkSystem.QueryNetworkHint() if x.device == pnic)
    return hint.connectedSwitchPort.devId, hint.connectedSwitchPort.portId


def test_health_check_config_results_and_rollback(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        before = collect(s)
        assert before.dvs_by_name["DVS0"].health_check == OFF
        assert before.dvs_by_name["DVS0"].health == []  # no results while the checks are off
        results = apply_and_check(s, DOC)
        assert [r.change.resource for r in results] == ["health_check"]

        # an independent client's view: the config and a result per host and uplink
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        assert _configs(sw) == {
            "VMwareDVSVlanMtuHealthCheckConfig": (True, 2),
            "VMwareDVSTeamingHealthCheckConfig": (True, 3),
        }
        members = sw.runtime.hostMemberRuntime
        assert len(members) == 2
        for m in members:
            kinds = sorted(r._wsdlName for r in m.healthCheckResult)
            assert kinds == [
                "VMwareDVSMtuHealthCheckResult",
                "VMwareDVSMtuHealthCheckResult",
                "VMwareDVSTeamingHealthCheckResult",
                "VMwareDVSVlanHealthCheckResult",
                "VMwareDVSVlanHealthCheckResult",
            ]
        inv = collect(s)
        health = inv.dvs_by_name["DVS0"].health
        assert {(r.host, r.check, r.uplink, r.pnic) for r in health if r.check != "teaming"} == {
            (h, c, u, p)
            for h in ("DC0_C0_H0", "DC0_C0_H1")
            for c in ("vlan", "mtu")
            for u, p in (("uplink1", "vmnic2"), ("uplink2", "vmnic3"))
        }
        assert all(r.ok for r in health)

        # the physical side: H0's vmnic3 port at MTU 1500 without VLAN 200, the switch at 9000
        tor, port = _tor_port(s, "DC0_C0_H0", "vmnic3")
        set_port(tor, port, mtu=1500, vlans="0-199,201-4094", lab=lab.lab)
        assert changed_ports(lab=lab.lab)[0]["mtu"] == 1500
        more = apply_and_check(s, {"distributed_switches": [{"name": "DVS0", "max_mtu": 9000}]})
        bad = [r for r in collect(s).dvs_by_name["DVS0"].health if not r.ok]
        assert [(r.host, r.check, r.uplink) for r in bad] == [
            ("DC0_C0_H0", "vlan", "uplink2"),
            ("DC0_C0_H0", "mtu", "uplink2"),
        ]
        assert bad[0].untrunked_vlans == [(200, 200)]
        assert bad[1].mtu_mismatch is True
        assert bad[1].vlans_mtu_not_ok == [(0, 199), (201, 4094)]
        # plain pyVmomi sees the same mismatch on the same uplink port key
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        plain = [
            r.uplinkPortKey
            for m in sw.runtime.hostMemberRuntime
            for r in m.healthCheckResult
            if r._wsdlName == "VMwareDVSMtuHealthCheckResult" and r.mtuMismatch
        ]
        assert plain == [bad[1].uplink_port_key]
        reset_ports(lab=lab.lab)

        _rolled_back(s, [*results, *more])
        after = collect(s).dvs_by_name["DVS0"]
        assert after.health_check == before.dvs_by_name["DVS0"].health_check
        assert after.max_mtu == before.dvs_by_name["DVS0"].max_mtu
        assert after.health == []
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        assert set(_configs(sw).values()) == {(False, 1)}


def test_bad_health_check_input_is_located_and_changes_nothing(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        version = collect(s).dvs_by_name["DVS0"].config_version
        for doc, where in (
            ({"vlan_mtu": True, "vlan_mtu_interval": 0}, "vlan_mtu_interval"),
            ({"teaming": "sometimes"}, "teaming"),
            ({"vlan_mtu": True, "every": 5}, "every"),
        ):
            with pytest.raises(ValidationError) as err:
                DesiredState.model_validate(
                    {"distributed_switches": [{"name": "DVS0", "health_check": doc}]}
                )
            loc = err.value.errors()[0]["loc"]
            assert loc[:3] == ("distributed_switches", 0, "health_check") and where in loc
        # the API refuses an enabled check without an interval, naming the field
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        cfg = vim.dvs.VmwareDistributedVirtualSwitch.VlanMtuHealthCheckConfig(
            enable=True, interval=0
        )
        with pytest.raises((vmodl.fault.InvalidArgument, VnetError), match="interval"):
            wait_task(
                s,
                sw.UpdateDVSHealthCheckConfig_Task([cfg]),
                "UpdateDVSHealthCheckConfig_Task",
                "DVS0",
            )
        assert collect(s).dvs_by_name["DVS0"].config_version == version


VNETTOOL = str(Path(sys.executable).parent / "vnettool")


def _cli_env(lab: Any) -> dict[str, str]:
    env = os.environ | lab.env()
    for k in ("VSPHERE_SERVER", "GOVC_URL"):
        env.pop(k, None)
    return env


def test_healthcheck_run_reports_and_switches_back(fresh_lab: Any) -> None:
    """The CLI end to end: on, results per host and uplink, back off; JSON and exit codes."""
    lab = fresh_lab(cluster=1, host=2, vm=2)
    env = _cli_env(lab)
    with lab.session(**INSECURE) as s:
        tor, port = _tor_port(s, "DC0_C0_H1", "vmnic2")
    set_port(tor, port, channel=True, lab=lab.lab)  # a port channel the teaming does not use
    proc = subprocess.run(
        [VNETTOOL, "healthcheck", "run", "DVS0", "--for", "1s", "--json", "--insecure"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr  # a mismatch was found
    out = json.loads(proc.stdout)
    assert out["run"] and out["window_complete"] is True
    bad = [r for r in out["results"] if not r["ok"]]
    assert [(r["host"], r["check"], r["teaming_status"]) for r in bad] == [
        ("DC0_C0_H1", "teaming", "nonIphashMismatch")
    ]
    assert len(out["results"]) == 10 and out["restored"].startswith("run ")
    with lab.session(**INSECURE) as s:
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        assert set(_configs(sw).values()) == {(False, 1)}  # switched back
        assert collect(s).dvs_by_name["DVS0"].health == []
    # the table form, and a clean physical side: exit 0
    reset_ports(lab=lab.lab)
    proc = subprocess.run(
        [VNETTOOL, "healthcheck", "run", "DVS0", "--for", "1s", "--check-interval", "5", "--insecure"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 mismatch(es) in 10 result(s)" in proc.stdout
    assert "switched back" in proc.stdout and "uplink2" in proc.stdout
    bad = subprocess.run(
        [VNETTOOL, "healthcheck", "run", "NOPE", "--for", "1s", "--insecure"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and "no distributed switch 'NOPE'" in bad.stderr
    bad = subprocess.run(
        [VNETTOOL, "healthcheck", "run", "DVS0", "--for", "10 minutes", "--insecure"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and "give a duration like" in bad.stderr


def test_healthcheck_run_interrupted_still_switches_back(fresh_lab: Any) -> None:
    """Ctrl-C during the window ends the wait early; the results are reported and the
    checks restored to what they were (here: VLAN/MTU already on at 3 min, teaming off)."""
    lab = fresh_lab(cluster=1, host=2, vm=2)
    env = _cli_env(lab)
    with lab.session(**INSECURE) as s:
        apply_and_check(
            s,
            {
                "distributed_switches": [
                    {"name": "DVS0", "health_check": {"vlan_mtu": True, "vlan_mtu_interval": 3}}
                ]
            },
        )
        p = subprocess.Popen(
            [VNETTOOL, "healthcheck", "run", "DVS0", "--for", "10m", "--json", "--insecure"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
            if _configs(sw)["VMwareDVSTeamingHealthCheckConfig"][0]:
                break
            time.sleep(0.2)
        else:
            p.kill()
            pytest.fail("the checks were never switched on")
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
        assert p.returncode == 0, stdout + stderr
        out = json.loads(stdout)
        assert out["window_complete"] is False and len(out["results"]) == 10
        assert "interrupted" in stderr
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        assert _configs(sw) == {
            "VMwareDVSVlanMtuHealthCheckConfig": (True, 3),
            "VMwareDVSTeamingHealthCheckConfig": (False, 1),
        }
