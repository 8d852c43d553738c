"""CDP / LLDP neighbours of physical NICs, from `HostNetworkSystem.QueryNetworkHint`.

vCenter exposes neighbour data only through this per-host method, never as a property, so it
cannot ride on the inventory's bulk PropertyCollector pass. It is opt-in (`collect(...,
neighbors=True)`, `vnettool inventory --neighbors`, the audit's HC-18) and runs one call per
connected host, concurrently. A host that cannot answer keeps empty neighbours and is named in
the returned errors; it never fails the inventory.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vnettool.errors import VnetError
from vnettool.models.inventory import LinkNeighbor
from vnettool.vsphere.connection import Session
from vnettool.vsphere.hostnet import _ns_call, ensure_pool, prefetch_managers

Hints = dict[str, dict[str, list[LinkNeighbor]]]  # host name -> pNIC device -> neighbours


def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def neighbors_of(hint: Any) -> list[LinkNeighbor]:
    """The CDP and LLDP neighbours in one PhysicalNicHintInfo (either may be absent)."""
    out: list[LinkNeighbor] = []
    cdp = getattr(hint, "connectedSwitchPort", None)
    if cdp is not None and (cdp.devId or cdp.portId):
        out.append(
            LinkNeighbor(
                protocol="cdp",
                switch_id=cdp.devId or cdp.systemName or None,
                port_id=cdp.portId or None,
                vlan=_int(cdp.vlan) or None,
                mtu=_int(cdp.mtu) or None,
            )
        )
    lldp = getattr(hint, "lldpInfo", None)
    if lldp is not None and (lldp.chassisId or lldp.portId):
        params = {p.key: p.value for p in lldp.parameter or []}
        out.append(
            LinkNeighbor(
                protocol="lldp",
                switch_id=lldp.chassisId or params.get("System Name") or None,
                port_id=lldp.portId or None,
                vlan=_int(params.get("Vlan ID")),
                mtu=_int(params.get("MTU")),
            )
        )
    return out


def query_neighbors(
    session: Session, hosts: dict[str, str], workers: int = 8
) -> tuple[Hints, dict[str, str]]:
    """Neighbours per host (name -> moref given) and the hosts that could not answer (why)."""
    prefetch_managers(session, sorted(hosts.values()))
    ensure_pool(session, workers)

    def one(item: tuple[str, str]) -> tuple[str, dict[str, list[LinkNeighbor]] | str]:
        name, moref = item
        try:
            hints = _ns_call(session, moref, "QueryNetworkHint", name)
        except VnetError as exc:
            return name, str(exc)
        return name, {h.device: neighbors_of(h) for h in hints or []}

    found: Hints = {}
    errors: dict[str, str] = {}
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="vnettool-hint") as pool:
        for name, res in pool.map(one, sorted(hosts.items())):
            if isinstance(res, str):
                errors[name] = res
            else:
                found[name] = res
    return found, errors
