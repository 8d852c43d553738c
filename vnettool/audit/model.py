"""The audit's vocabulary: rules as data, findings with evidence, the site config.

Rules (vnettool/audit/rules/) produce `Finding`s; the workbook (vnettool/audit/workbook/)
and the CLI/TUI only read them. Severity weights and the score follow
../shared/docs/audit-rules.md §2.1 and §3.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import date
from typing import Literal

from pydantic import Field

from vnettool.models.base import Model
from vnettool.models.inventory import Inventory

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
WEIGHT: dict[str, int] = {"critical": 10, "high": 5, "medium": 3, "low": 1, "info": 0}
State = Literal["FAIL", "PASS", "EXCEPTION", "N/A", "UNKNOWN"]
STATES: tuple[State, ...] = ("FAIL", "EXCEPTION", "UNKNOWN", "PASS", "N/A")


def at_least(sev: str, threshold: str) -> bool:
    """`sev` is `threshold` or worse ("never" matches nothing)."""
    if threshold == "never":
        return False
    return SEVERITIES.index(sev) <= SEVERITIES.index(threshold)  # type: ignore[arg-type]


class Allow(Model):
    """An allow-list entry (a waiver): objects matching `pattern` pass as EXCEPTION until
    `expires`; after that date the finding is a FAIL again and says the waiver expired."""

    pattern: str = Field(description="Object name or path glob, e.g. 'DC0/*/sniffer-*'")
    justification: str
    owner: str | None = None
    expires: date | None = None


class RuleOverride(Model):
    enabled: bool | None = None
    severity: Severity | None = None


class AuditConfig(Model):
    """Site-specific settings (YAML); every key optional, defaults per audit-rules.md §2.1."""

    native_vlans: list[int] | None = Field(
        default=None,
        description="the physical switches' native VLANs; unset: VLAN 1 fails, others UNKNOWN",
    )
    reserved_vlans: list[int] | None = Field(
        default=None, description="switch-reserved VLANs (e.g. Cisco 1001-1024, 4094)"
    )
    netflow_collectors: list[str] = Field(
        default_factory=list, description="authorised NetFlow collectors, 'ip:port'"
    )
    mirror_sessions: list[str] = Field(
        default_factory=list, description="authorised port mirroring sessions, 'switch/session'"
    )
    dvs_healthcheck_allowed: list[str] = Field(
        default_factory=list,
        description="distributed switches whose health check may be on (a troubleshooting "
        "window); SEC-18 passes them",
    )
    dvfilter_appliances: list[str] = Field(
        default_factory=list,
        description="IPs allowed in Net.DVFilterBindIpAddress (dvFilter security appliances)",
    )
    dvfilter_names: list[str] = Field(
        default_factory=list,
        description="dvFilter names allowed in VMs' ethernet*.filter*.name (security products)",
    )
    discovery_operation_allowed: list[str] = Field(default_factory=lambda: ["none", "listen"])
    port_usage_pct: int = 90
    ignore_portgroups: list[str] = Field(default_factory=list)
    rules: dict[str, RuleOverride] = Field(default_factory=dict, description="id -> override")
    allow: dict[str, list[Allow]] = Field(
        default_factory=dict, description="rule id (or SEC-01..06 field name) -> waivers"
    )


class Remedy(Model):
    """What to set for a failing finding (vnettool/audit/remedy.py): the desired-state snippet
    and the esxcli / PowerCLI commands doing the same, filled with the object's names.
    `applies`: the snippet has no <PLACEHOLDER> left to fill (a VLAN, a pNIC) and nothing
    outside vSphere to change, so `vnettool apply` of it alone fixes the finding."""

    yaml: str = ""
    esxcli: str = ""
    powercli: str = ""
    note: str = ""
    applies: bool = True


class Finding(Model):
    """One rule evaluated on one object, with the evidence that decided it."""

    rule_id: str
    severity: Severity
    state: State
    title: str
    object_type: str  # model name: Host, StandardPortGroup, DistributedPortGroup, ...
    object: str  # path: datacenter/cluster/host/switch/portgroup (what an admin searches for)
    object_id: str = ""  # moref, or host moref + key for host-local objects
    host_or_cluster: str | None = None
    switch: str | None = None
    property_path: str = ""  # the API path that decided
    actual: str = ""
    expected: str = ""
    detail: str = ""
    remediation: str = ""
    source: str = ""
    exception: str | None = None  # waiver pattern + justification when state is EXCEPTION
    controls: list[str] = Field(default_factory=list)  # benchmark controls the rule decides
    remedy: Remedy | None = None  # FAIL / EXCEPTION: what to set (the runner fills it)

    @property
    def finding_id(self) -> str:
        """Stable between runs (rule, object, property), so two workbooks can be diffed."""
        key = f"{self.rule_id}|{self.object_id or self.object}|{self.property_path}"
        return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]


Check = Callable[[Inventory, AuditConfig], Iterable[Finding]]


class Rule(Model):
    """A rule as data; `check` is a small pure function over the inventory snapshot."""

    model_config = Model.model_config | {"arbitrary_types_allowed": True}

    id: str
    title: str
    category: Literal["SEC", "HC"]
    severity: Severity
    scope: str  # object kinds evaluated
    reads: str  # property paths, for the Rules sheet
    logic: str  # one line
    source: str
    remediation: str
    enabled: bool = True
    controls: list[str] = Field(default_factory=list)  # STIG / SCG / CIS labels
    check: Check = Field(exclude=True)


def score(findings: Iterable[Finding]) -> tuple[int, str]:
    """100 * (1 - sum(weight of FAIL) / sum(weight of evaluated)); EXCEPTION counts as pass, UNKNOWN and
    N/A are left out. Grade A ≥ 90, B ≥ 75, C ≥ 60, else D; then capped: any high FAIL makes
    it C at best and any critical FAIL a D, because many passing low rules must not let a
    manager read "A" over an open high-severity hole."""
    failed = evaluated = 0
    worst = len(SEVERITIES)
    for f in findings:
        if f.state in ("UNKNOWN", "N/A"):
            continue
        w = WEIGHT[f.severity]
        evaluated += w
        if f.state == "FAIL":
            failed += w
            worst = min(worst, SEVERITIES.index(f.severity))
    value = 100 if evaluated == 0 else round(100 * (1 - failed / evaluated))
    grade = "A" if value >= 90 else "B" if value >= 75 else "C" if value >= 60 else "D"
    cap = {0: "D", 1: "C"}.get(worst, "A")
    return value, max(grade, cap)
