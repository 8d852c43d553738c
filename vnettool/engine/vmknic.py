"""VMkernel adapters on standard port groups: IP (static with `{index}` or DHCP), MTU, services.

An adapter is identified by (host, port group). Its services are owned as a whole: the listed
ones are selected with SelectVnicForNicType, any other deselected.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import Context, field_diffs, host_gone, matches, on_host
from vnettool.engine.resource import Resource
from vnettool.impact.simulate import after_state, replace
from vnettool.models.desired import VmkernelAdapterSpec, render_cidr
from vnettool.models.inventory import Host, Inventory, VmkernelAdapter
from vnettool.models.plan import Change
from vnettool.vsphere import hostnet
from vnettool.vsphere.connection import Session

RESOURCE = "vmkernel_adapter"
FIELDS = ("dhcp", "ip", "netmask", "mtu", "services")


def target(
    before: VmkernelAdapter | None, spec: VmkernelAdapterSpec, host: str, index: int
) -> VmkernelAdapter:
    base = before or VmkernelAdapter(host=host, device="", portgroup=spec.portgroup)
    update: dict[str, Any] = {}
    if spec.ip is not None:
        if spec.ip.dhcp:
            update |= {"dhcp": True}
        else:
            ip, mask = render_cidr(spec.ip.cidr or "", index)
            update |= {"dhcp": False, "ip": ip, "netmask": mask}
    if spec.mtu is not None:
        update["mtu"] = spec.mtu
    if spec.services is not None:
        update["services"] = sorted(set(spec.services))
    return base.model_copy(update=update)


def _name(v: VmkernelAdapter) -> str:
    return v.portgroup or v.device


def _mgmt_reason(inv: Inventory, host: str, device: str, keeps: bool) -> str | None:
    """The host's last management adapter must keep the service (or it becomes unmanageable)."""
    if keeps:
        return None
    mgmt = [v.device for v in inv.vmknics_of(host) if "management" in v.services]
    if mgmt == [device]:
        return f"{device} is the only management VMkernel adapter of {host}"
    return None


class VmkernelAdapters(Resource[VmkernelAdapter]):
    """Adapters identified by (host, port group); the change is named after the port group."""

    name = RESOURCE
    model = VmkernelAdapter
    fields = FIELDS
    after = ("standard_port_group", "distributed_port_group")

    def plan(self, ctx: Context) -> list[Change]:
        desired = ctx.desired
        gone_pgs = set(desired.absent.standard_port_groups)
        skip: set[int] = set()
        for i, spec in enumerate(desired.vmkernel_adapters):
            hosts = [h for h in ctx.hosts if matches(h.name, spec.host)]
            if spec.ip and spec.ip.cidr and "{index" not in spec.ip.cidr and len(hosts) > 1:
                ctx.problems.append(
                    f"vmkernel adapter on {spec.portgroup}: cidr {spec.ip.cidr} has no {{index}} "
                    f"but matches {len(hosts)} hosts (every host would get the same address)"
                )
                skip.add(i)
            if spec.portgroup in gone_pgs:
                ctx.problems.append(
                    f"vmkernel adapter on {spec.portgroup}: that port group is listed as absent"
                )
        changes: list[Change] = []
        claimed: dict[tuple[str, str], str] = {}
        for host in ctx.hosts:
            for i, spec in enumerate(desired.vmkernel_adapters):
                if i in skip or not matches(host.name, spec.host) or spec.portgroup in gone_pgs:
                    continue
                key = (host.name, spec.portgroup)
                if key in claimed:
                    ctx.problems.append(
                        f"{host.name}: two vmkernel_adapters entries ({claimed[key]!r} and "
                        f"{spec.host!r}) match the adapter on {spec.portgroup}"
                    )
                    continue
                claimed[key] = spec.host
                ch = self._plan_one(ctx, host, spec)
                if ch is not None:
                    changes.append(ch)
        return changes + plan_deletes(ctx)

    def _plan_one(self, ctx: Context, host: Host, spec: VmkernelAdapterSpec) -> Change | None:
        inv = ctx.inventory
        pgs = {p.name: p.switch for p in inv.portgroups_of(host.name)}
        desired_pgs = {
            p.name: p.switch for p in ctx.desired.standard_port_groups if on_host(p, host.name)
        }
        if spec.portgroup not in pgs and spec.portgroup not in desired_pgs:
            ctx.problems.append(
                f"{host.name}: vmkernel adapter: no standard port group {spec.portgroup} "
                "(neither on the host nor in standard_port_groups)"
            )
            return None
        before = next((v for v in inv.vmknics_of(host.name) if v.portgroup == spec.portgroup), None)
        if before is None and spec.ip is None:
            ctx.problems.append(
                f"{host.name}: new vmkernel adapter on {spec.portgroup} needs ip "
                "(cidr or dhcp: true)"
            )
            return None
        try:
            after = target(before, spec, host.name, ctx.index[host.name])
        except ValueError as exc:
            ctx.problems.append(f"{host.name}: vmkernel adapter on {spec.portgroup}: {exc}")
            return None
        if before is not None:
            before = before.model_copy(update={"services": sorted(before.services)})
        ch = self.change(
            host,
            spec.portgroup,
            before,
            after,
            self.diff(before, after),
            switches=[pgs.get(spec.portgroup) or desired_pgs[spec.portgroup]],
        )
        if ch is None or before is None or "management" not in before.services:
            return ch
        reason = _mgmt_reason(inv, host.name, before.device, "management" in after.services)
        if reason:
            ch = ch.model_copy(update={"unsafe": f"removes the management service: {reason}"})
        return ch

    def tags(self, state: VmkernelAdapter) -> dict[str, Any]:
        return {"device": state.device or None}

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """After its port group and that port group's switch (an MTU 9000 adapter needs both)."""
        if change.kind == "delete":
            return []
        pg = self.new(change).portgroup
        pg_changes = [c for c in same_host if c.resource == "standard_port_group" and c.name == pg]
        out = [c.id for c in pg_changes if c.kind != "delete"]
        switches = {c.switch for c in pg_changes} | set(change.switches)
        out += [
            c.id
            for c in same_host
            if c.resource == "standard_switch" and c.kind != "delete" and c.name in switches
        ]
        return out

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        after = self.new(change)
        device = hostnet.add_virtual_nic(session, change.host_moref or "", after)
        facts["device"] = device  # recorded before the services, so rollback finds it
        self._services(change, session, device)

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        after = self.new(change)
        if any(d.field in ("dhcp", "ip", "netmask", "mtu") for d in change.diffs):
            hostnet.update_virtual_nic(session, change.host_moref or "", after)
        self._services(change, session, after.device)

    def _services(self, change: Change, session: Session, device: str) -> None:
        before = self.old(change)
        had = set(before.services if before else [])
        want = set(self.new(change).services)
        hostnet.set_vnic_services(
            session,
            change.host_moref or "",
            change.host or "",
            device,
            sorted(want - had),
            sorted(had - want),
        )

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        hostnet.remove_virtual_nic(
            session, change.host_moref or "", change.host or "", str(change.device)
        )

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        host = inv.host_by_name.get(change.host or "")
        if host is None:
            return host_gone(change)
        device = change.facts.device or change.device
        want = self.old(change)
        adapters = inv.vmknics_of(host.name)
        current = next((v for v in adapters if device and v.device == device), None)
        if current is None and want is not None:
            current = next((v for v in adapters if v.portgroup == want.portgroup), None)
        if current is None and want is None and change.after is not None:
            pg = self.new(change).portgroup
            current = next((v for v in adapters if v.portgroup == pg), None)
        if current is not None:
            current = current.model_copy(update={"services": sorted(current.services)})
            if want is not None:
                want = want.model_copy(update={"device": current.device})
        diffs = self.diff(current, want, strict=True)
        ch = self.change(host, change.name, current, want, diffs)
        if ch is not None and current is None:
            ch = ch.model_copy(update={"device": None})
        return ch

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """The adapter replaced; a new one is named `new:<name>` until the host names it."""
        device = getattr(change.before, "device", None) or change.device
        new = after_state(change, VmkernelAdapter)
        if new is not None and not new.device:
            new = new.model_copy(update={"device": f"new:{change.name}"})
        items = replace(
            inv.vmkernel_adapters, lambda v: v.host == change.host and v.device == device, new
        )
        return inv.model_copy(update={"vmkernel_adapters": items})


resource = VmkernelAdapters()


def deleted_on(ctx: Context) -> dict[str, set[str]]:
    """host -> vmknic devices this plan deletes; a port group they leave is free to go
    (portgroup's in-use check reads it). Computed once per plan, on the context."""
    if ctx.deleted_vmknics is None:
        ctx.deleted_vmknics = deleted_devices(plan_deletes(ctx))
    return ctx.deleted_vmknics


def plan_deletes(ctx: Context) -> list[Change]:
    changes: list[Change] = []
    for host in ctx.hosts:
        for item in ctx.desired.absent.vmkernel_adapters:
            if not matches(host.name, item.host):
                continue
            for v in ctx.inventory.vmknics_of(host.name):
                if item.device is not None and v.device != item.device:
                    continue
                if item.portgroup is not None and v.portgroup != item.portgroup:
                    continue
                d = field_diffs(v, None, ("device", "ip", "services"))
                ch = resource.change(host, _name(v), v, None, d)
                if ch is None:
                    continue
                reason = _mgmt_reason(ctx.inventory, host.name, v.device, False)
                if reason:
                    ch = ch.model_copy(update={"unsafe": f"deletes {v.device}: {reason}"})
                changes.append(ch)
    return changes


def deleted_devices(changes: list[Change]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in changes:
        if c.resource == RESOURCE and c.kind == "delete":
            out.setdefault(c.host or "", set()).add(str(c.device))
    return out
