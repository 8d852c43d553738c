"""Import an appliance from an OVF/OVA package onto one host, the way vCenter wants it done.

`OvfManager.CreateImportSpec` turns the descriptor into a VM config (with the OVF network
mapping and the property values), which is then given the appliance's size, reservations,
latency sensitivity, tags and NIC wiring — the same VM a clone would give; then
`ResourcePool.ImportVApp` creates the VM on the host and returns an `HttpNfcLease`: wait until
it is `ready`, upload each disk to its device URL (HTTPS POST of the stream-optimized VMDK,
PUT with `Overwrite: t` for other files, as ovftool and govc do), report progress with
`HttpNfcLeaseProgress` (vCenter expires a lease that stops reporting), then
`HttpNfcLeaseComplete`. Any failure after the lease exists aborts it
(`HttpNfcLeaseAbort`: vCenter removes the half-imported VM), so a failed import leaves nothing.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import ssl
import time
import urllib.parse
from collections.abc import Callable
from typing import IO, Any

from pyVmomi import vim

from vnettool.errors import ApiFault, VnetError
from vnettool.models.appliance import OvfOrder, SecretRef
from vnettool.vsphere.collector import moref_id
from vnettool.vsphere.connection import Session, _ssl_context, fault_message, fault_name
from vnettool.vsphere.ovfpkg import OvfDescriptor, OvfError, open_files, read_descriptor
from vnettool.vsphere.props import read, read_many
from vnettool.vsphere.specs.vm import NicWiring, new_nic, resources_spec, wire_new
from vnettool.vsphere.vm import vm_morefs

log = logging.getLogger(__name__)

ROLES = ("management", "unprotected", "protected")
CHUNK = 1024 * 1024
PROGRESS_EVERY_S = 2.0
LEASE_READY_S = 300.0

Progress = Callable[[int, int], None]  # (bytes sent, bytes in all)


def resolve_property(value: str | SecretRef, environ: dict[str, str] | None = None) -> str:
    """A property value, a secret read from the environment only now."""
    if isinstance(value, SecretRef):
        env = os.environ if environ is None else environ
        if value.env not in env:
            raise VnetError(f"OVF property secret: environment variable {value.env} is not set")
        return env[value.env]
    return value


def _host_refs(session: Session, host_moref: str) -> tuple[dict[str, Any], list[tuple[Any, Any]]]:
    """The host's networks by name and its datastores (moref, summary)."""
    host = vim.HostSystem(host_moref, session.stub)
    props = read(session, host, ["network", "datastore"]) or {}
    nets = list(props.get("network") or [])
    names: dict[str, Any] = {}
    for kind in (vim.Network, vim.dvs.DistributedVirtualPortgroup):
        objs = {moref_id(n): n for n in nets if isinstance(n, kind)}
        for m, p in read_many(session, list(objs.values()), ["name"], kind=kind).items():
            if "name" in p:
                names.setdefault(str(p["name"]), objs[m])
    dss = {moref_id(d): d for d in props.get("datastore") or []}
    got = read_many(session, list(dss.values()), ["summary"], kind=vim.Datastore)
    stores = [(dss[m], p["summary"]) for m, p in got.items() if "summary" in p]
    return names, stores


def _datastore(stores: list[tuple[Any, Any]], wanted: str | None, where: str) -> Any:
    usable = [(ds, s) for ds, s in stores if s is not None and s.accessible]
    if wanted:
        ds = next((d for d, s in usable if s.name == wanted), None)
        if ds is None:
            names = ", ".join(sorted(s.name for _, s in usable)) or "none"
            raise VnetError(f"{where}: no accessible datastore {wanted!r} (host has: {names})")
        return ds
    if not usable:
        raise VnetError(f"{where}: the host has no accessible datastore")
    return max(usable, key=lambda x: (x[1].freeSpace or 0, x[1].name))[0]


def _customize(
    spec: Any,
    order: OvfOrder,
    nics: list[NicWiring],
    sizing: dict[str, Any],
    tags: dict[str, str],
) -> None:
    """Give the imported VM the appliance's size, reservations, tags and NICs — in role order,
    on their port groups, disconnected (connected one by one after power-on)."""
    cs = spec.configSpec
    r = resources_spec(
        sizing["cpu_reservation_mhz"],
        sizing["memory_reservation_mb"],
        sizing["latency"],
        sizing["cpus"],
        sizing["memory_mb"],
    )
    for f in (
        "numCPUs",
        "memoryMB",
        "cpuAllocation",
        "memoryAllocation",
        "memoryReservationLockedToMax",
        "latencySensitivity",
    ):
        setattr(cs, f, getattr(r, f))
    cs.extraConfig = list(cs.extraConfig or []) + [
        vim.option.OptionValue(key=k, value=v) for k, v in tags.items()
    ]
    changes = list(cs.deviceChange or [])
    cards = [c for c in changes if isinstance(c.device, vim.vm.device.VirtualEthernetCard)]
    rest = [c for c in changes if c not in cards]
    by_role: dict[str, Any] = {}
    for card, role in zip(cards, order.nic_roles, strict=False):
        if role is not None and role not in by_role:
            by_role[role] = card
    out = []
    for i, wiring in enumerate(nics):
        change = by_role.get(ROLES[i])
        if change is None:
            change = vim.vm.device.VirtualDeviceSpec(operation="add", device=new_nic(-300 - i))
        wire_new(change.device, wiring)
        out.append(change)
    cs.deviceChange = rest + out


def _nfc_connection(session: Session, url: str, thumbprint: str | None) -> tuple[Any, str]:
    """An HTTPS connection to a lease device URL and the request path.

    `*` as the host means the vCenter itself (the session's TLS policy applies). An ESXi
    host's certificate is checked against the lease's `sslThumbprint` (SHA-1, vouched for by
    vCenter over the authenticated session) when given, else like the session's."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    creds = session.creds
    if parts.hostname in (None, "*"):
        host, port = creds.host, creds.port
        ctx = _ssl_context(creds)
        thumbprint = None
    else:
        host, port = parts.hostname, parts.port or 443
        if thumbprint:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx = _ssl_context(creds)
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=creds.timeout_s)
    conn.connect()
    if thumbprint:
        der = conn.sock.getpeercert(binary_form=True) or b""
        got = hashlib.sha1(der).hexdigest()
        if got != thumbprint.replace(":", "").lower():
            conn.close()
            raise VnetError(f"NFC upload to {host}: certificate does not match the lease's")
    return conn, path


class _Counting:
    """A file wrapper that counts what is read (for progress)."""

    def __init__(self, f: IO[bytes], tick: Callable[[int], None]) -> None:
        self.f, self.tick = f, tick

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(CHUNK if n is None or n < 0 else min(n, CHUNK))
        self.tick(len(data))
        return data


def _upload(
    session: Session,
    device_url: Any,
    stream: IO[bytes],
    size: int | None,
    disk: bool,
    tick: Callable[[int], None],
) -> None:
    conn, path = _nfc_connection(session, device_url.url, device_url.sslThumbprint or None)
    headers = {"Cookie": getattr(session.stub, "cookie", "") or ""}
    if disk:  # a stream-optimized VMDK: POST, as ovftool and govc send it
        method = "POST"
        headers["Content-Type"] = "application/x-vnd.vmware-streamVmdk"
    else:
        method = "PUT"
        headers["Overwrite"] = "t"
        headers["Content-Type"] = "application/octet-stream"
    if size is not None:
        headers["Content-Length"] = str(size)
    try:
        conn.request(
            method,
            path,
            body=_Counting(stream, tick),  # type: ignore[arg-type]
            headers=headers,
            encode_chunked=size is None,
        )
        resp = conn.getresponse()
        resp.read()
    except OSError as exc:
        raise VnetError(f"NFC upload of {device_url.targetId or path}: {exc}") from None
    finally:
        conn.close()
    if resp.status >= 300:
        raise VnetError(
            f"NFC upload of {device_url.targetId or path}: HTTP {resp.status} {resp.reason}"
        )


def _wait_ready(session: Session, lease: Any, name: str) -> Any:
    deadline = time.monotonic() + LEASE_READY_S
    delay = 0.05
    while True:
        state = session.call(lambda: lease.state, op="HttpNfcLease.state", obj=name)
        if state == vim.HttpNfcLease.State.ready:
            return session.call(lambda: lease.info, op="HttpNfcLease.info", obj=name)
        if state == vim.HttpNfcLease.State.error:
            err = session.call(lambda: lease.error, op="HttpNfcLease.error", obj=name)
            raise ApiFault("ImportVApp", name, fault_name(err), fault_message(err))
        if state == vim.HttpNfcLease.State.done:
            raise ApiFault("ImportVApp", name, "InvalidState", "the lease ended before upload")
        if time.monotonic() > deadline:
            raise ApiFault("ImportVApp", name, "Timeout", f"lease still {state}")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def _import_spec(
    session: Session,
    desc: OvfDescriptor,
    order: OvfOrder,
    name: str,
    where: tuple[Any, Any, dict[str, Any]],
    nics: list[NicWiring],
) -> Any:
    """CreateImportSpec with the OVF networks mapped to the roles' port groups on the host
    and the vApp properties (secrets resolved only now); `where` = (pool, datastore, the
    host's networks by name)."""
    pool, ds, networks = where
    mapping = []
    for ovf_net, role in order.network_roles.items():
        pg = nics[ROLES.index(role)][1]
        ref = networks.get(pg)
        if ref is None:
            raise VnetError(f"{name}: port group {pg!r} ({role}) is not on the host")
        mapping.append(vim.OvfManager.NetworkMapping(name=ovf_net, network=ref))
    cisp = vim.OvfManager.CreateImportSpecParams(
        entityName=name,
        networkMapping=mapping,
        propertyMapping=[
            vim.KeyValue(key=k, value=resolve_property(v)) for k, v in order.properties.items()
        ],
        diskProvisioning="thin",
    )
    if order.deployment_option:
        cisp.deploymentOption = order.deployment_option
    om = session.content.ovfManager
    result = session.call(
        om.CreateImportSpec, desc.text, pool, ds, cisp, op="CreateImportSpec", obj=name
    )
    errors = [fault_message(e) for e in result.error or []]
    if errors:
        raise ApiFault("CreateImportSpec", name, "OvfImportFailed", "; ".join(errors))
    for w in result.warning or []:
        log.warning("CreateImportSpec %s: %s", name, fault_message(w))
    return result


def _send_files(
    session: Session,
    lease: Any,
    info: Any,
    items: dict[str, Any],
    desc: OvfDescriptor,
    order: OvfOrder,
    name: str,
    progress: Progress | None,
) -> None:
    """Upload every file the lease asks for (descriptor order first), reporting progress to
    the lease every PROGRESS_EVERY_S, then complete it."""
    total = sum(f.size or 0 for f in items.values()) or 1
    sent = 0
    last = 0.0

    def tick(n: int) -> None:
        nonlocal sent, last
        sent += n
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            pct = min(99, int(100 * sent / total))
            session.call(lease.HttpNfcLeaseProgress, pct, op="HttpNfcLeaseProgress", obj=name)
        if progress is not None:
            progress(sent, total)

    targets = {}
    for du in info.deviceUrl or []:
        item = items.get(du.importKey)
        if item is not None:
            targets[item.path] = (du, item)
    hrefs = [p for p in (f.href for f in desc.files) if p in targets]
    hrefs += [p for p in targets if p not in hrefs]
    for href, size, stream in open_files(order.source, hrefs):
        du, item = targets[href]
        _upload(session, du, stream, size or item.size or None, not item.create, tick)
    session.call(lease.HttpNfcLeaseProgress, 100, op="HttpNfcLeaseProgress", obj=name)
    session.call(lease.HttpNfcLeaseComplete, op="HttpNfcLeaseComplete", obj=name)


def import_ovf(
    session: Session,
    *,
    order: OvfOrder,
    name: str,
    folder_moref: str,
    pool_moref: str,
    host_moref: str,
    sizing: dict[str, Any],
    nics: list[NicWiring],
    tags: dict[str, str],
    progress: Progress | None = None,
) -> str:
    """Import the package as VM `name` on the host; returns the VM's moref."""
    try:
        desc = read_descriptor(order.source)
    except OvfError as exc:
        raise VnetError(f"{name}: {exc}") from None
    networks, stores = _host_refs(session, host_moref)
    ds = _datastore(stores, order.datastore, name)
    pool = vim.ResourcePool(pool_moref, session.stub)
    result = _import_spec(session, desc, order, name, (pool, ds, networks), nics)
    spec = result.importSpec
    _customize(spec, order, nics, sizing, tags)
    items = {f.deviceId: f for f in result.fileItem or []}
    host = vim.HostSystem(host_moref, session.stub)
    folder = vim.Folder(folder_moref, session.stub)

    def send() -> Any:
        return session.call(
            pool.ImportVApp, spec, folder, host, op="ImportVApp", obj=name, idempotent=False
        )

    def done() -> Any | None:
        if vm_morefs(session, {name}):
            raise VnetError(
                f"{name}: the ImportVApp answer was lost and the VM exists without its disks "
                "uploaded; remove it and deploy again"
            )
        return None

    lease = session.write(send, done, op="ImportVApp", obj=name)
    try:
        info = _wait_ready(session, lease, name)
        entity = moref_id(info.entity)
        _send_files(session, lease, info, items, desc, order, name, progress)
    except BaseException:
        try:
            session.call(lease.HttpNfcLeaseAbort, op="HttpNfcLeaseAbort", obj=name)
        except Exception as exc:  # the first failure is the one to report
            log.warning("HttpNfcLeaseAbort %s: %s", name, exc)
        raise
    return entity
