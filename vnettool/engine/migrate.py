"""vSS <-> vDS migrations of VMkernel adapters and VM NICs, in safe batches of hosts.

Every moved NIC is one change, so the plan shows each of them (`portgroup: vMotion →
dv-vmotion`). Safety, checked while planning, all problems listed at once:

- a management adapter only moves onto a distributed switch on which the host has (or gets in
  the same document) at least one physical uplink, and onto a standard port group whose switch
  has an uplink — otherwise the host would be unreachable;
- the host must be (or become) a member of the target switch.

Rollout: the hosts that have something to move are cut into batches of `migrations.batch`;
every change of batch k depends on every change of batch k-1, so a failure stops the rollout
after the batch it happened in (the rest is reported skipped). On one host the management
adapters move last, and after each management move the host's connection state is read back:
anything but `connected` fails the change (and stops the rollout).
"""

from __future__ import annotations

from typing import Any, ClassVar

from vnettool.engine.common import CannotRestore, Context, matches, natural_key, on_host
from vnettool.engine.resource import Resource
from vnettool.errors import VnetError
from vnettool.impact.simulate import dv_target
from vnettool.models.base import Model
from vnettool.models.inventory import Inventory, VirtualMachine, VmkernelAdapter
from vnettool.models.plan import Change, Facts, FieldDiff, Placement
from vnettool.vsphere import dvportgroup, hostnet
from vnettool.vsphere import vm as vm_api
from vnettool.vsphere.connection import Session

RESOURCE = "vmknic_migration"
VM_RESOURCE = "vm_nic_migration"


class _Where:
    """Where a port group name points to: a DV port group (switch, key) or a standard one."""

    def __init__(self, ctx: Context, name: str) -> None:
        inv = ctx.inventory
        self.name = name
        dv = [p for p in inv.distributed_port_groups if p.name == name and not p.uplink]
        want = [p for p in ctx.desired.distributed_port_groups if p.name == name]
        self.switch: str | None = dv[0].dvs if dv else (want[0].switch if want else None)
        self.key: str | None = dv[0].key if dv else None
        sw = inv.dvs_by_name.get(self.switch or "")
        self.uuid: str | None = sw.uuid if sw else None

    @property
    def distributed(self) -> bool:
        return self.switch is not None

    def holds_vmknic(self, v: VmkernelAdapter) -> bool:
        if self.distributed:
            return self.key is not None and v.dv_portgroup_key == self.key
        return v.portgroup == self.name and v.dvs_uuid is None

    def holds_nic(self, nic: Any) -> bool:
        if self.distributed:
            return self.key is not None and nic.dv_portgroup_key == self.key
        return bool(nic.network == self.name and nic.dvs_uuid is None)

    def placement(self) -> Placement:
        return Placement(switch=self.switch, portgroup=self.name, key=self.key, uuid=self.uuid)


def _uplinked(ctx: Context, host: str, where: _Where) -> tuple[bool, bool]:
    """(member, has a pNIC) of the host on the target switch, after this plan."""
    inv = ctx.inventory
    if where.distributed:
        sw = inv.dvs_by_name.get(where.switch or "")
        m = next((m for m in (sw.hosts if sw else []) if m.host == host), None)
        member, pnic = m is not None, bool(m and m.pnics)
        spec = next((s for s in ctx.desired.distributed_switches if s.name == where.switch), None)
        h = inv.host_by_name.get(host)
        if (
            spec is not None
            and spec.hosts is not None
            and h is not None
            and matches(h.cluster or "", spec.hosts.cluster)
            and matches(h.name, spec.hosts.hosts)
        ):
            member = True
            pnic = pnic or bool(spec.hosts.uplinks)
        return member, pnic
    pg = next((p for p in inv.portgroups_of(host) if p.name == where.name), None)
    want = next(
        (p for p in ctx.desired.standard_port_groups if p.name == where.name and on_host(p, host)),
        None,
    )
    if pg is None and want is None:
        return False, False
    sw_name = pg.switch if pg else (want.switch if want else "")
    vss = next((s for s in inv.switches_of(host) if s.name == sw_name), None)
    return True, bool(vss and vss.uplinks)


def _vm_change(vm: VirtualMachine, nic: Any, src: _Where, dst: _Where, host_moref: str) -> Change:
    return Change(
        kind="update",
        resource=VM_RESOURCE,
        host=vm.host,
        name=f"{vm.name}/{nic.label}",
        diffs=[FieldDiff(field="network", before=src.name, after=dst.name)],
        lane=f"vm:{vm.name}",
        vm_moref=vm.moref,
        nic_key=nic.key,
        source=src.placement(),
        dest=dst.placement(),
        host_moref=host_moref,
    )


def _plan(ctx: Context) -> list[Change]:
    inv, mig = ctx.inventory, ctx.desired.migrations
    changes: list[Change] = []
    claimed: dict[tuple[str, str], str] = {}
    for m in mig.vmkernel_adapters:
        src, dst = _Where(ctx, m.from_portgroup), _Where(ctx, m.to_portgroup)
        for host in ctx.hosts:
            if not matches(host.name, m.host):
                continue
            moving = [
                v
                for v in inv.vmknics_of(host.name)
                if src.holds_vmknic(v) and (m.device is None or v.device == m.device)
            ]
            if not moving:
                continue
            member, pnic = _uplinked(ctx, host.name, dst)
            if not member:
                ctx.problems.append(
                    f"{host.name}: cannot move {', '.join(v.device for v in moving)} to "
                    f"{dst.name}: "
                    + (
                        f"the host is not a member of {dst.switch}"
                        if dst.distributed
                        else "no such standard port group on the host"
                    )
                )
                continue
            for v in moving:
                if (host.name, v.device) in claimed:
                    ctx.problems.append(
                        f"{host.name}: {v.device} is moved twice ({claimed[(host.name, v.device)]}"
                        f" and {dst.name})"
                    )
                    continue
                claimed[(host.name, v.device)] = dst.name
                mgmt = "management" in v.services
                if mgmt and not pnic:
                    ctx.problems.append(
                        f"{host.name}: moving management adapter {v.device} to {dst.name} would "
                        f"strand it: the host has no physical uplink on "
                        f"{dst.switch or 'that switch'} (add hosts.uplinks first)"
                    )
                    continue
                changes.append(
                    Change(
                        kind="update",
                        resource=RESOURCE,
                        host=host.name,
                        name=v.device,
                        diffs=[FieldDiff(field="portgroup", before=src.name, after=dst.name)],
                        host_moref=host.moref,
                        before=v,
                        source=src.placement(),
                        dest=dst.placement(),
                        management=mgmt,
                    )
                )
    hosts_in_target = {h.name: h for h in ctx.hosts}
    for n in mig.vm_nics:
        src, dst = _Where(ctx, n.from_portgroup), _Where(ctx, n.to_portgroup)
        for vm in inv.vms:
            if vm.host not in hosts_in_target or not matches(vm.name, n.vms):
                continue
            for nic in vm.nics:
                if not matches(nic.label, n.nic) or not src.holds_nic(nic):
                    continue
                member, _ = _uplinked(ctx, vm.host or "", dst)
                if not member:
                    ctx.problems.append(
                        f"{vm.name}/{nic.label}: its host {vm.host} cannot reach {dst.name}"
                    )
                    continue
                changes.append(_vm_change(vm, nic, src, dst, hosts_in_target[vm.host or ""].moref))
    return _batch(changes, mig.batch)


def _batch(changes: list[Change], size: int) -> list[Change]:
    """Each change waits for the previous batch of hosts, its target, and (a management
    adapter) the other moves on its host."""
    hosts = sorted({c.host or "" for c in changes}, key=natural_key)
    rank = {h: i // size for i, h in enumerate(hosts)}
    by_batch: dict[int, list[str]] = {}
    for c in changes:
        by_batch.setdefault(rank[c.host or ""], []).append(c.id)
    out = []
    for c in changes:
        k = rank[c.host or ""]
        after = list(by_batch.get(k - 1, []))
        if c.resource == RESOURCE and c.management:
            after += [x.id for x in changes if x.host == c.host and x is not c and not x.management]
        to = c.dest or Placement()
        if to.switch:
            after += [
                f"distributed_switch:-:{to.switch}",
                f"distributed_port_group:-:{to.portgroup}",
            ]
        else:
            after += [f"standard_port_group:{c.host}:{to.portgroup}"]
        out.append(c.model_copy(update={"batch": k, "after_ids": after}))
    return out


def _target(session: Session, to: Placement) -> tuple[str, str] | None:
    if not to.switch:
        return None
    if to.key and to.uuid:
        return to.uuid, to.key
    return dvportgroup.find_portgroup(session, to.switch, to.portgroup or "")


def _now(change: Change, inv: Inventory) -> tuple[str | None, str | None]:
    """Where the moved NIC is now: (DV port group key, standard port group name)."""
    if change.resource == VM_RESOURCE:
        vm = next((v for v in inv.vms if v.moref == change.vm_moref), None)
        nic = next((n for n in vm.nics if n.key == change.nic_key), None) if vm else None
        if nic is None:
            raise CannotRestore(f"{change.name} is no longer in the inventory")
        return nic.dv_portgroup_key, None if nic.dvs_uuid else nic.network
    v = next((v for v in inv.vmknics_of(change.host or "") if v.device == change.name), None)
    if v is None:
        raise CannotRestore(f"{change.host}/{change.name} is no longer in the inventory")
    return v.dv_portgroup_key, None if v.dvs_uuid else v.portgroup


def _on(where: Placement, now: tuple[str | None, str | None], inv: Inventory) -> bool:
    key, standard = now
    if not where.switch:
        return standard == where.portgroup
    want = where.key or next(
        (
            p.key
            for p in inv.distributed_port_groups
            if p.dvs == where.switch and p.name == where.portgroup
        ),
        None,
    )
    return key is not None and key == want


class VmknicMigrations(Resource[VmkernelAdapter]):
    """One change per moved VMkernel adapter (named by its device), batched by host."""

    name = RESOURCE
    model: ClassVar[type[Model]] = VmkernelAdapter
    after: ClassVar[tuple[str, ...]] = ("vmkernel_adapter", "distributed_port_group")

    def plan(self, ctx: Context) -> list[Change]:
        """Plans the VM NIC moves too: both share the batches of one rollout."""
        return _plan(ctx)

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        return list(change.after_ids)

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        to = change.dest or Placement()
        dv = _target(session, to)
        where = f"{change.host}/{change.name}"
        state = hostnet.move_vmknic(
            session, change.host_moref or "", where, change.name, dv, None if dv else to.portgroup
        )
        facts["connection_state"] = state
        if change.management and state != "connected":
            raise VnetError(
                f"{where}: host is {state} after moving its management adapter; rollout stopped"
            )

    def conflict(self, change: Change, inv: Inventory) -> str | None:
        """The NIC is no longer on the port group the run moved it to."""
        try:
            now = _now(change, inv)
        except CannotRestore as exc:
            return str(exc)
        to = change.dest or Placement()
        if _on(to, now, inv):
            return None
        return f"no longer on {to.portgroup}, where the run moved it"

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        """Move the NIC back (the same change with from and to swapped), unless it is back."""
        if _on(change.source or Placement(), _now(change, inv), inv):
            return None
        return change.model_copy(
            update={
                "diffs": [
                    FieldDiff(field=d.field, before=d.after, after=d.before) for d in change.diffs
                ],
                "source": change.dest,
                "dest": change.source,
                "facts": Facts(),
                "after_ids": [],
                "depends_on": [],
            }
        )

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """The vmknic on its destination port group (a DV one by key, else by name)."""
        t = dv_target(inv, change.dest)
        to = {
            "portgroup": None if t["dv_portgroup_key"] else t["network"],
            "dvs_uuid": t["dvs_uuid"],
            "dv_portgroup_key": t["dv_portgroup_key"],
        }
        adapters = [
            v.model_copy(update=to) if v.host == change.host and v.device == change.name else v
            for v in inv.vmkernel_adapters
        ]
        return inv.model_copy(update={"vmkernel_adapters": adapters})


class VmNicMigrations(VmknicMigrations):
    """The VM NIC half (named `vm/NIC label`), planned with the adapters' rollout."""

    name = VM_RESOURCE
    model = Placement
    after = ("distributed_port_group",)

    def plan(self, ctx: Context) -> list[Change]:
        return []

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        to = change.dest or Placement()
        dv = _target(session, to)
        vm_api.edit_nic(
            session,
            change.vm_moref or "",
            change.name,
            int(change.nic_key or 0),
            network=None if dv else to.portgroup,
            dv=dv,
        )

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """The VM's NIC (`vm/label`) on its destination network."""
        t = dv_target(inv, change.dest)
        vm_name, _, label = change.name.partition("/")

        def moved(vm: VirtualMachine) -> VirtualMachine:
            nics = [n.model_copy(update=t) if n.label == label else n for n in vm.nics]
            return vm.model_copy(update={"nics": nics})

        return inv.model_copy(
            update={"vms": [moved(vm) if vm.name == vm_name else vm for vm in inv.vms]}
        )


resource = VmknicMigrations()
vm_nics = VmNicMigrations()
