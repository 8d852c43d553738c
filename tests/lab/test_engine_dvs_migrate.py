"""vSS <-> vDS migrations and the issue-6 example playbooks against the lab.

Read-back through a fresh `collect()` and plain pyVmomi; every test has a private lab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim

from tests.lab.test_engine import INSECURE, vnettool
from tests.lab.test_engine_dvs import apply_and_check, dv_objects
from vnettool.engine import apply, plan
from vnettool.engine.common import PlanError
from vnettool.inventory import collect
from vnettool.models.desired import DesiredState
from vnettool.playbook.desired_file import load_desired

pytestmark = pytest.mark.lab
ROOT = Path(__file__).parents[2]

MIGRATE_DOC: dict[str, Any] = {
    "target": {"cluster": "DC0_C0"},
    "distributed_switches": [
        {
            "name": "dvs-mig",
            "max_mtu": 9000,
            "hosts": {"cluster": "DC0_C0", "uplinks": {"vmnic2": "uplink1", "vmnic3": "uplink2"}},
        }
    ],
    "distributed_port_groups": [
        {"name": "dv-mgmt", "switch": "dvs-mig", "vlan": 0},
        {"name": "dv-vmotion", "switch": "dvs-mig", "vlan": 0},
        {"name": "dv-vms", "switch": "dvs-mig", "vlan": 0},
    ],
    "migrations": {
        "batch": 3,
        "vmkernel_adapters": [
            {"from_portgroup": "Management Network", "to_portgroup": "dv-mgmt"},
            {"from_portgroup": "vMotion", "to_portgroup": "dv-vmotion"},
        ],
        "vm_nics": [
            {
                "vms": ["DC0_C0_RP0_VM*"],
                "nic": "Network adapter 1",
                "from_portgroup": "VM Network",
                "to_portgroup": "dv-vms",
            }
        ],
    },
}


def test_migrate_eight_hosts_vmknics_and_vm_nics(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=8, vm=4, dvs=0)
    with lab.session(**INSECURE) as s:
        inv0 = collect(s)
        desired = DesiredState.model_validate(MIGRATE_DOC)
        p = plan(desired, inv0)
        moves = [c for c in p.changes if c.resource == "vmknic_migration"]
        assert len(moves) == 16  # every moved NIC is shown
        vm_moves = [c for c in p.changes if c.resource == "vm_nic_migration"]
        vms_on_vss = [v.name for v in inv0.vms if any(n.network == "VM Network" for n in v.nics)]
        assert len(vm_moves) == len(vms_on_vss) > 0
        order = [c.id for c in p.changes]
        for c in moves:
            if c.name == "vmk0":  # management last on its host
                assert order.index(c.id) > order.index(f"vmknic_migration:{c.host}:vmk1")
        # batches of 3 hosts: H3..H5 wait for all of H0..H2
        h3 = next(c for c in moves if c.host == "DC0_C0_H3" and c.name == "vmk1")
        assert "vmknic_migration:DC0_C0_H0:vmk0" in h3.depends_on

        results = apply(p, s)
        assert [(r.change.id, r.error) for r in results if not r.changed] == []
        mgmt = [
            r
            for r in results
            if r.change.resource == "vmknic_migration" and r.change.name == "vmk0"
        ]
        assert {r.change.facts.connection_state for r in mgmt} == {"connected"}
        assert plan(desired, collect(s)).empty

        inv = collect(s)
        sw = inv.dvs_by_name["dvs-mig"]
        keys = {p.name: p.key for p in inv.distributed_port_groups if p.dvs == "dvs-mig"}
        for v in inv.vmkernel_adapters:
            want = keys["dv-mgmt"] if v.device == "vmk0" else keys["dv-vmotion"]
            assert (v.dvs_uuid, v.dv_portgroup_key, v.portgroup) == (sw.uuid, want, None)
            if v.device == "vmk0":
                assert "management" in v.services  # still the management adapter
        # plain pyVmomi: the hosts' own view
        for h in dv_objects(s, vim.HostSystem).values():
            assert h.runtime.connectionState == "connected"
            for vnic in h.config.network.vnic:
                assert vnic.spec.distributedVirtualPort.switchUuid == sw.uuid
                assert not vnic.portgroup
        for name in vms_on_vss:
            vm = dv_objects(s, vim.VirtualMachine)[name]
            nic = next(
                d
                for d in vm.config.hardware.device
                if isinstance(d, vim.vm.device.VirtualEthernetCard)
            )
            assert nic.backing.port.portgroupKey == keys["dv-vms"]

        # and back (vMotion only), the same mechanism
        back = DesiredState.model_validate(
            {
                "target": {"cluster": "DC0_C0"},
                "migrations": {
                    "vmkernel_adapters": [
                        {"from_portgroup": "dv-vmotion", "to_portgroup": "vMotion"}
                    ]
                },
            }
        )
        apply_and_check(s, back.model_dump(exclude_defaults=True))
        assert {v.portgroup for v in collect(s).vmkernel_adapters if v.device == "vmk1"} == {
            "vMotion"
        }


def test_management_migration_without_uplinks_is_refused(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2, dvs=0)
    with lab.session(**INSECURE) as s:
        doc = {
            "distributed_switches": [{"name": "dvs-bare", "hosts": {"cluster": "DC0_C0"}}],
            "distributed_port_groups": [{"name": "dv-m", "switch": "dvs-bare"}],
            "migrations": {
                "vmkernel_adapters": [
                    {"from_portgroup": "Management Network", "to_portgroup": "dv-m"}
                ]
            },
        }
        with pytest.raises(PlanError) as err:
            plan(DesiredState.model_validate(doc), collect(s))
        assert "would strand it" in str(err.value) and "vmk0" in str(err.value)
        assert "dvs-bare" not in collect(s).dvs_by_name


@pytest.mark.parametrize(
    "name",
    [
        "dvs-pvlan",
        "dvs-lacp",
        "migrate-vss-to-vds",
        "dvs-netflow-mirror",
        "dvs-lag-uplinks",
        "dvs-qos",
    ],
)
def test_example_playbooks_apply_then_plan_is_empty(fresh_lab: Any, name: str) -> None:
    lab = fresh_lab()  # the default lab topology, as `vnettool lab start` gives
    path = ROOT / "playbooks" / f"{name}.yml"
    r = vnettool(lab, "apply", str(path), "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    r = vnettool(lab, "plan", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    with lab.session(**INSECURE) as s:
        assert plan(load_desired(path), collect(s)).empty
        if name == "dvs-pvlan":
            inv = collect(s)
            d = inv.dvs_by_name["dvs-pvlan"]
            assert [(e.secondary_id, e.type) for e in d.pvlans] == [
                (100, "promiscuous"),
                (101, "isolated"),
                (102, "community"),
                (103, "community"),
            ]
            pg = next(p for p in inv.distributed_port_groups if p.name == "dmz-isolated")
            assert (pg.vlan.pvlan_id, pg.setting.in_shaping.average_bps) == (101, 100_000_000)
            assert pg.setting.teaming.active_uplinks == ["uplink1"]
        if name == "dvs-netflow-mirror":
            sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
            assert sw.config.ipfixConfig.collectorIpAddress == "192.0.2.10"
            assert sorted(m.name for m in sw.config.vspanSession) == ["erspan-web", "span-web"]
        if name == "dvs-qos":
            pg = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["voice"]
            (f,) = pg.config.defaultPortConfig.filterPolicy.filterConfig
            rules = sorted(f.trafficRuleset.rules, key=lambda r: r.sequence)
            assert [r.description for r in rules] == [
                "mark-voice",
                "allow-dns",
                "drop-bpdu",
                "punt-arp",
            ]
            assert (rules[0].action.dscpTag, rules[0].action.qosTag) == (46, 5)


def test_pnic_moves_from_vss_to_vds_in_order(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=0, dvs=0)
    with lab.session(**INSECURE) as s:
        doc = {
            "standard_switches": [{"name": "vSwitch0", "uplinks": ["vmnic0"]}],
            "distributed_switches": [
                {"name": "dvs-mv", "hosts": {"uplinks": {"vmnic1": "uplink1"}}}
            ],
        }
        p = plan(DesiredState.model_validate(doc), collect(s))
        ids = [c.id for c in p.changes]
        dvs_change = next(c for c in p.changes if c.resource == "distributed_switch")
        assert set(dvs_change.depends_on) == {
            "standard_switch:DC0_C0_H0:vSwitch0",
            "standard_switch:DC0_C0_H1:vSwitch0",
        }
        assert ids.index(dvs_change.id) > ids.index("standard_switch:DC0_C0_H1:vSwitch0")
        apply_and_check(s, doc)
        inv = collect(s)
        assert {sw.host: sw.uplinks for sw in inv.standard_switches if sw.name == "vSwitch0"} == {
            "DC0_C0_H0": ["vmnic0"],
            "DC0_C0_H1": ["vmnic0"],
        }
        assert {m.host: m.pnics for m in inv.dvs_by_name["dvs-mv"].hosts} == {
            "DC0_C0_H0": {"vmnic1": "uplink1"},
            "DC0_C0_H1": {"vmnic1": "uplink1"},
        }
        h = dv_objects(s, vim.HostSystem)["DC0_C0_H0"]
        assert h.runtime.connectionState == "connected"
        assert [p.pnic for p in h.config.network.proxySwitch] == [
            ["key-vim.host.PhysicalNic-vmnic1"]
        ]
