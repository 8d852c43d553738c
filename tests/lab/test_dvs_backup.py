"""DVS backup and restore against the lab, from the CLI: export → plan empty; edit → plan shows
the edit; change the switch → restore → a fresh inventory equals the exported switch field by
field (plain pyVmomi agrees); --as-new gives a copy whose document equals the original's;
damaged and refused input is located and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim
from ruamel.yaml import YAML

from tests.lab.test_engine import INSECURE
from tests.lab.test_engine_dvs import apply_and_check, dv_objects
from vnettool.engine.backup import switch_document
from vnettool.inventory import collect
from vnettool.models.inventory import Inventory

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")

SETUP: dict[str, Any] = {
    "distributed_switches": [
        {
            "name": "DVS0",
            "max_mtu": 9000,
            "description": "production",
            "traffic": {"virtualMachine": {"reservation_mbps": 500}},
            "nioc_pools": [{"name": "gold", "reservation_mbps": 400}],
            "netflow": {"collector": "192.0.2.10", "collector_port": 2055},
            "health_check": {"vlan_mtu": True, "vlan_mtu_interval": 5},
        }
    ],
    "pvlans": [{"switch": "DVS0", "primary": 100, "isolated": 101, "community": [102]}],
    "distributed_port_groups": [
        {"name": "DC0_DVPG0", "switch": "DVS0", "vlan": 20, "nioc_pool": "gold",
         "security": {"forged_transmits": False}, "ingress_shaping": {"average_kbps": 50000}},
        {"name": "dmz", "switch": "DVS0", "pvlan": 101, "netflow": True, "ports": 16},
    ],
}  # fmt: skip

# what identifies a switch or port group rather than configures it, or is its live state
SWITCH_ID = {"moref", "uuid", "config_version", "health", "hosts"}
PG_ID = {"moref", "key", "config_version", "port_keys"}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VNETTOOL, *args, "--insecure"], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def _state(inv: Inventory, name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    sw = inv.dvs_by_name[name].model_dump(exclude=SWITCH_ID)
    pgs = {p.name: p.model_dump(exclude=PG_ID) for p in inv.dv_portgroups_of(name) if not p.uplink}
    return sw, pgs


def test_export_plan_edit_restore_and_as_new(fresh_lab: Any, tmp_path: Path) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    env = os.environ | lab.env()
    env.pop("VSPHERE_SERVER", None)
    out = tmp_path / "dvs0.yml"
    with lab.session(**INSECURE) as s:
        apply_and_check(s, SETUP)
        exported = collect(s)
        r = _run(env, "dvs", "export", "DVS0", "--out", str(out))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "not in the document" not in r.stderr  # everything expressed
        assert oct(out.stat().st_mode & 0o777) == "0o600"
        doc = YAML(typ="safe").load(out.read_text())
        assert doc["backup"]["switch"] == "DVS0" and len(doc["backup"]["entities"]) == 4
        # the export is a desired-state document vCenter already matches
        r = _run(env, "plan", str(out))
        assert r.returncode == 0, r.stdout + r.stderr
        # export -> edit -> plan: exactly the edit
        doc["distributed_switches"][0]["max_mtu"] = 1600
        edited = tmp_path / "edited.yml"
        y = YAML()
        with edited.open("w") as f:
            y.dump(doc, f)
        r = _run(env, "plan", str(edited), "--json")
        assert r.returncode == 2, r.stdout + r.stderr
        import json

        plan = json.loads(r.stdout)
        assert [(c["name"], [d["field"] for d in c["diffs"]]) for c in plan["changes"]] == [
            ("DVS0", ["max_mtu"])
        ]

        # someone changes the switch and deletes a port group; the restore puts it back
        apply_and_check(
            s,
            {
                "distributed_switches": [{"name": "DVS0", "max_mtu": 1500,
                                          "description": "oops"}],
                "distributed_port_groups": [{"name": "DC0_DVPG0", "switch": "DVS0",
                                             "vlan": 30}],
                "absent": {"distributed_port_groups": ["dmz"]},
            },
        )  # fmt: skip
        r = _run(env, "dvs", "restore", str(out), "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "restored" in r.stdout and "undo: vnettool dvs restore" in r.stdout
        restored = collect(s)
        assert _state(restored, "DVS0") == _state(exported, "DVS0")
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        assert (sw.config.maxMtu, sw.config.description) == (9000, "production")
        pgs = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)
        assert pgs["DC0_DVPG0"].config.defaultPortConfig.vlan.vlanId == 20
        assert pgs["dmz"].config.defaultPortConfig.vlan.pvlanId == 101
        assert restored.dvs_by_name["DVS0"].uuid == exported.dvs_by_name["DVS0"].uuid
        assert len(restored.dvs_by_name["DVS0"].hosts) == 2  # members stay

        # as a new switch: same configuration, its own identity, no hosts
        r = _run(env, "dvs", "restore", str(out), "--as-new", "DVS0-copy", "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
        inv = collect(s)
        copy = inv.dvs_by_name["DVS0-copy"]
        assert copy.uuid != inv.dvs_by_name["DVS0"].uuid and copy.hosts == []
        original = switch_document(inv, "DVS0")
        renamed = switch_document(inv, "DVS0-copy")
        text = YAML(typ="safe").load(
            __import__("json").dumps(renamed).replace("DVS0-copy-", "").replace("DVS0-copy", "DVS0")
        )
        for a, b in zip(
            text["distributed_port_groups"], original["distributed_port_groups"], strict=True
        ):
            assert a == b
        assert text == original

        # refused and damaged input: located, nothing changed
        before = collect(s).dvs_by_name["DVS0"].config_version
        r = _run(env, "dvs", "restore", str(out), "--as-new", "DVS0-copy", "--yes")
        assert r.returncode == 1 and "a distributed switch of that name exists" in r.stderr
        bad = out.read_text().replace(
            doc["backup"]["entities"][0]["blob"][:40], "not~base64~at~all", 1
        )
        damaged = tmp_path / "damaged.yml"
        damaged.write_text(bad)
        r = _run(env, "dvs", "restore", str(damaged), "--yes")
        assert r.returncode == 1 and f"{damaged}:" in r.stderr and "not base64" in r.stderr
        r = _run(env, "dvs", "export", "NOPE", "--out", str(tmp_path / "x.yml"))
        assert r.returncode == 1 and "no distributed switch 'NOPE'" in r.stderr
        assert collect(s).dvs_by_name["DVS0"].config_version == before
