"""Distributed resources against the lab: apply twice (second plan empty), read back twice.

Read-back goes through a fresh `collect()` (our reader) and plain pyVmomi attribute reads (an
independent client's view). Every mutating test uses a private `fresh_lab`.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyVmomi import vim

from tests.lab.test_engine import INSECURE, vnettool
from vnettool.engine import apply, plan
from vnettool.engine.common import PlanError
from vnettool.inventory import collect
from vnettool.models.desired import DesiredState
from vnettool.models.plan import Result
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab

PVLAN_DOC: dict[str, Any] = {
    "pvlans": [{"switch": "DVS0", "primary": 100, "isolated": 101, "community": [102, 103]}],
    "distributed_port_groups": [
        {
            "name": "pg-isolated",
            "switch": "DVS0",
            "pvlan": 101,
            "binding": "static",
            "ports": 16,
            "auto_expand": True,
            "security": {"promiscuous": False, "mac_changes": False, "forged_transmits": False},
            "ingress_shaping": {"average_kbps": 10000, "peak_kbps": 20000, "burst_kb": 1024},
            "egress_shaping": {"average_kbps": 50000, "peak_kbps": 50000, "burst_kb": 2048},
            "teaming": {
                "policy": "failover_explicit",
                "active": ["uplink2"],
                "standby": ["uplink1"],
                "notify_switches": False,
                "failback": False,
                "beacon_probing": True,
            },
            "overrides": {"vlan": True, "shaping": True},
        },
        {"name": "pg-community", "switch": "DVS0", "pvlan": 102, "binding": "ephemeral"},
        {"name": "pg-trunk", "switch": "DVS0", "trunk": [100, "200-210"], "blocked": False},
    ],
}


def dv_objects(session: Session, kind: Any) -> dict[str, Any]:
    content = session.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return {o.name: o for o in view.view}
    finally:
        view.DestroyView()


def apply_and_check(session: Session, doc: dict[str, Any]) -> list[Result]:
    desired = DesiredState.model_validate(doc)
    p = plan(desired, collect(session))
    assert not p.empty
    results = apply(p, session)
    failed = [(r.change.id, r.error) for r in results if not r.changed]
    assert not failed
    second = plan(desired, collect(session))
    assert second.empty, [(c.summary(), c.diffs) for c in second.changes]
    return results


def test_pvlan_map_and_dv_port_groups(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        results = apply_and_check(s, PVLAN_DOC)
        assert {r.change.resource for r in results} == {"pvlan", "distributed_port_group"}
        inv = collect(s)
        dvs = inv.dvs_by_name["DVS0"]
        assert [(e.primary_id, e.secondary_id, e.type) for e in dvs.pvlans] == [
            (100, 100, "promiscuous"),
            (100, 101, "isolated"),
            (100, 102, "community"),
            (100, 103, "community"),
        ]
        pgs = {p.name: p for p in inv.distributed_port_groups}
        iso = pgs["pg-isolated"]
        assert (iso.vlan.kind, iso.vlan.pvlan_id) == ("pvlan", 101)
        assert (iso.binding, iso.num_ports, iso.auto_expand) == ("earlyBinding", 16, True)
        sh = iso.setting.in_shaping
        assert (sh.enabled, sh.average_bps, sh.peak_bps, sh.burst_bytes) == (
            True,
            10_000_000,
            20_000_000,
            1_048_576,
        )
        assert iso.setting.out_shaping.average_bps == 50_000_000
        t = iso.setting.teaming
        assert (t.policy, t.active_uplinks, t.standby_uplinks) == (
            "failover_explicit",
            ["uplink2"],
            ["uplink1"],
        )
        assert (t.notify_switches, t.failback, t.check_beacon) == (False, False, True)
        assert iso.override_allowed["vlanOverrideAllowed"] is True
        assert iso.override_allowed["shapingOverrideAllowed"] is True
        assert pgs["pg-community"].binding == "ephemeral"
        assert pgs["pg-trunk"].vlan.ranges == [(100, 100), (200, 210)]

        # Plain pyVmomi: another client's view of the same objects.
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        raw = sorted(
            (e.primaryVlanId, e.secondaryVlanId, e.pvlanType) for e in sw.config.pvlanConfig
        )
        assert raw == [(e.primary_id, e.secondary_id, e.type) for e in dvs.pvlans]
        pg = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["pg-isolated"]
        cfg = pg.config.defaultPortConfig
        assert cfg.vlan.pvlanId == 101
        assert cfg.inShapingPolicy.averageBandwidth.value == 10_000_000
        assert cfg.outShapingPolicy.burstSize.value == 2048 * 1024
        assert cfg.uplinkTeamingPolicy.uplinkPortOrder.activeUplinkPort == ["uplink2"]
        assert cfg.uplinkTeamingPolicy.rollingOrder.value is True
        assert pg.config.policy.vlanOverrideAllowed is True

        # An independent client's idempotent re-run of the same settings changes nothing.
        ver = pg.config.configVersion
        edit = DesiredState.model_validate(
            {
                "distributed_port_groups": [
                    {
                        "name": "pg-isolated",
                        "switch": "DVS0",
                        "ingress_shaping": {"average_kbps": 5000},
                    }
                ]
            }
        )
        p = plan(edit, collect(s))
        assert [d.field for d in p.changes[0].diffs] == ["ingress_shaping.average_kbps"]
        assert not [r for r in apply(p, s) if not r.changed]
        pg2 = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["pg-isolated"]
        assert pg2.config.configVersion != ver
        # Partial update: the other shaping fields and the teaming stayed as they were.
        cfg2 = pg2.config.defaultPortConfig
        assert cfg2.inShapingPolicy.averageBandwidth.value == 5_000_000
        assert cfg2.inShapingPolicy.peakBandwidth.value == 20_000_000
        assert cfg2.uplinkTeamingPolicy.uplinkPortOrder.standbyUplinkPort == ["uplink1"]


def test_pvlan_validation_changes_nothing(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        apply_and_check(s, PVLAN_DOC)
        before = collect(s).dvs_by_name["DVS0"]
        bad = {
            "pvlans": [
                {"switch": "DVS0", "primary": 200, "community": [201]},
                {"switch": "DVS0", "primary": 300, "community": [201]},  # duplicate id
                {"switch": "DVS0", "primary": 100, "isolated": 104},  # second isolated
            ],
            "distributed_port_groups": [{"name": "pg-x", "switch": "DVS0", "pvlan": 999}],
            "absent": {"pvlans": [{"switch": "DVS0", "secondary": 102}]},  # in use
        }
        with pytest.raises(PlanError) as err:
            plan(DesiredState.model_validate(bad), collect(s))
        text = str(err.value)
        assert "PVLAN id 201 is given twice" in text
        assert "more than one isolated" in text
        assert "port group pg-community still uses it" in text
        assert "PVLAN 999 is not a secondary id" in text
        after = collect(s).dvs_by_name["DVS0"]
        assert after.pvlans == before.pvlans
        assert after.config_version == before.config_version

        # Removing the primary while secondaries stay is refused too.
        with pytest.raises(PlanError, match="cannot remove primary PVLAN 100"):
            plan(
                DesiredState.model_validate(
                    {"absent": {"pvlans": [{"switch": "DVS0", "secondary": 100}]}}
                ),
                collect(s),
            )

        # Moving the port group off the entry and removing the entry in one document works.
        move = {
            "distributed_port_groups": [{"name": "pg-isolated", "switch": "DVS0", "vlan": 50}],
            "absent": {
                "pvlans": [{"switch": "DVS0", "secondary": 101}],
                "distributed_port_groups": ["pg-community"],
            },
        }
        apply_and_check(s, move)
        final = collect(s).dvs_by_name["DVS0"]
        assert 101 not in {e.secondary_id for e in final.pvlans}
        assert "pg-community" not in {p.name for p in collect(s).distributed_port_groups}


def test_cli_plan_apply_dv(fresh_lab: Any, tmp_path: Any) -> None:
    from ruamel.yaml import YAML

    lab = fresh_lab(cluster=1, host=2, vm=2)
    doc = tmp_path / "dv.yml"
    with doc.open("w") as f:
        YAML(typ="safe", pure=True).dump(PVLAN_DOC, f)
    r = vnettool(lab, "plan", str(doc))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "pvlan" in r.stdout and "pg-isolated" in r.stdout
    r = vnettool(lab, "apply", str(doc), "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    r = vnettool(lab, "plan", str(doc))
    assert r.returncode == 0, r.stdout + r.stderr


SWITCH_DOC: dict[str, Any] = {
    "target": {"cluster": "DC0_C0"},
    "distributed_switches": [
        {
            "name": "dvs-eng",
            "version": "7.0.3",
            "max_mtu": 9000,
            "description": "engine test switch",
            "uplinks": ["uplink1", "uplink2", "uplink3"],
            "discovery": "lldp",
            "discovery_operation": "both",
            "nioc": True,
            "traffic": {
                "vmotion": {"shares": "high", "limit_mbps": 2000, "reservation_mbps": 100},
                "management": {"shares": 30},
            },
            "default_port": {
                "security": {"forged_transmits": False},
                "teaming": {"policy": "loadbalance_loadbased", "notify_switches": True},
                "ingress_shaping": {"enabled": False},
            },
            "hosts": {"cluster": "DC0_C0", "uplinks": {"vmnic2": "uplink1", "vmnic3": "uplink2"}},
        }
    ],
    "pvlans": [{"switch": "dvs-eng", "primary": 500, "community": [501]}],
    "distributed_port_groups": [
        {
            "name": "eng-community",
            "switch": "dvs-eng",
            "pvlan": 501,
            "ingress_shaping": {"average_kbps": 1000},
        }
    ],
}


def test_distributed_switch_create_update_delete(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2, dvs=0)
    with lab.session(**INSECURE) as s:
        results = apply_and_check(s, SWITCH_DOC)
        assert results[0].change.resource == "distributed_switch"
        inv = collect(s)
        d = inv.dvs_by_name["dvs-eng"]
        assert (d.max_mtu, d.description, d.version) == (9000, "engine test switch", "7.0.3")
        assert d.uplink_names == ["uplink1", "uplink2", "uplink3"]
        assert (d.ldp_protocol, d.ldp_operation, d.nioc_enabled) == ("lldp", "both", True)
        nioc = {t.key: t for t in d.nioc}
        assert (nioc["vmotion"].level, nioc["vmotion"].shares) == ("high", 100)
        assert (nioc["vmotion"].limit_mbps, nioc["vmotion"].reservation_mbps) == (2000, 100)
        assert (nioc["management"].level, nioc["management"].shares) == ("custom", 30)
        assert d.default_port.teaming.policy == "loadbalance_loadbased"
        assert sorted(m.host for m in d.hosts) == ["DC0_C0_H0", "DC0_C0_H1"]
        assert all(sorted(m.pnics) == ["vmnic2", "vmnic3"] for m in d.hosts)
        assert [(e.secondary_id, e.type) for e in d.pvlans] == [
            (500, "promiscuous"),
            (501, "community"),
        ]
        pg = next(p for p in inv.distributed_port_groups if p.name == "eng-community")
        assert (pg.vlan.pvlan_id, pg.setting.in_shaping.average_bps) == (501, 1_000_000)
        # The port group inherits the switch's new default teaming (vCenter's behaviour).
        assert pg.setting.teaming.policy == "loadbalance_loadbased"

        raw = dv_objects(s, vim.DistributedVirtualSwitch)["dvs-eng"]
        assert raw.config.maxMtu == 9000
        assert raw.config.linkDiscoveryProtocolConfig.protocol == "lldp"
        assert list(raw.config.uplinkPortPolicy.uplinkPortName) == d.uplink_names
        assert len(raw.config.host) == 2
        hosts = {h.name: h for h in dv_objects(s, vim.HostSystem).values()}
        proxy = hosts["DC0_C0_H0"].config.network.proxySwitch
        assert [p.dvsName for p in proxy] == ["dvs-eng"]

        # update: only the changed property is sent
        upd = {"distributed_switches": [{"name": "dvs-eng", "max_mtu": 1600}]}
        p = plan(DesiredState.model_validate(upd), collect(s))
        assert [(c.kind, [x.field for x in c.diffs]) for c in p.changes] == [
            ("update", ["max_mtu"])
        ]
        apply_and_check(s, upd)

        # delete (the port group first, unsafe-free: no VM on it)
        gone = {"absent": {"distributed_switches": ["dvs-eng"]}}
        apply_and_check(s, gone)
        assert "dvs-eng" not in dv_objects(s, vim.DistributedVirtualSwitch)


def test_competing_change_is_reread_not_lost(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        desired = DesiredState.model_validate(
            {"distributed_switches": [{"name": "DVS0", "max_mtu": 9000}]}
        )
        p = plan(desired, collect(s))
        # Another client reconfigures the switch between our plan and our apply.
        raw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        spec = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(
            configVersion=raw.config.configVersion, description="set by someone else"
        )
        task = raw.ReconfigureDvs_Task(spec)
        while task.info.state not in ("success", "error"):
            pass
        assert task.info.state == "success"
        results = apply(p, s)
        assert [r.changed for r in results] == [True]
        facts = results[0].change.facts
        assert facts.attempts == 2 and facts.concurrent[0].conflict is None
        raw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        assert (raw.config.maxMtu, raw.config.description) == (9000, "set by someone else")
        assert plan(desired, collect(s)).empty

        # Someone changes the very field we are changing: refused, their value kept.
        desired2 = DesiredState.model_validate(
            {"distributed_switches": [{"name": "DVS0", "max_mtu": 1500}]}
        )
        p2 = plan(desired2, collect(s))
        spec = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(
            configVersion=raw.config.configVersion, maxMtu=4000
        )
        task = raw.ReconfigureDvs_Task(spec)
        while task.info.state not in ("success", "error"):
            pass
        r = apply(p2, s)[0]
        assert r.failed and "ConcurrentAccess" in (r.error or "") and "max_mtu" in (r.error or "")
        assert dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"].config.maxMtu == 4000


def test_moving_management_pnics_is_refused(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2, dvs=0)
    with lab.session(**INSECURE) as s:
        doc = {
            "distributed_switches": [
                {"name": "dvs-m", "hosts": {"uplinks": {"vmnic0": "uplink1", "vmnic1": "uplink2"}}}
            ]
        }
        with pytest.raises(PlanError) as err:
            plan(DesiredState.model_validate(doc), collect(s))
        assert "strand management adapter vmk0" in str(err.value)
        assert "dvs-m" not in collect(s).dvs_by_name


LACP_DOC: dict[str, Any] = {
    "distributed_switches": [
        {
            "name": "DVS0",
            "lags": [{"name": "lag1", "ports": 2, "mode": "active", "load_balancing": "srcDestIp"}],
        }
    ],
    "distributed_port_groups": [
        {
            "name": "pg-lacp",
            "switch": "DVS0",
            "vlan": 30,
            "teaming": {"policy": "loadbalance_ip", "active": ["lag1"], "standby": []},
        }
    ],
}


def test_lacp_lag_as_active_uplink(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        results = apply_and_check(s, LACP_DOC)
        assert [r.change.resource for r in results] == ["lag", "distributed_port_group"]
        inv = collect(s)
        lag = inv.dvs_by_name["DVS0"].lags[0]
        assert (lag.name, lag.mode, lag.uplink_count, lag.load_balance) == (
            "lag1",
            "active",
            2,
            "srcDestIp",
        )
        pg = next(p for p in inv.distributed_port_groups if p.name == "pg-lacp")
        assert pg.setting.teaming.active_uplinks == ["lag1"]
        raw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        assert [(g.name, g.mode, g.uplinkNum) for g in raw.config.lacpGroupConfig] == [
            ("lag1", "active", 2)
        ]
        # edit in place
        apply_and_check(
            s,
            {
                "distributed_switches": [
                    {"name": "DVS0", "lags": [{"name": "lag1", "mode": "passive"}]}
                ]
            },
        )
        assert collect(s).dvs_by_name["DVS0"].lags[0].mode == "passive"
        # removal while a port group uses it: refused before any call
        with pytest.raises(PlanError, match="port group pg-lacp still uses it"):
            plan(DesiredState.model_validate({"absent": {"lags": ["DVS0/lag1"]}}), collect(s))
        # moving the port group back to uplinks and removing the LAG in one document works
        apply_and_check(
            s,
            {
                "distributed_port_groups": [
                    {
                        "name": "pg-lacp",
                        "switch": "DVS0",
                        "teaming": {
                            "policy": "loadbalance_srcid",
                            "active": ["uplink1", "uplink2"],
                        },
                    }
                ],
                "absent": {"lags": ["DVS0/lag1"]},
            },
        )
        assert collect(s).dvs_by_name["DVS0"].lags == []


def test_rollback_of_distributed_changes(fresh_lab: Any) -> None:
    from vnettool.engine import rollback_plan

    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        before = collect(s)
        results = apply_and_check(
            s,
            {
                **PVLAN_DOC,
                **LACP_DOC,
                "pvlans": PVLAN_DOC["pvlans"],
                "distributed_port_groups": PVLAN_DOC["distributed_port_groups"]
                + LACP_DOC["distributed_port_groups"],
            },
        )
        back = rollback_plan(results, collect(s))
        assert not back.empty
        out = apply(back, s)
        assert [(r.change.id, r.error) for r in out if not r.changed] == []
        after = collect(s)
        d0, d1 = before.dvs_by_name["DVS0"], after.dvs_by_name["DVS0"]
        assert (d1.pvlans, d1.lags) == (d0.pvlans, d0.lags)
        assert sorted(p.name for p in after.distributed_port_groups) == sorted(
            p.name for p in before.distributed_port_groups
        )
        assert rollback_plan(results, after).empty


def test_host_membership_pnic_mapping_and_removal(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=0, dvs=0)
    with lab.session(**INSECURE) as s:
        join = {
            "distributed_switches": [
                {
                    "name": "dvs-h",
                    "hosts": {
                        "hosts": ["DC0_C0_H*"],
                        "uplinks": {"vmnic3": "uplink1", "vmnic2": "uplink2"},
                    },
                }
            ],
            "distributed_port_groups": [{"name": "dvh-vmk", "switch": "dvs-h"}],
        }
        apply_and_check(s, join)
        members = {m.host: m.pnics for m in collect(s).dvs_by_name["dvs-h"].hosts}
        assert members == {
            "DC0_C0_H0": {"vmnic3": "uplink1", "vmnic2": "uplink2"},
            "DC0_C0_H1": {"vmnic3": "uplink1", "vmnic2": "uplink2"},
        }
        # plain pyVmomi: the host's proxy switch
        h0 = dv_objects(s, vim.HostSystem)["DC0_C0_H0"]
        ps = next(p for p in h0.config.network.proxySwitch if p.dvsName == "dvs-h")
        names = {kv.key: kv.value for kv in ps.uplinkPort}
        assert {b.pnicDevice: names[b.uplinkPortKey] for b in ps.spec.backing.pnicSpec} == {
            "vmnic3": "uplink1",
            "vmnic2": "uplink2",
        }
        # remap (swap) in place
        swap = {
            "distributed_switches": [
                {"name": "dvs-h", "hosts": {"uplinks": {"vmnic2": "uplink1", "vmnic3": "uplink2"}}}
            ]
        }
        apply_and_check(s, swap)
        assert all(m.pnics["vmnic2"] == "uplink1" for m in collect(s).dvs_by_name["dvs-h"].hosts)
        # gaps are refused while planning
        gap = {
            "distributed_switches": [{"name": "dvs-h", "hosts": {"uplinks": {"vmnic2": "uplink2"}}}]
        }
        with pytest.raises(PlanError, match="gaps are not supported"):
            plan(DesiredState.model_validate(gap), collect(s))
        # a host with a vmknic on the switch cannot leave; one without can
        apply_and_check(
            s,
            {
                "target": {"hosts": ["DC0_C0_H1"]},
                "migrations": {
                    "vmkernel_adapters": [{"from_portgroup": "vMotion", "to_portgroup": "dvh-vmk"}]
                },
            },
        )
        leave = {"absent": {"distributed_switch_hosts": [{"switch": "dvs-h"}]}}
        with pytest.raises(PlanError, match="DC0_C0_H1 cannot leave dvs-h: VMkernel adapters vmk1"):
            plan(DesiredState.model_validate(leave), collect(s))
        apply_and_check(
            s,
            {"absent": {"distributed_switch_hosts": [{"switch": "dvs-h", "hosts": ["DC0_C0_H0"]}]}},
        )
        assert [m.host for m in collect(s).dvs_by_name["dvs-h"].hosts] == ["DC0_C0_H1"]
        assert not [
            p
            for p in dv_objects(s, vim.HostSystem)["DC0_C0_H0"].config.network.proxySwitch
            if p.dvsName == "dvs-h"
        ]


def _client_ensure(pg: Any, vlan: int, in_avg_bps: int) -> bool:
    """An independent pyVmomi client's idempotent config: reconfigure only what differs."""
    cfg = pg.config.defaultPortConfig
    spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(configVersion=pg.config.configVersion)
    setting = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy()
    changed = False
    if getattr(cfg.vlan, "vlanId", None) != vlan:
        setting.vlan = vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(
            inherited=False, vlanId=vlan
        )
        changed = True
    sh = cfg.inShapingPolicy
    if not (sh.enabled.value and sh.averageBandwidth.value == in_avg_bps):
        setting.inShapingPolicy = vim.dvs.DistributedVirtualPort.TrafficShapingPolicy(
            inherited=False,
            enabled=vim.BoolPolicy(inherited=False, value=True),
            averageBandwidth=vim.LongPolicy(inherited=False, value=in_avg_bps),
        )
        changed = True
    if changed:
        spec.defaultPortConfig = setting
        task = pg.ReconfigureDVPortgroup_Task(spec)
        while task.info.state not in ("success", "error"):
            pass
        assert task.info.state == "success"
    return changed


def test_independent_client_sees_no_change(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=0)
    with lab.session(**INSECURE) as s:
        ours = {
            "distributed_port_groups": [
                {
                    "name": "pg-ours",
                    "switch": "DVS0",
                    "vlan": 70,
                    "ingress_shaping": {"average_kbps": 10000},
                }
            ]
        }
        apply_and_check(s, ours)
        pg = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["pg-ours"]
        assert _client_ensure(pg, 70, 10_000_000) is False  # the other client agrees: nothing to do
        # the other direction: the client configures its values, our plan of the same is empty
        assert _client_ensure(pg, 71, 20_000_000) is True
        assert (
            _client_ensure(
                dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["pg-ours"], 71, 20_000_000
            )
            is False
        )
        same = {
            "distributed_port_groups": [
                {
                    "name": "pg-ours",
                    "switch": "DVS0",
                    "vlan": 71,
                    "ingress_shaping": {"average_kbps": 20000},
                }
            ]
        }
        assert plan(DesiredState.model_validate(same), collect(s)).empty
