"""Read the network inventory: one bulk pass, or a live snapshot kept current by updates."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from vnettool.models.inventory import Inventory
from vnettool.vsphere import fastxml
from vnettool.vsphere.collector import (
    RawObject,
    UpdateStream,
    moref_id,
    retrieve,
    retrieve_options,
)
from vnettool.vsphere.connection import Session
from vnettool.vsphere.dvs import available_versions
from vnettool.vsphere.live import LiveInventory
from vnettool.vsphere.neighbors import query_neighbors
from vnettool.vsphere.reader import build_inventory

log = logging.getLogger(__name__)
ReaderName = Literal["fast", "pyvmomi"]
READERS: tuple[ReaderName, ...] = ("fast", "pyvmomi")


def reader_choice(reader: str | None = None) -> ReaderName:
    """`reader`, else $VNETTOOL_READER, else "fast"."""
    name = (reader or os.environ.get("VNETTOOL_READER") or "fast").strip().lower()
    if name not in READERS:
        raise ValueError(f"unknown inventory reader {name!r}; choose one of {', '.join(READERS)}")
    return name  # type: ignore[return-value]


def retrieve_raw(
    session: Session, reader: str | None = None, progress: Callable[[int], None] | None = None
) -> dict[str, RawObject]:
    """The raw objects of the inventory through the chosen reader.

    The fast reader (our own SOAP parsing) falls back to pyVmomi's if it cannot make sense of
    a response, so an unexpected server costs speed, never the inventory. Server faults and
    transport errors are not parse problems and propagate as they would from pyVmomi.
    """
    if reader_choice(reader) == "pyvmomi":
        return retrieve(session)
    try:
        return fastxml.retrieve(session, progress=progress)
    except fastxml.PARSE_ERRORS as exc:
        log.warning("fast inventory reader failed (%s); reading through pyVmomi", exc)
        return retrieve(session)


def collect(
    session: Session,
    reader: str | None = None,
    neighbors: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Inventory:
    """The whole network inventory in one paged PropertyCollector retrieval.

    `reader` is "fast" (default; or $VNETTOOL_READER) or "pyvmomi" (the reference).
    `neighbors` adds CDP/LLDP neighbours of pNICs: one QueryNetworkHint per connected host,
    since vCenter has no property for them. `progress` is told the objects of each page read
    (fast reader only)."""
    raw = retrieve_raw(session, reader, progress)
    inv = build_inventory(raw, vcenter=session.creds.host, api_version=session.about.apiVersion)
    inv = inv.model_copy(update={"dvs_versions": available_versions(session)})
    return with_neighbors(session, inv) if neighbors else inv


def with_neighbors(session: Session, inv: Inventory) -> Inventory:
    """`inv` with each pNIC's CDP/LLDP neighbours filled in (hosts that fail keep none)."""
    hosts = {h.name: h.moref for h in inv.hosts if h.connection_state == "connected"}
    hints, errors = query_neighbors(session, hosts)
    for name, why in sorted(errors.items()):
        log.warning("no CDP/LLDP data from %s: %s", name, why)
    new_hosts = []
    for h in inv.hosts:
        got = hints.get(h.name, {})
        pnics = [p.model_copy(update={"neighbors": got.get(p.device, [])}) for p in h.pnics]
        new_hosts.append(h.model_copy(update={"pnics": pnics}) if got else h)
    # a new Inventory, not model_copy: its cached indexes must not carry over
    fields = {f: getattr(inv, f) for f in type(inv).model_fields}
    return type(inv)(**(fields | {"hosts": new_hosts}))


@dataclass
class InventoryChange:
    """What one update touched: object morefs entering, changing (with paths) or leaving."""

    version: str
    entered: list[str] = field(default_factory=list)
    modified: dict[str, list[str]] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)
    inventory: Inventory | None = None


class Watcher:
    """Keeps an Inventory current with WaitForUpdatesEx, re-reading only what changed.

    The first poll delivers the full state (version ""); later polls carry only changed
    properties of changed objects, merged into the raw store; only the models they reach
    are rebuilt (`LiveInventory`), so an update costs what it changed, not the estate's size.
    """

    def __init__(self, session: Session, reader: str | None = None) -> None:
        self.session = session
        self.live = LiveInventory(vcenter=session.creds.host, api_version=session.about.apiVersion)
        self.stream: UpdateStream = (
            fastxml.FastUpdateStream(session)
            if reader_choice(reader) == "fast"
            else UpdateStream(session)
        )
        self._stop = threading.Event()
        self.inventory: Inventory = Inventory()
        self._dvs_versions: list[str] | None = None

    @property
    def raw(self) -> dict[str, RawObject]:
        return self.live.raw

    def poll(self, timeout_s: int = 10) -> InventoryChange | None:
        change = InventoryChange(version="")
        updates = list(self.stream.poll(timeout_s=timeout_s))
        present: dict[str, bool] = {}  # this batch's own entries and departures
        for up in updates:
            if up.kind == "leave":
                present[up.moref] = False
                change.left.append(up.moref)
            elif not present.get(up.moref, up.moref in self.live.raw):
                present[up.moref] = True
                change.entered.append(up.moref)
            else:
                change.modified[up.moref] = sorted(up.changed) + sorted(up.removed)
        change.version = self.stream.version
        if not (change.entered or change.modified or change.left):
            return None
        entered = [
            moref_id(om)
            for up in updates
            if up.type == "HostSystem"
            and up.moref not in self.live.raw  # entering: not yet merged
            and (om := up.changed.get("configManager.advancedOption")) is not None
        ]
        if entered:
            # advanced settings are outside the update filter: read when hosts appear, before
            # their models are built (a later change of one shows in the next collect)
            retrieve_options(self.session, self.live.raw, entered)
        self.live.apply(updates)
        if self._dvs_versions is None:  # not a property: asked once, like collect() does
            self._dvs_versions = available_versions(self.session)
        self.inventory = self.live.inventory(self.stream.version, self._dvs_versions)
        change.inventory = self.inventory
        return change

    def changes(self, timeout_s: int = 10) -> Iterator[InventoryChange]:
        """Iterate over changes until `cancel()`; the first item is the full initial state."""
        while not self._stop.is_set():
            ch = self.poll(timeout_s=timeout_s)
            if ch is not None:
                yield ch

    def run(self, callback: Callable[[InventoryChange], None], timeout_s: int = 10) -> None:
        for ch in self.changes(timeout_s=timeout_s):
            callback(ch)

    def cancel(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.cancel()
        self.stream.close()
