"""Standard port-group consistency (HC-06, 07, 10): a VM network exists on every host of its
cluster with one VLAN, and nothing is left without users.

vMotion needs the same network name on source and destination; a name with two VLANs moves a
VM onto the wrong segment silently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.rules.base import (
    finding,
    on_dvpg,
    rule,
    vm_dvpgs,
    vm_facing_dvpgs,
    vm_portgroups,
    vmk_portgroups,
)
from vnettool.models.inventory import Inventory


@rule(
    "HC-06",
    "Standard port group present on every host of the cluster",
    "high",
    "StandardPortGroup x Host",
    "portgroup names per host; VM NIC backings",
    "FAIL per host lacking a VM-facing port group used in its cluster",
    "vSphere vMotion network requirements",
    "Create the port group on the missing hosts (or move the network to a vDS).",
)
def vss_portgroup_on_every_cluster_host(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    used = vm_portgroups(inv)
    clusters: dict[str, list[str]] = defaultdict(list)
    for host in inv.hosts:
        if host.cluster:
            clusters[host.cluster].append(host.name)
    have: dict[str, set[str]] = defaultdict(set)
    for pg in inv.standard_port_groups:
        have[pg.host].add(pg.name)
    for cl, hosts in sorted(clusters.items()):
        names = {n for hn in hosts for n in have[hn] if n in used}
        for name in sorted(names):
            for hn in sorted(hosts):
                if name not in have[hn]:
                    yield finding(
                        "HC-06",
                        "FAIL",
                        "Host",
                        f"{cl}/{hn}",
                        where=hn,
                        prop="config.network.portgroup",
                        actual=f"{name!r} missing",
                        expected=f"{name!r} on every host of {cl}",
                    )


@rule(
    "HC-07",
    "Same standard port group name, same VLAN",
    "high",
    "StandardPortGroup",
    "portgroup[].spec.name, spec.vlanId per cluster",
    "FAIL when one name maps to more than one VLAN ID in a cluster",
    "vMotion network consistency",
    "Align VLAN IDs, or rename port groups that are different networks.",
)
def vss_portgroup_name_one_vlan(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    by: dict[tuple[str, str], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for pg in inv.standard_port_groups:
        h = inv.host_by_name.get(pg.host)
        by[(h.cluster if h and h.cluster else "", pg.name)][pg.vlan_id].append(pg.host)
    for (cl, name), vlans in sorted(by.items()):
        bad = len(vlans) > 1
        yield finding(
            "HC-07",
            "FAIL" if bad else "PASS",
            "StandardPortGroup",
            f"{cl}/{name}" if cl else name,
            where=cl or None,
            prop="portgroup.spec.vlanId",
            actual="; ".join(f"VLAN {k}: {', '.join(sorted(v))}" for k, v in sorted(vlans.items())),
            expected="one VLAN per name",
        )


@rule(
    "HC-10",
    "Orphaned port groups",
    "info",
    "StandardPortGroup, DistributedPortGroup",
    "VM NIC backings, vmk port groups",
    "FAIL (info) for a port group with no VM NIC and no vmk",
    "housekeeping",
    "Delete after confirming it is not a recovery or standby network.",
)
def portgroup_in_use(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    used = vm_portgroups(inv) | {p for _, p in vmk_portgroups(inv)}
    names = sorted({pg.name for pg in inv.standard_port_groups})
    for name in names:
        yield finding(
            "HC-10",
            "PASS" if name in used else "FAIL",
            "StandardPortGroup",
            name,
            actual="in use" if name in used else "no VM NIC, no vmk",
            expected="in use",
        )
    keys = vm_dvpgs(inv) | {v.dv_portgroup_key for v in inv.vmkernel_adapters if v.dv_portgroup_key}
    for pg in vm_facing_dvpgs(inv):
        yield on_dvpg(
            "HC-10",
            "PASS" if pg.key in keys else "FAIL",
            inv,
            pg,
            actual="in use" if pg.key in keys else "no VM NIC, no vmk",
            expected="in use",
        )
