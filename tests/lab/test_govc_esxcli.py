"""Issue 30 item 1 from a client we did not write: govmomi's own `govc host.esxcli` lists,
creates and configures vmknics, lists pNICs and pings through the lab's esxcli, and plain
pyVmomi reads the result back. govc is not part of the machine's Go sources; build it with
scripts/build-govc.sh (cached) and point VNETTOOL_GOVC at it, or put `govc` on PATH. Without
it this module skips; the same behaviour is covered through pyVmomi in
tests/lab/test_conformance_iii.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningLab
from tests.lab.test_conformance import hosts
from vnettool.lab.runner import LAB_PASSWORD, LAB_USER

pytestmark = pytest.mark.lab

_DEFAULT = Path.home() / ".cache/vnettool/govc-v0.24.0"
GOVC = (
    os.environ.get("VNETTOOL_GOVC")
    or shutil.which("govc")
    or (str(_DEFAULT) if _DEFAULT.exists() else None)
)


def inventory_path(host: Any) -> str:
    """/<datacenter>/host/<cluster>/<host>: every ancestor's name below the root folder."""
    parts = []
    obj = host
    while obj.parent is not None:
        parts.append(obj.name)
        obj = obj.parent
    return "/" + "/".join(reversed(parts))


@pytest.fixture
def govc(fresh_lab: Any) -> Any:
    if GOVC is None:
        pytest.skip("govc not built (scripts/build-govc.sh); covered through pyVmomi instead")
    lab: RunningLab = fresh_lab(cluster=1, host=2, vm=2)
    url = lab.url.replace("https://", "")
    env = os.environ | {
        # credentials in the environment, never on the command line
        "GOVC_URL": f"https://{url}",
        "GOVC_USERNAME": LAB_USER,
        "GOVC_PASSWORD": LAB_PASSWORD,
        "GOVC_INSECURE": "1",
    }

    def run(host: Any, *words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(GOVC), "host.esxcli", "-host", inventory_path(host), *words],
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )

    with lab.session() as s:
        yield lab, s, run


def simple(out: str) -> list[dict[str, str]]:
    """govc's "simple" format: `Key:  value` lines, records separated by blank lines."""
    recs: list[dict[str, str]] = [{}]
    for line in out.splitlines():
        if not line.strip():
            recs.append({})
            continue
        key, _, value = line.partition(":")
        recs[-1][key.strip()] = value.strip()
    return [r for r in recs if r]


def table(out: str) -> list[list[str]]:
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]
    return rows[2:]  # title and dashes


def test_govc_esxcli_lists_adds_configures_and_pings(govc: Any) -> None:
    lab, s, run = govc
    h0, h1 = hosts(s)

    listed = run(h0, "network", "ip", "interface", "list")
    assert listed.returncode == 0, listed.stderr
    api = {v.device: v for v in h0.configManager.networkSystem.networkInfo.vnic}
    assert [r["Name"] for r in simple(listed.stdout)] == list(api)
    assert {r["Name"]: r["Portgroup"] for r in simple(listed.stdout)} == {
        d: v.portgroup for d, v in api.items()
    }

    nics = run(h0, "network", "nic", "list")
    assert nics.returncode == 0, nics.stderr
    assert [r[0] for r in table(nics.stdout)] == [p.device for p in h0.config.network.pnic]

    add = run(h0, "network", "ip", "interface", "add", "-i", "vmk6", "-p", "vMotion", "-m", "9000")
    assert add.returncode == 0, add.stderr
    ipv4 = ["network", "ip", "interface", "ipv4", "set", "-i", "vmk6", "-t", "static"]
    done = run(h0, *ipv4, "-I", "10.66.0.6", "-N", "255.255.255.0")
    assert done.returncode == 0, done.stderr

    with lab.session() as fresh:  # read back in a separate inventory pass
        h = next(x for x in hosts(fresh) if x.name == h0.name)
        v = {n.device: n for n in h.configManager.networkSystem.networkInfo.vnic}["vmk6"]
        assert (v.portgroup, v.spec.mtu, v.spec.ip.ipAddress) == ("vMotion", 9000, "10.66.0.6")

    got = run(h0, "network", "ip", "interface", "ipv4", "get", "-i", "vmk6")
    assert got.returncode == 0, got.stderr
    assert table(got.stdout)[0][:5] == [
        "vmk6",
        "10.66.0.6",
        "255.255.255.0",
        "10.66.0.255",
        "STATIC",
    ]

    again = run(h0, "network", "ip", "interface", "add", "-i", "vmk6", "-p", "vMotion")
    assert again.returncode != 0 and "vmk6 already exists" in again.stderr
    bad = run(h0, *ipv4, "-I", "10.66.0.600", "-N", "255.255.255.0")
    assert bad.returncode != 0 and "invalid IP address" in bad.stderr
    assert h0.configManager.networkSystem.networkInfo.vnic[-1].spec.ip.ipAddress == "10.66.0.6"

    ping = run(h1, "network", "diag", "ping", "-H", "10.66.0.6", "-c", "2")
    assert ping.returncode == 0, ping.stderr
    summary = simple(ping.stdout)[0]
    assert (summary["Transmitted"], summary["Recieved"]) == ("2", "2")
    assert LAB_PASSWORD not in ping.stdout + ping.stderr
