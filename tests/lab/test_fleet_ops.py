"""`--fleet` for run, whatif and rebalance, `lab status`/`lab stop --site`, and the cross-site
trunk and PVLAN checks, on three labs started by `lab start --fleet 3` (1 cluster x 2 hosts).

Each test starts its own labs under its own VNETTOOL_HOME and stops them at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.lab.test_fleet import Fleet, _argv_watch, _file_text
from vnettool.audit.fleet_drift import PVLAN_CONFLICT, TRUNK_RANGES, TRUNK_REACH
from vnettool.lab.faults import add_fault
from vnettool.lab.runner import Lab

SITES = ["ams", "fra", "nyc"]

PLAYBOOK = """\
name: fleet web network
target: {cluster: DC0_C0}
steps:
  - name: web port group on VLAN 130
    configure:
      standard_port_groups:
        - {name: fleet-web, switch: vSwitch0, vlan: 130}
  - name: it is there
    assert:
      that:
        - portgroup: {name: fleet-web, vlan: 130}
  - name: save the state of ${vcenter}
    snapshot:
      path: reports/after-${vcenter}.json
"""


@pytest.fixture
def fleet3(tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path / "home", tmp_path / "home" / "fleet" / "fleet.yml", [])
    out = f.run("lab", "start", "--fleet", "3", "--clusters", "1", "--hosts", "2", "--vms", "2")
    try:
        assert out.returncode == 0, out.stderr
        f.sites = YAML(typ="safe").load(f.file.read_text())["vcenters"]
        assert [s["name"] for s in f.sites] == SITES
        yield f
    finally:
        f.run("lab", "stop")


def _site(fleet: Fleet, name: str) -> dict[str, Any]:
    return next(s for s in fleet.sites if s["name"] == name)


def test_lab_status_shows_each_fleet_lab_up_or_down(fleet3: Fleet) -> None:
    st = fleet3.run("lab", "status", "--json")
    assert st.returncode == 0, st.stderr
    doc = json.loads(st.stdout)
    assert doc["lab"] is None
    urls = {s["name"]: s["url"] for s in fleet3.sites}
    assert [(s["name"], s["url"], s["state"], s["hosts"]) for s in doc["fleet"]] == [
        (n, urls[n], "up", 2) for n in SITES
    ]
    stop = fleet3.run("lab", "stop", "--site", "fra")
    assert stop.returncode == 0 and "fleet labs stopped: fra" in stop.stdout
    bad = fleet3.run("lab", "stop", "--site", "frx")
    assert bad.returncode == 1 and "no fleet lab 'frx' (fleet labs: ams, fra, nyc)" in bad.stderr
    st = fleet3.run("lab", "status")
    assert st.returncode == 4  # some fleet labs down: partial, as a fleet run says it
    fra_line = next(line for line in st.stdout.splitlines() if "│ fra" in line)
    assert urls["fra"] in fra_line and "down" in fra_line
    assert "fra: simulator not running" in st.stdout
    assert "1 of 3 fleet labs down: fra" in st.stdout
    # the fleet file still names fra: a fleet run reports it failed, the others done
    inv = fleet3.run("--fleet", str(fleet3.file), "inventory", "--json")
    assert inv.returncode == 4
    vcs = json.loads(inv.stdout)["vcenters"]
    assert [vcs[n]["status"] for n in SITES] == ["ok", "failed", "ok"]
    # started again (new port, new password), up again
    again = fleet3.run("lab", "start", "--fleet", "3", "--clusters", "1", "--hosts", "2")
    assert again.returncode == 0 and "fra: started" in again.stdout
    doc = json.loads(fleet3.run("lab", "status", "--json").stdout)
    assert [s["state"] for s in doc["fleet"]] == ["up", "up", "up"]
    fleet3.run("lab", "stop")
    st = fleet3.run("lab", "status")
    assert st.returncode == 1 and "no lab running" in st.stdout


def _steps(result: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(s["name"], s["status"], s["changes"]) for s in result["steps"]]


def test_run_on_the_fleet_with_one_vcenter_down_mid_run(fleet3: Fleet, tmp_path: Path) -> None:
    pb = tmp_path / "web.yml"
    pb.write_text(PLAYBOOK)
    out = tmp_path / "out"
    base = ["--fleet", str(fleet3.file)]

    # --check: every vCenter's result is what a single `run --check` against it prints
    check = fleet3.run(*base, "run", str(pb), "--check", "--json", "--out", str(out))
    assert check.returncode == 2, check.stderr
    doc = json.loads(check.stdout)["vcenters"]
    for name in SITES:
        single = fleet3.single(
            _site(fleet3, name), "run", str(pb), "--check", "--json", "--var", f"vcenter={name}"
        )
        assert single.returncode == 2, single.stderr
        mine, theirs = doc[name]["result"], json.loads(single.stdout)
        assert (
            mine["recap"]
            == theirs["recap"]
            == {
                "ok": 1,
                "changed": 1,
                "failed": 0,
                "skipped": 1,
            }
        )
        assert _steps(mine) == _steps(theirs)
        assert mine["steps"][0]["plan"] == theirs["steps"][0]["plan"]
        assert mine["steps"][0]["plan"]["pending"] == 2

    # without --yes and without a terminal: refused before any vCenter is touched
    refused = fleet3.run(*base, "run", str(pb), "--out", str(out))
    assert refused.returncode == 1
    assert (
        "confirmation needed" in refused.stderr and "3 vCenters (ams, fra, nyc)" in refused.stderr
    )

    # for real, fra stopped while its child waits on its first read; passwords watched
    fra = Lab(fleet3.home / "fleet" / "fra")
    add_fault("RetrievePropertiesEx", "delay", delay_ms=60_000, count=0, lab=fra)
    stop, argv = threading.Event(), []  # type: ignore[var-annotated]
    watcher = threading.Thread(target=_argv_watch, args=(stop, argv))
    watcher.start()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vnettool", *base, "run", str(pb), "--yes", "--out", str(out)],
            env=fleet3.env(VNETTOOL_RETRY_BUDGET="2"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(8)
        assert proc.poll() is None
        assert fra.stop()
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        stop.set()
        watcher.join()
    assert proc.returncode == 4, stderr
    recap = {line.split(" : ")[0].strip(): line for line in stdout.splitlines() if " : ok=" in line}
    assert set(recap) == set(SITES)
    for name in ("ams", "nyc"):
        assert "ok=2  changed=1  failed=0  skipped=0  unreachable=0  run " in recap[name]
        assert f"PLAY fleet web network [{name}]" in stdout
    assert "ok=0  changed=0  failed=0  skipped=0  unreachable=1" in recap["fra"]
    assert "1 of 3 vCenters failed: fra (exit 4)" in stderr
    assert any(b"vnettool" in a and b"run" in a for a in argv)
    secrets = [fleet3.password(n) for n in SITES]
    for secret in secrets:
        assert secret not in stdout + stderr
        assert not any(secret.encode() in a for a in argv)
    # each vCenter's files in its own folder, no secret in them
    for name in ("ams", "nyc"):
        snap = json.loads((out / name / "reports" / f"after-{name}.json").read_text())
        assert {p["host"] for p in snap["standard_port_groups"] if p["name"] == "fleet-web"} == {
            "DC0_C0_H0",
            "DC0_C0_H1",
        }
    assert not (out / "fra" / "reports").exists()
    for p in out.rglob("*.json"):
        assert not any(secret in _file_text(p) for secret in secrets)

    # read back by a separate inventory pass of the two that ran, and by plain pyVmomi
    inv = fleet3.run(*base, "--only", "ams,nyc", "inventory", "--json")
    assert inv.returncode == 0, inv.stderr
    for name in ("ams", "nyc"):
        pgs = json.loads(inv.stdout)["vcenters"][name]["result"]["standard_port_groups"]
        assert sorted((p["host"], p["vlan_id"]) for p in pgs if p["name"] == "fleet-web") == [
            ("DC0_C0_H0", 130),
            ("DC0_C0_H1", 130),
        ]
        assert _pyvmomi_vlans(fleet3, _site(fleet3, name), "fleet-web") == {
            "DC0_C0_H0": 130,
            "DC0_C0_H1": 130,
        }
    # twice: nothing left to change where it ran
    again = fleet3.run(*base, "--only", "ams,nyc", "run", str(pb), "--yes", "--json")
    assert again.returncode == 0, again.stderr
    for name in ("ams", "nyc"):
        result = json.loads(again.stdout)["vcenters"][name]["result"]
        assert result["recap"] == {"ok": 3, "changed": 0, "failed": 0, "skipped": 0}


def _pyvmomi_vlans(fleet: Fleet, site: dict[str, Any], pg_name: str) -> dict[str, int]:
    """host -> VLAN of a standard port group, read with plain pyVmomi (not vnettool's reader)."""
    import ssl
    from urllib.parse import urlsplit

    from pyVim.connect import Disconnect, SmartConnect
    from pyVmomi import vim

    u = urlsplit(site["url"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the lab's self-signed certificate (test only)
    si = SmartConnect(
        host=u.hostname,
        port=u.port,
        user="administrator@vsphere.local",
        pwd=fleet.password(site["name"]),
        sslContext=ctx,
    )
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
        out = {}
        for h in view.view:
            for pg in h.config.network.portgroup:
                if pg.spec.name == pg_name:
                    out[h.name] = pg.spec.vlanId
        view.DestroyView()
        return out
    finally:
        Disconnect(si)


def test_whatif_on_the_fleet_equals_single_runs(fleet3: Fleet) -> None:
    base = ["--fleet", str(fleet3.file)]
    fleet = fleet3.run(*base, "whatif", "maintenance", "DC0_C0_H0", "--json")
    assert fleet.returncode == 0, fleet.stderr
    doc = json.loads(fleet.stdout)
    assert doc["target"] == "DC0_C0_H0" and doc["not_here"] == {}
    for name in SITES:
        single = fleet3.single(_site(fleet3, name), "whatif", "maintenance", "DC0_C0_H0", "--json")
        assert doc["vcenters"][name]["result"] == json.loads(single.stdout)
    dark = fleet3.run(*base, "whatif", "fail", "DC0_C0_H1/vmnic0", "DC0_C0_H1/vmnic1", "--json")
    assert dark.returncode == 2  # something goes dark in some vCenter, as for one vCenter
    for name in SITES:
        result = json.loads(dark.stdout)["vcenters"][name]["result"]
        assert {d["label"] for d in result["dark"]} >= {"DC0_C0_H1 vmk0 [management]"}
    # a neighbour switch of the same name in every site (a shared core): judged in each
    tor = fleet3.run(*base, "whatif", "fail", "neighbour", "tor-dc0_c0-a", "--json")
    assert tor.returncode == 0, tor.stderr
    for name in SITES:
        single = fleet3.single(
            _site(fleet3, name), "whatif", "fail", "neighbour", "tor-dc0_c0-a", "--json"
        )
        result = json.loads(tor.stdout)["vcenters"][name]["result"]
        assert result == json.loads(single.stdout) and result["degraded"]
    unknown = fleet3.run(*base, "whatif", "maintenance", "DC0_C0_H9")
    assert unknown.returncode == 1
    assert "'DC0_C0_H9' is in none of the vCenters read: unknown host 'DC0_C0_H9'" in unknown.stderr
    # one vCenter not readable: partial
    for secret in (fleet3.password(n) for n in SITES):
        assert not any(secret in r.stdout + r.stderr for r in (fleet, dark, unknown))
    assert Lab(fleet3.home / "fleet" / "nyc").stop()
    partial = fleet3.run(*base, "whatif", "maintenance", "DC0_C0_H0", "--json")
    assert partial.returncode == 4
    vcs = json.loads(partial.stdout)["vcenters"]
    assert [vcs[n]["status"] for n in SITES] == ["ok", "ok", "failed"]
    refused = fleet3.run(*base, "whatif", "maintenance", "DC0_C0_H0", "--snapshot", "x.json")
    assert refused.returncode == 1 and "--snapshot cannot be used with --fleet" in refused.stderr


def test_rebalance_on_the_fleet_runs_one_cycle_per_vcenter(fleet3: Fleet) -> None:
    base = ["--fleet", str(fleet3.file)]
    out = fleet3.run(*base, "rebalance", "--dry-run", "--rounds", "1", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["dry_run"] is True
    for name in SITES:
        result = doc["vcenters"][name]["result"]
        assert sorted(h["host"] for h in result["hosts"]) == ["DC0_C0_H0", "DC0_C0_H1"]
        assert result["decisions"] == [] and result["journal"] == []
    for option, why in (
        (["--interval", "30s"], "a fleet run is one cycle"),
        (["--state", "s.json"], "one state file belongs to one vCenter"),
    ):
        refused = fleet3.run(*base, "rebalance", *option)
        assert refused.returncode == 1 and why in refused.stderr
    secrets = [fleet3.password(n) for n in SITES]
    assert Lab(fleet3.home / "fleet" / "ams").stop()
    partial = fleet3.run(*base, "rebalance", "--dry-run", "--rounds", "1")
    assert partial.returncode == 4
    assert "1 of 3 vCenters failed: ams (exit 4)" in partial.stderr
    for secret in secrets:
        assert not any(secret in r.stdout + r.stderr for r in (out, partial))


def test_cross_site_trunk_and_pvlan_checks_on_the_labs(fleet3: Fleet) -> None:
    out = fleet3.run("--fleet", str(fleet3.file), "inventory", "--json")
    assert out.returncode == 0, out.stderr
    drift = json.loads(out.stdout)["drift"]
    got = sorted(
        (d["kind"], *d["vcenters"], d["vlans"], d["l2_domain"])
        for d in drift
        if d["kind"] in (TRUNK_RANGES, TRUNK_REACH, PVLAN_CONFLICT)
    )
    # ams (even) and fra (odd) share l2-1; nyc (even) is alone in l2-2
    assert got == sorted(
        [
            (TRUNK_RANGES, "ams", "fra", "100-199 / 100-149", "l2-1"),
            (TRUNK_RANGES, "fra", "nyc", "100-149 / 100-199", None),
            (TRUNK_REACH, "ams", "fra", "120", "l2-1"),
            (TRUNK_REACH, "fra", "ams", "120", "l2-1"),
            (PVLAN_CONFLICT, "ams", "fra", "301", "l2-1"),
            (PVLAN_CONFLICT, "ams", "fra", "302", "l2-1"),
        ]
    )


def test_a_playbook_that_fails_on_one_vcenter_fails_that_one_only(
    fleet3: Fleet, tmp_path: Path
) -> None:
    """The sites differ: ams has 2 DV port groups per vDS, fra 3, nyc 4 (DC0_DVPG0..)."""
    pb = tmp_path / "dvpg.yml"
    pb.write_text(
        "name: third DV port group\n"
        "steps:\n"
        "  - name: DC0_DVPG2 exists\n"
        "    assert:\n"
        "      that:\n"
        "        - dv_portgroup: {name: DC0_DVPG2}\n"
    )
    out = fleet3.run("--fleet", str(fleet3.file), "run", str(pb), "--json", "--out", str(tmp_path))
    assert out.returncode == 4, out.stderr
    vcs = json.loads(out.stdout)["vcenters"]
    assert [vcs[n]["status"] for n in SITES] == ["failed", "ok", "ok"]
    assert vcs["ams"]["error"] == (
        "step 'DC0_DVPG2 exists' failed: 1 failure(s) over 2 host(s): "
        "no distributed port group 'DC0_DVPG2'"
    )
    assert vcs["ams"]["exit_code"] == 1
    assert vcs["fra"]["result"]["recap"] == {"ok": 1, "changed": 0, "failed": 0, "skipped": 0}
    single = fleet3.single(_site(fleet3, "ams"), "run", str(pb), "--json")
    assert single.returncode == 1
    assert _steps(vcs["ams"]["result"]) == _steps(json.loads(single.stdout))
    assert (
        vcs["ams"]["result"]["steps"][0]["details"]
        == json.loads(single.stdout)["steps"][0]["details"]
    )

    # a reference that no vCenter has: every one fails (exit 1), located, not "unreachable"
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad target\n"
        "target: {cluster: DC0_C9}\n"
        "steps:\n"
        "  - name: hosts\n"
        "    assert:\n"
        "      that:\n"
        "        - hosts: {min: 1}\n"
    )
    out = fleet3.run("--fleet", str(fleet3.file), "--only", "ams,fra", "run", str(bad))
    assert out.returncode == 1
    for name in ("ams", "fra"):
        assert f"{name} : ok=0  changed=0  failed=1  skipped=0  unreachable=0" in out.stdout
        assert (
            f"{name}: playbook invalid here: {bad}:2:19: cluster 'DC0_C9' matches nothing in "
            "the inventory" in " ".join(out.stderr.split())
        )
    assert "2 of 2 vCenters failed: ams, fra (exit 1)" in out.stderr


def test_rebalance_on_the_fleet_moves_only_where_a_host_is_slow(tmp_path: Path) -> None:
    """Two sites of 3 hosts; fra's DC0_C0_H0 gets 40 ms: fra moves its VM off it, ams does
    nothing; each keeps its own state file, so a second cycle does nothing new."""
    from vnettool.lab.netem import set_netem

    f = Fleet(tmp_path / "home", tmp_path / "home" / "fleet" / "fleet.yml", [])
    out = f.run("lab", "start", "--fleet", "2", "--clusters", "1", "--hosts", "3", "--vms", "3")
    try:
        assert out.returncode == 0, out.stderr
        f.sites = YAML(typ="safe").load(f.file.read_text())["vcenters"]
        set_netem("DC0_C0_H0", rtt_ms=40, lab=Lab(f.home / "fleet" / "fra"))
        # H0's pairs are 40 ms, so H1 and H2 average 20 ms: healthy under enter 30 / exit 25
        args = ["--steps", "vmotion", "--rounds", "3", "--min-samples", "2"]
        args += ["--enter-ms", "30", "--exit-ms", "25", "--json"]
        first = f.run("--fleet", str(f.file), "rebalance", *args)
        assert first.returncode == 0, first.stderr
        vcs = json.loads(first.stdout)["vcenters"]
        assert vcs["ams"]["result"]["journal"] == [] and vcs["ams"]["result"]["decisions"] == []
        moved = [e for e in vcs["fra"]["result"]["journal"] if e["outcome"] == "moved"]
        assert [(e["source"], e["outcome"]) for e in moved] == [("DC0_C0_H0", "moved")]
        vm, to = moved[0]["vm"], moved[0]["destination"]
        assert to in ("DC0_C0_H1", "DC0_C0_H2")
        assert len(list((f.home / "rebalance").glob("state-*.json"))) == 2
        # read back by a separate inventory pass: the VM is where the journal says
        inv = f.run("--fleet", str(f.file), "--only", "fra", "inventory", "--json")
        vms = json.loads(inv.stdout)["vcenters"]["fra"]["result"]["vms"]
        assert next(v["host"] for v in vms if v["name"] == vm) == to
        second = f.run("--fleet", str(f.file), "rebalance", *args)
        assert second.returncode == 0, second.stderr
        for name in ("ams", "fra"):
            result = json.loads(second.stdout)["vcenters"][name]["result"]
            assert result["journal"] == [] and result["decisions"] == []
    finally:
        f.run("lab", "stop")
