"""Bulk reads through the PropertyCollector: one container view, one paged retrieval.

The property paths here are the whole of what vnettool reads from vCenter. The same spec is
used for the one-shot retrieval, the live `WaitForUpdatesEx` filter and the fast XML reader,
so the three can never ask for different things.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pyVmomi import vim, vmodl

from vnettool.errors import ApiFault
from vnettool.vsphere.connection import Session

log = logging.getLogger(__name__)

# Type name (as in the WSDL) -> properties read. Order matters only for readability.
PROPERTIES: dict[str, list[str]] = {
    "Folder": ["name", "parent"],
    "Datacenter": ["name", "parent"],
    "ComputeResource": ["name", "parent"],
    "ClusterComputeResource": [
        "name",
        "parent",
        "configuration.drsConfig.enabled",
        "configuration.dasConfig.enabled",
    ],
    "HostSystem": [
        "name",
        "parent",
        "runtime.connectionState",
        "runtime.inMaintenanceMode",
        "runtime.powerState",
        "config.product.version",
        "config.product.build",
        "config.network",
        "config.virtualNicManagerInfo.netConfig",
        "configManager.advancedOption",
        "vm",
        "network",  # the Network objects its standard port groups are linked to
    ],
    "Network": ["name"],
    "DistributedVirtualSwitch": ["name", "uuid", "parent", "config", "runtime.hostMemberRuntime"],
    "DistributedVirtualPortgroup": ["name", "key", "config", "portKeys"],
    "VirtualMachine": [
        "name",
        "runtime.host",
        "runtime.powerState",
        "config.template",
        "config.guestFullName",
        "config.hardware.device",
        "config.migrateEncryption",
        "config.extraConfig",  # the reader keeps dvFilter keys and vnettool's tags only
        "guest.ipAddress",
    ],
}

PAGE_SIZE = 500

# Whether the bulk read and the model build pause the cyclic garbage collector (the
# benchmark turns it off to measure the difference in the same run).
PAUSE_GC = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for a bulk read or build.

    Parsing 88 MB of XML (1,000 hosts / 10,000 VMs) and building 60,000 models allocate
    millions of small objects, none in a reference cycle; every 700 allocations the collector
    scans the young ones and, as the heap grows, ever longer full passes over everything
    already read: a quarter of the parse's CPU, and it grows faster than linearly. Nothing is
    leaked by pausing it: what these objects would free is freed by reference counting."""
    paused = PAUSE_GC and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


# Host advanced settings the audit reads, from each host's OptionManager. Indexed paths
# (`setting["Net.X"]`, which vCenter's PropertyCollector accepts) fetch just these keys
# instead of a host's ~1,000 options; a key a host lacks is simply absent from the answer.
HOST_OPTIONS: tuple[str, ...] = (
    "Net.BlockGuestBPDU",
    "Net.DVFilterBindIpAddress",
    "Net.BMCNetworkEnable",
)


def option_path(key: str) -> str:
    return f'setting["{key}"]'


def option_managers(raw: dict[str, RawObject]) -> list[str]:
    """Morefs of the connected hosts' OptionManagers (a disconnected host cannot answer)."""
    out = []
    for o in raw.values():
        if o.type != "HostSystem":
            continue
        om = o.props.get("configManager.advancedOption")
        state = str(o.props.get("runtime.connectionState") or "connected")
        if om is not None and state == "connected":
            out.append(moref_id(om))
    return sorted(out)


def options_spec(morefs: list[str]) -> Any:
    """One filter over every host's OptionManager: the second (and last) retrieval of a
    collect, so the settings come in the same paged pass instead of a call per host."""
    objs = [
        vmodl.query.PropertyCollector.ObjectSpec(obj=vim.option.OptionManager(m), skip=False)
        for m in morefs
    ]
    prop = vmodl.query.PropertyCollector.PropertySpec(
        type=vim.option.OptionManager, pathSet=[option_path(k) for k in HOST_OPTIONS], all=False
    )
    return vmodl.query.PropertyCollector.FilterSpec(objectSet=objs, propSet=[prop])


def vim_type(name: str) -> Any:
    if name == "DistributedVirtualPortgroup":
        return vim.dvs.DistributedVirtualPortgroup
    return getattr(vim, name)


@dataclass
class RawObject:
    """Properties of one managed object, keyed by property path (pyVmomi values)."""

    type: str
    moref: str
    props: dict[str, Any] = field(default_factory=dict)


def moref_id(mo: Any) -> str:
    return str(mo._moId) if mo is not None else ""


def moref_type(mo: Any) -> str:
    return str(mo._wsdlName)


def filter_spec(view: Any, types: dict[str, list[str]] | None = None) -> Any:
    types = types or PROPERTIES
    traversal = vmodl.query.PropertyCollector.TraversalSpec(
        name="view", path="view", skip=False, type=vim.view.ContainerView
    )
    obj_spec = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])
    prop_specs = [
        vmodl.query.PropertyCollector.PropertySpec(type=vim_type(t), pathSet=paths, all=False)
        for t, paths in types.items()
    ]
    return vmodl.query.PropertyCollector.FilterSpec(objectSet=[obj_spec], propSet=prop_specs)


def create_view(session: Session, types: dict[str, list[str]] | None = None) -> Any:
    types = types or PROPERTIES
    content = session.content
    return session.call(
        content.viewManager.CreateContainerView,
        content.rootFolder,
        [vim_type(t) for t in types],
        True,
        op="CreateContainerView",
    )


def destroy_view(session: Session, view: Any) -> None:
    try:
        session.call(view.DestroyView, op="DestroyView")
    except Exception:
        pass


def _store(into: dict[str, RawObject], objects: list[Any]) -> None:
    for oc in objects:
        mo = oc.obj
        key = moref_id(mo)
        raw = into.get(key)
        if raw is None:
            raw = into[key] = RawObject(type=moref_type(mo), moref=key)
        for prop in oc.propSet or []:
            raw.props[prop.name] = prop.val


# Faults meaning the session changed under a multi-call read: its view and continuation
# token belonged to the old session, so the read starts over once (after `Session.call`'s
# re-login). Shared with the fast reader.
SESSION_LOST = ("ManagedObjectNotFound", "NotAuthenticated", "InvalidArgument")


def retrieve(session: Session, page_size: int = PAGE_SIZE) -> dict[str, RawObject]:
    """All objects and properties of PROPERTIES, paging like vCenter expects."""
    try:
        return _retrieve(session, page_size)
    except ApiFault as exc:
        if exc.fault not in SESSION_LOST:
            raise
        log.info("session changed during the inventory read (%s); reading again", exc.fault)
        return _retrieve(session, page_size)


def _retrieve(session: Session, page_size: int) -> dict[str, RawObject]:
    view = create_view(session)
    try:
        pc = session.content.propertyCollector
        spec = filter_spec(view)
        options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
        out: dict[str, RawObject] = {}
        result = session.call(pc.RetrievePropertiesEx, [spec], options, op="RetrievePropertiesEx")
        while result is not None:
            _store(out, result.objects)
            if not result.token:
                break
            result = session.call(
                pc.ContinueRetrievePropertiesEx, result.token, op="ContinueRetrievePropertiesEx"
            )
        _retrieve_options(session, out, options)
        return out
    finally:
        destroy_view(session, view)


def retrieve_options(session: Session, out: dict[str, RawObject], morefs: list[str]) -> None:
    """Add these OptionManagers (with the HOST_OPTIONS settings) to `out`: for a watcher,
    whose update filter cannot follow them (they are not in the inventory view)."""
    opts = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=PAGE_SIZE)
    _retrieve_options(session, out, opts, morefs)


def _retrieve_options(
    session: Session, out: dict[str, RawObject], options: Any, morefs: list[str] | None = None
) -> None:
    morefs = option_managers(out) if morefs is None else morefs
    if not morefs:
        return
    pc = session.content.propertyCollector
    spec = options_spec(morefs)
    result = session.call(pc.RetrievePropertiesEx, [spec], options, op="RetrievePropertiesEx")
    while result is not None:
        _store(out, result.objects)
        if not result.token:
            break
        result = session.call(
            pc.ContinueRetrievePropertiesEx, result.token, op="ContinueRetrievePropertiesEx"
        )


@dataclass
class Update:
    """One object's change from WaitForUpdatesEx."""

    moref: str
    type: str
    kind: str  # enter | modify | leave
    changed: dict[str, Any]
    removed: list[str]


class UpdateStream:
    """A WaitForUpdatesEx loop over the inventory spec, on its own PropertyCollector."""

    def __init__(self, session: Session) -> None:
        self.session = session
        content = session.content
        self.pc = session.call(
            content.propertyCollector.CreatePropertyCollector, op="CreatePropertyCollector"
        )
        self.view = create_view(session)
        self.filter = session.call(
            self.pc.CreateFilter, filter_spec(self.view), True, op="CreateFilter"
        )
        self.version = ""

    def poll(self, timeout_s: int = 10, max_updates: int | None = None) -> Iterator[Update]:
        """Yield the changes since the last poll, waiting up to `timeout_s` for one."""
        opts = vmodl.query.PropertyCollector.WaitOptions(
            maxWaitSeconds=self.session.max_wait_s(timeout_s)
        )
        if max_updates:
            opts.maxObjectUpdates = max_updates
        while True:
            res = self.session.call(
                self.pc.WaitForUpdatesEx, self.version, opts, op="WaitForUpdatesEx"
            )
            if res is None:
                return
            self.version = res.version
            for fs in res.filterSet or []:
                for ou in fs.objectSet or []:
                    changed: dict[str, Any] = {}
                    removed: list[str] = []
                    for ch in ou.changeSet or []:
                        if ch.op == "remove":
                            removed.append(ch.name)
                        else:
                            changed[ch.name] = ch.val
                    yield Update(
                        moref_id(ou.obj), moref_type(ou.obj), str(ou.kind), changed, removed
                    )
            if not res.truncated:
                return

    def close(self) -> None:
        for fn, op in (
            (self.filter.DestroyPropertyFilter, "DestroyPropertyFilter"),
            (self.pc.DestroyPropertyCollector, "DestroyPropertyCollector"),
        ):
            try:
                self.session.call(fn, op=op)
            except Exception:
                pass
        destroy_view(self.session, self.view)
