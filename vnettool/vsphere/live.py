"""An inventory kept current from WaitForUpdatesEx deltas, rebuilding only what a delta reaches.

Rebuilding every model for each update costs ~1.2 s at 1,000 hosts, while one DV port group
change is one model and the few that name it. The models are made by the same per-object
functions as `build_inventory`, which stays the reference (tests compare the two after every
kind of change). What a change of each object reaches:

- a host's name, cluster or presence: the VMs on it (their host and cluster) and every vDS
  (members are named by host); its proxy switches: the vDSes it is a member of
- a vDS's name, uuid, uplink port groups or presence: its DV port groups
- a DV port group's name, key or presence: the VMs with a NIC on it (they show its name)
- a datacenter, folder, cluster or network renamed, moved, added or removed: names and
  ancestry of everything below, so the whole inventory is rebuilt (rare, and always right)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vnettool.models.base import Identified
from vnettool.models.inventory import (
    IDENTIFIED_COLLECTIONS,
    Datacenter,
    DistributedPortGroup,
    DistributedSwitch,
    DvsHostMember,
    Host,
    Inventory,
)
from vnettool.vsphere.collector import RawObject, Update, gc_paused, moref_id
from vnettool.vsphere.reader import (
    DVS_TYPES,
    HostParts,
    Resolver,
    _get,
    cluster_from_raw,
    dvpg_from_raw,
    dvs_from_raw,
    host_from_raw,
    sort_key,
    uplink_portgroups,
    vm_from_raw,
)

CONTEXT_TYPES = frozenset(
    {"Folder", "Datacenter", "ComputeResource", "ClusterComputeResource", "Network"}
)
COLLECTIONS = IDENTIFIED_COLLECTIONS


class SortedModels:
    """One collection in `build_inventory`'s order, edited by bisection instead of re-sorted."""

    def __init__(self) -> None:
        self.keys: list[tuple[Any, ...]] = []
        self.items: list[Identified] = []

    def add(self, model: Identified) -> None:
        key = sort_key(model)
        i = bisect_right(self.keys, key)
        self.keys.insert(i, key)
        self.items.insert(i, model)

    def remove(self, model: Identified) -> None:
        key = sort_key(model)
        i = bisect_left(self.keys, key)
        while self.items[i] is not model:  # equal keys: only for duplicate names
            i += 1
        del self.keys[i]
        del self.items[i]


def _context(obj: RawObject | None) -> tuple[Any, ...] | None:
    """What others read of a folder, datacenter, cluster or network: its name and place."""
    if obj is None:
        return None
    return obj.type, obj.props.get("name"), moref_id(obj.props.get("parent"))


@dataclass
class Dirty:
    """Objects to rebuild in this delta, by kind, filled in dependency order."""

    def count(self) -> int:
        return len(self.own) + len(self.hosts) + len(self.dvses) + len(self.dvpgs) + len(self.vms)

    own: set[str] = field(default_factory=set)  # datacenters and clusters
    hosts: set[str] = field(default_factory=set)
    dvses: set[str] = field(default_factory=set)
    dvpgs: set[str] = field(default_factory=set)
    vms: set[str] = field(default_factory=set)


class LiveInventory:
    """The raw store, the models built from it, and the reverse links a delta follows."""

    def __init__(self, vcenter: str = "", api_version: str | None = None) -> None:
        self.vcenter, self.api_version = vcenter, api_version
        self.raw: dict[str, RawObject] = {}
        self.rebuilt = Dirty()  # what the last delta rebuilt: the proof it stayed small
        self.full_rebuilds = 0
        self._reset()

    def _reset(self) -> None:
        self.coll: dict[str, SortedModels] = {name: SortedModels() for name in COLLECTIONS}
        self.models: dict[str, list[tuple[str, Identified]]] = {}  # moref -> what it made
        self.members: dict[str, dict[str, DvsHostMember]] = {}  # host moref -> uuid -> member
        self.host_name: dict[str, str] = {}
        self.cluster_of_host: dict[str, str | None] = {}
        self.dvs_by_moref: dict[str, DistributedSwitch] = {}
        self.uplinks_of: dict[str, set[str]] = {}  # vDS moref -> its uplink port groups
        self.dvpg_key: dict[str, str] = {}  # dvpg moref -> the key VMs' backings name it by
        self.dvpg_by_key: dict[str, RawObject] = {}
        self.vm_refs: dict[str, tuple[str, set[str]]] = {}  # vm -> (host moref, dvpg keys)
        self.vms_on_host: dict[str, set[str]] = {}
        self.vms_on_dvpg: dict[str, set[str]] = {}
        self.dvpgs_of_dvs: dict[str, set[str]] = {}
        self.dvs_of_dvpg: dict[str, str] = {}

    # -- the delta ------------------------------------------------------------------------------
    def apply(self, updates: Iterable[Update]) -> None:
        """Merge a delta into the raw store, then rebuild what it reaches."""
        touched: dict[str, str] = {}
        context_before: dict[str, tuple[Any, ...] | None] = {}
        for up in updates:
            obj = self.raw.get(up.moref)
            if up.type in CONTEXT_TYPES and up.moref not in context_before:
                context_before[up.moref] = _context(obj)
            touched[up.moref] = up.type
            if up.kind == "leave":
                self.raw.pop(up.moref, None)
                continue
            if obj is None:
                obj = self.raw[up.moref] = RawObject(type=up.type, moref=up.moref)
            obj.props.update(up.changed)
            for path in up.removed:
                obj.props.pop(path, None)
        if not self.models or any(
            _context(self.raw.get(m)) != before for m, before in context_before.items()
        ):
            self.rebuild_all()
            return
        dirty = Dirty()
        for moref, type_name in touched.items():
            kind = _kind(type_name)
            if kind is not None:
                getattr(dirty, kind).add(moref)
        self._rebuild(dirty)

    def rebuild_all(self) -> None:
        """Every model from the raw store, as `build_inventory` makes them (the garbage
        collector paused, as there: `collector.gc_paused`)."""
        with gc_paused():
            self._rebuild_all()

    def _rebuild_all(self) -> None:
        self._reset()
        self.full_rebuilds += 1
        dirty = Dirty()
        for obj in self.raw.values():
            kind = _kind(obj.type)
            if kind is not None:
                getattr(dirty, kind).add(obj.moref)
        self._rebuild(dirty)

    def _rebuild(self, dirty: Dirty) -> None:
        r = Resolver(self.raw)
        self.rebuilt = dirty
        for moref in sorted(dirty.own):
            self._set(moref, self._own_models(moref, r))
        for moref in sorted(dirty.hosts):
            self._host(moref, r, dirty)
        for moref in sorted(dirty.dvses):
            self._dvs(moref, r, dirty)
        uplinks = set().union(*self.uplinks_of.values())
        for moref in sorted(dirty.dvpgs):
            self._dvpg(moref, uplinks, dirty)
        for moref in sorted(dirty.vms):
            self._vm(moref)

    # -- per kind -------------------------------------------------------------------------------
    def _own_models(self, moref: str, r: Resolver) -> list[tuple[str, Identified]]:
        o = self.raw.get(moref)
        if o is None:
            return []
        if o.type == "Datacenter":
            return [("datacenters", Datacenter(moref=o.moref, name=o.props.get("name", o.moref)))]
        if o.type == "ClusterComputeResource":
            return [("clusters", cluster_from_raw(o, r))]
        return []

    def _host(self, moref: str, r: Resolver, dirty: Dirty) -> None:
        old = self._first(moref, Host)
        old_members = self.members.pop(moref, {})
        o = self.raw.get(moref)
        parts = host_from_raw(o, r) if o is not None else None
        self._set(moref, _host_models(parts) if parts else [])
        new = parts.host if parts else None
        if old is not None:
            self.host_name.pop(moref, None)
            if self.cluster_of_host.get(old.name) == old.cluster:
                self.cluster_of_host.pop(old.name, None)
        if new is not None:
            self.host_name[moref] = new.name
            self.cluster_of_host[new.name] = new.cluster
        new_members = parts.dvs_members if parts else {}
        if new_members:
            self.members[moref] = new_members
        if (old and old.name, old and old.cluster) != (new and new.name, new and new.cluster):
            dirty.vms |= self.vms_on_host.get(moref, set())
            if (old and old.name) != (new and new.name):
                dirty.dvses |= set(self.dvs_by_moref)
        changed = {
            u
            for u in old_members.keys() | new_members.keys()
            if old_members.get(u) != new_members.get(u)
        }
        if changed:
            dirty.dvses |= {
                m for m in self.dvs_by_moref if self.raw[m].props.get("uuid", "") in changed
            }

    def _dvs(self, moref: str, r: Resolver, dirty: Dirty) -> None:
        old = self.dvs_by_moref.pop(moref, None)
        old_uplinks = self.uplinks_of.pop(moref, set())
        o = self.raw.get(moref)
        new = None
        if o is not None:
            uuid = o.props.get("uuid", "")
            members = [m[uuid] for m in self.members.values() if uuid in m]
            new = self.dvs_by_moref[moref] = dvs_from_raw(o, r, self.host_name, members)
            self.uplinks_of[moref] = uplink_portgroups([o])
        self._set(moref, [("distributed_switches", new)] if new else [])
        if (old and (old.name, old.uuid)) != (new and (new.name, new.uuid)):
            dirty.dvpgs |= self.dvpgs_of_dvs.get(moref, set())
        dirty.dvpgs |= old_uplinks ^ self.uplinks_of.get(moref, set())

    def _dvpg(self, moref: str, uplinks: set[str], dirty: Dirty) -> None:
        old_key = self.dvpg_key.pop(moref, None)
        old = self._first(moref, DistributedPortGroup)
        held = self.dvpg_by_key.get(old_key or "")
        if held is not None and held.moref == moref:
            del self.dvpg_by_key[old_key or ""]
        old_dvs = self.dvs_of_dvpg.pop(moref, None)
        if old_dvs is not None:
            self.dvpgs_of_dvs.get(old_dvs, set()).discard(moref)
        o = self.raw.get(moref)
        new = dvpg_from_raw(o, self.dvs_by_moref, uplinks) if o is not None else None
        self._set(moref, [("distributed_port_groups", new)] if new else [])
        new_key = None
        if o is not None:
            new_key = str(o.props.get("key") or o.moref)
            self.dvpg_key[moref] = new_key
            self.dvpg_by_key[new_key] = o
            dvs = moref_id(_get(o.props.get("config"), "distributedVirtualSwitch"))
            self.dvs_of_dvpg[moref] = dvs
            self.dvpgs_of_dvs.setdefault(dvs, set()).add(moref)
        if (old_key, old and old.name) != (new_key, new and new.name):
            for key in {old_key, new_key} - {None}:
                dirty.vms |= self.vms_on_dvpg.get(str(key), set())

    def _vm(self, moref: str) -> None:
        host, keys = self.vm_refs.pop(moref, ("", set()))
        self.vms_on_host.get(host, set()).discard(moref)
        for key in keys:
            self.vms_on_dvpg.get(key, set()).discard(moref)
        o = self.raw.get(moref)
        if o is None:
            self._set(moref, [])
            return
        vm = vm_from_raw(o, self.host_name, self.cluster_of_host, self.dvpg_by_key)
        self._set(moref, [("vms", vm)])
        host = moref_id(o.props.get("runtime.host"))
        keys = {n.dv_portgroup_key or "" for n in vm.nics if n.dvs_uuid is not None}
        self.vm_refs[moref] = (host, keys)
        self.vms_on_host.setdefault(host, set()).add(moref)
        for key in keys:
            self.vms_on_dvpg.setdefault(key, set()).add(moref)

    # -- bookkeeping ----------------------------------------------------------------------------
    def _first(self, moref: str, kind: type[Any]) -> Any:
        return next((m for _, m in self.models.get(moref, []) if isinstance(m, kind)), None)

    def _set(self, moref: str, made: list[tuple[str, Identified]]) -> None:
        for name, model in self.models.pop(moref, []):
            self.coll[name].remove(model)
        for name, model in made:
            self.coll[name].add(model)
        if made:
            self.models[moref] = made

    def inventory(self, version: str = "", dvs_versions: list[str] | None = None) -> Inventory:
        """The current snapshot: the models are already valid, so they are not re-validated."""
        lists: dict[str, Any] = {name: list(self.coll[name].items) for name in COLLECTIONS}
        return Inventory.model_construct(
            vcenter=self.vcenter,
            api_version=self.api_version,
            version=version or None,
            dvs_versions=list(dvs_versions or []),
            **lists,
        )


def _kind(type_name: str) -> str | None:
    if type_name in ("Datacenter", "ClusterComputeResource"):
        return "own"
    if type_name == "HostSystem":
        return "hosts"
    if type_name in DVS_TYPES:
        return "dvses"
    if type_name == "DistributedVirtualPortgroup":
        return "dvpgs"
    if type_name == "VirtualMachine":
        return "vms"
    return None


def _host_models(parts: HostParts) -> list[tuple[str, Identified]]:
    made: list[tuple[str, Identified]] = [("hosts", parts.host)]
    made += [("standard_switches", s) for s in parts.switches]
    made += [("standard_port_groups", p) for p in parts.portgroups]
    made += [("vmkernel_adapters", v) for v in parts.vmknics]
    return made
