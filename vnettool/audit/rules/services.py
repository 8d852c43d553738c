"""Distributed switch services (SEC-15, 16): where NetFlow exports go and who mirrors traffic.

Both send copies of VM traffic off the switch unencrypted, so the benchmarks want every
destination named by the site: `netflow_collectors` ("ip:port") and `mirror_sessions`
("switch/session") in the audit config.
"""

from __future__ import annotations

from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding, State
from vnettool.audit.rules.base import finding, rule
from vnettool.models.inventory import Inventory


@rule(
    "SEC-15",
    "NetFlow (IPFIX) only to authorised collectors",
    "medium",
    "DistributedSwitch",
    "dvs.config.ipfixConfig",
    "FAIL for a collector not in netflow_collectors, or port groups exporting with none set",
    "SCG 8 vcenter-8.network-restrict-netflow-usage",
    "Remove the collector or add it to netflow_collectors; disable NetFlow on port groups "
    "that do not need it.",
)
def netflow_collectors_authorised(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        nf = d.netflow
        exporting = sorted(
            p.name for p in inv.dv_portgroups_of(d.name) if p.setting.netflow and not p.uplink
        )
        collector = f"{nf.collector_ip}:{nf.collector_port or 0}" if nf.collector_ip else None
        state: State = "PASS"
        detail = ""
        if collector is not None and collector not in cfg.netflow_collectors:
            state = "FAIL"
            detail = f"exporting port groups: {', '.join(exporting) or 'none'}"
        elif collector is None and exporting:
            state = "FAIL"
            detail = f"NetFlow on without a collector: {', '.join(exporting)}"
        yield finding(
            "SEC-15",
            state,
            "DistributedSwitch",
            d.name,
            object_id=d.moref,
            switch=d.name,
            prop="dvs.config.ipfixConfig.collectorIpAddress",
            actual=collector
            or ("none; exporting " + ", ".join(exporting) if exporting else "none"),
            expected=", ".join(cfg.netflow_collectors) or "none",
            detail=detail,
        )


@rule(
    "SEC-16",
    "Port mirroring sessions authorised",
    "high",
    "DistributedSwitch",
    "dvs.config.vspanSession",
    "FAIL for every session whose switch/name is not in mirror_sessions",
    "SCG 8 vcenter-8.network-restrict-port-mirroring",
    "Remove unauthorised mirroring sessions (vnettool: absent: {mirrors: [switch/session]}).",
)
def mirror_sessions_authorised(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for d in inv.distributed_switches:
        unlisted = [m for m in d.mirrors if f"{d.name}/{m.name}" not in cfg.mirror_sessions]
        if not unlisted:
            yield finding(
                "SEC-16",
                "PASS",
                "DistributedSwitch",
                d.name,
                object_id=d.moref,
                switch=d.name,
                prop="dvs.config.vspanSession",
                actual=", ".join(m.name for m in d.mirrors) or "none",
                expected="only sessions in mirror_sessions",
            )
        for m in unlisted:
            dest = m.destination_ips or m.destination_uplinks or m.destination_ports
            yield finding(
                "SEC-16",
                "FAIL",
                "MirrorSession",
                f"{d.name}/{m.name}",
                object_id=m.key or "",
                switch=d.name,
                prop="dvs.config.vspanSession",
                actual=f"{m.type} to {', '.join(dest) or 'nowhere'}"
                + ("" if m.enabled else " (disabled)"),
                expected="listed in mirror_sessions",
                detail=f"sources {', '.join(sorted({*m.sources_transmitted, *m.sources_received}))}",
            )
