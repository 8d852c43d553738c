"""Deploy, check and remove appliances: read the facts, plan, apply, report status.

The changes are engine resources (engine/appliance.py: the apply sequence, rollback), so an
appliance run is applied, journaled and rolled back like any other.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from vnettool.appliances.plan import (
    Facts,
    Slot,
    is_pinned,
    plan_deploy,
    plan_remove,
    slots,
    vm_name,
    want_state,
)
from vnettool.engine import core
from vnettool.engine.appliance import ROLES, probe
from vnettool.engine.common import PlanError
from vnettool.engine.journal import Journal
from vnettool.models.appliance import ApplianceNic, ApplianceSpec, ApplianceStatus, ApplianceVm
from vnettool.models.inventory import Host, Inventory
from vnettool.models.plan import Plan, Result
from vnettool.vsphere import cluster as cluster_api
from vnettool.vsphere import vm as vm_api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.ovfpkg import OvfError, read_descriptor

DEFAULT_WORKERS = 4  # clones are heavy on vCenter and storage; bounded concurrency


def _dvpg_names(inv: Inventory) -> dict[str, str]:
    return {p.key: p.name for p in inv.distributed_port_groups}


def read_facts(
    session: Session, spec: ApplianceSpec, inv: Inventory, hosts: list[Host], *, ovf: bool = False
) -> Facts:
    """This definition's VMs (by name prefix, confirmed by their tag) and the clusters' rules;
    with `ovf`, the OVF source's descriptor too (only a deploy plan needs it)."""
    prefix = f"{spec.name}-"
    morefs = [v.moref for v in inv.vms if v.name.startswith(prefix) and not v.template]
    vms = vm_api.read_vms(session, morefs, _dvpg_names(inv))
    clusters = {c.moref for c in inv.clusters if any(h.cluster == c.name for h in hosts)}
    desc = None
    if ovf and spec.source.ovf is not None:
        try:
            desc = read_descriptor(spec.source.ovf)
        except OvfError as exc:
            raise PlanError([f"appliance {spec.name}: {exc}"]) from None
    return Facts(
        vms=vms, rules={c: cluster_api.read_rules(session, c) for c in sorted(clusters)}, ovf=desc
    )


def plan(
    action: str,
    session: Session,
    spec: ApplianceSpec,
    inv: Inventory,
    hosts: list[Host],
    target: dict[str, Any],
) -> Plan:
    facts = read_facts(session, spec, inv, hosts, ovf=action != "remove")
    if action == "remove":
        return plan_remove(spec, inv, hosts, facts, target)
    return plan_deploy(spec, inv, hosts, facts, target)


# -- apply ------------------------------------------------------------------------------------


def apply(
    p: Plan,
    session: Session,
    *,
    workers: int = DEFAULT_WORKERS,
    on_result: Callable[[Result], None] | None = None,
    stop: threading.Event | None = None,
    journal: Journal | None = None,
) -> list[Result]:
    """Apply an appliance plan with the engine's executor (deps first, bounded concurrency,
    write-ahead journal)."""
    if p.empty:
        return []
    core.prepare(session, p.changes, workers)
    return core.run_changes(
        p.changes,
        lambda c: core.apply_one(c, session),
        workers=workers,
        on_result=on_result,
        stop=stop,
        journal=journal,
    )


# -- status -----------------------------------------------------------------------------------


def status(
    session: Session, spec: ApplianceSpec, inv: Inventory, hosts: list[Host]
) -> list[ApplianceStatus]:
    """Every appliance of the definition: where it runs, health, and compliance with it."""
    facts = read_facts(session, spec, inv, hosts)
    want = want_state(spec, inv)
    expected = {s.name: s for s in slots(spec, inv, hosts)}
    by_moref = {h.moref: h for h in inv.hosts}
    per_host = spec.placement.per == "host"
    ours = {v.name for v in facts.vms if v.tags.get("vnettool.appliance") == spec.name}
    # protected VMs per host, counted once (not per appliance: 1,000 x 10,000 at scale)
    behind = Counter(
        v.host
        for v in inv.vms
        if v.name not in ours and any(n.network == spec.networks.protected for n in v.nics)
    )
    out = []
    for vm in sorted(facts.vms, key=lambda v: v.name):
        if vm.tags.get("vnettool.appliance") != spec.name:
            continue
        host = by_moref.get(vm.host_moref or "")
        slot = expected.get(vm.name)
        if slot is None and host is not None:
            slot = Slot(vm.name, by_moref.get(_tag_host(vm, inv) or "", host), None)
        ok, detail = (
            probe(vm, spec.health.model_dump())
            if vm.power_state == "poweredOn"
            else (False, "powered off")
        )
        nics = []
        for i, role in enumerate(ROLES):
            nic = vm.nics[i] if i < len(vm.nics) else None
            nics.append(
                ApplianceNic(
                    role=role,
                    label=nic.label if nic else "(missing)",
                    network=nic.network if nic else None,
                    expected_network=want.networks[role].portgroup,
                    connected=bool(nic and nic.connected),
                )
            )
        protected = behind.get(host.name if host else None, 0) if per_host else sum(behind.values())
        r = spec.resources
        out.append(
            ApplianceStatus(
                definition=spec.name,
                vm=vm.name,
                role=spec.role,
                host=host.name if host else None,
                expected_host=slot.host.name if slot else None,
                power_state=vm.power_state,
                health="ok" if ok else "failed",
                health_detail=detail,
                pinned=bool(
                    slot
                    and is_pinned(
                        vm,
                        slot,
                        facts.rules.get(slot.cluster_moref or ""),
                        spec.placement.per == "host",
                    )
                ),
                nics=nics,
                cpu_reservation_mhz=vm.cpu_reservation_mhz,
                memory_reservation_mb=vm.memory_reservation_mb,
                reservation_compliant=vm.cpu_reservation_mhz == r.cpu_reservation_mhz
                and vm.memory_reservation_mb == r.memory_reserved,
                latency_sensitivity=vm.latency_sensitivity,
                latency_compliant=vm.latency_sensitivity == r.latency_sensitivity,
                protected_vms=protected,
            )
        )
    return out


def _tag_host(vm: ApplianceVm, inv: Inventory) -> str | None:
    h = inv.host_by_name.get(vm.tags.get("vnettool.appliance.host", ""))
    return h.moref if h else None


__all__ = ["DEFAULT_WORKERS", "apply", "plan", "probe", "read_facts", "status", "vm_name"]
