"""What-if: apply failures to a copy of the inventory and compare the connectivity.

A failure is what an admin names: a pNIC (`HOST/vmnic1`), a LAG on a host (`HOST/lag1`, all
its member pNICs), a neighbour switch or one of its ports (`neighbour tor-a[:Ethernet1/3]`,
every pNIC whose CDP/LLDP neighbour it is), or a host entering maintenance mode. The failed
inventory is what vCenter itself shows after the failure (a down pNIC has no link speed and no
neighbour; a host in maintenance has `inMaintenanceMode`), so a prediction can be checked
against a fresh read of the real thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from vnettool.errors import ConfigError
from vnettool.impact.paths import analyze, natural_key
from vnettool.models.base import Model
from vnettool.models.impact import STATUS_RANK, Connectivity, Endpoint, Impact, Transition
from vnettool.models.inventory import Host, Inventory, PhysicalNic


class Failure(Model):
    kind: Literal["pnic", "lag", "neighbor", "maintenance"]
    host: str | None = None
    name: str | None = None  # pNIC device or LAG name
    switch: str | None = None
    port: str | None = None

    def describe(self) -> str:
        if self.kind == "neighbor":
            return f"neighbour {self.switch}" + (f":{self.port}" if self.port else "")
        if self.kind == "maintenance":
            return f"{self.host} in maintenance"
        return f"{self.host}/{self.name}"


def parse_failures(args: list[str], inv: Inventory) -> list[Failure]:
    """`HOST/vmnicN`, `HOST/LAG` or `neighbour SWITCH[:PORT]` (repeatable), checked against
    the inventory so a typo is an error naming what exists, not an empty prediction."""
    out: list[Failure] = []
    it = iter(args)
    for arg in it:
        if arg in ("neighbour", "neighbor"):
            target = next(it, None)
            if not target:
                raise ConfigError("`neighbour` needs a switch name: neighbour SWITCH[:PORT]")
            out.append(_neighbor(target, inv))
            continue
        host, sep, name = arg.partition("/")
        if not sep or not host or not name:
            raise ConfigError(f"{arg!r}: expected HOST/vmnicN, HOST/LAG or neighbour SWITCH[:PORT]")
        out.append(_host_failure(host, name, inv))
    if not out:
        raise ConfigError("name at least one failure: HOST/vmnicN, HOST/LAG or neighbour SWITCH")
    return out


def _known_host(name: str, inv: Inventory) -> Host:
    h = inv.host_by_name.get(name)
    if h is None:
        near = sorted(inv.host_by_name, key=natural_key)[:5]
        raise ConfigError(f"unknown host {name!r} (hosts: {', '.join(near)}, ...)")
    return h


def _host_failure(host: str, name: str, inv: Inventory) -> Failure:
    h = _known_host(host, inv)
    if any(p.device == name for p in h.pnics):
        return Failure(kind="pnic", host=host, name=name)
    lags = {
        g.name for d in inv.distributed_switches for g in d.lags if _lag_pnics(inv, host, g.name)
    }
    if name in lags:
        return Failure(kind="lag", host=host, name=name)
    have = [p.device for p in h.pnics] + sorted(lags)
    raise ConfigError(f"{host} has no pNIC or LAG {name!r} (it has: {', '.join(have)})")


def _neighbor(target: str, inv: Inventory) -> Failure:
    switch, _, port = target.partition(":")
    seen = {n.switch_id for h in inv.hosts for p in h.pnics for n in p.neighbors}
    if switch not in seen:
        known = ", ".join(sorted(s for s in seen if s)[:8]) or "none: read with CDP/LLDP first"
        raise ConfigError(f"no pNIC sees neighbour switch {switch!r} (seen: {known})")
    return Failure(kind="neighbor", switch=switch, port=port or None)


def maintenance(host: str, inv: Inventory) -> Failure:
    _known_host(host, inv)
    return Failure(kind="maintenance", host=host)


def _lag_pnics(inv: Inventory, host: str, lag: str) -> set[str]:
    out: set[str] = set()
    for d in inv.distributed_switches:
        for g in d.lags:
            if g.name != lag:
                continue
            for m in d.hosts:
                if m.host == host:
                    out |= {p for p, port in m.pnics.items() if port in g.uplink_names}
    return out


def failed_pnics(f: Failure, inv: Inventory) -> set[tuple[str, str]]:
    """(host, device) of every pNIC a failure takes down."""
    if f.kind == "pnic":
        return {(f.host or "", f.name or "")}
    if f.kind == "lag":
        return {(f.host or "", p) for p in _lag_pnics(inv, f.host or "", f.name or "")}
    if f.kind == "neighbor":
        return {
            (h.name, p.device)
            for h in inv.hosts
            for p in h.pnics
            if any(
                n.switch_id == f.switch and (f.port is None or n.port_id == f.port)
                for n in p.neighbors
            )
        }
    return set()


def _down(p: PhysicalNic) -> PhysicalNic:
    return p.model_copy(
        update={"link_up": False, "speed_mb": None, "full_duplex": None, "neighbors": []}
    )


def apply_failures(inv: Inventory, failures: Iterable[Failure]) -> Inventory:
    """A copy of the inventory as vCenter would show it after the failures."""
    failures = list(failures)
    down: set[tuple[str, str]] = set()
    for f in failures:
        down |= failed_pnics(f, inv)
    maint = {f.host for f in failures if f.kind == "maintenance"}
    hosts = []
    for h in inv.hosts:
        pnics = [_down(p) if (h.name, p.device) in down else p for p in h.pnics]
        hosts.append(
            h.model_copy(update={"pnics": pnics, "maintenance": h.maintenance or h.name in maint})
        )
    return inv.model_copy(update={"hosts": hosts})


def _transition(key: str, a: Endpoint | None, b: Endpoint | None) -> Transition:
    e = b or a
    assert e is not None
    return Transition(
        key=key,
        label=e.label(),
        kind=e.kind,
        host=e.host,
        marked=e.marked,
        services=e.services,
        before=a.status if a else None,
        after=b.status if b else None,
        vlan_before=a.vlan if a else None,
        vlan_after=b.vlan if b else None,
        portgroup_before=a.portgroup if a else None,
        portgroup_after=b.portgroup if b else None,
        reason=b.reason if b else "deleted",
    )


def compare(before: Connectivity, after: Connectivity) -> Impact:
    """Sort every endpoint into goes dark / loses redundancy / changes VLAN / moves / stays.

    An endpoint already dark (or already degraded) before is not news: it is counted as staying
    so a CI gate fails on what this failure or change does, not on what was broken already.
    """
    dark: list[Transition] = []
    degraded: list[Transition] = []
    vlan: list[Transition] = []
    moved: list[Transition] = []
    stays = 0
    keys = sorted(set(before.endpoints) | set(after.endpoints), key=natural_key)
    for key in keys:
        a, b = before.endpoints.get(key), after.endpoints.get(key)
        t = _transition(key, a, b)
        ra = STATUS_RANK[a.status] if a else None
        rb = STATUS_RANK[b.status] if b else STATUS_RANK["dark"]
        if b is None or (rb == 0 and ra != 0):
            dark.append(t)
        elif ra is not None and rb < ra:
            degraded.append(t)
        elif a is not None and a.vlan != b.vlan:
            vlan.append(t)
        elif a is not None and (a.portgroup, a.switch, a.host) != (b.portgroup, b.switch, b.host):
            moved.append(t)
        else:
            stays += 1
    return Impact(dark=dark, degraded=degraded, vlan_changed=vlan, moved=moved, stays=stays)


def whatif(inv: Inventory, failures: list[Failure]) -> tuple[Impact, Connectivity]:
    """The impact of the failures, and the connectivity after them (for an overlay)."""
    after = analyze(apply_failures(inv, failures))
    return compare(analyze(inv), after), after
