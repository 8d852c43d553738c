"""Appliance change kinds as engine resources: the VM (and its anti-affinity rule) and the
protected NIC a removal unplugs. Planned by vnettool/appliances (from a definition and the
facts it reads), applied, journaled and rolled back here like every other change.

The apply of one appliance is a fixed sequence, because the order is what keeps traffic safe:
clone (sized, reserved, latency-sensitive, NICs disconnected) → pin (DRS must-run rule) →
power on → connect management, then unprotected → wait healthy → connect protected. A health
timeout fails the change before the protected side is connected, so no VM is ever moved
behind an appliance that does not answer (the protected VMs' moves depend on it).

Rollback: a created appliance is removed (powered off, unpinned, destroyed), a parked one
powered on again, a powered-on one parked, a created anti-affinity rule removed and an edited
one given its former VMs, an unplugged protected NIC plugged in again. A deleted appliance, or
one resized or re-wired to match its definition, is not put back: the rollback says so.
"""

from __future__ import annotations

import http.client
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from vnettool.engine.common import CannotRestore
from vnettool.engine.resource import Resource
from vnettool.errors import VnetError
from vnettool.models.appliance import ApplianceOrder, ApplianceVm, NetworkRef, NicRole
from vnettool.models.inventory import Inventory, VirtualMachine
from vnettool.models.plan import Change, FieldDiff, Placement
from vnettool.vsphere import cluster as cluster_api
from vnettool.vsphere import dvportgroup as dvpg_api
from vnettool.vsphere import ovf as ovf_api
from vnettool.vsphere import vm as vm_api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.vm import relocate

log = logging.getLogger(__name__)

RESOURCE = "appliance"
DISCONNECT = "protected_nic_disconnect"
ROLES: tuple[NicRole, ...] = ("management", "unprotected", "protected")
# The VM's size and resource fields, named alike in `ApplianceWant` and `ApplianceVm`.
SIZING = (
    "cpus",
    "memory_mb",
    "cpu_reservation_mhz",
    "memory_reservation_mb",
    "latency_sensitivity",
)


def pin_names(vm: str) -> tuple[str, str, str]:
    """(VM group, host group, rule) names of an appliance's pinning."""
    return f"vnettool-{vm}", f"vnettool-{vm}-host", f"vnettool-{vm}-pin"


# -- health -----------------------------------------------------------------------------------
def probe(vm: ApplianceVm, health: dict[str, Any], timeout_s: float = 2.0) -> tuple[bool, str]:
    """One health check: TCP connect to the port, an HTTP(S) GET, or VMware Tools heartbeat."""
    port = health.get("port")
    http = health.get("http")
    if port or http:
        addr = health.get("address") or vm.guest_ip
        if not addr:
            return False, "no guest IP address yet"
        if http:
            return http_probe(addr, http, timeout_s)
        try:
            with socket.create_connection((addr, int(port or 0)), timeout=timeout_s):
                return True, f"tcp {addr}:{port} open"
        except OSError as exc:
            return False, f"tcp {addr}:{port}: {exc.strerror or exc}"
    if vm.heartbeat == "green":
        return True, "tools heartbeat green"
    return False, f"tools heartbeat {vm.heartbeat or 'unknown'}"


HTTP_READ = 64 * 1024  # enough for a health page; a huge answer is not read whole


def http_probe(addr: str, spec: dict[str, Any], timeout_s: float = 2.0) -> tuple[bool, str]:
    """GET scheme://addr:port/path; ok when the status is expected and the body matches.

    No redirect is followed (a health URL that redirects is reported with its status) and no
    credential is sent; TLS is verified only when asked (`verify_tls` or `ca_file`)."""
    https = spec.get("scheme", "https") == "https"
    port = int(spec.get("port") or (443 if https else 80))
    path = spec.get("path") or "/"
    host = f"[{addr}]" if ":" in addr else addr
    url = f"{'https' if https else 'http'}://{host}:{port}{path}"
    conn: http.client.HTTPConnection
    if https:
        ca = spec.get("ca_file")
        if spec.get("verify_tls") or ca:
            ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        else:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(addr, port, timeout=timeout_s, context=ctx)
    else:
        conn = http.client.HTTPConnection(addr, port, timeout=timeout_s)
    try:
        conn.request("GET", path, headers={"User-Agent": "vnettool-health", "Accept": "*/*"})
        resp = conn.getresponse()
        data = resp.read(HTTP_READ)
    except (OSError, http.client.HTTPException) as exc:
        why = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        return False, f"{url}: {why}"
    finally:
        conn.close()
    expected = [int(s) for s in spec.get("status") or [200]]
    if resp.status not in expected:
        want = "/".join(map(str, expected))
        return False, f"{url}: HTTP {resp.status} (expected {want})"
    pattern = spec.get("body")
    if pattern and re.search(pattern, data.decode("utf-8", "replace")) is None:
        return False, f"{url}: HTTP {resp.status}, body does not match {pattern!r}"
    return True, f"{url}: HTTP {resp.status}" + (f", body matches {pattern!r}" if pattern else "")


def _progress(name: str) -> Callable[[int, int], None]:
    """OVF upload progress to the log, at each tenth of the way (the lease's own progress
    goes to vCenter, where the admin sees it on the import task)."""
    shown = [-1]

    def report(sent: int, total: int) -> None:
        tenth = min(10, 10 * sent // max(total, 1))
        if tenth > shown[0]:
            shown[0] = tenth
            log.info("%s: OVF upload %d%% (%d of %d bytes)", name, 10 * tenth, sent, total)

    return report


def _read_one(session: Session, moref: str) -> ApplianceVm:
    got = vm_api.read_vms(session, [moref], {})
    if not got:
        raise VnetError(f"{moref}: the appliance VM disappeared")
    return got[0]


def wait_healthy(session: Session, moref: str, name: str, health: dict[str, Any]) -> str:
    deadline = time.monotonic() + float(health.get("timeout_s") or 120)
    delay = 0.2
    while True:
        ok, detail = probe(_read_one(session, moref), health)
        if ok:
            return detail
        if time.monotonic() > deadline:
            raise VnetError(
                f"{name}: not healthy after {health.get('timeout_s')} s ({detail}); "
                "protected side left disconnected"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 3.0)


# -- the VM -----------------------------------------------------------------------------------
def _dv(session: Session, net: NetworkRef) -> tuple[str, str] | None:
    if not net.switch:
        return None
    if net.uuid and net.key:
        return net.uuid, net.key
    return dvpg_api.find_portgroup(session, net.switch, net.portgroup)


def _need(c: Change, value: str | None, what: str) -> str:
    if not value:
        raise VnetError(f"{c.summary()}: the change carries no {what}")
    return value


def _order(c: Change) -> ApplianceOrder:
    if c.appliance is None:  # CannotRestore: a rollback names it instead of failing
        raise CannotRestore("the change carries no appliance data")
    return c.appliance


def _health(c: Change) -> dict[str, Any]:
    h = _order(c).health
    return h.model_dump() if h else {}


def _wire(session: Session, c: Change, moref: str, keys: list[int], roles: tuple[str, ...]) -> None:
    want = _order(c).want
    if want is None:
        raise VnetError(f"{c.summary()}: the change carries no desired networks")
    for role in roles:
        net = want.networks[role]
        i = ROLES.index(role)  # type: ignore[arg-type]
        vm_api.edit_nic(
            session,
            moref,
            f"{c.name}/{role}",
            keys[i],
            network=net.portgroup,
            dv=_dv(session, net),
            connected=True,
            start_connected=True,
        )


def _pin(session: Session, c: Change, moref: str) -> None:
    o = _order(c)
    if o.per != "host" or not o.cluster_moref:
        return
    cl = o.cluster_moref
    host = _need(c, c.host_moref, "host")
    cluster_api.pin(
        session, cl, cluster_api.read_rules(session, cl), moref, host, pin_names(c.name)
    )


def _size(session: Session, c: Change, moref: str) -> None:
    want = _order(c).want
    if want is None:
        raise VnetError(f"{c.summary()}: the change carries no desired size")
    vm_api.set_resources(
        session,
        moref,
        c.name,
        cpus=want.cpus,
        memory_mb=want.memory_mb,
        cpu_reservation_mhz=want.cpu_reservation_mhz,
        memory_reservation_mb=want.memory_reservation_mb,
        latency=want.latency_sensitivity,
    )


def _vm_now(change: Change, inv: Inventory) -> VirtualMachine | None:
    moref = change.facts.vm_moref or change.vm_moref
    return next(
        (v for v in inv.vms if v.moref == moref),
        next((v for v in inv.vms if v.name == change.name and not v.template), None),
    )


class Appliances(Resource[ApplianceVm]):
    """Appliance VMs and (when `appliance.rule_vms` is set) their anti-affinity rules."""

    name = RESOURCE
    model = ApplianceVm

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        o = _order(change)
        if o.rule_vms is not None:
            self._rule(change, session, o.rule_vms)
            return
        want = o.want
        if want is None:
            raise VnetError(f"{change.summary()}: the change carries no desired VM")
        dc = _need(change, o.datacenter_moref, "datacenter")
        folder, pool = vm_api.placement_refs(session, dc, o.cluster_moref)
        nics = [
            (f"{role} NIC", want.networks[role].portgroup, _dv(session, want.networks[role]))
            for role in ROLES
        ]
        host = _need(change, change.host_moref, "host")
        if o.ovf is not None:
            moref = ovf_api.import_ovf(
                session,
                order=o.ovf,
                name=change.name,
                folder_moref=folder,
                pool_moref=pool or vm_api.host_pool(session, host),
                host_moref=host,
                sizing={
                    "cpus": want.cpus,
                    "memory_mb": want.memory_mb,
                    "cpu_reservation_mhz": want.cpu_reservation_mhz,
                    "memory_reservation_mb": want.memory_reservation_mb,
                    "latency": want.latency_sensitivity,
                },
                nics=nics,
                tags=o.tags,
                progress=_progress(change.name),
            )
        else:
            moref = vm_api.clone(
                session,
                template_moref=_need(change, o.template_moref, "template"),
                name=change.name,
                folder_moref=folder,
                pool_moref=pool,
                host_moref=host,
                cpus=want.cpus,
                memory_mb=want.memory_mb,
                cpu_reservation_mhz=want.cpu_reservation_mhz,
                memory_reservation_mb=want.memory_reservation_mb,
                latency=want.latency_sensitivity,
                nics=nics,
                tags=o.tags,
            )
        facts["vm_moref"] = moref
        _pin(session, change, moref)
        vm_api.power(session, moref, change.name, True)
        keys = [n.key for n in _read_one(session, moref).nics]
        _wire(session, change, moref, keys, ("management", "unprotected"))
        facts["health"] = wait_healthy(session, moref, change.name, _health(change))
        _wire(session, change, moref, keys, ("protected",))

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        o = _order(change)
        if o.rule_vms is not None:
            self._rule(change, session, o.rule_vms)
            return
        moref = change.vm_moref or ""
        if o.park:
            vm_api.power(session, moref, change.name, False)
            return
        fields = {d.field for d in change.diffs}
        if "host" in fields:
            relocate(session, moref, _need(change, change.host_moref, "host"))
        if fields & set(SIZING):
            _size(session, change, moref)
        if "pinned" in fields:
            _pin(session, change, moref)
        if "power_state" in fields:
            vm_api.power(session, moref, change.name, True)
        if not fields & {f"nic.{r}" for r in ROLES}:
            return
        keys = [n.key for n in _read_one(session, moref).nics]
        if len(keys) < len(ROLES):
            raise VnetError(f"{change.name}: has {len(keys)} NICs, needs {len(ROLES)}; redeploy it")
        front = tuple(r for r in ("management", "unprotected") if f"nic.{r}" in fields)
        _wire(session, change, moref, keys, front)
        if "nic.protected" in fields:
            facts["health"] = wait_healthy(session, moref, change.name, _health(change))
            _wire(session, change, moref, keys, ("protected",))

    def delete(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        o = _order(change)
        if o.rule_vms is None and o.power_state == "poweredOn":
            vm_api.power(session, change.vm_moref or "", change.name, False)
        if o.cluster_moref:
            cl = o.cluster_moref
            cluster_api.unpin(session, cl, cluster_api.read_rules(session, cl), list(o.pin_names))
        if o.rule_vms is None:
            vm_api.destroy(session, change.vm_moref or "", change.name)

    def _rule(self, change: Change, session: Session, vms: list[str]) -> None:
        cl = _order(change).cluster_moref or ""
        morefs = list(vm_api.vm_morefs(session, set(vms)).values())
        cluster_api.anti_affinity(
            session, cl, cluster_api.read_rules(session, cl), change.name, morefs
        )

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        o = _order(change)
        if o.rule_vms is not None:
            return _rule_back(change, o)
        if change.kind == "delete":
            raise CannotRestore(
                "a removed appliance is not re-created by --rollback; deploy its definition "
                "again (vnettool appliance deploy)"
            )
        vm = _vm_now(change, inv)
        if vm is None:
            return None  # gone already: nothing left to undo
        if change.kind == "create":
            return change.model_copy(
                update={
                    "kind": "delete",
                    "host": vm.host,
                    "vm_moref": vm.moref,
                    "diffs": [FieldDiff(field="vm", before=vm.name, after=None)],
                    "appliance": o.model_copy(
                        update={
                            "power_state": vm.power_state,
                            "pin_names": list(pin_names(vm.name)) if o.per == "host" else [],
                        }
                    ),
                    "facts": type(change.facts)(),
                    "depends_on": [],
                }
            )
        return _power_back(change, o, vm)

    def conflict(self, change: Change, inv: Inventory) -> str | None:
        """An appliance VM and its rules are vnettool's own: nothing to conflict with."""
        return None


def _power_back(change: Change, o: ApplianceOrder, vm: VirtualMachine) -> Change | None:
    """The undo of an update: only a power change can be put back (a resize, a move or a
    re-wiring made the VM match its definition, and is not undone)."""
    other = sorted({d.field for d in change.diffs} - {"power_state"})
    if other:
        raise CannotRestore(
            f"{', '.join(other)} were set to match the appliance definition and are not "
            "put back; change the definition and deploy it again"
        )
    was = next(d.before for d in change.diffs if d.field == "power_state")
    if vm.power_state == was:
        return None
    return change.model_copy(
        update={
            "diffs": [FieldDiff(field="power_state", before=vm.power_state, after=was)],
            "appliance": o.model_copy(update={"park": was != "poweredOn"}),
            "vm_moref": vm.moref,
            "facts": type(change.facts)(),
            "depends_on": [],
        }
    )


def _rule_back(change: Change, o: ApplianceOrder) -> Change:
    """A created rule is removed; an edited one keeps its former VMs again."""
    before = change.diffs[0].before if change.diffs else None
    if change.kind == "create" or not before:
        return change.model_copy(
            update={
                "kind": "delete",
                "diffs": [FieldDiff(field="anti_affinity", before=o.rule_vms, after=None)],
                "appliance": o.model_copy(update={"pin_names": [change.name]}),
                "depends_on": [],
            }
        )
    return change.model_copy(
        update={
            "diffs": [FieldDiff(field="anti_affinity", before=o.rule_vms, after=before)],
            "appliance": o.model_copy(update={"rule_vms": list(before)}),
            "depends_on": [],
        }
    )


class ProtectedNics(Resource[Placement]):
    """A protected VM's NIC unplugged (or plugged in again) on its port group."""

    name = DISCONNECT
    model = Placement

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        where = change.dest or Placement()
        dv = (where.uuid, where.key) if where.uuid and where.key else None
        connect = _order(change).connect
        vm_api.edit_nic(
            session,
            change.vm_moref or "",
            change.name,
            int(change.nic_key or 0),
            network=where.portgroup or "",
            dv=dv,
            connected=connect,
            start_connected=connect,
        )

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        vm = next((v for v in inv.vms if v.moref == change.vm_moref), None)
        nic = next((n for n in vm.nics if n.key == change.nic_key), None) if vm else None
        if nic is None:
            raise CannotRestore(f"{change.name} is no longer in the inventory")
        was = not _order(change).connect
        if nic.connected == was:
            return None
        return change.model_copy(
            update={
                "diffs": [FieldDiff(field="connected", before=nic.connected, after=was)],
                "appliance": _order(change).model_copy(update={"connect": was}),
                "depends_on": [],
            }
        )

    def conflict(self, change: Change, inv: Inventory) -> str | None:
        vm = next((v for v in inv.vms if v.moref == change.vm_moref), None)
        nic = next((n for n in vm.nics if n.key == change.nic_key), None) if vm else None
        if nic is not None and nic.connected != _order(change).connect:
            return "connected again since the run" if nic.connected else "unplugged since the run"
        return None


resource = Appliances()
nics = ProtectedNics()
