"""Benchmark controls: which STIG / SCG / CIS control each audit rule checks.

Auditors ask "are we compliant with the DISA STIG for vSphere 8", not "is promiscuous mode
off"; this table turns rule results into control results. It is data, copied from
../shared/docs/field-research.md (Q2): STIG IDs and V-IDs from DISA's vSphere 8.0 V2R3 and
7.0 V1R4 STIGs, SCG 8 IDs from VMware's controls spreadsheet, CIS numbers from community
implementations — CIS renumbers between benchmark versions, so every CIS label says to check
it against the licensed benchmark. A control with no rule is listed too, so `--profile` can
name what vnettool does not check rather than imply it passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from vnettool.audit.model import Finding
from vnettool.models.base import Model

ProfileName = Literal["stig-8", "stig-7", "scg-8", "cis-esxi-8", "cis-esxi-7"]
PROFILES: dict[str, str] = {
    "stig-8": "DISA STIG VMware vSphere 8.0 (ESXi, vCenter, VM)",
    "stig-7": "DISA STIG VMware vSphere 7.0 (ESXi, vCenter)",
    "scg-8": "VMware vSphere Security Configuration Guide 8",
    "cis-esxi-8": "CIS VMware ESXi 8 benchmark (check numbers against your benchmark version)",
    "cis-esxi-7": "CIS VMware ESXi 7 benchmark (check numbers against your benchmark version)",
}
CIS_NOTE = "check against your CIS benchmark version"


class Control(Model):
    """One benchmark control and the rules that decide it (none: not checked by vnettool)."""

    profile: ProfileName
    id: str
    vid: str | None = None
    title: str
    rules: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the control reads next to a finding: `STIG-8 ESXI-80-000216 (V-258771)`."""
        head = f"{self.profile.upper()} {self.id}"
        if self.vid:
            head += f" ({self.vid})"
        if self.profile.startswith("cis"):
            head += f" [{CIS_NOTE}]"
        return head


# (rules, title, STIG 8 "ID V-ID", STIG 7 IDs, SCG 8 id, CIS ESXi 8, CIS ESXi 7); "" = none.
_TABLE: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("SEC-03", "vSS forged transmits reject", "ESXI-80-000216 V-258771", "ESXI-70-000059",
     "esxi-8.network-reject-forged-transmit-standardswitch", "5.6", "7.1"),
    ("SEC-02", "vSS MAC changes reject", "ESXI-80-000217 V-258772", "ESXI-70-000060",
     "esxi-8.network-reject-mac-changes-standardswitch", "5.7", "7.2"),
    ("SEC-01", "vSS promiscuous mode reject", "ESXI-80-000218 V-258773", "ESXI-70-000061",
     "esxi-8.network-reject-promiscuous-mode-standardswitch", "5.8", "7.3"),
    ("SEC-06", "dvPG forged transmits reject", "VCSA-80-000268 V-258935",
     "VCSA-70-000268 V-256348", "vcenter-8.network-reject-forged-transmit-dvportgroup", "", ""),
    ("SEC-05", "dvPG MAC changes reject", "VCSA-80-000269 V-258936", "VCSA-70-000269",
     "vcenter-8.network-reject-mac-changes-dvportgroup", "", ""),
    ("SEC-04", "dvPG promiscuous mode reject", "VCSA-80-000270 V-258937", "VCSA-70-000270",
     "vcenter-8.network-reject-promiscuous-mode-dvportgroup", "", ""),
    ("SEC-19", "Guest BPDU filter on (Net.BlockGuestBPDU=1)", "ESXI-80-000215 V-258770",
     "ESXI-70-000058", "esxi-8.network-bpdu", "5.4", ""),
    ("SEC-20", "dvFilter API bound only to an authorised appliance",
     "ESXI-80-000219 V-258774", "ESXI-70-000062", "esxi-8.network-dvfilter", "5.3", ""),
    ("SEC-28", "dvFilter per VM only when valid (ethernet*.filter*.name)", "VMCH-80-000200 V-258713",
     "", "vm-8.dvfilter", "", ""),
    ("SEC-08", "No VGT (VLAN 4095) on vSS port groups unless documented",
     "ESXI-80-000220 V-258775", "ESXI-70-000064", "esxi-8.network-vgt", "", "7.6"),
    ("SEC-09", "dvPG VLAN trunking only if authorised", "VCSA-80-000273 V-258940",
     "VCSA-70-000273", "vcenter-8.network-vgt", "", ""),
    ("SEC-10", "Port groups not on the physical native VLAN", "VCSA-80-000272 V-258939",
     "VCSA-70-000272 ESXI-70-000063", "", "", "7.4"),
    ("SEC-11", "Port groups not on switch-reserved VLANs", "VCSA-80-000274 V-258941",
     "VCSA-70-000274 ESXI-70-000065", "", "", "7.5"),
    ("SEC-12", "VM port groups tagged (no VLAN 0)", "", "", "", "", "7.6"),
    ("SEC-15", "NetFlow only to authorised collectors", "VCSA-80-000271 V-258938",
     "VCSA-70-000271", "vcenter-8.network-restrict-netflow-usage", "", "7.7"),
    ("SEC-16", "No unauthorised port mirroring", "VCSA-80-000300 V-258965", "",
     "vcenter-8.network-restrict-port-mirroring", "", ""),
    ("SEC-13", "No port-level overrides", "VCSA-80-000301 V-258966", "",
     "vcenter-8.network-restrict-port-level-overrides", "", "7.8"),
    ("SEC-14", "Reset port configuration at disconnect", "", "",
     "vcenter-8.network-reset-port", "", "7.8"),
    ("SEC-17", "CDP/LLDP not advertising on vDS", "VCSA-80-000299 V-258964", "",
     "vcenter-8.network-restrict-discovery-protocol", "", ""),
    ("SEC-18", "vDS health check off except while troubleshooting", "VCSA-80-000267 V-258934",
     "VCSA-70-000267 V-256347", "", "", ""),
    ("SEC-07", "MAC learning off unless intended", "", "", "vcenter-8.network-mac-learning",
     "", ""),
    ("SEC-25", "Network I/O Control enabled", "VCSA-80-000110 V-258922",
     "VCSA-70-000110 V-256336", "", "", ""),
    ("SEC-22", "vMotion traffic isolated", "ESXI-80-000160 V-258748", "ESXI-70-000048", "", "",
     ""),
    ("SEC-21", "Management VMkernel isolated", "ESXI-80-000198 V-258758", "",
     "esxi-8.vmk-management", "5.11", ""),
    ("SEC-23", "IP storage isolated", "ESXI-80-000199 V-258759", "ESXI-70-000050", "", "", ""),
    ("SEC-23", "IP-based storage on an isolated network (vCenter)", "VCSA-80-000279 V-258946",
     "VCSA-70-000279", "", "", ""),
    ("SEC-27", "BMC virtual NIC off (Net.BMCNetworkEnable=0)", "ESXI-80-000250 V-265977", "",
     "", "5.5", ""),
    ("", "Host firewall: incoming default deny", "ESXI-80-000239", "",
     "esxi-8.firewall-incoming-default", "5.1", ""),
    ("", "Host firewall: services restricted to authorised networks", "ESXI-80-000214", "",
     "esxi-8.firewall-restrict-access", "5.2", ""),
    ("SEC-29", "vMotion encryption enabled (opportunistic or required)", "VMCH-80-000203 V-258716", "", "vm-8.vmotion-encrypted",
     "", ""),
)  # fmt: skip


def _split(cell: str) -> list[tuple[str, str | None]]:
    """'ESXI-80-000216 V-258771' -> [(ESXI-80-000216, V-258771)]; two IDs -> two controls."""
    out: list[tuple[str, str | None]] = []
    for word in cell.split():
        if word.startswith("V-") and out:
            out[-1] = (out[-1][0], word)
        else:
            out.append((word, None))
    return out


def _build() -> list[Control]:
    out: dict[tuple[str, str], Control] = {}
    for rules, title, stig8, stig7, scg8, cis8, cis7 in _TABLE:
        cells: tuple[tuple[ProfileName, str], ...] = (
            ("stig-8", stig8),
            ("stig-7", stig7),
            ("scg-8", scg8),
            ("cis-esxi-8", cis8),
            ("cis-esxi-7", cis7),
        )
        for profile, cell in cells:
            for cid, vid in _split(cell):
                key = (profile, cid)
                prev = out.get(key)  # one control, checked by more than one rule (CIS 7.8)
                have = prev.rules if prev else ()
                more = tuple(r for r in rules.split() if r not in have)
                out[key] = Control(
                    profile=profile,
                    id=cid,
                    vid=vid or (prev.vid if prev else None),
                    title=prev.title if prev else title,
                    rules=have + more,
                )
    return list(out.values())


CONTROLS: list[Control] = _build()


def controls_of(rule_id: str) -> list[Control]:
    """Every control (all profiles) that `rule_id` decides, in profile order."""
    return [c for c in CONTROLS if rule_id in c.rules]


def labels(rule_id: str) -> list[str]:
    return [c.label for c in controls_of(rule_id)]


def profile_controls(profile: str) -> list[Control]:
    return [c for c in CONTROLS if c.profile == profile]


def profile_rules(profile: str) -> set[str]:
    return {r for c in profile_controls(profile) for r in c.rules}


def uncovered(profile: str, rule_ids: Iterable[str] | None = None) -> list[Control]:
    """Controls of `profile` no rule (of `rule_ids`, default: any) checks."""
    have = set(rule_ids) if rule_ids is not None else None
    return [
        c
        for c in profile_controls(profile)
        if not c.rules or (have is not None and not set(c.rules) & have)
    ]


ControlState = Literal["PASS", "FAIL", "UNKNOWN", "NOT CHECKED"]


class ControlResult(Model):
    """A control's verdict over its rules' findings: FAIL if any object fails; UNKNOWN if
    none fails but something could not be judged (or nothing was); a waived FAIL passes and
    is counted in `waived` with its waiver text."""

    control: Control
    state: ControlState
    failed: int = 0
    waived: int = 0
    unknown: int = 0
    passed: int = 0
    waivers: list[str] = []


def control_results(
    profile: str, findings: Sequence[Finding], enabled: Iterable[str] | None = None
) -> list[ControlResult]:
    """Each control of `profile` judged over `findings`; rules not in `enabled` (disabled in
    the site config) leave their controls NOT CHECKED."""
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    on = set(enabled) if enabled is not None else None
    out: list[ControlResult] = []
    for c in profile_controls(profile):
        rules = [r for r in c.rules if on is None or r in on]
        if not rules:
            out.append(ControlResult(control=c, state="NOT CHECKED"))
            continue
        fs = [f for r in rules for f in by_rule.get(r, [])]
        n = {
            s: sum(1 for f in fs if f.state == s) for s in ("FAIL", "EXCEPTION", "UNKNOWN", "PASS")
        }
        waivers = sorted({f.exception for f in fs if f.state == "EXCEPTION" and f.exception})
        judged = n["FAIL"] + n["EXCEPTION"] + n["PASS"]
        state: ControlState = (
            "FAIL" if n["FAIL"] else "UNKNOWN" if n["UNKNOWN"] or not judged else "PASS"
        )
        out.append(
            ControlResult(
                control=c,
                state=state,
                failed=n["FAIL"],
                waived=n["EXCEPTION"],
                unknown=n["UNKNOWN"],
                passed=n["PASS"],
                waivers=waivers,
            )
        )
    return out


def compliance_pct(results: Sequence[ControlResult]) -> int | None:
    """Passing controls out of the controls judged (PASS + FAIL); None when none was."""
    passed = sum(1 for r in results if r.state == "PASS")
    failed = sum(1 for r in results if r.state == "FAIL")
    return None if passed + failed == 0 else round(100 * passed / (passed + failed))
