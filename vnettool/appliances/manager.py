"""Deploy, check and remove appliances: read the facts, plan, apply, report status.

The apply of one appliance is a fixed sequence, because the order is what keeps traffic safe:
clone (sized, reserved, latency-sensitive, NICs disconnected) → pin (DRS must-run rule) →
power on → connect management, then unprotected → wait healthy → connect protected. A health
timeout fails the change before the protected side is connected, so no VM is ever moved
behind an appliance that does not answer (the protected VMs' moves depend on it).
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from vnettool.appliances.plan import (
    DISCONNECT,
    RESOURCE,
    ROLES,
    SIZING,
    Facts,
    Slot,
    is_pinned,
    pin_names,
    plan_deploy,
    plan_remove,
    slots,
    vm_name,
    want_state,
)
from vnettool.engine import core
from vnettool.engine.journal import Journal
from vnettool.errors import VnetError
from vnettool.models.appliance import ApplianceNic, ApplianceSpec, ApplianceStatus, ApplianceVm
from vnettool.models.inventory import Host, Inventory
from vnettool.models.plan import Change, Plan, Result
from vnettool.vsphere import appliance as api
from vnettool.vsphere import dvs as dvs_api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.vmotion import relocate

DEFAULT_WORKERS = 4  # clones are heavy on vCenter and storage; bounded concurrency


def _dvpg_names(inv: Inventory) -> dict[str, str]:
    return {p.key: p.name for p in inv.distributed_port_groups}


def read_facts(session: Session, spec: ApplianceSpec, inv: Inventory, hosts: list[Host]) -> Facts:
    """This definition's VMs (by name prefix, confirmed by their tag) and the clusters' rules."""
    prefix = f"{spec.name}-"
    morefs = [v.moref for v in inv.vms if v.name.startswith(prefix) and not v.template]
    vms = api.read_vms(session, morefs, _dvpg_names(inv))
    clusters = {c.moref for c in inv.clusters if any(h.cluster == c.name for h in hosts)}
    return Facts(vms=vms, rules={c: api.read_rules(session, c) for c in sorted(clusters)})


def plan(
    action: str,
    session: Session,
    spec: ApplianceSpec,
    inv: Inventory,
    hosts: list[Host],
    target: dict[str, Any],
) -> Plan:
    facts = read_facts(session, spec, inv, hosts)
    if action == "remove":
        return plan_remove(spec, inv, hosts, facts, target)
    return plan_deploy(spec, inv, hosts, facts, target)


# -- apply ------------------------------------------------------------------------------------


def _dv(session: Session, net: dict[str, Any]) -> tuple[str, str] | None:
    if not net.get("switch"):
        return None
    if net.get("uuid") and net.get("key"):
        return str(net["uuid"]), str(net["key"])
    return dvs_api.find_portgroup(session, net["switch"], net["portgroup"])


def probe(vm: ApplianceVm, health: dict[str, Any], timeout_s: float = 2.0) -> tuple[bool, str]:
    """One health check: TCP connect to the port, or VMware Tools heartbeat without a port."""
    port = health.get("port")
    if port:
        addr = health.get("address") or vm.guest_ip
        if not addr:
            return False, "no guest IP address yet"
        try:
            with socket.create_connection((addr, int(port)), timeout=timeout_s):
                return True, f"tcp {addr}:{port} open"
        except OSError as exc:
            return False, f"tcp {addr}:{port}: {exc.strerror or exc}"
    if vm.heartbeat == "green":
        return True, "tools heartbeat green"
    return False, f"tools heartbeat {vm.heartbeat or 'unknown'}"


def _read_one(session: Session, moref: str) -> ApplianceVm:
    got = api.read_vms(session, [moref], {})
    if not got:
        raise VnetError(f"{moref}: the appliance VM disappeared")
    return got[0]


def wait_healthy(session: Session, moref: str, name: str, health: dict[str, Any]) -> str:
    deadline = time.monotonic() + float(health.get("timeout_s") or 120)
    delay = 0.2
    while True:
        ok, detail = probe(_read_one(session, moref), health)
        if ok:
            return detail
        if time.monotonic() > deadline:
            raise VnetError(
                f"{name}: not healthy after {health.get('timeout_s')} s ({detail}); "
                "protected side left disconnected"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 3.0)


def _wire(session: Session, c: Change, moref: str, keys: list[int], roles: tuple[str, ...]) -> None:
    nets = c.spec["want"]["networks"]
    for role in roles:
        i = ROLES.index(role)
        net = nets[role]
        api.wire_nic(
            session, moref, f"{c.name}/{role}", keys[i], net["portgroup"], _dv(session, net), True
        )


def _pin(session: Session, c: Change, moref: str) -> None:
    if c.spec.get("per") != "host" or not c.spec.get("cluster_moref"):
        return
    cl = str(c.spec["cluster_moref"])
    api.pin(
        session, cl, api.read_rules(session, cl), moref, c.spec["host_moref"], pin_names(c.name)
    )


def _create(session: Session, c: Change, facts: dict[str, Any]) -> None:
    s, want = c.spec, c.spec["want"]
    folder, pool = api.placement_refs(session, s["datacenter_moref"], s.get("cluster_moref"))
    nics = [
        (f"{role} NIC", want["networks"][role]["portgroup"], _dv(session, want["networks"][role]))
        for role in ROLES
    ]
    moref = api.clone(
        session,
        template_moref=s["template_moref"],
        name=c.name,
        folder_moref=folder,
        pool_moref=pool,
        host_moref=s["host_moref"],
        cpus=want["cpus"],
        memory_mb=want["memory_mb"],
        cpu_reservation_mhz=want["cpu_reservation_mhz"],
        memory_reservation_mb=want["memory_reservation_mb"],
        latency=want["latency_sensitivity"],
        nics=nics,
        tags=s["tags"],
    )
    facts["vm_moref"] = moref
    _pin(session, c, moref)
    api.power(session, moref, c.name, True)
    keys = [n.key for n in _read_one(session, moref).nics]
    _wire(session, c, moref, keys, ("management", "unprotected"))
    facts["health"] = wait_healthy(session, moref, c.name, s["health"])
    _wire(session, c, moref, keys, ("protected",))


def _update(session: Session, c: Change, facts: dict[str, Any]) -> None:
    if c.spec.get("park"):
        api.power(session, c.spec["vm_moref"], c.name, False)
        return
    s, want = c.spec, c.spec["want"]
    moref = s["vm_moref"]
    fields = {d.field for d in c.diffs}
    if "host" in fields:
        relocate(session, moref, s["host_moref"])
    if fields & set(SIZING):
        api.set_resources(
            session,
            moref,
            c.name,
            cpus=want["cpus"],
            memory_mb=want["memory_mb"],
            cpu_reservation_mhz=want["cpu_reservation_mhz"],
            memory_reservation_mb=want["memory_reservation_mb"],
            latency=want["latency_sensitivity"],
        )
    if "pinned" in fields:
        _pin(session, c, moref)
    if "power_state" in fields:
        api.power(session, moref, c.name, True)
    keys = [n.key for n in _read_one(session, moref).nics]
    if len(keys) < len(ROLES):
        raise VnetError(f"{c.name}: has {len(keys)} NICs, needs {len(ROLES)}; redeploy it")
    front = tuple(r for r in ("management", "unprotected") if f"nic.{r}" in fields)
    _wire(session, c, moref, keys, front)
    if "nic.protected" in fields:
        facts["health"] = wait_healthy(session, moref, c.name, s["health"])
        _wire(session, c, moref, keys, ("protected",))


def _delete(session: Session, c: Change, facts: dict[str, Any]) -> None:
    s = c.spec
    if s.get("power_state") == "poweredOn":
        api.power(session, s["vm_moref"], c.name, False)
    if s.get("cluster_moref"):
        cl = str(s["cluster_moref"])
        api.unpin(session, cl, api.read_rules(session, cl), list(s["pin_names"]))
    api.destroy(session, s["vm_moref"], c.name)


def _anti(session: Session, c: Change, facts: dict[str, Any]) -> None:
    cl = str(c.spec["cluster_moref"])
    morefs = list(api.vm_morefs(session, set(c.spec["vms"])).values())
    api.anti_affinity(session, cl, api.read_rules(session, cl), c.name, morefs)


def _apply(change: Change, session: Session) -> Result:
    if change.resource not in (RESOURCE, DISCONNECT):
        return core.apply_one(change, session)
    return core.as_result(change, lambda facts: _dispatch(change, session, facts))


def _dispatch(change: Change, session: Session, facts: dict[str, Any]) -> None:
    if change.resource == DISCONNECT:
        s = change.spec
        dv = (s["dvs_uuid"], s["dv_portgroup_key"]) if s.get("dvs_uuid") else None
        api.wire_nic(
            session, s["vm_moref"], change.name, int(s["nic_key"]), s["network"], dv, False
        )
    elif change.spec.get("anti_affinity"):
        _anti(session, change, facts)
    elif change.kind == "create":
        _create(session, change, facts)
    elif change.kind == "update":
        _update(session, change, facts)
    else:
        _delete(session, change, facts)


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
        lambda c: _apply(c, session),
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
                    expected_network=want["networks"][role]["portgroup"],
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
