"""Connectivity and impact: where each VM NIC and VMkernel adapter reaches the wire, and what
a failure or a change does to it.

These are plain values so that a what-if answer, a plan's blast radius and a lab observation
can be compared field by field, saved as JSON and rendered by the CLI, the TUI or Graphviz
without any of them knowing how the paths were worked out (vnettool.impact does that).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vnettool.models.base import Model

# ok: two or more live physical paths on different neighbour switches (or neighbours unknown);
# degraded: it still passes traffic, but one more failure cuts it; dark: no live path at all.
Status = Literal["ok", "degraded", "dark"]
STATUS_RANK: dict[str, int] = {"dark": 0, "degraded": 1, "ok": 2}

# vmknic services that make an adapter critical: losing them loses the host or vMotion.
MARKED_SERVICES = ("management", "vmotion")


class PnicHop(Model):
    """One physical NIC behind an uplink, and what it is cabled to (CDP/LLDP)."""

    pnic: str
    link_up: bool
    switch: str | None = None
    port: str | None = None


class UplinkHop(Model):
    """One uplink of the teaming order: a vmnic (vSS), an uplink port or a LAG (vDS)."""

    uplink: str
    role: Literal["active", "standby"]
    lag: bool = False
    pnics: list[PnicHop] = Field(default_factory=list)

    @property
    def alive(self) -> bool:
        return any(p.link_up for p in self.pnics)


class Endpoint(Model):
    """A VM NIC or VMkernel adapter with its path to the physical network."""

    kind: Literal["vm_nic", "vmknic"]
    key: str  # stable across hosts: "vm:NAME/LABEL" or "vmk:HOST/DEVICE"
    owner: str  # VM name, or host name for a vmknic
    name: str  # NIC label or vmk device
    host: str  # where its traffic leaves (the destination host for an evacuated VM)
    cluster: str | None = None
    services: list[str] = Field(default_factory=list)
    portgroup: str | None = None
    switch: str | None = None
    distributed: bool = False
    vlan: str = "none"
    uplinks: list[UplinkHop] = Field(default_factory=list)
    live_pnics: list[str] = Field(default_factory=list)
    status: Status = "dark"
    reason: str = ""

    @property
    def marked(self) -> bool:
        """Management and vMotion adapters: the ones an admin must never lose by accident."""
        return any(s in MARKED_SERVICES for s in self.services)

    def label(self) -> str:
        if self.kind == "vmknic":
            extra = f" [{', '.join(self.services)}]" if self.services else ""
            return f"{self.owner} {self.name}{extra}"
        return f"{self.owner} {self.name}"


class Connectivity(Model):
    """Every endpoint of an inventory, by key."""

    endpoints: dict[str, Endpoint] = Field(default_factory=dict)


class Transition(Model):
    """One endpoint before and after a failure or a change."""

    key: str
    label: str
    kind: Literal["vm_nic", "vmknic"]
    host: str
    marked: bool = False
    services: list[str] = Field(default_factory=list)
    before: Status | None = None  # None: did not exist before
    after: Status | None = None  # None: gone after (deleted)
    vlan_before: str | None = None
    vlan_after: str | None = None
    portgroup_before: str | None = None
    portgroup_after: str | None = None
    reason: str = ""


class Impact(Model):
    """What goes dark, what loses redundancy, what changes VLAN or moves, and what stays."""

    dark: list[Transition] = Field(default_factory=list)
    degraded: list[Transition] = Field(default_factory=list)
    vlan_changed: list[Transition] = Field(default_factory=list)
    moved: list[Transition] = Field(default_factory=list)
    stays: int = 0
    notes: list[str] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.dark or self.degraded or self.vlan_changed or self.moved or self.notes)

    def summary(self) -> str:
        """One line, e.g. '2 go dark (1 management), 3 lose redundancy, 4 move'."""
        parts = []
        for items, verb in (
            (self.dark, "go dark"),
            (self.degraded, "lose redundancy"),
            (self.vlan_changed, "change VLAN"),
            (self.moved, "move"),
        ):
            if items:
                marked = [t for t in items if t.marked]
                extra = f" ({len(marked)} management/vMotion)" if marked else ""
                parts.append(f"{len(items)} {verb}{extra}")
        return ", ".join(parts + self.notes) or "no VM NIC or VMkernel adapter affected"
