"""Catalogue rules whose data vnettool does not read yet (IP storage, port usage).

They stay in the catalogue so the Rules sheet is complete, and report N/A per switch with the
reason instead of guessing a verdict.
"""

from __future__ import annotations

from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Check, Finding
from vnettool.audit.rules.base import finding, rule
from vnettool.models.inventory import Inventory


def _not_collected(rid: str, what: str) -> Check:
    def check(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
        for d in inv.distributed_switches:
            yield finding(
                rid,
                "N/A",
                "DistributedSwitch",
                d.name,
                object_id=d.moref,
                switch=d.name,
                detail=f"{what} is not part of vnettool's inventory yet; not judged",
            )

    return check


rule(
    "SEC-23",
    "IP storage isolated",
    "high",
    "VmkernelAdapter",
    "iSCSI port binding, NFS subnets",
    "see the catalogue",
    "SCG 8",
    "Dedicated storage VLAN and vmks.",
)(_not_collected("SEC-23", "iSCSI binding / NFS datastore addresses"))


rule(
    "HC-16",
    "Static DV port group ports nearly exhausted",
    "medium",
    "DistributedPortGroup",
    "numPorts, autoExpand, connected ports",
    "FAIL when used/numPorts >= port_usage_pct without autoExpand",
    "Broadcom KB 324492",
    "Elastic allocation or more ports.",
)(_not_collected("HC-16", "per-port connection state"))
