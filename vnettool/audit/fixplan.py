"""The fix as a plan: the audit's fixable FAIL findings as one desired-state document.

`vnettool audit --fix-plan OUT.yml` writes it; `vnettool plan OUT.yml` shows the exact diff
with its blast radius and `vnettool apply OUT.yml` makes it so, after which a re-audit has
none of those findings and a second --fix-plan is empty. It only sets what the benchmarks ask
(Reject, off, reset, the BPDU filter on...), on the objects that failed; a finding whose fix
is a site decision (which VLAN instead of 4095, which collector) is listed in the file's
header as not fixed, never guessed. Waived findings (EXCEPTION) are left alone.
"""

from __future__ import annotations

import glob
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vnettool import userfile
from vnettool.audit.model import AuditConfig, Finding
from vnettool.models.desired import HOST_SETTING_OPTIONS, DesiredState
from vnettool.models.inventory import Inventory

# the rule's security field -> the desired-state key
_L2 = {
    "SEC-01": "promiscuous",
    "SEC-02": "mac_changes",
    "SEC-03": "forged_transmits",
    "SEC-04": "promiscuous",
    "SEC-05": "mac_changes",
    "SEC-06": "forged_transmits",
}
_INV_L2 = {
    "promiscuous": "allow_promiscuous",
    "mac_changes": "mac_changes",
    "forged_transmits": "forged_transmits",
}
# port-group policy (API) -> desired `overrides` key
_OVERRIDES = {
    "shapingOverrideAllowed": "shaping",
    "vlanOverrideAllowed": "vlan",
    "uplinkTeamingOverrideAllowed": "teaming",
    "securityPolicyOverrideAllowed": "security",
    "macManagementOverrideAllowed": "mac_management",
    "vendorConfigOverrideAllowed": "vendor_config",
    "ipfixOverrideAllowed": "netflow",
    "trafficFilterOverrideAllowed": "traffic_filter",
    "networkResourcePoolOverrideAllowed": "network_resource_pool",
    "livePortMovingAllowed": "live_port_moving",
}
_HOST_SETTINGS: dict[str, tuple[str, int | str]] = {
    "SEC-19": ("block_guest_bpdu", 1),
    "SEC-20": ("dvfilter_bind_ip", ""),
    "SEC-27": ("bmc_network", 0),
}
_WHY_NOT = {
    "SEC-08": "needs the VLAN the port group should use (a site decision)",
    "SEC-09": "needs the VLAN (or the narrower trunk) the port group should use",
    "SEC-10": "needs the VLAN the port group should move to",
    "SEC-11": "needs the VLAN the port group should move to",
    "SEC-12": "needs the VLAN the port group should be tagged with",
    "HC-01": "the physical switch port's allowed VLANs must change (or the port groups' VLANs)",
    "HC-02": "the physical switch port's MTU must change (or the switch's max_mtu)",
    "HC-03": "the physical port channel or the teaming policy must change (a design decision)",
}


@dataclass
class FixPlan:
    """The desired state and what it leaves to a person, per finding."""

    desired: DesiredState
    data: dict[str, Any] = field(default_factory=dict)  # the document as written
    fixed: list[Finding] = field(default_factory=list)
    not_fixed: list[tuple[Finding, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.fixed


@dataclass
class _Doc:
    hosts: set[str] = field(default_factory=set)
    vss: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    spg: dict[tuple[str, str], dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    dvs: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    dvpg: dict[tuple[str, str], dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    # the hosts each vSS fix is for: a switch or port group of that name elsewhere is another
    # object (and must not be created where it does not exist)
    vss_hosts: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    spg_hosts: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    host_settings: dict[str, Any] = field(default_factory=dict)
    absent_mirrors: set[str] = field(default_factory=set)
    vm_settings: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.hosts:
            out["target"] = {"hosts": sorted(self.hosts)}
        if self.vss:
            out["standard_switches"] = [
                {"name": n, "hosts": sorted(self.vss_hosts[n]), **v}
                for n, v in sorted(self.vss.items())
            ]
        if self.spg:
            out["standard_port_groups"] = [
                {"name": n, "switch": sw, "hosts": sorted(self.spg_hosts[(sw, n)]), **v}
                for (sw, n), v in sorted(self.spg.items())
            ]
        if self.dvs:
            out["distributed_switches"] = [{"name": n, **v} for n, v in sorted(self.dvs.items())]
        if self.dvpg:
            out["distributed_port_groups"] = [
                {"name": n, "switch": sw, **v} for (sw, n), v in sorted(self.dvpg.items())
            ]
        if self.host_settings:
            out["host_settings"] = dict(sorted(self.host_settings.items()))
        if self.vm_settings:
            out["vm_settings"] = [{"vm": n, **v} for n, v in sorted(self.vm_settings.items())]
        if self.absent_mirrors:
            out["absent"] = {"mirrors": sorted(self.absent_mirrors)}
        return out


def _nested(d: dict[str, Any], key: str, sub: str, value: Any) -> None:
    d.setdefault(key, {})[sub] = value


def _standard(doc: _Doc, inv: Inventory, f: Finding) -> str | None:
    """vSS and vSS port group layer-2 fixes; a reason when not fixable."""
    key = _L2[f.rule_id]
    host, sw = f.host_or_cluster or "", f.switch or ""
    if f.object_type == "StandardSwitch":
        doc.hosts.add(host)
        doc.vss_hosts[sw].add(host)
        _nested(doc.vss[sw], "security", key, False)
        return None
    pg = next(
        (
            p
            for p in inv.portgroups_of(host)
            if p.switch == sw and f.object.endswith(f"/{sw}/{p.name}")
        ),
        None,
    )
    if pg is None:
        return "port group not found in the inventory"
    if any(n == pg.name and s != sw for s, n in doc.spg):
        return f"a port group {pg.name} on another switch is fixed too (one name per document)"
    doc.hosts.add(host)
    if getattr(pg.policy.security, _INV_L2[key]) is not None:  # its own override
        doc.spg_hosts[(sw, pg.name)].add(host)
        _nested(doc.spg[(sw, pg.name)], "security", key, False)
    else:  # inherited: the switch's own finding carries the fix
        doc.vss_hosts[sw].add(host)
        _nested(doc.vss[sw], "security", key, False)
    return None


def _distributed(doc: _Doc, inv: Inventory, f: Finding) -> str | None:
    """vDS default-port and DV port group fixes; a reason when not fixable."""
    sw = f.switch or ""
    if f.object_type == "DistributedSwitch":
        if f.rule_id in _L2:
            doc.dvs[sw].setdefault("default_port", {}).setdefault("security", {})[
                _L2[f.rule_id]
            ] = False
        elif f.rule_id == "SEC-17":
            doc.dvs[sw]["discovery_operation"] = "listen"
        elif f.rule_id == "SEC-25":
            doc.dvs[sw]["nioc"] = True
        elif f.rule_id == "SEC-18":
            doc.dvs[sw]["health_check"] = {"vlan_mtu": False, "teaming": False}
        return None
    pg = next((p for p in inv.distributed_port_groups if p.moref == f.object_id), None)
    if pg is None:
        return "port group not found in the inventory"
    spec = doc.dvpg[(pg.dvs, pg.name)]
    if f.rule_id in _L2:
        _nested(spec, "security", _L2[f.rule_id], False)
    elif f.rule_id == "SEC-07":
        _nested(spec, "security", "mac_learning", False)
    elif f.rule_id == "SEC-13":
        for api, on in pg.override_allowed.items():
            if on and api in _OVERRIDES:
                _nested(spec, "overrides", _OVERRIDES[api], False)
    elif f.rule_id == "SEC-14":
        _nested(spec, "overrides", "reset_at_disconnect", True)
    return None


def _services(doc: _Doc, inv: Inventory, f: Finding) -> str | None:
    """NetFlow and mirroring: an export or a session nobody authorised is stopped (the
    benchmarks' baseline); a legitimate one belongs in the audit config instead, which the
    file's header says."""
    sw = f.switch or ""
    if f.rule_id == "SEC-16":
        doc.absent_mirrors.add(f.object)
        return None
    d = inv.dvs_by_name.get(sw)
    if d is None:
        return "switch not found in the inventory"
    if d.netflow.collector_ip:
        doc.dvs[sw]["netflow"] = {"collector": "none"}
    for p in inv.dv_portgroups_of(sw):
        if p.setting.netflow and not p.uplink:
            doc.dvpg[(sw, p.name)]["netflow"] = False
    return None


def _vm(doc: _Doc, inv: Inventory, f: Finding, cfg: AuditConfig) -> str | None:
    """SEC-28 (drop the dvFilter hooks nobody authorised, keep the listed ones) and SEC-29
    (encrypted vMotion opportunistic: vCenter's default, which never blocks a migration)."""
    vm = next((v for v in inv.vms if v.moref == f.object_id), None)
    if vm is None or vm.host is None:
        return "VM (or its host) not found in the inventory"
    doc.hosts.add(vm.host)
    name = glob.escape(vm.name)  # `vm` is a glob: a name with * ? [ means only itself
    if f.rule_id == "SEC-29":
        doc.vm_settings[name]["migrate_encryption"] = "opportunistic"
        return None
    hooks = vm.dvfilters
    keep = {
        k.rsplit(".", 1)[0] + "."
        for k, v in hooks.items()
        if k.endswith(".name") and v in cfg.dvfilter_names
    }
    doc.vm_settings[name]["dvfilters"] = {
        k: v for k, v in sorted(hooks.items()) if any(k.startswith(p) for p in keep)
    }
    return None


def _one(doc: _Doc, inv: Inventory, f: Finding, cfg: AuditConfig) -> str | None:
    """Add the fix of one FAIL to `doc`; the reason when it has none."""
    if f.rule_id in _WHY_NOT:
        return _WHY_NOT[f.rule_id]
    if f.rule_id in _HOST_SETTINGS:
        key, value = _HOST_SETTINGS[f.rule_id]
        host = next((h for h in inv.hosts if h.moref == f.object_id), None)
        if host is None:
            return "host not found in the inventory"
        doc.hosts.add(host.name)
        doc.host_settings[key] = value
        return None
    if f.rule_id == "SEC-17" and "listen" not in cfg.discovery_operation_allowed:
        doc.dvs[f.switch or ""]["discovery"] = "none"
        return None
    if f.rule_id in ("SEC-15", "SEC-16"):
        return _services(doc, inv, f)
    if f.rule_id in ("SEC-28", "SEC-29"):
        return _vm(doc, inv, f, cfg)
    if f.rule_id in _L2 and f.object_type.startswith("Standard"):
        return _standard(doc, inv, f)
    if f.rule_id in (*_L2, "SEC-07", "SEC-13", "SEC-14", "SEC-17", "SEC-18", "SEC-25"):
        return _distributed(doc, inv, f)
    return "vnettool has no fix for this rule yet"


def fix_plan(inv: Inventory, findings: Sequence[Finding], cfg: AuditConfig) -> FixPlan:
    """The desired state fixing every fixable FAIL of `findings` (see the module)."""
    doc = _Doc()
    fixed: list[Finding] = []
    not_fixed: list[tuple[Finding, str]] = []
    for f in findings:
        if f.state != "FAIL":
            continue
        why = _one(doc, inv, f, cfg)
        if why is None:
            fixed.append(f)
        else:
            not_fixed.append((f, why))
    _host_settings_only_where_failing(doc, inv, fixed, not_fixed)
    data = doc.data()
    return FixPlan(DesiredState.model_validate(data), data, fixed, not_fixed)


def _host_settings_only_where_failing(
    doc: _Doc, inv: Inventory, fixed: list[Finding], not_fixed: list[tuple[Finding, str]]
) -> None:
    """`host_settings` applies to every targeted host, and the target also holds the hosts
    of other fixes: a value stays in the document only if it changes no host whose finding
    did not fail (a waiver, an authorised dvFilter address, a disabled rule). Otherwise its
    findings are left to a person, naming the hosts it would have changed."""
    failing: dict[str, set[str]] = defaultdict(set)
    for f in fixed:
        if f.rule_id in _HOST_SETTINGS:
            failing[_HOST_SETTINGS[f.rule_id][0]].add(f.object_id)
    for key, value in list(doc.host_settings.items()):
        option = HOST_SETTING_OPTIONS[key]
        others = sorted(
            h.name
            for h in inv.hosts
            if h.name in doc.hosts
            and h.moref not in failing[key]
            and h.advanced.get(option) != value
        )
        if not others:
            continue
        del doc.host_settings[key]
        why = (
            f"setting {option} here would also change {', '.join(others)} (not failing there: "
            "waived, authorised or not judged); set it with a host_settings document of its own"
        )
        for f in [f for f in fixed if _HOST_SETTINGS.get(f.rule_id, ("",))[0] == key]:
            fixed.remove(f)
            not_fixed.append((f, why))


def write_fix_plan(path: Path, plan: FixPlan) -> None:
    """The document, with a header saying what it fixes and what it leaves to a person."""
    import io

    from ruamel.yaml import YAML

    lines = [
        "# vnettool audit --fix-plan: review with `vnettool plan FILE`, apply with",
        "# `vnettool apply FILE`; a re-audit then has none of the findings below.",
        f"# fixes {len(plan.fixed)} finding(s):",
        *(f"#   {f.rule_id} {_line(f.object)}" for f in plan.fixed),
    ]
    if any(f.rule_id in ("SEC-15", "SEC-16") for f in plan.fixed):
        lines.append(
            "# NetFlow exports and mirroring sessions nobody authorised are stopped here; if one"
            " is legitimate, list it in the audit config (netflow_collectors, mirror_sessions)"
            " instead of applying that part."
        )
    if plan.not_fixed:
        lines.append(f"# not fixed here ({len(plan.not_fixed)}):")
        lines += [f"#   {f.rule_id} {_line(f.object)}: {why}" for f, why in plan.not_fixed]
    buf = io.StringIO()
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.dump(plan.data or {}, buf)
    text = "\n".join(lines) + "\n" + buf.getvalue()
    userfile.write_bytes(path, text.encode(), what="fix plan", make_parents=True)


def _line(text: str) -> str:
    """An object name inside a comment line: a name with a line break must not end the
    comment and become YAML."""
    return "".join(c if c.isprintable() else "?" for c in text)
