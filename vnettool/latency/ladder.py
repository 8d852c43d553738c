"""The ladder of remedies: cheapest first, one rung at a time, undone in reverse.

A vMotion is the most expensive answer to a slow host: it moves memory across the network
that is already slow. Most latency on a healthy fabric is queueing on an uplink, which the
switch itself can fix: give the affected traffic class more NIOC shares (a), or send the
host's ports out of another uplink (b); pin latency-sensitive appliances' CPU and memory (c).
Only when those leave the host slow are its VMs moved (d).

Each rung is taken only when the host is *unhealthy* by the policy's hysteresis, after the
previous rung had `settle_rounds` probe rounds and `step_cooldown_s` to show an effect. When
the host has been healthy for the exit window the last rung is undone, then the one before,
one per window: a remedy that was needed comes back by the same route. A host that relapses
right after an undo doubles its exit window (up to 16x), so a remedy that is still needed
is not undone and re-applied every window.

This module is pure: inventory + latency view + state + clock → what to do and why. The
calls live in `remedies.py`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from vnettool.models.base import Model
from vnettool.models.inventory import Inventory, VmkernelAdapter
from vnettool.models.latency import HostLatency

Step = Literal["nioc", "uplink", "sensitivity", "vmotion"]
ORDER: tuple[Step, ...] = ("nioc", "uplink", "sensitivity", "vmotion")
DEFAULT_STEPS: tuple[Step, ...] = ("nioc", "uplink", "vmotion")
SHARES = {"low": 25, "normal": 50, "high": 100}
# VMkernel service -> NIOC v3 system traffic class
SERVICE_CLASS = {
    "vmotion": "vmotion",
    "vsan": "vsan",
    "management": "management",
    "faultToleranceLogging": "faultTolerance",
    "vSphereReplication": "hbr",
    "vSphereReplicationNFC": "hbr",
    "vSphereBackupNFC": "backupNfc",
    "nvmeTcp": "nvmetcp",
}
TEAMING_OVERRIDE = "uplinkTeamingOverrideAllowed"


class LadderConfig(Model):
    """Which rungs may be used and how patiently. Latency sensitivity (c) takes CPU and
    memory away from other VMs, so it is off unless named, and needs `sensitive_vms`."""

    steps: list[Step] = Field(default_factory=lambda: list(DEFAULT_STEPS))
    settle_rounds: int = Field(default=3, ge=1)
    step_cooldown_s: float = Field(default=300.0, ge=0)
    exit_window_s: float = Field(default=600.0, ge=0)
    nioc_level: Literal["normal", "high"] = "high"
    nioc_reservation_mbps: int | None = Field(default=None, ge=0)
    nioc_class: str | None = None  # None: the probed adapter's service's class
    sensitive_vms: str | None = None  # glob of latency-sensitive appliance VMs
    cpu_reservation_mhz: int = Field(default=0, ge=0)
    return_vms: bool = True  # undo (d) by moving the VMs back once their cooldown is over

    @field_validator("steps")
    @classmethod
    def _ordered(cls, v: list[Step]) -> list[Step]:
        if len(set(v)) != len(v):
            raise ValueError("a step is listed twice")
        return [s for s in ORDER if s in v]


class AppliedStep(Model):
    """A rung in place on a host: when, why, on what, and what undoes it."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    step: Step
    at: datetime
    rounds: int = 0  # probe rounds measured since
    reason: str
    targets: list[str] = Field(default_factory=list)
    undo: dict[str, Any] = Field(default_factory=dict)


class HostLadder(Model):
    model_config = ConfigDict(extra="forbid", frozen=False)

    applied: list[AppliedStep] = Field(default_factory=list)
    tried: list[Step] = Field(default_factory=list)  # applied or not applicable, this episode
    healthy_since: datetime | None = None
    last_change: datetime | None = None
    last_undo: datetime | None = None
    relapses: int = 0


class RemedyEntry(Model):
    """One line of the remedy journal: a rung applied, undone, skipped or failed."""

    at: datetime
    host: str
    step: Step
    action: Literal["apply", "undo", "skip"]
    outcome: Literal["done", "dry-run", "failed", "not applicable", "kept"]
    reason: str
    targets: list[str] = Field(default_factory=list)
    detail: str | None = None


class NotApplicable(Exception):
    """This rung cannot help this host (and why); the ladder goes on to the next."""


@dataclass
class Action:
    host: str
    kind: Literal["escalate", "undo"]
    reason: str


@dataclass
class StepPlan:
    """What a rung would change on a host, from the inventory alone (dry-run shows it)."""

    step: Step
    host: str
    targets: list[str]
    spec: dict[str, Any]


def exit_window(hl: HostLadder, cfg: LadderConfig) -> float:
    return cfg.exit_window_s * float(2 ** min(hl.relapses, 4))


def observe(
    hl: HostLadder, lat: HostLatency, rounds: int, now: datetime, cfg: LadderConfig
) -> None:
    """Book one cycle's measurements into the host's ladder state."""
    if hl.applied:
        hl.applied[-1].rounds += rounds
    if lat.state == "healthy":
        hl.healthy_since = hl.healthy_since or now
        if not hl.applied:
            hl.tried = []
        return
    hl.healthy_since = None
    if (
        lat.state == "unhealthy"
        and hl.last_undo is not None
        and (now - hl.last_undo).total_seconds() < exit_window(hl, cfg)
    ):
        hl.relapses += 1
        hl.last_undo = None


def decide(
    host: str,
    lat: HostLatency,
    hl: HostLadder,
    cfg: LadderConfig,
    now: datetime,
    recent: Sequence[float] = (),
    enter_ms: float = 10.0,
) -> tuple[Action | None, str]:
    """The next move on this host's ladder, or None and why it waits.

    `recent` are the host's latest raw figures: a rung is climbed only when every figure
    measured since the previous one is still at or over `enter_ms`. The policy keeps the
    host unhealthy until its exit hysteresis is met, which must not count as "stays high".
    """
    if lat.state == "unhealthy":
        pending = [s for s in cfg.steps if s not in hl.tried]
        if not pending:
            return None, "every allowed remedy is in place or not applicable"
        why = lat.reason
        if hl.applied:
            last = hl.applied[-1]
            age = (now - last.at).total_seconds()
            if last.rounds < cfg.settle_rounds:
                return None, f"{last.step}: {last.rounds}/{cfg.settle_rounds} rounds measured since"
            if age < cfg.step_cooldown_s:
                return None, f"{last.step}: applied {age:.0f} s ago (< {cfg.step_cooldown_s:g} s)"
            after = list(recent)[-last.rounds :]
            if after and min(after) < enter_ms:
                return None, (
                    f"{last.step} helped: {after[-1]:.2f} ms < enter {enter_ms:g} ms since; "
                    "waiting for the exit hysteresis"
                )
            why = f"still unhealthy {last.rounds} rounds after {last.step} ({lat.reason})"
        return Action(host, "escalate", why), ""
    if lat.state == "healthy" and hl.applied:
        since: datetime = max(d for d in (hl.healthy_since, hl.last_change) if d is not None)
        held = (now - since).total_seconds()
        window = exit_window(hl, cfg)
        if held < window:
            return None, f"healthy {held:.0f} s of the {window:g} s exit window"
        return Action(
            host, "undo", f"{lat.reason}; healthy {held:.0f} s ≥ exit window {window:g} s"
        ), ""
    return None, ""


# -- what each rung would change (pure, from the inventory) --------------------------------


def probe_vmk(inv: Inventory, host: str, service: str) -> VmkernelAdapter | None:
    return next((a for a in inv.vmknics_of(host) if service in a.services), None)


def plan_nioc(inv: Inventory, host: str, cfg: LadderConfig, service: str) -> StepPlan:
    vmk = probe_vmk(inv, host, service)
    if vmk is None or not vmk.dvs_uuid:
        where = f"{vmk.device} is on a standard switch" if vmk else f"no {service} adapter"
        raise NotApplicable(f"{where}: no NIOC")
    dvs = inv.dvs_by_uuid.get(vmk.dvs_uuid)
    if dvs is None:
        raise NotApplicable(f"switch {vmk.dvs_uuid} of {vmk.device} is not in the inventory")
    if not dvs.nioc_enabled:
        raise NotApplicable(f"NIOC is off on {dvs.name}")
    key = cfg.nioc_class or SERVICE_CLASS.get(service, "management")
    cur = next((t for t in dvs.nioc if t.key == key), None)
    if cur is None:
        raise NotApplicable(f"{dvs.name} has no NIOC traffic class {key}")
    want = SHARES[cfg.nioc_level]
    res = cfg.nioc_reservation_mbps
    if (cur.shares or 0) >= want and (res is None or (cur.reservation_mbps or 0) >= res):
        raise NotApplicable(f"{key} on {dvs.name} already has {cur.shares} shares")
    change = f"shares {cur.level or 'custom'}/{cur.shares} → {cfg.nioc_level}/{want}"
    if res is not None:
        change += f", reservation {cur.reservation_mbps or 0} → {res} Mbit/s"
    return StepPlan(
        "nioc",
        host,
        [f"{dvs.name} NIOC {key}: {change}"],
        {"dvs": dvs.name, "dvs_moref": dvs.moref, "class": key, "level": cfg.nioc_level,
         "shares": want, "reservation_mbps": res},
    )  # fmt: skip


def _host_ports(
    inv: Inventory, host: str, dvs_uuid: str, vmk: VmkernelAdapter
) -> list[dict[str, str]]:
    ports = [
        {"key": vmk.dv_port or "", "pg": vmk.dv_portgroup_key or "", "who": f"{host}/{vmk.device}"}
    ]
    for vm in inv.vms:
        if vm.host != host or (vm.power_state or "poweredOn") != "poweredOn":
            continue
        for nic in vm.nics:
            if nic.dvs_uuid == dvs_uuid and nic.dv_port:
                ports.append(
                    {
                        "key": nic.dv_port,
                        "pg": nic.dv_portgroup_key or "",
                        "who": f"{vm.name}/{nic.label}",
                    }
                )
    return [p for p in ports if p["key"]]


def plan_uplink(inv: Inventory, host: str, service: str) -> StepPlan:
    """Put the next uplink first in the port-level teaming order of the host's ports on the
    probed adapter's switch: the adapter's own port, so the probes see the effect, and the
    host's VMs' ports. Ports of port groups that forbid the override are left alone."""
    vmk = probe_vmk(inv, host, service)
    if vmk is None or not vmk.dvs_uuid:
        raise NotApplicable(f"{vmk.device if vmk else 'the probed adapter'} is not on a DV port")
    dvs = inv.dvs_by_uuid.get(vmk.dvs_uuid)
    if dvs is None:
        raise NotApplicable(f"switch {vmk.dvs_uuid} is not in the inventory")
    member = next((m for m in dvs.hosts if m.host == host), None)
    backed = set(member.pnics.values()) if member else set()
    pg = inv.dvpg_by_key.get(vmk.dv_portgroup_key or "")
    team = (pg.setting.teaming if pg else None) or dvs.default_port.teaming
    order = [*(team.active_uplinks or dvs.default_port.teaming.active_uplinks or dvs.uplink_names),
             *(team.standby_uplinks or [])]  # fmt: skip
    order += [u for u in dvs.uplink_names if u not in order]
    usable = [u for u in order if u in backed]
    if len(usable) < 2:
        raise NotApplicable(f"{host} has {len(usable)} uplink(s) with a pNIC on {dvs.name}")
    new, old = usable[1], usable[0]
    movable: list[dict[str, str]] = []
    refused: list[dict[str, str]] = []
    for p in _host_ports(inv, host, dvs.uuid, vmk):
        allowed = inv.dvpg_by_key.get(p["pg"])
        ok = allowed is not None and allowed.override_allowed.get(TEAMING_OVERRIDE, False)
        (movable if ok else refused).append(p)
    if not movable:
        raise NotApplicable(
            f"port groups of {host}'s ports on {dvs.name} forbid a teaming override"
        )
    targets = [f"{p['who']} port {p['key']}: {old} → {new}" for p in movable]
    targets += [f"{p['who']}: port group forbids a teaming override, left" for p in refused]
    standby = [u for u in usable if u != new]
    return StepPlan(
        "uplink",
        host,
        targets,
        {"dvs": dvs.name, "dvs_moref": dvs.moref, "ports": [p["key"] for p in movable],
         "active": [new], "standby": standby},
    )  # fmt: skip


def plan_sensitivity(inv: Inventory, host: str, cfg: LadderConfig) -> StepPlan:
    if not cfg.sensitive_vms:
        raise NotApplicable("no latency-sensitive appliances named (sensitive_vms)")
    pattern = cfg.sensitive_vms
    vms = [
        v
        for v in inv.vms
        if v.host == host
        and not v.template
        and (v.power_state or "poweredOn") == "poweredOn"
        and fnmatch.fnmatchcase(v.name, pattern)
    ]
    if not vms:
        raise NotApplicable(f"no powered-on VM matching {pattern} on {host}")
    return StepPlan(
        "sensitivity",
        host,
        [f"{v.name}: latency sensitivity high, memory reserved" for v in vms],
        {"vms": [{"moref": v.moref, "name": v.name} for v in vms],
         "cpu_reservation_mhz": cfg.cpu_reservation_mhz},
    )  # fmt: skip


def plan_step(inv: Inventory, step: Step, host: str, cfg: LadderConfig, service: str) -> StepPlan:
    if step == "nioc":
        return plan_nioc(inv, host, cfg, service)
    if step == "uplink":
        return plan_uplink(inv, host, service)
    if step == "sensitivity":
        return plan_sensitivity(inv, host, cfg)
    return StepPlan("vmotion", host, [], {})


def holders(
    ladders: dict[str, HostLadder], step: Step, spec_key: Sequence[tuple[str, Any]]
) -> list[str]:
    """Hosts whose applied `step` has these undo values (a switch-wide NIOC raise is shared)."""
    out = []
    for h, hl in ladders.items():
        for a in hl.applied:
            if a.step == step and all(a.undo.get(k) == v for k, v in spec_key):
                out.append(h)
    return out
