"""Traffic filtering and marking against the lab: apply twice (second plan empty), read back
with plain pyVmomi, roll back to the exact before-state, and bad input refused (located,
nothing sent) — the pattern of test_dvs_services.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim, vmodl

from tests.lab.test_audit_cli import vnettool
from tests.lab.test_dvs_services import _rolled_back
from tests.lab.test_engine import INSECURE
from tests.lab.test_engine_dvs import apply_and_check, dv_objects
from vnettool.engine import plan
from vnettool.errors import ConfigError
from vnettool.inventory import collect
from vnettool.models.desired import DesiredState
from vnettool.playbook.desired_file import load_desired
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab

QOS_DOC: dict[str, Any] = {
    "traffic_rules": [
        {
            "switch": "DVS0",
            "portgroup": "DC0_DVPG0",
            "rules": [
                {
                    "name": "mark-voice",
                    "dscp": 46,
                    "cos": 5,
                    "direction": "outgoing",
                    "ip": {
                        "destination": "10.20.0.0/16",
                        "protocol": "udp",
                        "destination_port": "16384-32767",
                    },
                    "system": "virtualMachine",
                },
                {
                    "name": "clear-dscp",
                    "dscp": 0,
                    "ip": {"source": "192.0.2.7", "negate": ["source"]},
                },
                {
                    "name": "drop-bpdu",
                    "action": "drop",
                    "mac": {"destination": "01:80:C2:00:00:00", "vlan": 0},
                },
                {"name": "punt-arp", "action": "punt", "mac": {"ethertype": 0x0806}},
                {"name": "allow-vmotion", "action": "allow", "system": {"type": "vmotion"}},
            ],
        },
        {
            "switch": "DVS0",
            "uplinks": True,
            "enabled": False,
            "rules": [{"name": "cos-storage", "cos": 4, "system": "nfs"}],
        },
    ]
}


def _ruleset(pg: Any) -> Any:
    """The port group's own traffic ruleset, as an independent pyVmomi client reads it."""
    policy = pg.config.defaultPortConfig.filterPolicy
    configs = [f for f in policy.filterConfig or [] if not f.inherited] if policy else []
    return configs[0].trafficRuleset if configs else None


def _uplink_pg(s: Session) -> Any:
    sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
    return sw.config.uplinkPortgroup[0]


def test_traffic_rules_apply_read_back_and_roll_back(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        before = collect(s)
        results = apply_and_check(s, QOS_DOC)
        assert {r.change.kind for r in results} == {"create"}

        rs = _ruleset(dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG0"])
        assert rs.enabled is True
        names = [r.description for r in sorted(rs.rules, key=lambda r: r.sequence)]
        assert names == ["mark-voice", "clear-dscp", "drop-bpdu", "punt-arp", "allow-vmotion"]
        rules = {r.description: r for r in rs.rules}
        voice = rules["mark-voice"]
        assert isinstance(voice.action, vim.dvs.TrafficRule.UpdateTagAction)
        assert (voice.action.dscpTag, voice.action.qosTag, voice.direction) == (
            46,
            5,
            "outgoingPackets",
        )
        ip, system = sorted(voice.qualifier, key=lambda q: type(q).__name__)
        assert isinstance(ip, vim.dvs.TrafficRule.IpQualifier)
        assert (ip.destinationAddress.addressPrefix, ip.destinationAddress.prefixLength) == (
            "10.20.0.0",
            16,
        )
        assert ip.protocol.value == 17
        assert (ip.destinationIpPort.startPortNumber, ip.destinationIpPort.endPortNumber) == (
            16384,
            32767,
        )
        assert system.typeOfSystemTraffic.value == "virtualMachine"
        clear = rules["clear-dscp"]
        assert clear.action.dscpTag == 0  # an explicit 0 (clear the mark) reads back as 0
        assert clear.qualifier[0].sourceAddress.negate is True
        bpdu = rules["drop-bpdu"].qualifier[0]
        assert isinstance(rules["drop-bpdu"].action, vim.dvs.TrafficRule.DropAction)
        assert (bpdu.destinationAddress.address, bpdu.vlanId.value) == ("01:80:c2:00:00:00", 0)
        assert rules["punt-arp"].qualifier[0].protocol.value == 0x0806
        assert isinstance(rules["punt-arp"].action, vim.dvs.TrafficRule.PuntAction)
        assert isinstance(rules["allow-vmotion"].action, vim.dvs.TrafficRule.AcceptAction)
        assert all(r.key for r in rs.rules) and rs.key
        up = _ruleset(_uplink_pg(s))
        assert up.enabled is False
        assert [(r.description, r.action.qosTag) for r in up.rules] == [("cos-storage", 4)]

        # an edit: one rule changed, one moved, one removed, one added; kept rules keep
        # their keys
        keys = {r.description: r.key for r in rs.rules}
        edit = {
            "traffic_rules": [
                {
                    "switch": "DVS0",
                    "portgroup": "DC0_DVPG0",
                    "rules": [
                        {"name": "allow-vmotion", "action": "allow", "system": "vmotion"},
                        {
                            "name": "mark-voice",
                            "dscp": 34,
                            "cos": 5,
                            "direction": "outgoing",
                            "ip": {
                                "destination": "10.20.0.0/16",
                                "protocol": "udp",
                                "destination_port": "16384-32767",
                            },
                            "system": "virtualMachine",
                        },
                        {"name": "drop-bpdu", "action": "drop", "mac": QOS_MAC},
                        {"name": "punt-arp", "action": "punt", "mac": {"ethertype": 0x0806}},
                        {"name": "drop-telnet", "action": "drop", "ip": {"destination_port": 23}},
                    ],
                }
            ]
        }
        p = plan(DesiredState.model_validate(edit), collect(s))
        (change,) = p.changes
        fields = [d.field for d in change.diffs]
        assert fields == [
            "rule clear-dscp (removed)",
            "rule drop-telnet (added)",
            "order",
            "rule mark-voice.dscp",
        ]
        more = apply_and_check(s, edit)
        rs = _ruleset(dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG0"])
        ordered = sorted(rs.rules, key=lambda r: r.sequence)
        assert [r.description for r in ordered] == [
            "allow-vmotion",
            "mark-voice",
            "drop-bpdu",
            "punt-arp",
            "drop-telnet",
        ]
        assert {r.description: r.key for r in rs.rules if r.description in keys} == {
            k: v for k, v in keys.items() if k != "clear-dscp"
        }

        gone = apply_and_check(s, {"absent": {"traffic_rules": ["DVS0/uplinks"]}})
        assert _ruleset(_uplink_pg(s)) is None

        _rolled_back(s, [*results, *more, *gone])
        after = collect(s)
        assert {p.name: p.traffic for p in after.distributed_port_groups} == {
            p.name: p.traffic for p in before.distributed_port_groups
        }
        assert _ruleset(dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG0"]) is None


QOS_MAC = {"destination": "01:80:c2:00:00:00", "vlan": 0}


def _seed(s: Session) -> None:
    """A ruleset another client made: its own sequence numbers (5, 7) and keys."""
    pg = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG1"]
    tr = vim.dvs.TrafficRule
    rules = [
        tr(
            description="web",
            sequence=5,
            direction="both",
            action=tr.AcceptAction(),
            qualifier=[tr.IpQualifier(destinationIpPort=tr.SingleIpPort(portNumber=443))],
        ),
        tr(description="rest", sequence=7, direction="both", action=tr.DropAction()),
    ]
    spec = vim.dvs.DistributedVirtualPort.TrafficFilterConfigSpec(
        operation="add",
        trafficRuleset=vim.dvs.TrafficRuleset(enabled=True, precedence=3, rules=rules),
    )
    cfg = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        configVersion=pg.config.configVersion,
        defaultPortConfig=vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
            filterPolicy=vim.dvs.DistributedVirtualPort.FilterPolicy(filterConfig=[spec])
        ),
    )
    task = pg.ReconfigureDVPortgroup_Task(cfg)
    while task.info.state not in ("success", "error"):
        pass
    assert task.info.state == "success", task.info.error


def test_rollback_restores_another_clients_ruleset_exactly(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        _seed(s)
        before = collect(s)
        seeded = next(p for p in before.distributed_port_groups if p.name == "DC0_DVPG1").traffic
        assert seeded is not None and [r.sequence for r in seeded.rules] == [5, 7]
        doc = {
            "traffic_rules": [
                {
                    "switch": "DVS0",
                    "portgroup": "DC0_DVPG1",
                    "enabled": False,
                    "rules": [
                        {"name": "web", "action": "allow", "ip": {"destination_port": 443}},
                        {"name": "dns", "action": "allow", "ip": {"destination_port": 53}},
                        {"name": "rest", "action": "drop"},
                    ],
                }
            ]
        }
        results = apply_and_check(s, doc)
        now = next(p for p in collect(s).distributed_port_groups if p.name == "DC0_DVPG1")
        assert now.traffic is not None
        # the new rule fits between the kept ones; they keep their numbers and keys
        assert [(r.name, r.sequence) for r in now.traffic.rules] == [
            ("web", 5),
            ("dns", 6),
            ("rest", 7),
        ]
        _rolled_back(s, results)
        back = next(p for p in collect(s).distributed_port_groups if p.name == "DC0_DVPG1")
        assert back.traffic == seeded  # keys, sequence numbers, precedence, enabled: all


BAD_DOCS = {
    "unknown qualifier": (
        "traffic_rules:\n"
        "  - switch: DVS0\n"
        "    portgroup: DC0_DVPG0\n"
        "    rules:\n"
        "      - name: r1\n"
        "        action: drop\n"
        "        tcp: {port: 22}\n",
        r":7:9: .*tcp",
    ),
    "DSCP 64": (
        "traffic_rules:\n"
        "  - switch: DVS0\n"
        "    portgroup: DC0_DVPG0\n"
        "    rules:\n"
        "      - {name: r1, dscp: 64}\n",
        r":5:\d+: .*63 at .*dscp",
    ),
    "unknown system traffic": (
        "traffic_rules:\n"
        "  - switch: DVS0\n"
        "    portgroup: DC0_DVPG0\n"
        "    rules:\n"
        "      - {name: r1, action: allow, system: vmotoin}\n",
        r":5:\d+: .*system",
    ),
}


@pytest.mark.parametrize("what", sorted(BAD_DOCS))
def test_bad_rules_are_located_and_change_nothing(
    fresh_lab: Any, tmp_path: Path, what: str
) -> None:
    text, where = BAD_DOCS[what]
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_desired(path)
    assert re.search(str(path) + where, str(err.value), re.S), str(err.value)
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        version = next(
            p for p in collect(s).distributed_port_groups if p.name == "DC0_DVPG0"
        ).config_version
        # from the command line: exit 1, the location, nothing applied
        out = vnettool(lab, "apply", str(path), "--yes")
        assert out.returncode == 1, out.stdout + out.stderr
        assert re.search(re.escape(str(path)) + where, out.stdout + out.stderr, re.S)
        pg = next(p for p in collect(s).distributed_port_groups if p.name == "DC0_DVPG0")
        assert (pg.config_version, pg.traffic) == (version, None)


def test_lab_refuses_out_of_range_marks_like_vcenter(fresh_lab: Any) -> None:
    """A client that skips vnettool's checks meets the server's: InvalidArgument naming the
    property, the port group unchanged."""
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        pg = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG0"]
        version = pg.config.configVersion
        tr = vim.dvs.TrafficRule
        for action, prop in (
            (tr.UpdateTagAction(dscpTag=64), "dscpTag"),
            (tr.UpdateTagAction(qosTag=8), "qosTag"),
        ):
            spec = vim.dvs.DistributedVirtualPort.TrafficFilterConfigSpec(
                operation="add",
                trafficRuleset=vim.dvs.TrafficRuleset(
                    enabled=True, rules=[tr(description="x", action=action)]
                ),
            )
            cfg = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
                configVersion=version,
                defaultPortConfig=vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
                    filterPolicy=vim.dvs.DistributedVirtualPort.FilterPolicy(filterConfig=[spec])
                ),
            )
            task = pg.ReconfigureDVPortgroup_Task(cfg)
            while task.info.state not in ("success", "error"):
                pass
            assert task.info.state == "error"
            assert isinstance(task.info.error, vmodl.fault.InvalidArgument)
            assert prop in task.info.error.invalidProperty
        assert pg.config.configVersion == version
        assert _ruleset(pg) is None
