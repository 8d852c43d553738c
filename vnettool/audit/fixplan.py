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
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vnettool import userfile
from vnettool.audit.model import AuditConfig, Finding
from vnettool.models.desired import HOST_SETTING_OPTIONS, DesiredState
from vnettool.models.inventory import Inventory, VmkernelAdapter

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


# -- one finding: the document that fixes it ---------------------------------------------------
# A failing finding's "what to set" (vnettool/audit/remedy.py) starts from here, so the
# desired state has one generator: the fix plan's own fix when it has one; otherwise the same
# document shape with the site's decision left as a <PLACEHOLDER> (which VLAN, which pNIC), or
# None with the reason when nothing in vSphere's configuration fixes it (the physical side).
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_/ ]*>")


def snippet(inv: Inventory, f: Finding, cfg: AuditConfig) -> tuple[dict[str, Any] | None, str]:
    """(desired-state document, note) for one finding; the note says what the document
    leaves to a person, or why there is none."""
    if f.rule_id not in _WHY_NOT:
        doc = _Doc()
        if _one(doc, inv, f, cfg) is None:
            return doc.data(), ""
    make = _TEMPLATES.get(f.rule_id)
    if make is None:
        return None, _WHY_NOT.get(f.rule_id, "vnettool has no fix for this rule")
    return make(inv, f)


def _last(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _target(*hosts: str) -> dict[str, Any]:
    return {"target": {"hosts": sorted({h for h in hosts if h})}}


def _std_pg(f: Finding, **spec: Any) -> dict[str, Any]:
    host = f.host_or_cluster or ""
    pg = {"name": _last(f.object), "switch": f.switch or "", "hosts": [host], **spec}
    return _target(host) | {"standard_port_groups": [pg]}


def _dv_pg(f: Finding, **spec: Any) -> dict[str, Any]:
    return {"distributed_port_groups": [{"name": _last(f.object), "switch": f.switch, **spec}]}


Template = Callable[[Inventory, Finding], tuple[dict[str, Any] | None, str]]


def _vlan(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """SEC-08..12: the port group's own VLAN, which only the site knows."""
    why = "replace <VLAN> with the VLAN the port group's network is on (a site decision)"
    if f.object_type == "StandardPortGroup":
        return _std_pg(f, vlan="<VLAN>"), why
    if f.object_type == "DistributedPortGroup":
        return _dv_pg(f, vlan="<VLAN>"), why
    return None, "a site input is missing: set it in the audit config"


def _vmk(inv: Inventory, f: Finding) -> VmkernelAdapter | None:
    host, _, dev = f.object.rpartition("/")
    return next((v for v in inv.vmkernel_adapters if v.host == host and v.device == dev), None)


def _mgmt(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """SEC-21: VMs off the management port group, or the other services off its vmk."""
    v = _vmk(inv, f)
    if v is None or v.portgroup is None:
        return None, "the adapter is on a distributed port group: change its services in vCenter"
    if f.actual.startswith("VM NICs on"):
        vms = sorted(
            glob.escape(m.name)
            for m in inv.vms
            if m.host == v.host and any(n.network == v.portgroup for n in m.nics)
        )
        move = {"vms": vms, "from_portgroup": v.portgroup, "to_portgroup": "<VM_PORTGROUP>"}
        return _target(v.host) | {"migrations": {"vm_nics": [move]}}, (
            "replace <VM_PORTGROUP> with the VM network these VMs belong on"
        )
    spec = {"host": v.host, "portgroup": v.portgroup, "services": ["management"]}
    return _target(v.host) | {"vmkernel_adapters": [spec]}, ""


def _vmotion(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """SEC-22: vMotion on an adapter of its own, management left alone."""
    v = _vmk(inv, f)
    if v is None or v.portgroup is None:
        return None, "the adapter is on a distributed port group: change its services in vCenter"
    own = {
        "host": v.host,
        "portgroup": "<VMOTION_PORTGROUP>",
        "ip": {"cidr": "<IP/PREFIX>"},
        "services": ["vmotion"],
    }
    rest = [s for s in v.services if s != "vmotion"]
    keep = {"host": v.host, "portgroup": v.portgroup, "services": rest}
    return _target(v.host) | {"vmkernel_adapters": [own, keep]}, (
        "replace <VMOTION_PORTGROUP> and <IP/PREFIX> with the vMotion network (its own VLAN)"
    )


def _vm_nic(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """SEC-24: the VM's NIC moved to a VM port group."""
    vm_name, _, label = f.object.rpartition("/")
    move = {
        "vms": [glob.escape(vm_name)],
        "nic": glob.escape(label),
        "from_portgroup": f.actual,
        "to_portgroup": "<VM_PORTGROUP>",
    }
    return _target(f.host_or_cluster or "") | {"migrations": {"vm_nics": [move]}}, (
        "replace <VM_PORTGROUP> with the VM network the NIC belongs on"
    )


def _vmk_mtu(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-05: the adapter's MTU down to its switch's (raising the switch needs the physical
    path to carry it: a bigger decision)."""
    v = _vmk(inv, f)
    mtu = f.expected.removeprefix("<= ").split(" ", 1)[0]
    if v is None or v.portgroup is None or not mtu.isdigit():
        return None, "the adapter is on a distributed port group: set its MTU in vCenter"
    spec = {"host": v.host, "portgroup": v.portgroup, "mtu": int(mtu)}
    return _target(v.host) | {"vmkernel_adapters": [spec]}, (
        "or raise the switch MTU, once the physical path carries jumbo frames end to end"
    )


def _missing_pg(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-06: the port group as the cluster's other hosts have it (switch and VLAN)."""
    host = f.host_or_cluster or _last(f.object)
    name = f.actual.removesuffix(" missing").strip("'\"")
    h = inv.host_by_name.get(host)
    peers = [
        p
        for p in inv.standard_port_groups
        if p.name == name and (x := inv.host_by_name.get(p.host)) and h and x.cluster == h.cluster
    ]
    if not peers:
        return None, "no other host of the cluster has the port group to copy"
    src = peers[0]
    pg = {"name": name, "switch": src.switch, "hosts": [host], "vlan": src.vlan_id}
    return _target(host) | {"standard_port_groups": [pg]}, f"as on {src.host}"


def _one_vlan(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-07: the VLAN most hosts use, on the others (check it is the right network)."""
    cl = f.host_or_cluster
    name = _last(f.object)
    pgs = [
        p
        for p in inv.standard_port_groups
        if p.name == name and (h := inv.host_by_name.get(p.host)) and (h.cluster or None) == cl
    ]
    if not pgs:
        return None, "port group not found in the inventory"
    counts = Counter(p.vlan_id for p in pgs)
    vlan = max(counts, key=lambda k: (counts[k], -k))
    odd = sorted((p for p in pgs if p.vlan_id != vlan), key=lambda p: p.host)
    hosts = [p.host for p in odd]
    pg = {"name": name, "switch": odd[0].switch, "hosts": hosts, "vlan": vlan}
    return _target(*hosts) | {"standard_port_groups": [pg]}, (
        f"VLAN {vlan} is what most hosts use; if the others are a different network, rename "
        "them instead"
    )


def _redundant(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-08: a second uplink with link: the switch's other uplinks for a port group that
    narrowed its own team, else a pNIC no switch uses (or <SECOND_VMNIC>)."""
    host, sw_name, name = f.host_or_cluster or "", f.switch or "", _last(f.object)
    h = inv.host_by_name.get(host)
    sw = next((s for s in inv.switches_of(host) if s.name == sw_name), None)
    pg = next((p for p in inv.portgroups_of(host) if p.name == name and p.switch == sw_name), None)
    if h is None or sw is None or pg is None:
        return None, "port group not found in the inventory"
    up = [p.device for p in h.pnics if p.link_up]
    own = pg.policy.teaming.active_uplinks
    if own is not None:
        extra = [n for n in sw.uplinks if n in up and n not in own]
        if extra:
            team = {"active": [*own, extra[0]], "standby": pg.policy.teaming.standby_uplinks or []}
            return _std_pg(f, teaming=team), f"{extra[0]} is an uplink of {sw_name} with link"
    used = {n for s in inv.switches_of(host) for n in s.uplinks}
    used |= {
        n for d in inv.distributed_switches for m in d.hosts if m.host == host for n in m.pnics
    }
    free = [n for n in up if n not in used]
    spare = free[0] if free else "<SECOND_VMNIC>"
    data = _target(host) | {
        "standard_switches": [{"name": sw_name, "hosts": [host], "uplinks": [*sw.uplinks, spare]}]
    }
    why = f"{spare} has link and no switch uses it" if free else "name a second pNIC with link"
    return data, why + " (cable it to a second physical switch)"


def _link(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-09: fix the cabling; or take the pNIC out of its standard switch's team."""
    host, _, nic = f.object.rpartition("/")
    sw = next((s for s in inv.switches_of(host) if nic in s.uplinks), None)
    if sw is None:
        return None, "check the cable and the physical switch port (a distributed switch uplink)"
    keep = [n for n in sw.uplinks if n != nic]
    data = _target(host) | {
        "standard_switches": [{"name": sw.name, "hosts": [host], "uplinks": keep}]
    }
    return data, "first check the cable and the switch port; this takes the pNIC out of the team"


def _orphan(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-10: delete the unused port group, after confirming it is no standby network."""
    key = (
        "standard_port_groups"
        if f.object_type == "StandardPortGroup"
        else ("distributed_port_groups")
    )
    return {"absent": {key: [_last(f.object)]}}, "confirm it is not a recovery or standby network"


def _pvlan(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-12: the missing primary entry, the extra isolated secondaries removed, or the port
    group repointed."""
    sw = f.switch or ""
    if f.object_type == "DistributedPortGroup":
        return _dv_pg(
            f, pvlan="<SECONDARY_ID>"
        ), "replace <SECONDARY_ID> with a secondary of the map"
    entry = f.object.removeprefix(f"{sw}/")
    if "no promiscuous primary" in f.actual:
        return {"pvlans": [{"switch": sw, "primary": int(entry.split("/")[0])}]}, ""
    if "isolated secondaries" in f.actual:
        d = inv.dvs_by_name.get(sw)
        extra = sorted(
            e.secondary_id
            for e in (d.pvlans if d else [])
            if e.type == "isolated" and e.primary_id == int(entry)
        )[1:]
        gone = [{"switch": sw, "secondary": s} for s in extra]
        return {"absent": {"pvlans": gone}}, "keeps the lowest isolated secondary"
    vid = int(entry)
    pgs = [
        {"name": p.name, "switch": sw, "vlan": "<VLAN>"}
        for p in inv.dv_portgroups_of(sw)
        if p.vlan.kind == "vlan" and p.vlan.vlan_id == vid
    ]
    return {"distributed_port_groups": pgs}, (
        f"replace <VLAN> with a VLAN that is not PVLAN {vid} (or repoint the PVLAN map)"
    )


def _lag(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-13: the LAG as the only active uplink, no standby."""
    d = inv.dvs_by_name.get(f.switch or "")
    pg = next((p for p in inv.dv_portgroups_of(f.switch or "") if p.name == _last(f.object)), None)
    if d is None or pg is None:
        return None, "port group not found in the inventory"
    lags = {g.name for g in d.lags}
    t = pg.setting.teaming
    lag = next(n for n in [*(t.active_uplinks or []), *(t.standby_uplinks or [])] if n in lags)
    return _dv_pg(f, teaming={"active": [lag], "standby": []}), ""


def _team_of(inv: Inventory, f: Finding) -> list[str]:
    host, name = f.host_or_cluster or "", _last(f.object)
    pg = next((p for p in inv.portgroups_of(host) if p.name == name), None)
    if pg is None:
        return []
    t = pg.effective.teaming
    return [*(t.active_uplinks or []), *(t.standby_uplinks or [])]


def _ip_hash(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-14: with IP hash every uplink active and link-status detection."""
    team = {"active": _team_of(inv, f), "standby": [], "beacon_probing": False}
    return _std_pg(f, teaming=team), "the physical ports must be one static port channel"


def _beacon(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-15: link-status-only detection (or a third uplink)."""
    return _std_pg(f, teaming={"beacon_probing": False}), "or add a third uplink"


def _teaming(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-03: the port groups' policy to what the physical ports are (or the other way)."""
    sw = f.switch or ""
    iphash = "iphashMismatch" in f.actual
    pgs = [
        p.name
        for p in inv.dv_portgroups_of(sw)
        if not p.uplink and (p.setting.teaming.policy == "loadbalance_ip") == iphash
    ]
    policy = "loadbalance_srcid" if iphash else "loadbalance_ip"
    data = {
        "distributed_port_groups": [
            {"name": n, "switch": sw, "teaming": {"policy": policy}} for n in sorted(pgs)
        ]
    }
    why = (
        f"IP hash without a port channel on {f.host_or_cluster}: configure a static port "
        "channel on the physical ports, or route on the originating port as here"
        if iphash
        else f"a port channel on {f.host_or_cluster}'s physical ports: remove it, or use IP hash "
        "as here"
    )
    return (data if pgs else None), why


def _same_mtu(inv: Inventory, f: Finding) -> tuple[dict[str, Any] | None, str]:
    """HC-19: the MTU most of the service's adapters have, on the others."""
    cl, _, svc = f.object.rpartition("/")
    vmks = [
        v
        for v in inv.vmkernel_adapters
        if svc in v.services
        and v.mtu is not None
        and (h := inv.host_by_name.get(v.host))
        and h.cluster == cl
    ]
    counts = Counter(v.mtu for v in vmks)
    if not counts:
        return None, "adapters not found in the inventory"
    mtu = max(counts, key=lambda k: (counts[k], k or 0))
    odd = [v for v in vmks if v.mtu != mtu and v.portgroup]
    specs = [{"host": v.host, "portgroup": v.portgroup, "mtu": mtu} for v in odd]
    if not specs:
        return None, "the adapters are on distributed port groups: set their MTU in vCenter"
    return _target(*(v.host for v in odd)) | {"vmkernel_adapters": specs}, (
        f"MTU {mtu} is what most {svc} adapters have; the physical path must carry it"
    )


_TEMPLATES: dict[str, Template] = {
    **dict.fromkeys(("SEC-08", "SEC-09", "SEC-10", "SEC-11", "SEC-12"), _vlan),
    "SEC-21": _mgmt,
    "SEC-22": _vmotion,
    "SEC-24": _vm_nic,
    "SEC-26": lambda inv, f: (_dv_pg(f, auto_expand=True), ""),
    "HC-03": _teaming,
    "HC-05": _vmk_mtu,
    "HC-06": _missing_pg,
    "HC-07": _one_vlan,
    "HC-08": _redundant,
    "HC-09": _link,
    "HC-10": _orphan,
    "HC-12": _pvlan,
    "HC-13": _lag,
    "HC-14": _ip_hash,
    "HC-15": _beacon,
    "HC-17": lambda inv, f: (_dv_pg(f, binding="static"), "only while no VM uses a port"),
    "HC-19": _same_mtu,
}
