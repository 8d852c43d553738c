"""VMkernel adapters (SEC-21, 22; HC-05, 19): management and vMotion kept apart, and MTUs that
the switch can carry and that agree across a cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.rules.base import finding, rule
from vnettool.models.inventory import Inventory, VmkernelAdapter


@rule(
    "SEC-21",
    "Management VMkernel isolated",
    "high",
    "VmkernelAdapter",
    "virtualNicManagerInfo.netConfig; vmk port group; VM NIC backings",
    "FAIL if the management vmk carries other services; critical if VM NICs share its port group",
    "SCG 8 esxi-8.network-isolate-management",
    "Dedicated management port group and VLAN; other services on their own vmks.",
)
def management_vmk_isolated(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    on_vms = {(v.host, n.network) for v in inv.vms for n in v.nics if n.network}
    for v in inv.vmkernel_adapters:
        if "management" not in v.services:
            continue
        others = sorted(set(v.services) - {"management"})
        shared = (v.host, v.portgroup) in on_vms if v.portgroup else False
        f = finding(
            "SEC-21",
            "FAIL" if others or shared else "PASS",
            "VmkernelAdapter",
            f"{v.host}/{v.device}",
            where=v.host,
            prop="netConfig.selectedVnic",
            actual=("VM NICs on " + (v.portgroup or ""))
            if shared
            else (others or "management only"),
            expected="management only, no VM NICs on its port group",
        )
        yield f.model_copy(update={"severity": "critical"}) if shared else f


@rule(
    "SEC-22",
    "vMotion isolated",
    "high",
    "VmkernelAdapter",
    "virtualNicManagerInfo.netConfig",
    "FAIL if a vMotion vmk is also the management vmk",
    "SCG 8 esxi-8.network-isolate-vmotion",
    "Dedicated, non-routed vMotion VLAN and port group.",
)
def vmotion_vmk_isolated(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for v in inv.vmkernel_adapters:
        if "vmotion" not in v.services:
            continue
        both = "management" in v.services
        yield finding(
            "SEC-22",
            "FAIL" if both else "PASS",
            "VmkernelAdapter",
            f"{v.host}/{v.device}",
            where=v.host,
            prop="netConfig.selectedVnic",
            actual=v.services,
            expected="vmotion without management",
        )


def _switch_mtu(inv: Inventory, v: VmkernelAdapter) -> tuple[str | None, int | None]:
    if v.portgroup:
        pg = next((p for p in inv.portgroups_of(v.host) if p.name == v.portgroup), None)
        sw = next((s for s in inv.switches_of(v.host) if pg and s.name == pg.switch), None)
        return (sw.name, sw.mtu) if sw else (None, None)
    d = inv.dvs_by_uuid.get(v.dvs_uuid or "")
    return (d.name, d.max_mtu) if d else (None, None)


@rule(
    "HC-05",
    "VMkernel MTU not above switch MTU",
    "high",
    "VmkernelAdapter",
    "vnic.spec.mtu; vswitch.mtu or dvs.config.maxMtu",
    "FAIL if the vmk MTU is above its switch's MTU",
    "vSphere Networking guide (jumbo frames)",
    "Raise the switch MTU or lower the vmk MTU, then verify with vmkping -d -s.",
)
def vmk_mtu_within_switch_mtu(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    for v in inv.vmkernel_adapters:
        sw, mtu = _switch_mtu(inv, v)
        if mtu is None or v.mtu is None:
            yield finding(
                "HC-05", "UNKNOWN", "VmkernelAdapter", f"{v.host}/{v.device}", where=v.host
            )
            continue
        yield finding(
            "HC-05",
            "FAIL" if v.mtu > mtu else "PASS",
            "VmkernelAdapter",
            f"{v.host}/{v.device}",
            where=v.host,
            switch=sw,
            prop="vnic.spec.mtu",
            actual=v.mtu,
            expected=f"<= {mtu} ({sw})",
        )


@rule(
    "HC-19",
    "Same vmk MTU per service across the cluster",
    "low",
    "VmkernelAdapter",
    "vmk services, vnic.spec.mtu",
    "FAIL if one service has more than one MTU in a cluster",
    "vSphere Networking guide",
    "Set one MTU per service network.",
)
def vmk_mtu_per_service_consistent(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    by: dict[tuple[str, str], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for v in inv.vmkernel_adapters:
        h = inv.host_by_name.get(v.host)
        if not h or not h.cluster or v.mtu is None:
            continue
        for svc in v.services:
            if svc in ("vmotion", "vsan"):
                by[(h.cluster, svc)][v.mtu].append(f"{v.host}/{v.device}")
    for (cl, svc), mtus in sorted(by.items()):
        yield finding(
            "HC-19",
            "FAIL" if len(mtus) > 1 else "PASS",
            "Cluster",
            f"{cl}/{svc}",
            where=cl,
            prop="vnic.spec.mtu",
            actual="; ".join(f"{m}: {len(x)} vmk" for m, x in sorted(mtus.items())),
            expected="one MTU",
        )
