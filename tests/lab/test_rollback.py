"""Rollback an admin can trust, on the lab through the CLI: every change path is journaled,
a rollback restores the before-state exactly (a fresh inventory compared), refuses another
vCenter instance and objects changed since the run, and never reports success for what it did
not restore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lab.test_engine import INSECURE, vnettool
from vnettool.engine.journal import RunRecord
from vnettool.inventory import collect
from vnettool.models.inventory import Inventory

pytestmark = pytest.mark.lab


def network(inv: Inventory) -> dict[str, Any]:
    """The network side of an inventory, without what the server renumbers on every write."""
    return {
        "switches": [s.model_dump() for s in inv.standard_switches],
        # `network` is the server's Network object for the name, not configuration
        "portgroups": [p.model_dump(exclude={"network"}) for p in inv.standard_port_groups],
        "vmknics": [v.model_dump(exclude={"mac"}) for v in inv.vmkernel_adapters],
        "dvs": [d.model_dump(exclude={"config_version"}) for d in inv.distributed_switches],
        "dvpgs": sorted(
            (
                p.model_dump(exclude={"config_version", "moref", "key"})
                for p in inv.distributed_port_groups
            ),
            key=lambda p: (p["dvs"], p["name"]),
        ),
        "vm_nics": {v.name: [n.model_dump() for n in v.nics] for v in inv.vms},
    }


def runs(lab: Any) -> list[Path]:
    return sorted((Path(lab.env()["VNETTOOL_HOME"]) / "runs").glob("*.jsonl"))


def write(tmp: Path, name: str, doc: dict[str, Any]) -> Path:
    f = tmp / name
    f.write_text(json.dumps(doc, indent=1))  # JSON is YAML
    return f


CONFIGURE = {
    "standard_port_groups": [{"name": "pg-journal", "switch": "vSwitch0", "vlan": 77}],
    "distributed_port_groups": [
        {"name": "dvpg-journal", "switch": "DVS0", "vlan": 78, "description": "from a playbook"}
    ],
}


def test_playbook_run_is_journaled_and_rolled_back_exactly(fresh_lab: Any, tmp_path: Path) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        before = collect(s)
    pb = write(
        tmp_path,
        "pb.yml",
        {
            "name": "journaled",
            "steps": [
                {"name": "configure", "configure": CONFIGURE},
                {
                    "name": "vlan",
                    "configure": {
                        "standard_port_groups": [
                            {"name": "pg-journal", "switch": "vSwitch0", "vlan": 79}
                        ]
                    },
                },
            ],
        },
    )
    check = vnettool(lab, "run", str(pb), "--check")
    assert check.returncode == 2, check.stdout + check.stderr
    assert runs(lab) == []  # check mode changes nothing and journals nothing
    out = vnettool(lab, "run", str(pb), "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    (journal,) = runs(lab)
    assert f"undo with: vnettool apply --rollback {journal.stem}" in out.stdout
    rec = RunRecord(journal)
    assert rec.header["instance_uuid"] and rec.header["source"].startswith("playbook")
    # 2 hosts x pg + dvpg, then the VLAN update of the pg on both hosts
    assert sorted(r.change.summary() for r in rec.results) == sorted(
        [
            "create standard_port_group DC0_C0_H0: pg-journal",
            "create standard_port_group DC0_C0_H1: pg-journal",
            "create distributed_port_group dvpg-journal",
            "update standard_port_group DC0_C0_H0: pg-journal",
            "update standard_port_group DC0_C0_H1: pg-journal",
        ]
    )
    back = vnettool(lab, "apply", "--rollback", "last", "--yes")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "verified" in back.stdout
    with lab.session(**INSECURE) as s:
        assert network(collect(s)) == network(before)


def test_rollback_on_another_lab_instance_is_refused(fresh_lab: Any, tmp_path: Path) -> None:
    a = fresh_lab(cluster=1, host=1, vm=0)
    doc = write(tmp_path, "d.yml", {"standard_port_groups": CONFIGURE["standard_port_groups"]})
    assert vnettool(a, "apply", str(doc), "--yes").returncode == 0
    (journal,) = runs(a)
    b = fresh_lab(cluster=1, host=1, vm=0)  # a restarted lab: same names, another vCenter
    with b.session(**INSECURE) as s:
        before = network(collect(s))
    out = vnettool(b, "apply", "--rollback", str(journal), "--yes")
    assert out.returncode == 1
    assert "changed another vCenter" in out.stderr and "refusing" in out.stderr
    out = vnettool(b, "apply", "--rollback", str(journal), "--yes", "--force")
    assert out.returncode == 1, "--force does not make another vCenter the same one"
    with b.session(**INSECURE) as s:
        assert network(collect(s)) == before
    assert runs(b) == []


def test_object_changed_since_the_run_stops_the_rollback_unless_forced(
    fresh_lab: Any, tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=0)
    with lab.session(**INSECURE) as s:
        before = collect(s)
    doc = write(
        tmp_path,
        "d.yml",
        {"standard_port_groups": [{"name": "VM Network", "switch": "vSwitch0", "vlan": 200}]},
    )
    assert vnettool(lab, "apply", str(doc), "--yes").returncode == 0
    with lab.session(**INSECURE) as s:
        # another client moves one host's port group to VLAN 300 after our run
        from tests.lab.test_engine import hosts_by_name

        host = hosts_by_name(s)["DC0_C0_H1"]
        ns = host.configManager.networkSystem
        spec = next(p.spec for p in ns.networkInfo.portgroup if p.spec.name == "VM Network")
        spec.vlanId = 300
        ns.UpdatePortGroup(pgName="VM Network", portgrp=spec)
        changed = network(collect(s))
    out = vnettool(lab, "apply", "--rollback", "last", "--yes")
    assert out.returncode == 1
    assert "1 object(s) changed since that run" in out.stderr
    assert "DC0_C0_H1: VM Network: changed since the run: vlan is now 300, the run set 200" in (
        out.stderr.replace("\n", " ")
    )
    assert "DC0_C0_H0" not in out.stderr
    with lab.session(**INSECURE) as s:
        assert network(collect(s)) == changed  # nothing was rolled back
    out = vnettool(lab, "apply", "--rollback", "last", "--yes", "--force")
    assert out.returncode == 0, out.stdout + out.stderr
    with lab.session(**INSECURE) as s:
        assert network(collect(s)) == network(before)


def test_deleting_a_dvs_lists_what_goes_with_it_and_rollback_says_it_cannot(
    fresh_lab: Any, tmp_path: Path
) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=0)
    setup = write(
        tmp_path,
        "setup.yml",
        {
            "distributed_switches": [
                {
                    "name": "dvs-gone",
                    "datacenter": "DC0",
                    "lags": [{"name": "lag1", "ports": 2, "mode": "active"}],
                    "hosts": {"cluster": "DC0_C0"},
                }
            ],
            "pvlans": [{"switch": "dvs-gone", "primary": 100, "isolated": 101}],
            "distributed_port_groups": [
                {"name": "pg-a", "switch": "dvs-gone", "vlan": 10},
                {"name": "pg-iso", "switch": "dvs-gone", "pvlan": 101},
            ],
        },
    )
    out = vnettool(lab, "apply", str(setup), "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    gone = write(tmp_path, "gone.yml", {"absent": {"distributed_switches": ["dvs-gone"]}})
    out = vnettool(lab, "plan", str(gone))
    assert out.returncode == 2
    flat = " ".join(out.stdout.split())
    for part in (
        "port groups: [pg-a, pg-iso]",
        "lags: [lag1]",
        "pvlans: [100 promiscuous (primary 100), 101 isolated (primary 100)]",
        "hosts: [DC0_C0_H0, DC0_C0_H1]",
        "cannot be undone",
    ):
        assert part in flat, out.stdout
    out = vnettool(lab, "apply", str(gone))  # no terminal, no --yes: the refusal names it
    assert out.returncode == 1 and "cannot be undone by --rollback" in out.stderr
    out = vnettool(lab, "apply", str(gone), "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    back = vnettool(lab, "apply", "--rollback", "last", "--yes")
    assert back.returncode == 1
    text = " ".join((back.stdout + back.stderr).split())
    assert "No changes" not in text or "cannot be restored" in text
    assert "delete distributed_switch dvs-gone: distributed switch dvs-gone was deleted" in text
    with lab.session(**INSECURE) as s:
        assert "dvs-gone" not in collect(s).dvs_by_name


@pytest.mark.parametrize("kind", ["switch", "portgroup"])
def test_rollback_of_a_description_that_was_unset(
    fresh_lab: Any, tmp_path: Path, kind: str
) -> None:
    lab = fresh_lab(cluster=1, host=1, vm=0)
    with lab.session(**INSECURE) as s:
        before = collect(s)
    if kind == "switch":
        assert before.dvs_by_name["DVS0"].description is None
        doc = {"distributed_switches": [{"name": "DVS0", "description": "set by a run"}]}
    else:
        (pg,) = [p for p in before.distributed_port_groups if p.dvs == "DVS0" and not p.uplink][:1]
        assert pg.description is None
        doc = {
            "distributed_port_groups": [
                {"name": pg.name, "switch": "DVS0", "description": "set by a run"}
            ]
        }
    assert vnettool(lab, "apply", str(write(tmp_path, "d.yml", doc)), "--yes").returncode == 0
    out = vnettool(lab, "apply", "--rollback", "last", "--yes", "--json")
    with lab.session(**INSECURE) as s:
        now = collect(s)
    desc = (
        now.dvs_by_name["DVS0"].description
        if kind == "switch"
        else next(p for p in now.distributed_port_groups if p.name == pg.name).description
    )
    # vCenter (and the lab, mocks/vcsim/unsetdesc.go) unsets a description sent as ""
    assert out.returncode == 0, out.stdout + out.stderr
    assert desc is None, "exit 0 means the description is unset again"
    assert json.loads(out.stdout)["verified"] is True
