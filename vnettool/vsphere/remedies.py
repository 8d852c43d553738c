"""The calls behind the latency ladder's rungs: one NIOC traffic class, DV ports' uplink
order, and a VM's latency sensitivity with its reservations.

Each `set_*` returns the exact values it replaced, read from the server just before, so that
the undo puts back what was there — an inherited port policy is re-inherited, not frozen at
the value it happened to inherit.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

from vnettool.errors import ApiFault
from vnettool.models.inventory import NiocTraffic
from vnettool.vsphere.connection import Session
from vnettool.vsphere.dvs import read_switch, reconfigure_switch, switch_ref
from vnettool.vsphere.props import read
from vnettool.vsphere.specs.dvport import port_order_specs
from vnettool.vsphere.specs.dvs import switch_spec
from vnettool.vsphere.specs.vm import latency_spec
from vnettool.vsphere.tasks import run_task
from vnettool.vsphere.vm import reconfigure, vm_ref


def set_nioc_class(
    session: Session,
    dvs_moref: str,
    key: str,
    *,
    level: str | None,
    shares: int | None,
    reservation_mbps: int | None,
) -> dict[str, Any]:
    """Set one system traffic class's shares (and reservation); returns its values before."""
    sw = read_switch(session, dvs_moref)
    cur = next((t for t in sw.nioc if t.key == key), None)
    if cur is None:
        raise ApiFault("ReconfigureDvs_Task", sw.name, "NotFound", f"no NIOC traffic class {key}")
    upd: dict[str, Any] = {}
    if level is not None:
        upd |= {"level": level, "shares": shares}
    if reservation_mbps is not None:
        upd["reservation_mbps"] = reservation_mbps
    want = cur.model_copy(update=upd)
    if want != cur:
        after = sw.model_copy(update={"nioc": [want if t.key == key else t for t in sw.nioc]})

        def conflict(fresh: Any) -> str | None:
            now = next((t for t in fresh.nioc if t.key == key), None)
            return None if now == cur else f"NIOC {key} is now {now}"

        reconfigure_switch(session, sw, switch_spec(sw, after), conflict)
    return cur.model_dump(mode="json")


def restore_nioc_class(session: Session, dvs_moref: str, before: dict[str, Any]) -> None:
    t = NiocTraffic.model_validate(before)
    set_nioc_class(
        session,
        dvs_moref,
        t.key,
        level=t.level,
        shares=t.shares,
        reservation_mbps=t.reservation_mbps if t.reservation_mbps is not None else 0,
    )


def port_orders(session: Session, dvs_moref: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Each port's own uplink order: inherited, or its active and standby uplinks."""
    sw = switch_ref(session, dvs_moref)
    crit = vim.dvs.PortCriteria(portKey=keys)
    ports = session.call(sw.FetchDVPorts, crit, op="FetchDVPorts", obj=dvs_moref) or []
    out: dict[str, dict[str, Any]] = {}
    for p in ports:
        team = getattr(p.config.setting, "uplinkTeamingPolicy", None)
        order = team.uplinkPortOrder if team is not None else None
        inherited = team is None or bool(team.inherited) or order is None or bool(order.inherited)
        out[p.key] = {
            "inherited": inherited,
            "active": list(order.activeUplinkPort or []) if order is not None else [],
            "standby": list(order.standbyUplinkPort or []) if order is not None else [],
            "version": p.config.configVersion,
        }
    missing = set(keys) - set(out)
    if missing:
        raise ApiFault("FetchDVPorts", dvs_moref, "NotFound", f"ports {sorted(missing)} not found")
    return out


def set_port_orders(session: Session, dvs_moref: str, orders: dict[str, dict[str, Any]]) -> None:
    """ReconfigureDVPort_Task: every port gets its order (or re-inherits) in one task. It
    sets whole values, so a lost answer is safely sent again."""
    sw = switch_ref(session, dvs_moref)
    specs = port_order_specs(orders)
    run_task(session, sw.ReconfigureDVPort_Task, specs, op="ReconfigureDVPort_Task", obj=dvs_moref)


_LAT_PATHS = [
    "name",
    "config.latencySensitivity",
    "config.cpuAllocation",
    "config.memoryAllocation",
    "config.memoryReservationLockedToMax",
    "config.hardware.memoryMB",
]


def vm_latency(session: Session, vm_moref: str) -> dict[str, Any]:
    """A VM's latency sensitivity level, reservations and memory size."""
    p = read(session, vm_ref(session, vm_moref), _LAT_PATHS)
    if p is None:
        raise ApiFault("RetrieveContents", vm_moref, "ManagedObjectNotFound", "VM is gone")
    lat, cpu, mem = (
        p.get("config.latencySensitivity"),
        p.get("config.cpuAllocation"),
        p.get("config.memoryAllocation"),
    )
    return {
        "name": p.get("name", vm_moref),
        "level": str(lat.level) if lat is not None else "normal",
        "cpu_mhz": int(cpu.reservation or 0) if cpu is not None else 0,
        "mem_mb": int(mem.reservation or 0) if mem is not None else 0,
        "locked": bool(p.get("config.memoryReservationLockedToMax")),
        "memory_mb": int(p.get("config.hardware.memoryMB") or 0),
    }


def set_vm_latency(session: Session, vm_moref: str, values: dict[str, Any]) -> None:
    spec = latency_spec(values["level"], values["cpu_mhz"], values["mem_mb"], values["locked"])
    reconfigure(session, vm_moref, str(values["name"]), spec)
