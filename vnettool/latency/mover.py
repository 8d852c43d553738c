"""Latency-aware vMotion: which VMs leave an unhealthy host, where they go, and the journal.

Planning is pure (inventory + host latency view + persisted state + clock → decisions), so
every rule is unit-testable and `--dry-run` shows exactly what a real run would do. The mover
only ever *evacuates* unhealthy hosts; it never pulls VMs towards a host because it got
better, so a recovering host sees no traffic back within the cooldowns.
"""

from __future__ import annotations

import fnmatch
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ConfigDict, Field

from vnettool import paths, userfile
from vnettool.errors import ConfigError, VnetError
from vnettool.latency.ladder import HostLadder, RemedyEntry
from vnettool.latency.policy import HostSeries, PolicyConfig
from vnettool.models.base import Model
from vnettool.models.inventory import Inventory, StandardPortGroup, VirtualMachine
from vnettool.models.latency import HostLatency, JournalEntry, LatencySample, MoveDecision

# (vm, destination host) -> a veto message, or None when the server sees no problem.
CheckFn = Callable[[VirtualMachine, str], str | None]
# (vm, destination host) -> None, raises on failure.
RelocateFn = Callable[[VirtualMachine, str], None]


class MoverConfig(Model):
    vm_pattern: str | None = None  # glob on VM names; None = every powered-on VM
    max_moves_per_cycle: int = Field(default=4, ge=0)
    max_per_destination: int = Field(default=2, ge=1)
    max_concurrent: int = Field(default=2, ge=1)
    vm_cooldown_s: float = Field(default=1800.0, ge=0)
    host_cooldown_s: float = Field(default=600.0, ge=0)
    max_vms_per_host: int | None = Field(default=None, ge=1)
    service: str = "vmotion"
    # vSphere supports vMotion up to 150 ms round trip between the vMotion vmknics
    rtt_budget_ms: float = Field(default=150.0, gt=0)


# (source host, target host) -> measured round trip in ms of the vMotion vmknics' path,
# None when nothing came back
Paths = Mapping[tuple[str, str], float | None]


def path_rtts(samples: Sequence[LatencySample]) -> dict[tuple[str, str], float | None]:
    """The latest round's per-path round trips (later samples of a pair win)."""
    out: dict[tuple[str, str], float | None] = {}
    for s in samples:
        if s.target_host:
            ok = s.received > 0 and s.rtt_avg_us is not None
            out[(s.host, s.target_host)] = s.rtt_avg_us / 1000.0 if ok and s.rtt_avg_us else None
    return out


def budget_veto(paths: Paths | None, src: str, dest: str, budget_ms: float) -> str | None:
    """Why the src↔dest path is outside the vMotion round-trip budget (None: within, or not
    measured — the host figures have judged it already)."""
    if not paths:
        return None
    measured = [paths[k] for k in ((src, dest), (dest, src)) if k in paths]
    if not measured:
        return None
    if any(m is None for m in measured):
        return f"vMotion path {src}↔{dest}: no reply"
    worst = max(m for m in measured if m is not None)
    if worst > budget_ms:
        return f"vMotion round-trip budget: {worst:.1f} ms > {budget_ms:g} ms on {src}↔{dest}"
    return None


class VmMove(Model):
    at: datetime
    source: str
    destination: str


class RebalanceState(Model):
    """What must survive between `rebalance --once` runs: series, cooldowns, journal."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    server: str = ""
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    hosts: dict[str, HostSeries] = Field(default_factory=dict)
    moves: dict[str, VmMove] = Field(default_factory=dict)  # VM moref -> last move
    journal: list[JournalEntry] = Field(default_factory=list)
    check_relocate: bool | None = None  # None: not tried yet
    ladder: dict[str, HostLadder] = Field(default_factory=dict)  # host -> rungs in place
    remedies: list[RemedyEntry] = Field(default_factory=list)  # the ladder's journal

    @classmethod
    def load(cls, path: Path) -> RebalanceState:
        """The saved state, a fresh one if there is none; anything else is a ConfigError."""
        if not os.path.lexists(path):
            return cls()
        text = userfile.read_text(path, what="rebalance state")
        try:
            return cls.model_validate_json(text)
        except ValueError as exc:  # JSON and pydantic errors alike
            first = str(exc).splitlines()[0]
            raise ConfigError(
                f"{path}: not a rebalance state file ({first}); move it away or pass "
                "another --state"
            ) from None

    @staticmethod
    def default_path(server_key: str) -> Path:
        """Where the state of one vCenter lives unless told otherwise (CLI and playbooks share it)."""
        return paths.rebalance_state(server_key)

    def save(self, path: Path) -> None:
        userfile.write_text(
            path, self.model_dump_json(indent=1), what="rebalance state", make_parents=True
        )


def vm_networks_missing(inv: Inventory, vm: VirtualMachine, dest: str) -> list[str]:
    """The VM's networks the destination cannot offer as the same network.

    A DV port group is one object of its switch: the destination must be a member of that
    switch. A standard port group exists per host, and a name proves nothing: the one on the
    destination must carry the same VLAN with the same security and shaping policy as the
    one the VM is on now, or the VM would land on another network under the same name.
    """
    missing: list[str] = []
    here = {p.name: p for p in inv.portgroups_of(vm.host or "")}
    there = {p.name: p for p in inv.portgroups_of(dest)}
    for nic in vm.nics:
        if nic.dvs_uuid or nic.dv_portgroup_key:
            dvs = inv.dvs_by_uuid.get(nic.dvs_uuid or "")
            if dvs is None:
                pg = inv.dvpg_by_key.get(nic.dv_portgroup_key or "")
                dvs = inv.dvs_by_name.get(pg.dvs) if pg else None
            if dvs is None or dest not in {m.host for m in dvs.hosts}:
                sw = dvs.name if dvs else nic.dvs_uuid
                missing.append(f"{nic.label}: {dest} is not a member of DVS {sw} ({nic.network})")
        elif nic.network and nic.network not in there:
            missing.append(f"{nic.label}: no standard port group '{nic.network}' on {dest}")
        elif nic.network and (why := _differs(here.get(nic.network), there[nic.network])):
            missing.append(f"{nic.label}: port group '{nic.network}' on {dest} {why}")
    return missing


def _differs(src: StandardPortGroup | None, dst: StandardPortGroup) -> str | None:
    """Why `dst` is not the same network as `src` (None: same VLAN and policy)."""
    if src is None:
        return None  # the source side is unknown (a VM on a host outside the inventory)
    if src.vlan_id != dst.vlan_id:
        return f"is on VLAN {dst.vlan_id}, not {src.vlan_id}"
    for part in ("security", "shaping"):
        if getattr(src.effective, part) != getattr(dst.effective, part):
            return f"has another {part} policy than on {src.host}"
    return None


def has_vmotion_vmknic(inv: Inventory, host: str, service: str = "vmotion") -> bool:
    return any(service in a.services for a in inv.vmknics_of(host))


def select_vms(inv: Inventory, host: str, pattern: str | None) -> list[VirtualMachine]:
    """Powered-on, non-template VMs of the host matching the pattern; most NICs first."""
    vms = [
        v
        for v in inv.vms
        if v.host == host
        and not v.template
        and (v.power_state or "poweredOn") == "poweredOn"
        and (pattern is None or fnmatch.fnmatchcase(v.name, pattern))
    ]
    return sorted(vms, key=lambda v: (-sum(1 for n in v.nics if n.connected), v.name))


def plan(
    inv: Inventory,
    view: Mapping[str, HostLatency],
    state: RebalanceState,
    cfg: MoverConfig,
    now: datetime,
    check: CheckFn | None = None,
    paths: Paths | None = None,
) -> list[MoveDecision]:
    """Decide the moves of one cycle; every VM considered gets a decision with its reason.
    `paths` (the last round's per-path round trips) vetoes destinations outside the vMotion
    round-trip budget."""
    decisions: list[MoveDecision] = []
    hosts = {h.name: h for h in inv.hosts}
    load = {h: sum(1 for v in inv.vms if v.host == h) for h in hosts}
    arrivals: dict[str, int] = {}
    budget = cfg.max_moves_per_cycle
    unhealthy = sorted(
        (h for h, lat in view.items() if lat.state == "unhealthy" and h in hosts),
        key=lambda h: -(view[h].smoothed_ms or 0.0),
    )
    for src in unhealthy:
        src_lat = view[src]
        for vm in select_vms(inv, src, cfg.vm_pattern):
            base = {
                "vm": vm.name,
                "vm_moref": vm.moref,
                "source": src,
                "source_ms": src_lat.smoothed_ms,
            }
            cooling = _vm_cooldown(state, cfg, vm.moref, now)
            if cooling or budget <= 0:
                why = cooling or f"cap of {cfg.max_moves_per_cycle} moves per cycle reached"
                decisions.append(MoveDecision(**base, action="skip", reason=why))  # type: ignore[arg-type]
                continue
            dest, rejected = _destination(
                inv, vm, src, view, state, cfg, now, load, arrivals, check, paths
            )
            if dest is None:
                decisions.append(
                    MoveDecision(
                        **base,  # type: ignore[arg-type]
                        action="skip",
                        reason="no destination passes the pre-checks",
                        rejected=rejected,
                    )
                )
                continue
            budget -= 1
            load[dest] += 1
            load[src] -= 1
            arrivals[dest] = arrivals.get(dest, 0) + 1
            decisions.append(
                MoveDecision(
                    **base,  # type: ignore[arg-type]
                    destination=dest,
                    destination_ms=view[dest].smoothed_ms,
                    action="move",
                    reason=f"{src} unhealthy ({src_lat.reason}); {dest} is the healthy host with "
                    f"the lowest latency ({view[dest].smoothed_ms or 0:.2f} ms) that has the "
                    f"VM's networks",
                    rejected=rejected,
                )
            )
    return decisions


def _vm_cooldown(state: RebalanceState, cfg: MoverConfig, moref: str, now: datetime) -> str:
    """Why the VM may not move again yet ("" when it may): its last move was too recent."""
    last = state.moves.get(moref)
    if not last or now - last.at >= timedelta(seconds=cfg.vm_cooldown_s):
        return ""
    left = (last.at + timedelta(seconds=cfg.vm_cooldown_s) - now).total_seconds()
    return (
        f"VM cooldown: moved {last.source}→{last.destination} "
        f"{(now - last.at).total_seconds():.0f} s ago ({left:.0f} s left)"
    )


def _destination(
    inv: Inventory,
    vm: VirtualMachine,
    src: str,
    view: Mapping[str, HostLatency],
    state: RebalanceState,
    cfg: MoverConfig,
    now: datetime,
    load: dict[str, int],
    arrivals: dict[str, int],
    check: CheckFn | None,
    paths: Paths | None,
) -> tuple[str | None, dict[str, str]]:
    """The best host of the VM's cluster for it (lowest latency, then least loaded) that
    passes the pre-checks and vCenter's CheckRelocate, with why every other host was not."""
    rejected: dict[str, str] = {}
    candidates: list[tuple[float, int, str]] = []
    hosts = {h.name: h for h in inv.hosts}
    cluster = hosts[src].cluster
    for name, h in sorted(hosts.items()):
        if name == src or h.cluster != cluster:
            continue
        why = _reject(inv, vm, name, view, state, cfg, now, load, arrivals, src) or budget_veto(
            paths, src, name, cfg.rtt_budget_ms
        )
        if why:
            rejected[name] = why
            continue
        candidates.append((view[name].smoothed_ms or 0.0, load[name], name))
    for _, _, name in sorted(candidates):
        veto = check(vm, name) if check else None
        if veto:
            rejected[name] = f"CheckRelocate: {veto}"
            continue
        return name, rejected
    return None, rejected


def _reject(
    inv: Inventory,
    vm: VirtualMachine,
    name: str,
    view: Mapping[str, HostLatency],
    state: RebalanceState,
    cfg: MoverConfig,
    now: datetime,
    load: Mapping[str, int],
    arrivals: Mapping[str, int],
    src: str,
) -> str | None:
    h = inv.host_by_name[name]
    if h.connection_state != "connected":
        return f"host is {h.connection_state}"
    if h.maintenance:
        return "host is in maintenance mode"
    lat = view.get(name)
    if lat is None or lat.state != "healthy":
        return f"latency {lat.state if lat else 'not measured'}"
    series = state.hosts.get(name)
    if (
        series
        and series.recovered_at
        and now - series.recovered_at < timedelta(seconds=cfg.host_cooldown_s)
    ):
        ago = (now - series.recovered_at).total_seconds()
        return f"host cooldown: recovered {ago:.0f} s ago (< {cfg.host_cooldown_s:g} s)"
    last = state.moves.get(vm.moref)
    if last and last.source == name and now - last.at < timedelta(seconds=cfg.vm_cooldown_s):
        return "the VM left this host within the cooldown"
    if not has_vmotion_vmknic(inv, name, cfg.service):
        return f"no VMkernel adapter with the {cfg.service} service"
    if not has_vmotion_vmknic(inv, src, cfg.service):
        return f"source {src} has no VMkernel adapter with the {cfg.service} service"
    missing = vm_networks_missing(inv, vm, name)
    if missing:
        return "; ".join(missing)
    if arrivals.get(name, 0) >= cfg.max_per_destination:
        return f"already receives {cfg.max_per_destination} VMs this cycle"
    if cfg.max_vms_per_host is not None and load[name] >= cfg.max_vms_per_host:
        return f"capacity: {load[name]} VMs ≥ {cfg.max_vms_per_host}"
    return None


def execute(
    decisions: Sequence[MoveDecision],
    relocate: RelocateFn,
    inv: Inventory,
    state: RebalanceState,
    cfg: MoverConfig,
    clock: Callable[[], datetime],
    dry_run: bool = False,
) -> list[JournalEntry]:
    """Run the `move` decisions, at most `max_concurrent` at once; journal every one."""
    moves = [d for d in decisions if d.action == "move" and d.destination]
    vms = {v.moref: v for v in inv.vms}
    entries: list[JournalEntry] = []
    lock = threading.Lock()

    def one(d: MoveDecision) -> None:
        at = clock()
        t0 = time.perf_counter()
        assert d.destination is not None
        err: str | None = None
        if not dry_run:
            try:
                relocate(vms[d.vm_moref or ""], d.destination)
            except VnetError as exc:
                err = str(exc)
        entry = JournalEntry(
            at=at,
            vm=d.vm,
            source=d.source,
            destination=d.destination,
            reason=d.reason,
            outcome="dry-run" if dry_run else ("failed" if err else "moved"),
            error=err,
            duration_s=round(time.perf_counter() - t0, 3),
        )
        with lock:
            entries.append(entry)

    with ThreadPoolExecutor(max_workers=cfg.max_concurrent, thread_name_prefix="vmotion") as pool:
        list(pool.map(one, moves))
    if not dry_run:
        for e, d in ((e, d) for e in entries for d in moves if d.vm == e.vm):
            if e.outcome == "moved" and d.vm_moref:
                state.moves[d.vm_moref] = VmMove(
                    at=e.at, source=e.source, destination=e.destination
                )
        state.journal.extend(sorted(entries, key=lambda e: (e.at, e.vm)))
    return sorted(entries, key=lambda e: (e.at, e.vm))


def move_one(
    vm: VirtualMachine,
    destination: str,
    relocate: RelocateFn,
    inv: Inventory,
    state: RebalanceState,
    clock: Callable[[], datetime],
    reason: str = "manual vMotion",
) -> JournalEntry:
    """A vMotion a person asked for (the TUI's vMotion screen), run like the mover's own: it
    lands in the journal and starts the VM's cooldown, so the next rebalance cycle neither
    moves the VM straight back nor loses track of who moved it."""
    decision = MoveDecision(
        vm=vm.name,
        vm_moref=vm.moref,
        source=vm.host or "",
        destination=destination,
        action="move",
        reason=reason,
    )
    [entry] = execute([decision], relocate, inv, state, MoverConfig(max_concurrent=1), clock)
    return entry


def journal_json(entries: Sequence[JournalEntry]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in entries], indent=1)
