"""Cross-check with an independent client: the community.vmware collection's *info* modules
(shipped in the `ansible` package from PyPI, installed in a virtualenv of their own) read the lab,
and what they read must agree with `vnettool inventory --json`, object by object.

Both sides can be wrong in the same way only if they share a mistake; they share none of their
code (the modules bring their own pyVmomi calls and their own reading of the API). Every module
must run without error: a module that fails is a place where the lab answers a generic client
differently from vCenter 7.0.3.

Three labs: the default topology, the `--scenario audit` lab (seeded problems), and a lab after
playbooks/dvs-pvlan.yml and playbooks/standard-vmotion.yml were applied.

The virtualenv is cached under $XDG_CACHE_HOME/vnettool (keyed by the pinned versions), so only
the first run downloads; it is not a project dependency.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningLab
from vnettool.lab.runner import LAB_PASSWORD, LAB_USER
from vnettool.vsphere.seed import seed_audit

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
# ansible 12.3.0 ships community.vmware 5.10.0; the modules also need pyVmomi and requests.
ANSIBLE_PACKAGES = ("ansible==12.3.0", "pyvmomi==9.1.1.0", "requests==2.34.2")
HOST_MODULES = ("host_config_info", "host_vmnic_info", "vswitch_info", "portgroup_info")
Inventory = dict[str, Any]
Results = dict[str, Any]


def _venv_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(" ".join((*ANSIBLE_PACKAGES, sys.version)).encode()).hexdigest()[:12]
    return base / "vnettool" / f"ansible-{key}"


def _install(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    uv = shutil.which("uv")
    python = venv / "bin" / "python"
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        cmd = [uv, "pip", "install", "-q", "--python", str(python), *ANSIBLE_PACKAGES]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        cmd = [str(python), "-m", "pip", "install", "-q", *ANSIBLE_PACKAGES]
    subprocess.run(cmd, check=True, timeout=900)
    (venv / ".complete").touch()


@pytest.fixture(scope="session")
def ansible_playbook() -> Path:
    """ansible-playbook of the cached virtualenv (built once; xdist workers wait on a lock)."""
    venv = _venv_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            _install(venv)
    return venv / "bin" / "ansible-playbook"


def _cli(lab: RunningLab, *args: str) -> str:
    env = os.environ | lab.env()
    r = subprocess.run(
        ["uv", "run", "--project", str(ROOT), "vnettool", *args, "--insecure"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, f"vnettool {' '.join(args)}: {r.stdout}{r.stderr}"
    return r.stdout


def _task(module: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"{module} {json.dumps(args, sort_keys=True)}",
        f"community.vmware.vmware_{module}": args,
        "ignore_errors": True,
    }


def _playbook(inv: Inventory) -> list[dict[str, Any]]:
    tasks = [_task("about_info", {}), _task("datacenter_info", {}), _task("vm_info", {})]
    for dc in inv["datacenters"]:
        tasks.append(_task("cluster_info", {"datacenter": dc["name"], "schema": "summary"}))
        tasks.append(_task("dvswitch_info", {"folder": f"/{dc['name']}/network"}))
        dvpg = dict.fromkeys(("show_network_policy", "show_teaming_policy", "show_vlan_info"), True)
        tasks.append(_task("dvs_portgroup_info", {"datacenter": dc["name"], **dvpg}))
    for cl in inv["clusters"]:
        for module in HOST_MODULES:
            args: dict[str, Any] = {"cluster_name": cl["name"]}
            if module == "portgroup_info":
                args["policies"] = True
            tasks.append(_task(module, args))
        tasks.append(_task("vmkernel_info", {"cluster_name": cl["name"]}))
    for vm in inv["vms"][:3]:
        tasks.append(_task("guest_info", {"datacenter": _vm_dc(inv, vm), "name": vm["name"]}))
    return [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def _vm_dc(inv: Inventory, vm: dict[str, Any]) -> str:
    return next(h["datacenter"] for h in inv["hosts"] if h["name"] == vm["host"])


def _run_modules(
    ansible_playbook: Path, lab: RunningLab, inv: Inventory, tmp: Path
) -> dict[str, list[Results]]:
    """Run every module once; results by module name, in task order."""
    book = tmp / "info.yml"  # JSON is YAML: a playbook ansible-playbook reads as it is
    book.write_text(json.dumps(_playbook(inv), indent=1))
    host, port = lab.state.host_port.rsplit(":", 1)
    env = os.environ | {
        "VMWARE_HOST": host,
        "VMWARE_PORT": port,
        "VMWARE_USER": LAB_USER,
        "VMWARE_PASSWORD": LAB_PASSWORD,
        "VMWARE_VALIDATE_CERTS": "false",
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_PYTHON_INTERPRETER": str(ansible_playbook.parent / "python"),
    }
    r = subprocess.run(
        [str(ansible_playbook), str(book)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = json.loads(r.stdout)
    failed, by_module = [], {}
    for t in out["plays"][0]["tasks"]:
        res = t["hosts"]["localhost"]
        name = t["task"]["name"]
        if res.get("failed"):
            failed.append(f"{name}: {res.get('msg', '')[:400]}")
        by_module.setdefault(name.split(" ", 1)[0], []).append(res)
    assert not failed, "modules failed on the lab:\n" + "\n".join(failed)
    return by_module


# -- comparisons, one per kind of object ------------------------------------------------------
def _check_about_and_datacenters(res: dict[str, list[Results]], inv: Inventory) -> None:
    about = res["about_info"][0]["about_info"]
    assert (about["api_type"], about["version"]) == ("VirtualCenter", "7.0.3")
    assert about["api_version"] == inv["api_version"]
    dcs = res["datacenter_info"][0]["datacenter_info"]
    assert sorted(d["name"] for d in dcs) == sorted(d["name"] for d in inv["datacenters"])


def _check_clusters(res: dict[str, list[Results]], inv: Inventory) -> None:
    read = {n: c for r in res["cluster_info"] for n, c in r["clusters"].items()}
    assert sorted(read) == sorted(c["name"] for c in inv["clusters"])
    for cl in inv["clusters"]:
        got = read[cl["name"]]
        hosts = sorted(h["name"] for h in inv["hosts"] if h["cluster"] == cl["name"])
        assert sorted(h["name"] for h in got["hosts"]) == hosts, cl["name"]
        assert (got["enabled_drs"], got["enable_ha"]) == (cl["drs_enabled"], cl["ha_enabled"])
        assert got["datacenter"] == cl["datacenter"] and got["moid"] == cl["moref"]
        usage = got["resource_summary"]
        assert usage["cpuCapacityMHz"] > 0 and usage["memCapacityMB"] > 0, cl["name"]


def _check_pnics(res: dict[str, list[Results]], inv: Inventory) -> None:
    read = {h: v for r in res["host_vmnic_info"] for h, v in r["hosts_vmnics_info"].items()}
    assert sorted(read) == sorted(h["name"] for h in inv["hosts"] if h["cluster"])
    in_dvs: dict[str, dict[str, list[str]]] = {}
    for d in inv["distributed_switches"]:
        for m in d["hosts"]:
            in_dvs.setdefault(m["host"], {})[d["name"]] = sorted(m["pnics"])
    for h in inv["hosts"]:
        if h["name"] not in read:
            continue
        got = read[h["name"]]
        assert sorted(got["all"]) == sorted(p["device"] for p in h["pnics"]), h["name"]
        details = {d["device"]: d for d in got["vmnic_details"]}
        for p in h["pnics"]:
            d = details[p["device"]]
            assert (d["mac"], d["driver"], d["location"]) == (p["mac"], p["driver"], p["pci"])
            assert d["actual_speed"] == p["speed_mb"] and d["status"] == "Connected"
        switches = [s for s in inv["standard_switches"] if s["host"] == h["name"]]
        assert {k: sorted(v) for k, v in got["vswitch"].items()} == {
            s["name"]: sorted(s["uplinks"]) for s in switches
        }, h["name"]
        dvs = {k: sorted(v) for k, v in got["dvswitch"].items()}
        assert dvs == in_dvs.get(h["name"], {}), h["name"]
        used = {u for s in switches for u in s["uplinks"]} | {
            u for v in in_dvs.get(h["name"], {}).values() for u in v
        }
        assert (
            sorted(got["used"]) == sorted(used) and set(got["available"]) == set(got["all"]) - used
        )


def _check_standard(res: dict[str, list[Results]], inv: Inventory) -> None:
    vss = {h: v for r in res["vswitch_info"] for h, v in r["hosts_vswitch_info"].items()}
    pgs = {h: v for r in res["portgroup_info"] for h, v in r["hosts_portgroup_info"].items()}
    for h, switches in vss.items():
        mine = {s["name"]: s for s in inv["standard_switches"] if s["host"] == h}
        assert sorted(switches) == sorted(mine), h
        for name, sw in switches.items():
            want = mine[name]
            assert (sw["mtu"], sw["num_ports"]) == (want["mtu"], want["num_ports"]), (h, name)
            assert sorted(sw["pnics"]) == sorted(want["uplinks"]), (h, name)
        ours = {p["name"]: p for p in inv["standard_port_groups"] if p["host"] == h}
        theirs = {p["portgroup"]: p for p in pgs[h]}
        assert sorted(theirs) == sorted(ours), h
        for name, p in theirs.items():
            want = ours[name]
            assert (p["vswitch"], p["vlan_id"]) == (want["switch"], want["vlan_id"]), (h, name)
            sec = want["policy"]["security"]
            flags = [sec["allow_promiscuous"], sec["mac_changes"], sec["forged_transmits"]]
            assert p["security"] == ["No override" if f is None else f for f in flags], (h, name)
            team = want["policy"]["teaming"]
            assert p["lb"] == (team["policy"] or "No override"), (h, name)
            active = team["active_uplinks"]
            assert p["failover_active"] == ("No override" if active is None else active), (h, name)


def _check_vmknics(res: dict[str, list[Results]], inv: Inventory) -> None:
    read = {h: v for r in res["vmkernel_info"] for h, v in r["host_vmk_info"].items()}
    assert read, "no host read"
    for h, vmks in read.items():
        ours = {v["device"]: v for v in inv["vmkernel_adapters"] if v["host"] == h}
        assert sorted(v["device"] for v in vmks) == sorted(ours), h
        for v in vmks:
            want = ours[v["device"]]
            assert (v["ipv4_address"] or None, v["mac"], v["mtu"]) == (
                want["ip"],
                want["mac"],
                want["mtu"],
            ), (h, v["device"])
            assert v["portgroup"] == (want["portgroup"] or want["dv_portgroup_key"])
            assert v["stack"] == want["netstack"] and v["dhcp"] == want["dhcp"]
            flags = {"management": "enable_management", "vmotion": "enable_vmotion"}
            for service, flag in flags.items():
                assert v[flag] == (service in want["services"]), (h, v["device"], service)


def _check_dvs(res: dict[str, list[Results]], inv: Inventory) -> None:
    read = {
        d["configure"]["name"]: d
        for r in res["dvswitch_info"]
        for d in r["distributed_virtual_switches"]
    }
    assert sorted(read) == sorted(d["name"] for d in inv["distributed_switches"])
    for d in inv["distributed_switches"]:
        got = read[d["name"]]
        props = got["configure"]["settings"]["properties"]
        assert got["uuid"] == d["uuid"] and props["general"]["version"] == d["version"]
        assert props["advanced"]["maxMtu"] == d["max_mtu"]
        assert props["general"]["numUplinks"] == len(d["uplink_names"])
        assert props["discoveryProtocol"] == {
            "protocol": d["ldp_protocol"],
            "operation": d["ldp_operation"],
        }
        assert sorted(got["configure"]["hosts"]) == sorted(m["host"] for m in d["hosts"])
        pvlans = got["configure"]["settings"]["privateVlan"]
        assert sorted((p["secondaryVlanId"], p["pvlanType"]) for p in pvlans) == sorted(
            (p["secondary_id"], p["type"]) for p in d["pvlans"]
        )
    pgs = {
        p["key"]: p
        for r in res["dvs_portgroup_info"]
        for v in r["dvs_portgroup_info"].values()
        for p in v
    }
    assert sorted(pgs) == sorted(p["key"] for p in inv["distributed_port_groups"])
    for p in inv["distributed_port_groups"]:
        got, s = pgs[p["key"]], p["setting"]
        assert (got["portgroup_name"], got["dvswitch_name"]) == (p["name"], p["dvs"])
        assert (got["num_ports"], got["type"]) == (p["num_ports"], p["binding"])
        assert got["vlan_info"] == _vlan_info(s["vlan"]), p["name"]
        assert got["network_policy"] == {
            "promiscuous": s["security"]["allow_promiscuous"],
            "mac_changes": s["security"]["mac_changes"],
            "forged_transmits": s["security"]["forged_transmits"],
        }, p["name"]
        team = got["teaming_policy"]
        assert (team["policy"], team["notify_switches"]) == (
            s["teaming"]["policy"],
            s["teaming"]["notify_switches"],
        )
        assert team["rolling_order"] is (not s["teaming"]["failback"]), p["name"]
        assert got["active_uplinks"] == s["teaming"]["active_uplinks"], p["name"]
        assert got["standby_uplinks"] == s["teaming"]["standby_uplinks"], p["name"]


def _vlan_info(v: dict[str, Any]) -> dict[str, Any]:
    if v["kind"] == "trunk":
        ranges = [f"{a}" if a == b else f"{a}-{b}" for a, b in v["ranges"]]
        return {"trunk": True, "pvlan": False, "vlan_id": ranges}
    if v["kind"] == "pvlan":
        return {"trunk": False, "pvlan": True, "vlan_id": str(v["pvlan_id"])}
    return {"trunk": False, "pvlan": False, "vlan_id": str(v["vlan_id"])}


def _check_vms(res: dict[str, list[Results]], inv: Inventory) -> None:
    read = {v["guest_name"]: v for v in res["vm_info"][0]["virtual_machines"]}
    assert sorted(read) == sorted(v["name"] for v in inv["vms"])
    for vm in inv["vms"]:
        got = read[vm["name"]]
        assert (got["moid"], got["esxi_hostname"], got["cluster"]) == (
            vm["moref"],
            vm["host"],
            vm["cluster"],
        )
        assert got["power_state"] == vm["power_state"]
        assert sorted(got["mac_address"]) == sorted(n["mac"] for n in vm["nics"])
    by_name = {v["name"]: v for v in inv["vms"]}
    for r in res["guest_info"]:
        g = r["instance"]
        vm = by_name[g["hw_name"]]
        assert (g["hw_esxi_host"], g["hw_power_status"]) == (vm["host"], vm["power_state"])
        assert g["hw_interfaces"] == [f"eth{i}" for i in range(len(vm["nics"]))]
        for i, nic in enumerate(vm["nics"]):
            eth = g[f"hw_eth{i}"]
            assert (eth["macaddress"], eth["label"]) == (nic["mac"], nic["label"])
            if nic["dv_portgroup_key"]:
                assert eth["portgroup_key"] == nic["dv_portgroup_key"]
                assert eth["summary"] == f"DVSwitch: {nic['dvs_uuid']}"
            else:
                assert eth["summary"] == nic["network"]


def _prepare(kind: str, lab: RunningLab) -> None:
    if kind == "audit":
        with lab.session() as s:
            seed_audit(s)
    elif kind == "playbooks":
        for name in ("dvs-pvlan", "standard-vmotion"):
            _cli(lab, "apply", str(ROOT / "playbooks" / f"{name}.yml"), "--yes")


@pytest.mark.parametrize("kind", ["default", "audit", "playbooks"])
def test_info_modules_agree_with_vnettool_inventory(
    fresh_lab: Callable[..., RunningLab],
    ansible_playbook: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    lab = fresh_lab(scenario="audit") if kind == "audit" else fresh_lab()
    _prepare(kind, lab)
    inv = json.loads(_cli(lab, "inventory", "--json"))
    res = _run_modules(ansible_playbook, lab, inv, tmp_path)
    _check_about_and_datacenters(res, inv)
    _check_clusters(res, inv)
    _check_pnics(res, inv)
    _check_standard(res, inv)
    _check_vmknics(res, inv)
    _check_dvs(res, inv)
    _check_vms(res, inv)
