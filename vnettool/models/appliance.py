"""Status of a deployed network appliance, shared by the appliance manager and the audit.

It lives in models (not in `vnettool.appliances`) because the audit workbook's Appliances tab
and the TUI show it, and audit and appliances are sibling layers that must not import each
other: the caller (CLI, playbook, TUI) computes the statuses and hands them to the workbook.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from vnettool.models.base import Identified, Model

Health = Literal["ok", "failed", "unknown"]


class ApplianceNic(Model):
    role: Literal["management", "unprotected", "protected"]
    label: str
    network: str | None = None
    expected_network: str | None = None
    connected: bool = False

    @property
    def wired(self) -> bool:
        return self.connected and self.network == self.expected_network


class ApplianceStatus(Identified):
    """One appliance VM: where it runs, whether it is healthy and compliant with its definition."""

    _identifiers: ClassVar[tuple[str, ...]] = ("definition", "vm")

    definition: str
    vm: str
    role: str = ""
    host: str | None = None
    expected_host: str | None = None
    power_state: str | None = None
    health: Health = "unknown"
    health_detail: str = ""
    pinned: bool = False
    nics: list[ApplianceNic] = Field(default_factory=list)
    cpu_reservation_mhz: int | None = None
    memory_reservation_mb: int | None = None
    reservation_compliant: bool = False
    latency_sensitivity: str | None = None
    latency_compliant: bool = False
    protected_vms: int = 0

    @property
    def wiring_compliant(self) -> bool:
        return all(n.wired for n in self.nics)

    @property
    def compliant(self) -> bool:
        return (
            self.pinned
            and self.wiring_compliant
            and self.reservation_compliant
            and self.latency_compliant
            and self.host == self.expected_host
        )
