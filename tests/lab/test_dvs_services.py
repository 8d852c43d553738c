"""NetFlow and port mirroring against the lab: apply twice (second plan empty), read back with
plain pyVmomi, roll back to the exact before-state, and bad input refused with nothing sent."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from pyVmomi import vim

from tests.lab.test_engine import INSECURE
from tests.lab.test_engine_dvs import apply_and_check, dv_objects
from vnettool.engine import apply, plan, rollback_plan
from vnettool.engine.common import PlanError
from vnettool.inventory import collect
from vnettool.models.desired import DesiredState
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab

NETFLOW_DOC: dict[str, Any] = {
    "distributed_switches": [
        {
            "name": "DVS0",
            "netflow": {
                "collector": "192.0.2.10",
                "collector_port": 2055,
                "observation_domain": 7,
                "active_timeout": 120,
                "idle_timeout": 20,
                "sampling_rate": 100,
                "internal_only": True,
            },
        }
    ],
    "distributed_port_groups": [
        {"name": "DC0_DVPG0", "switch": "DVS0", "netflow": True},
        {"name": "pg-flows", "switch": "DVS0", "vlan": 30, "netflow": True},
    ],
}


def _rolled_back(s: Session, results: Any) -> None:
    back = rollback_plan(results, collect(s))
    assert not back.empty
    out = apply(back, s)
    assert [(r.change.id, r.error) for r in out if not r.changed] == []
    assert rollback_plan(results, collect(s)).empty


def test_netflow_collector_and_port_groups(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        before = collect(s)
        results = apply_and_check(s, NETFLOW_DOC)
        kinds = [r.change.resource for r in results]
        # the collector is set before any port group turns export on
        assert kinds.index("netflow") < kinds.index("distributed_port_group")
        # an independent client's view
        ipfix = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"].config.ipfixConfig
        assert (ipfix.collectorIpAddress, ipfix.collectorPort, ipfix.observationDomainId) == (
            "192.0.2.10",
            2055,
            7,
        )
        assert (ipfix.activeFlowTimeout, ipfix.idleFlowTimeout, ipfix.samplingRate) == (
            120,
            20,
            100,
        )
        assert ipfix.internalFlowsOnly is True
        pgs = dv_objects(s, vim.dvs.DistributedVirtualPortgroup)
        for name in ("DC0_DVPG0", "pg-flows"):
            assert pgs[name].config.defaultPortConfig.ipfixEnabled.value is True
        assert pgs["DC0_DVPG1"].config.defaultPortConfig.ipfixEnabled.value is False
        inv = collect(s)
        assert inv.dvs_by_name["DVS0"].netflow.collector_ip == "192.0.2.10"

        _rolled_back(s, results)
        after = collect(s)
        assert after.dvs_by_name["DVS0"].netflow == before.dvs_by_name["DVS0"].netflow
        old = {p.name: p.setting for p in before.distributed_port_groups}
        assert {p.name: p.setting for p in after.distributed_port_groups} == old
        ipfix = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"].config.ipfixConfig
        assert not ipfix.collectorIpAddress


MIRROR_DOC: dict[str, Any] = {
    "distributed_switches": [
        {
            "name": "DVS0",
            "mirrors": [
                {
                    "name": "span-web",
                    "type": "dvPortMirror",
                    "sources": ["{p0}", "{p1}"],
                    "destination_ports": ["{p2}"],
                    "packet_length": 128,
                    "sampling_rate": 1,
                    "normal_traffic": False,
                    "description": "web tier to the IDS",
                },
                {
                    "name": "erspan-db",
                    "type": "encapsulatedRemoteMirrorSource",
                    "sources_received": ["{p1}"],
                    "destination_ips": ["192.0.2.20"],
                    "encapsulation": "erspan3",
                    "erspan_id": 5,
                    "enabled": False,
                },
            ],
        }
    ]
}


def _doc(doc: Any, ports: list[str]) -> Any:
    if isinstance(doc, dict):
        return {k: _doc(v, ports) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_doc(v, ports) for v in doc]
    if isinstance(doc, str) and doc.startswith("{p"):
        return ports[int(doc[2:-1])]
    return doc


def test_port_mirroring_sessions(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        before = collect(s)
        ports = next(p for p in before.distributed_port_groups if p.name == "DC0_DVPG0").port_keys
        doc = _doc(MIRROR_DOC, ports)
        results = apply_and_check(s, doc)
        sw = dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"]
        sessions = {x.name: x for x in sw.config.vspanSession}
        span = sessions["span-web"]
        assert sorted(span.sourcePortTransmitted.portKey) == sorted(ports[:2])
        assert sorted(span.sourcePortReceived.portKey) == sorted(ports[:2])
        assert list(span.destinationPort.portKey) == [ports[2]]
        assert (span.sessionType, span.enabled, span.mirroredPacketLength) == (
            "dvPortMirror",
            True,
            128,
        )
        assert span.description == "web tier to the IDS"
        er = sessions["erspan-db"]
        assert (er.enabled, er.encapType, er.erspanId) == (False, "erspan3", 5)
        assert list(er.destinationPort.ipAddress) == ["192.0.2.20"]

        # an edit by name keeps the server's key; the re-plan is empty again
        key = span.key
        edit = _doc(MIRROR_DOC, ports)
        edit["distributed_switches"][0]["mirrors"] = [
            {
                "name": "span-web",
                "enabled": False,
                "sampling_rate": 10,
                "sources": [ports[0]],
                "destination_ports": [ports[2]],
            }
        ]
        more = apply_and_check(s, edit)
        span = {
            x.name: x
            for x in dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"].config.vspanSession
        }["span-web"]
        assert (span.key, span.enabled, span.samplingRate) == (key, False, 10)
        assert list(span.sourcePortTransmitted.portKey) == [ports[0]]

        gone = apply_and_check(s, {"absent": {"mirrors": ["DVS0/erspan-db"]}})
        names = {
            x.name for x in dv_objects(s, vim.DistributedVirtualSwitch)["DVS0"].config.vspanSession
        }
        assert names == {"span-web"}

        _rolled_back(s, [*results, *more, *gone])
        assert collect(s).dvs_by_name["DVS0"].mirrors == before.dvs_by_name["DVS0"].mirrors == []


def test_bad_services_input_is_located_and_changes_nothing(fresh_lab: Any) -> None:
    lab = fresh_lab(cluster=1, host=2, vm=2)
    with lab.session(**INSECURE) as s:
        before = collect(s)
        version = before.dvs_by_name["DVS0"].config_version
        # a mirror source that does not exist
        bad = _doc(MIRROR_DOC, ["99999", "99998", "99997"])
        with pytest.raises(
            PlanError, match=r"mirror DVS0/span-web: sources_transmitted: port 99999"
        ):
            plan(DesiredState.model_validate(bad), before)
        # a port group exporting flows with no collector on its switch
        with pytest.raises(PlanError, match=r"DVS0: port group DC0_DVPG0 exports NetFlow"):
            plan(
                DesiredState.model_validate(
                    {
                        "distributed_port_groups": [
                            {"name": "DC0_DVPG0", "switch": "DVS0", "netflow": True}
                        ]
                    }
                ),
                before,
            )
        # a collector without a port; a destination the session type cannot have
        for doc, where in (
            ({"netflow": {"collector": "192.0.2.10"}}, "needs collector_port"),
            ({"netflow": {"collector": "192.0.2.300", "collector_port": 1}}, "collector"),
            (
                {"mirrors": [{"name": "m", "sources": ["1"], "destination_uplinks": ["uplink1"]}]},
                "takes destination_ports",
            ),
            ({"mirrors": [{"name": "m", "sources": ["1"], "packet_length": 20}]}, "packet_length"),
        ):
            with pytest.raises(ValidationError, match=where) as err:
                DesiredState.model_validate({"distributed_switches": [{"name": "DVS0", **doc}]})
            assert err.value.errors()[0]["loc"][:2] == ("distributed_switches", 0)
        assert collect(s).dvs_by_name["DVS0"].config_version == version
