"""Plan appliance deployments and removals as engine changes: an exact diff, then apply.

A deployment plan is, in apply order:

1. the protected segment (a port-less vSS + port group per host, or a PVLAN isolated
   secondary + DV port groups), planned by the configuration engine;
2. one `appliance` change per appliance VM: create (clone pinned, reserved and
   latency-sensitive onto its host, wire, power on, wait healthy, connect the protected side
   last), update (only the fields that drifted), or delete (a host left the scope);
3. the protected VMs' NIC moves onto the segment (engine `vm_nic_migration` changes), each
   after the appliance of the VM's host is up — a VM is never put behind a missing appliance.

A removal plan first moves (or unplugs) the protected VMs' NICs, then deletes the appliances
that served them. Planning is pure: the facts (appliance VMs, DRS rules) are read beforehand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vnettool.engine import plan as engine_plan
from vnettool.engine.appliance import DISCONNECT, RESOURCE, ROLES, SIZING, pin_names
from vnettool.engine.common import PlanError, matches
from vnettool.models.appliance import (
    ApplianceOrder,
    ApplianceSpec,
    ApplianceVm,
    ApplianceWant,
    ClusterRules,
    NetworkRef,
    NicRole,
    OvfOrder,
    SecretRef,
)
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import Host, Inventory, VirtualMachine
from vnettool.models.plan import Change, FieldDiff, Placement, Plan
from vnettool.vsphere.ovfpkg import OvfDescriptor

PIN_FIELDS = ("drs.vm_group", "drs.host_group", "drs.rule")


@dataclass
class Facts:
    """What the planner needs beyond the inventory, read by `appliances.manager.read_facts`."""

    vms: list[ApplianceVm] = field(default_factory=list)
    rules: dict[str, ClusterRules] = field(default_factory=dict)  # cluster moref -> rules
    ovf: OvfDescriptor | None = None  # the package's descriptor, for an ovf source


def vm_name(spec: ApplianceSpec, slot: str) -> str:
    short = re.sub(r"[^A-Za-z0-9_.-]", "-", slot.split(".", 1)[0])
    return f"{spec.name}-{short}"


def anti_affinity_name(spec: ApplianceSpec, cluster: str) -> str:
    return f"vnettool-{spec.name}-{cluster}-anti"


@dataclass
class Slot:
    """Where one appliance should run: its VM name, host (per host) and cluster."""

    name: str
    host: Host
    cluster_moref: str | None


def slots(spec: ApplianceSpec, inv: Inventory, hosts: list[Host]) -> list[Slot]:
    """One slot per usable host, or `count` per cluster on distinct usable hosts.

    Hosts in maintenance mode or not connected get no new appliance (an existing one is left
    alone: vCenter evacuates or keeps it, vnettool does not fight that)."""
    usable = [h for h in hosts if h.connection_state == "connected" and not h.maintenance]
    cl_moref = {(c.datacenter, c.name): c.moref for c in inv.clusters}
    out = []
    if spec.placement.per == "host":
        for h in usable:
            out.append(
                Slot(vm_name(spec, h.name), h, cl_moref.get((h.datacenter or "", h.cluster or "")))
            )
        return out
    by_cluster: dict[str, list[Host]] = {}
    for h in usable:
        by_cluster.setdefault(h.cluster or h.name, []).append(h)
    for cluster, members in sorted(by_cluster.items()):
        for i in range(min(spec.placement.count, len(members))):
            h = members[i]
            out.append(
                Slot(
                    vm_name(spec, f"{cluster}-{i}"),
                    h,
                    cl_moref.get((h.datacenter or "", h.cluster or "")),
                )
            )
    return out


def _network(inv: Inventory, name: str, segment_dvs: str | None) -> NetworkRef:
    """How to reach a port group by name: a DV one (switch, uuid, key) or a standard one."""
    dv = next((p for p in inv.distributed_port_groups if p.name == name and not p.uplink), None)
    if dv is not None:
        sw = inv.dvs_by_name.get(dv.dvs)
        return NetworkRef(portgroup=name, switch=dv.dvs, uuid=sw.uuid if sw else None, key=dv.key)
    if segment_dvs is not None:  # created by this plan; the key is known after the apply
        return NetworkRef(portgroup=name, switch=segment_dvs)
    return NetworkRef(portgroup=name)


def segment_desired(spec: ApplianceSpec, target: dict[str, Any]) -> DesiredState | None:
    seg = spec.segment
    if seg is None:
        return None
    if seg.kind == "vss":
        doc: dict[str, Any] = {
            "standard_switches": [{"name": seg.switch, "uplinks": []}],
            "standard_port_groups": [
                {"name": spec.networks.protected, "switch": seg.switch, "vlan": 0}
            ],
        }
    else:
        doc = {
            "pvlans": [{"switch": seg.switch, "primary": seg.primary, "isolated": seg.isolated}],
            "distributed_port_groups": [
                {"name": spec.networks.protected, "switch": seg.switch, "pvlan": seg.isolated},
                {"name": seg.appliance_portgroup, "switch": seg.switch, "pvlan": seg.primary},
            ],
        }
    return DesiredState.model_validate({"target": target, **doc})


def _moves(spec: ApplianceSpec, inv: Inventory, target: dict[str, Any], back: bool) -> list[Change]:
    """The engine's NIC moves of the protected VMs: onto the segment, or `back` off it."""
    p = spec.protect
    if p is None:
        return []
    src, dst = p.from_portgroup, spec.networks.protected
    if back:
        src, dst = dst, src
    doc = {
        "target": target,
        "migrations": {
            "batch": 64,
            "vm_nics": [{"vms": p.vms, "nic": p.nic, "from_portgroup": src, "to_portgroup": dst}],
        },
    }
    if not back and spec.segment is not None:  # the segment is planned with them
        seg = segment_desired(spec, target)
        assert seg is not None
        doc.update(seg.model_dump(exclude={"target", "migrations"}, exclude_defaults=True))
    changes = engine_plan(DesiredState.model_validate(doc), inv).changes
    return [c for c in changes if c.resource == "vm_nic_migration"]


def want_state(spec: ApplianceSpec, inv: Inventory) -> ApplianceWant:
    r = spec.resources
    seg_dvs = spec.segment.switch if spec.segment and spec.segment.kind == "pvlan" else None
    nets = {
        "management": _network(inv, spec.networks.management, None),
        "unprotected": _network(inv, spec.networks.unprotected, None),
        "protected": _network(inv, spec.appliance_side, seg_dvs),
    }
    return ApplianceWant(
        cpus=r.cpus,
        memory_mb=r.memory_mb,
        cpu_reservation_mhz=r.cpu_reservation_mhz,
        memory_reservation_mb=r.memory_reserved,
        latency_sensitivity=r.latency_sensitivity,
        networks=nets,
    )


def is_pinned(vm: ApplianceVm, slot: Slot, rules: ClusterRules | None, per_host: bool) -> bool:
    if not per_host or slot.cluster_moref is None:
        return True  # standalone hosts never move a VM by themselves
    if rules is None:
        return False
    g_vm, g_host, name = pin_names(slot.name)
    rule, vmg, hg = rules.rule(name), rules.group(g_vm), rules.group(g_host)
    return bool(
        rule
        and rule.enabled
        and rule.mandatory
        and rule.vm_group == g_vm
        and rule.host_group == g_host
        and vmg
        and vm.moref in vmg.members
        and hg
        and hg.members == [slot.host.moref]
    )


def pin_diffs(slot: Slot, rules: ClusterRules | None = None) -> list[FieldDiff]:
    """The DRS objects that pin an appliance, as plan lines: an admin approving the plan sees
    every object vnettool will create in the cluster (and which already exist), not only a VM.
    None for a standalone host: nothing is created there."""
    if slot.cluster_moref is None:
        return []
    g_vm, g_host, rule = pin_names(slot.name)

    def diff(field: str, name: str, after: str, exists: bool) -> FieldDiff:
        return FieldDiff(field=field, before=name if exists else None, after=after)

    return [
        diff("drs.vm_group", g_vm, f"{g_vm} [{slot.name}]", bool(rules and rules.group(g_vm))),
        diff(
            "drs.host_group",
            g_host,
            f"{g_host} [{slot.host.name}]",
            bool(rules and rules.group(g_host)),
        ),
        diff(
            "drs.rule",
            rule,
            f"{rule}: {g_vm} must run on {g_host} (mandatory, enabled)",
            bool(rules and rules.rule(rule)),
        ),
    ]


def _drift(
    spec: ApplianceSpec, vm: ApplianceVm, slot: Slot, want: ApplianceWant, facts: Facts
) -> list[FieldDiff]:
    diffs = []
    if vm.host_moref != slot.host.moref and spec.placement.per == "host":
        diffs.append(FieldDiff(field="host", before=vm.host_moref, after=slot.host.moref))
    for f in SIZING:
        if getattr(vm, f) != getattr(want, f):
            diffs.append(FieldDiff(field=f, before=getattr(vm, f), after=getattr(want, f)))
    rules = facts.rules.get(slot.cluster_moref or "")
    if not is_pinned(vm, slot, rules, spec.placement.per == "host"):
        diffs.append(FieldDiff(field="pinned", before=False, after=True))
        diffs += pin_diffs(slot, rules)
    for i, role in enumerate(ROLES):
        net = want.networks[role]
        nic = vm.nics[i] if i < len(vm.nics) else None
        on = nic.network if nic else None
        if on != net.portgroup or not (nic and nic.connected):
            before = f"{on or '-'} ({'connected' if nic and nic.connected else 'disconnected'})"
            diffs.append(
                FieldDiff(field=f"nic.{role}", before=before, after=f"{net.portgroup} (connected)")
            )
    if vm.power_state != "poweredOn":
        diffs.append(FieldDiff(field="power_state", before=vm.power_state, after="poweredOn"))
    return diffs


def _ours(spec: ApplianceSpec, facts: Facts) -> dict[str, ApplianceVm]:
    return {v.name: v for v in facts.vms if v.tags.get("vnettool.appliance") == spec.name}


def _check(
    spec: ApplianceSpec, inv: Inventory, want: ApplianceWant, facts: Facts
) -> VirtualMachine | OvfOrder:
    """The template to clone or the OVF import order, or every reason the definition cannot
    be deployed here."""
    problems = []
    source: VirtualMachine | OvfOrder | None = None
    if spec.source.ovf is not None:
        if facts.ovf is None:
            problems.append(f"appliance {spec.name}: the OVF descriptor was not read")
        else:
            order, problems = ovf_order(spec, facts.ovf)
            source = order
    else:
        source = next((v for v in inv.vms if v.name == spec.source.template), None)
        if source is None:
            problems.append(
                f"appliance {spec.name}: no template or VM named {spec.source.template!r} "
                f"(import the appliance image as a template of that name; on the lab: "
                f"`vnettool lab template {spec.source.template}`)"
            )
    for role in ("management", "unprotected"):
        net = want.networks[role]
        if net.switch is None and not any(
            p.name == net.portgroup for p in inv.standard_port_groups
        ):
            problems.append(f"appliance {spec.name}: no port group named {net.portgroup!r}")
    if problems or source is None:
        raise PlanError(problems)
    return source


def ovf_order(spec: ApplianceSpec, desc: OvfDescriptor) -> tuple[OvfOrder, list[str]]:
    """Map the OVF's NICs onto the three roles and check the definition against the
    descriptor: networks, properties, deployment option. Returns the order and the problems.

    Without `source.networks` the OVF's NICs in descriptor order are management,
    unprotected, protected (the template convention); NICs beyond three, or on networks the
    mapping leaves out, are dropped; a role no NIC serves gets a vmxnet3 NIC added."""
    src = spec.source
    where = f"appliance {spec.name}: {src.ovf}"
    problems = []
    option = src.deployment_option
    if option is not None and option not in desc.deployment_options:
        problems.append(
            f"{where}: no deployment option {option!r} "
            f"(the OVF offers: {', '.join(desc.deployment_options) or 'none'})"
        )
    nics = desc.nics_for(option)
    nic_roles: list[NicRole | None] = []
    network_roles: dict[str, NicRole] = {}
    if src.networks is not None:
        unknown = sorted(set(src.networks) - set(desc.networks))
        if unknown:
            problems.append(
                f"{where}: no OVF network {', '.join(map(repr, unknown))} "
                f"(the OVF declares: {', '.join(desc.networks) or 'none'})"
            )
        network_roles = dict(src.networks)
        nic_roles = [src.networks.get(n.connection or "") for n in nics]
    else:
        for i, nic in enumerate(nics):
            role: NicRole | None = ROLES[i] if i < len(ROLES) else None
            net = nic.connection or ""
            if role is not None and net in network_roles and network_roles[net] != role:
                problems.append(
                    f"{where}: NICs {i} and {list(network_roles).index(net)} share the OVF "
                    f"network {net!r}; map it with source.networks"
                )
            if role is not None and net:
                network_roles.setdefault(net, role)
            nic_roles.append(role)
    for pid, value in src.properties.items():
        prop = desc.property(pid)
        if prop is None:
            problems.append(
                f"{where}: no OVF property {pid!r} "
                f"(the OVF declares: {', '.join(p.id for p in desc.properties) or 'none'})"
            )
        elif prop.password and not isinstance(value, SecretRef):
            problems.append(
                f"{where}: property {pid!r} is a password; give it as {{env: VARIABLE}} so it "
                "stays out of plans and journals"
            )
    order = OvfOrder(
        source=src.ovf or "",
        nic_roles=nic_roles,
        network_roles=network_roles,
        properties=dict(src.properties),
        deployment_option=option,
        datastore=src.datastore,
    )
    return order, problems


def _shown(value: str | SecretRef) -> str:
    return f"(secret from ${value.env})" if isinstance(value, SecretRef) else value


def _slot_change(
    spec: ApplianceSpec,
    inv: Inventory,
    s: Slot,
    vm: ApplianceVm | None,
    source: VirtualMachine | OvfOrder,
    want: ApplianceWant,
    facts: Facts,
) -> Change | None:
    """The appliance of one slot: created when missing, updated where it drifted."""
    order = ApplianceOrder(
        definition=spec.name,
        cluster_moref=s.cluster_moref,
        want=want,
        per=spec.placement.per,
        health=spec.health,
    )
    common: dict[str, Any] = {
        "resource": RESOURCE,
        "host": s.host.name,
        "name": s.name,
        "host_moref": s.host.moref,
        "lane": f"appliance:{s.name}",
    }
    if vm is not None:
        diffs = _drift(spec, vm, s, want, facts)
        if not diffs:
            return None
        return Change(kind="update", diffs=diffs, appliance=order, vm_moref=vm.moref, **common)
    diffs = [
        FieldDiff(field="host", before=None, after=s.host.name),
        *(FieldDiff(field=f, before=None, after=getattr(want, f)) for f in SIZING),
        *(
            FieldDiff(field=f"nic.{r}", before=None, after=want.networks[r].portgroup)
            for r in ROLES
        ),
        *(pin_diffs(s) if spec.placement.per == "host" else []),
    ]
    if isinstance(source, OvfOrder):
        diffs.insert(0, FieldDiff(field="source", before=None, after=f"ovf {source.source}"))
        diffs += [
            FieldDiff(field=f"ovf.property.{k}", before=None, after=_shown(v))
            for k, v in sorted(source.properties.items())
        ]
    dc_moref = {d.name: d.moref for d in inv.datacenters}
    created = order.model_copy(
        update={
            "template_moref": source.moref if isinstance(source, VirtualMachine) else None,
            "ovf": source if isinstance(source, OvfOrder) else None,
            "datacenter_moref": dc_moref.get(s.host.datacenter or ""),
            "tags": {
                "vnettool.appliance": spec.name,
                "vnettool.appliance.role": spec.role,
                "vnettool.appliance.host": s.host.name,
            },
        }
    )
    return Change(kind="create", diffs=diffs, appliance=created, **common)


def plan_deploy(
    spec: ApplianceSpec, inv: Inventory, hosts: list[Host], facts: Facts, target: dict[str, Any]
) -> Plan:
    """Segment, appliances (create / update drift / delete where a host left), protection."""
    seg = segment_desired(spec, target)
    seg_changes = engine_plan(seg, inv).changes if seg is not None else []
    want = want_state(spec, inv)
    ours = _ours(spec, facts)
    source = _check(spec, inv, want, facts)
    appliance_changes: list[Change] = []
    wanted = slots(spec, inv, hosts)
    for s in wanted:
        ch = _slot_change(spec, inv, s, ours.get(s.name), source, want, facts)
        if ch is not None:
            seg_ids = [c.id for c in seg_changes if c.host in (None, s.host.name)]
            appliance_changes.append(ch.model_copy(update={"depends_on": seg_ids}))
    keep = {s.name for s in wanted}
    host_by_moref = {h.moref: h.name for h in inv.hosts}
    parked = {h.name for h in hosts if h.maintenance} if spec.placement.per == "host" else set()
    first = _off_segment(spec, inv, [h for h in hosts if h.name in parked], target)
    for name, vm in sorted(ours.items()):
        host = host_by_moref.get(vm.host_moref or "")
        in_scope = any(h.name == host for h in hosts)
        if host in parked:
            if vm.power_state == "poweredOn":
                appliance_changes.append(_park(spec, vm, host, first))
            continue
        if name in keep or (not in_scope and host is not None):
            continue  # kept, or another target's
        appliance_changes.append(_delete(spec, vm, host, inv))
    anti = _anti_affinity(spec, inv, wanted, ours, facts, appliance_changes)
    moves = [
        m.model_copy(
            update={"depends_on": sorted({*m.depends_on, *_serving(spec, m, appliance_changes)})}
        )
        for m in _moves(spec, inv, target, back=False)
        if m.host not in parked
    ]
    return Plan(changes=seg_changes + first + appliance_changes + anti + moves)


def _off_segment(
    spec: ApplianceSpec, inv: Inventory, hosts: list[Host], target: dict[str, Any]
) -> list[Change]:
    """Protected VMs of these hosts off the segment, as `on_remove` says (re-home or unplug)."""
    if not hosts:
        return []
    if spec.on_remove == "disconnect":
        return _unplug(spec, inv, hosts)
    names = {h.name for h in hosts}
    return [m for m in _moves(spec, inv, target, back=True) if m.host in names]


def _park(spec: ApplianceSpec, vm: ApplianceVm, host: str | None, first: list[Change]) -> Change:
    """A host in maintenance mode: its protected VMs first, then the appliance powered off
    (vCenter cannot evacuate a VM pinned by a must-run rule; the next deploy after the host
    leaves maintenance powers it on and protects the VMs again)."""
    return Change(
        kind="update",
        resource=RESOURCE,
        host=host,
        name=vm.name,
        diffs=[FieldDiff(field="power_state", before=vm.power_state, after="poweredOff")],
        depends_on=[m.id for m in first if m.host == host],
        vm_moref=vm.moref,
        lane=f"appliance:{vm.name}",
        appliance=ApplianceOrder(definition=spec.name, park=True),
    )


def _serving(spec: ApplianceSpec, move: Change, appliances: list[Change]) -> list[str]:
    """Ids of the appliance changes a protected VM's move must wait for."""
    if spec.placement.per == "host":
        return [a.id for a in appliances if a.host == move.host and a.kind != "delete"]
    return [a.id for a in appliances if a.kind != "delete"]


def segment_kept(spec: ApplianceSpec) -> list[str]:
    """What `remove` leaves in place, and the `absent:` block that deletes it.

    The segment stays: other appliances or tools may use its port groups, and deleting a
    switch is not undone by re-deploying (its VMs' ports are gone). Saying so keeps the
    promise that vnettool changes only, and all of, what it says."""
    seg = spec.segment
    if seg is None:
        return []
    if seg.kind == "vss":
        what = f"standard switch {seg.switch} and port group {spec.networks.protected}"
        absent = (
            f"absent: {{standard_port_groups: [{spec.networks.protected}], "
            f"standard_switches: [{seg.switch}]}}"
        )
    else:
        pgs = [
            spec.networks.protected,
            *([seg.appliance_portgroup] if seg.appliance_portgroup else []),
        ]
        what = f"PVLAN {seg.primary}/{seg.isolated} and DV port groups {', '.join(pgs)} on {seg.switch}"
        absent = (
            f"absent: {{distributed_port_groups: [{', '.join(pgs)}], "
            f"pvlans: [{{switch: {seg.switch}, primary: {seg.primary}}}]}}"
        )
    return [
        f"left in place: the protected segment ({what}); to delete it, apply a desired state "
        f"with the same target and: {absent}"
    ]


def _delete(spec: ApplianceSpec, vm: ApplianceVm, host: str | None, inv: Inventory) -> Change:
    h = inv.host_by_name.get(host or "")
    cl = next((c for c in inv.clusters if h and c.name == h.cluster), None)
    pins = (
        [
            FieldDiff(field=f, before=n, after=None)
            for f, n in zip(PIN_FIELDS, pin_names(vm.name), strict=True)
        ]
        if cl is not None and spec.placement.per == "host"
        else []
    )
    return Change(
        kind="delete",
        resource=RESOURCE,
        host=host,
        name=vm.name,
        diffs=[FieldDiff(field="vm", before=vm.name, after=None), *pins],
        vm_moref=vm.moref,
        lane=f"appliance:{vm.name}",
        appliance=ApplianceOrder(
            definition=spec.name,
            power_state=vm.power_state,
            cluster_moref=cl.moref if cl else None,
            pin_names=list(pin_names(vm.name)),
        ),
    )


def _anti_affinity(
    spec: ApplianceSpec,
    inv: Inventory,
    wanted: list[Slot],
    ours: dict[str, ApplianceVm],
    facts: Facts,
    appliances: list[Change],
) -> list[Change]:
    """Per-cluster placement: one mandatory anti-affinity rule over each cluster's appliances."""
    if spec.placement.per != "cluster":
        return []
    out = []
    by_cluster: dict[str, list[Slot]] = {}
    for s in wanted:
        if s.cluster_moref:
            by_cluster.setdefault(s.cluster_moref, []).append(s)
    for cl, members in by_cluster.items():
        if len(members) < 2:
            continue
        cluster = next(c.name for c in inv.clusters if c.moref == cl)
        name = anti_affinity_name(spec, cluster)
        rules = facts.rules.get(cl)
        rule = rules.rule(name) if rules else None
        have = sorted(ours[s.name].moref for s in members if s.name in ours)
        if (
            rule
            and rule.enabled
            and rule.mandatory
            and sorted(rule.vms) == have
            and len(have) == len(members)
        ):
            continue
        out.append(
            Change(
                kind="update" if rule else "create",
                resource=RESOURCE,
                host=None,
                name=name,
                diffs=[
                    FieldDiff(
                        field="anti_affinity",
                        before=sorted(v.name for v in ours.values() if v.moref in rule.vms)
                        if rule
                        else None,
                        after=[s.name for s in members],
                    )
                ],
                depends_on=[a.id for a in appliances if a.name in {s.name for s in members}],
                lane=f"cluster:{cl}",
                appliance=ApplianceOrder(
                    definition=spec.name,
                    cluster_moref=cl,
                    rule_vms=[s.name for s in members],
                ),
            )
        )
    return out


def plan_remove(
    spec: ApplianceSpec, inv: Inventory, hosts: list[Host], facts: Facts, target: dict[str, Any]
) -> Plan:
    """Protected VMs off the segment first (re-homed or unplugged), then the appliances."""
    ours = _ours(spec, facts)
    host_names = {h.name for h in hosts}
    by_moref = {h.moref: h.name for h in inv.hosts}
    doomed = {n: v for n, v in ours.items() if by_moref.get(v.host_moref or "") in host_names}
    first = _off_segment(spec, inv, hosts, target)
    deletes = []
    for _, vm in sorted(doomed.items()):
        host = by_moref.get(vm.host_moref or "")
        per_host = spec.placement.per == "host"
        d = _delete(spec, vm, host, inv)
        deletes.append(
            d.model_copy(
                update={"depends_on": [m.id for m in first if not per_host or m.host == host]}
            )
        )
    if spec.placement.per == "cluster":
        for c in inv.clusters:
            rules = facts.rules.get(c.moref)
            rule = rules.rule(anti_affinity_name(spec, c.name)) if rules else None
            if rule is not None:
                deletes = [_also_unpin(d, c.moref, rule.name) for d in deletes]
    return Plan(changes=first + deletes)


def _also_unpin(d: Change, cluster: str, name: str) -> Change:
    """A deleted appliance also takes its cluster's anti-affinity rule with it."""
    o = d.appliance
    if o is None or o.cluster_moref != cluster:
        return d
    return d.model_copy(
        update={"appliance": o.model_copy(update={"pin_names": [*o.pin_names, name]})}
    )


def _unplug(spec: ApplianceSpec, inv: Inventory, hosts: list[Host]) -> list[Change]:
    p = spec.protect
    names = {h.name: h for h in hosts}
    out = []
    for vm in inv.vms:
        if vm.host not in names or p is None or not matches(vm.name, p.vms):
            continue
        for nic in vm.nics:
            if (
                nic.network == spec.networks.protected
                and nic.connected
                and matches(nic.label, p.nic)
            ):
                out.append(
                    Change(
                        kind="update",
                        resource=DISCONNECT,
                        host=vm.host,
                        name=f"{vm.name}/{nic.label}",
                        diffs=[FieldDiff(field="connected", before=True, after=False)],
                        vm_moref=vm.moref,
                        nic_key=nic.key,
                        dest=Placement(
                            portgroup=nic.network, uuid=nic.dvs_uuid, key=nic.dv_portgroup_key
                        ),
                        lane=f"vm:{vm.name}",
                        appliance=ApplianceOrder(definition=spec.name, connect=False),
                    )
                )
    return out
