"""VMkernel adapters on standard port groups: IP (static with `{index}` or DHCP), MTU, services.

An adapter is identified by (host, port group). Its services are owned as a whole: the listed
ones are selected with SelectVnicForNicType, any other deselected.
"""

from __future__ import annotations

from typing import Any

from vnettool.engine.common import Context, field_diffs, host_gone, make_change, matches
from vnettool.models.desired import VmkernelAdapterSpec, render_cidr
from vnettool.models.inventory import Inventory, VmkernelAdapter
from vnettool.models.plan import Change
from vnettool.vsphere import hostnet
from vnettool.vsphere.connection import Session

RESOURCE = "vmkernel_adapter"
# created after these resources (deleted before them): engine/registry.py orders by it
AFTER: tuple[str, ...] = ("standard_port_group", "distributed_port_group")
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


def plan(ctx: Context) -> list[Change]:
    inv, desired = ctx.inventory, ctx.desired
    pgs = {(p.host, p.name): p.switch for p in inv.standard_port_groups}
    desired_pgs = {p.name: p.switch for p in desired.standard_port_groups}
    gone_pgs = set(desired.absent.standard_port_groups)
    changes: list[Change] = []
    skip: set[int] = set()
    for i, spec in enumerate(desired.vmkernel_adapters):
        hosts = [h for h in ctx.hosts if matches(h.name, spec.host)]
        if spec.ip and spec.ip.cidr and "{index" not in spec.ip.cidr and len(hosts) > 1:
            ctx.problems.append(
                f"vmkernel adapter on {spec.portgroup}: cidr {spec.ip.cidr} has no {{index}} but "
                f"matches {len(hosts)} hosts (every host would get the same address)"
            )
            skip.add(i)
        if spec.portgroup in gone_pgs:
            ctx.problems.append(
                f"vmkernel adapter on {spec.portgroup}: that port group is listed as absent"
            )
    claimed: dict[tuple[str, str], str] = {}
    for host in ctx.hosts:
        adapters = inv.vmknics_of(host.name)
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
            if key not in pgs and spec.portgroup not in desired_pgs:
                ctx.problems.append(
                    f"{host.name}: vmkernel adapter: no standard port group {spec.portgroup} "
                    "(neither on the host nor in standard_port_groups)"
                )
                continue
            before = next((v for v in adapters if v.portgroup == spec.portgroup), None)
            if before is None and spec.ip is None:
                ctx.problems.append(
                    f"{host.name}: new vmkernel adapter on {spec.portgroup} needs ip "
                    "(cidr or dhcp: true)"
                )
                continue
            try:
                after = target(before, spec, host.name, ctx.index[host.name])
            except ValueError as exc:
                ctx.problems.append(f"{host.name}: vmkernel adapter on {spec.portgroup}: {exc}")
                continue
            if before is not None:
                before = before.model_copy(update={"services": sorted(before.services)})
            ch = make_change(
                RESOURCE,
                host,
                spec.portgroup,
                before,
                after,
                field_diffs(before, after, FIELDS),
                device=before.device if before else None,
                switches=[pgs.get(key) or desired_pgs[spec.portgroup]],
            )
            if ch is None:
                continue
            if before is not None and "management" in before.services:
                reason = _mgmt_reason(inv, host.name, before.device, "management" in after.services)
                if reason:
                    ch = ch.model_copy(
                        update={
                            "spec": {
                                **ch.spec,
                                "unsafe": f"removes the management service: {reason}",
                            }
                        }
                    )
            changes.append(ch)
    changes += plan_deletes(ctx)
    return changes


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
                ch = make_change(
                    RESOURCE,
                    host,
                    _name(v),
                    v,
                    None,
                    field_diffs(v, None, ("device", "ip", "services")),
                    device=v.device,
                )
                if ch is None:
                    continue
                reason = _mgmt_reason(ctx.inventory, host.name, v.device, False)
                if reason:
                    ch = ch.model_copy(
                        update={"spec": {**ch.spec, "unsafe": f"deletes {v.device}: {reason}"}}
                    )
                changes.append(ch)
    return changes


def deleted_devices(changes: list[Change]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in changes:
        if c.resource == RESOURCE and c.kind == "delete":
            out.setdefault(c.host or "", set()).add(str(c.spec.get("device")))
    return out


def depends(change: Change, same_host: list[Change]) -> list[str]:
    """After its port group and that port group's switch (an MTU 9000 adapter needs both)."""
    if change.kind == "delete":
        return []
    pg = (change.spec.get("after") or {}).get("portgroup")
    pg_changes = [c for c in same_host if c.resource == "standard_port_group" and c.name == pg]
    out = [c.id for c in pg_changes if c.kind != "delete"]
    switches = {(c.spec.get("after") or {}).get("switch") for c in pg_changes}
    switches |= set(change.spec.get("switches") or [])
    out += [
        c.id
        for c in same_host
        if c.resource == "standard_switch" and c.kind != "delete" and c.name in switches
    ]
    return out


def apply(change: Change, session: Session, facts: dict[str, Any]) -> None:
    moref, host = change.spec["host_moref"], change.host or ""
    if change.kind == "delete":
        hostnet.remove_virtual_nic(session, moref, host, str(change.spec["device"]))
        return
    after = VmkernelAdapter.model_validate(change.spec["after"])
    before = change.spec.get("before") or {}
    if change.kind == "create":
        device = hostnet.add_virtual_nic(session, moref, after)
        facts["device"] = device  # recorded before the services, so rollback finds it
    else:
        device = after.device
        if any(d.field in ("dhcp", "ip", "netmask", "mtu") for d in change.diffs):
            hostnet.update_virtual_nic(session, moref, after)
    had = set(before.get("services") or [])
    want = set(after.services)
    hostnet.set_vnic_services(session, moref, host, device, sorted(want - had), sorted(had - want))


def restore(change: Change, facts: dict[str, Any], inv: Inventory) -> Change | None:
    host = inv.host_by_name.get(change.host or "")
    if host is None:
        return host_gone(change)
    device = facts.get("device") or change.spec.get("device")
    before = change.spec.get("before")
    want = VmkernelAdapter.model_validate(before) if before else None
    adapters = inv.vmknics_of(host.name)
    current = next((v for v in adapters if device and v.device == device), None)
    if current is None and want is not None:
        current = next((v for v in adapters if v.portgroup == want.portgroup), None)
    if current is None and want is None:
        pg = (change.spec.get("after") or {}).get("portgroup")
        current = next((v for v in adapters if v.portgroup == pg), None)
    if current is not None:
        current = current.model_copy(update={"services": sorted(current.services)})
        if want is not None:
            want = want.model_copy(update={"device": current.device})
    diffs = field_diffs(current, want, FIELDS, strict=True)
    return make_change(
        RESOURCE,
        host,
        change.name,
        current,
        want,
        diffs,
        device=current.device if current else None,
    )
