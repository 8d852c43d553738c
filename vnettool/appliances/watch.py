"""Keep an appliance definition deployed as hosts come and go: react when it happens.

`vnettool appliance watch` follows vCenter with the property collector (`Watcher`: a host's
maintenance flag, connection state, cluster, arrival and removal arrive as they change) and
the EventManager (`EnteringMaintenanceModeEvent`, posted when the task *starts*). On any such
change of a host in (or leaving) the definition's scope, it plans the deploy again against
the updated inventory and applies it (or only prints it without `apply`), so:

- a host **entering** maintenance mode gets its protected VMs off the segment and its
  appliance powered off at once — on vCenter the maintenance task waits for every VM to
  leave, and DRS never moves a VM a must-run rule pins, so without this the task would hang
  until someone powered the appliance off by hand;
- a host **leaving** maintenance mode gets its appliance powered on, health-checked and its
  VMs put back behind it;
- a host **joining** the scope (added to the cluster) gets its segment and appliance;
- a host **removed** takes its appliance with it (vCenter unregisters its VMs; the plan
  deletes what is left of the pin).

Only host facts trigger a plan: the watch's own changes (VMs powered, rewired) are not
host changes, so it never reacts to itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vnettool.appliances import manager
from vnettool.engine.journal import Journal
from vnettool.errors import VnetError
from vnettool.inventory.collect import Watcher
from vnettool.models.appliance import ApplianceSpec
from vnettool.models.inventory import Host, Inventory
from vnettool.models.plan import Plan, Result
from vnettool.vsphere.connection import Session
from vnettool.vsphere.events import host_events


@dataclass(frozen=True)
class HostFact:
    cluster: str | None
    maintenance: bool
    connection: str


def host_facts(inv: Inventory) -> dict[str, HostFact]:
    return {h.name: HostFact(h.cluster, bool(h.maintenance), h.connection_state) for h in inv.hosts}


def host_changes(before: dict[str, HostFact], after: dict[str, HostFact]) -> dict[str, str]:
    """What happened to each host between two readings (host -> reason)."""
    out = {}
    for h in sorted(set(before) | set(after)):
        a, b = before.get(h), after.get(h)
        if a is None and b is not None:
            out[h] = f"{h} joined {b.cluster or 'the inventory'}"
        elif b is None and a is not None:
            out[h] = f"{h} was removed from {a.cluster or 'the inventory'}"
        elif a is not None and b is not None:
            if a.cluster != b.cluster:
                out[h] = f"{h} moved from {a.cluster} to {b.cluster}"
            elif a.maintenance != b.maintenance:
                out[h] = f"{h} {'entered' if b.maintenance else 'left'} maintenance mode"
            elif a.connection != b.connection:
                out[h] = f"{h} is {b.connection}"
    return out


def with_entering(inv: Inventory, entering: set[str]) -> Inventory:
    """The inventory with the hosts entering maintenance mode treated as in it (the plan
    then parks their appliances, which is what lets the maintenance task finish)."""
    if not entering:
        return inv
    hosts = [
        h.model_copy(update={"maintenance": True}) if h.name in entering else h for h in inv.hosts
    ]
    return inv.model_copy(update={"hosts": hosts})


@dataclass
class Round:
    """One reaction: why, the plan, and the results (None when only planned)."""

    at: datetime
    reasons: list[str]
    plan: Plan
    results: list[Result] | None = None
    journal: str | None = None
    errors: list[str] = field(default_factory=list)


HostsOf = Callable[[Inventory], list[Host]]
TargetOf = Callable[[list[Host]], dict[str, Any]]


class ApplianceWatch:
    """Plan and apply a definition again whenever a host in its scope changes."""

    def __init__(
        self,
        session: Session,
        spec: ApplianceSpec,
        hosts_of: HostsOf,
        target_of: TargetOf,
        *,
        apply: bool,
        title: str = "",
        events: bool = True,
    ) -> None:
        self.session = session
        self.spec = spec
        self.hosts_of = hosts_of
        self.target_of = target_of
        self.apply = apply
        self.title = title or f"appliance watch {spec.name}"
        self.events = events
        self.watcher = Watcher(session)
        self.stop = threading.Event()
        self.entering: set[str] = set()
        self._facts: dict[str, HostFact] = {}
        self._scope: set[str] = set()
        self._event_key = 0
        self._since = datetime.now(UTC)

    def start(self, timeout_s: int = 30) -> Inventory:
        """The first full reading; later changes are measured against it."""
        deadline = time.monotonic() + timeout_s
        while self.watcher.poll(timeout_s=5) is None:
            if time.monotonic() > deadline:
                raise TimeoutError("no initial inventory from the property collector")
        inv = self.watcher.inventory
        self._facts = host_facts(inv)
        self._scope = {h.name for h in self.hosts_of(inv)}
        if self.events:  # only events from now on: the past is what the inventory shows
            seen = host_events(self.session, 0, since=self._since)
            self._event_key = max((e.key for e in seen), default=0)
        return inv

    def _new_events(self) -> dict[str, str]:
        if not self.events:
            return {}
        out = {}
        for e in host_events(self.session, self._event_key, since=self._since):
            self._event_key = max(self._event_key, e.key)
            if e.kind == "EnteringMaintenanceModeEvent" and e.host:
                self.entering.add(e.host)
                out[e.host] = f"{e.host} is entering maintenance mode (event {e.key})"
            elif e.kind in ("EnteredMaintenanceModeEvent", "ExitMaintenanceModeEvent"):
                self.entering.discard(e.host)
        return out

    def step(self, timeout_s: int = 5) -> Round | None:
        """Wait up to `timeout_s` for changes; react to host changes in scope."""
        self.watcher.poll(timeout_s=timeout_s)
        reasons = self._new_events()
        inv = self.watcher.inventory
        now = host_facts(inv)
        changes = host_changes(self._facts, now)
        for h, fact in now.items():  # a finished entry or an exit ends "entering"
            if h in self.entering and (fact.maintenance or changes.get(h, "").endswith("left")):
                self.entering.discard(h)
        self._facts = now
        scope_now = {h.name for h in self.hosts_of(inv)}
        in_scope = scope_now | self._scope  # joined, and left (moved away, removed)
        self._scope = scope_now
        for h, why in changes.items():  # both kinds of news about one host are said
            reasons[h] = f"{why}; {reasons[h]}" if h in reasons else why
        relevant = [r for h, r in sorted(reasons.items()) if h in in_scope]
        if not relevant:
            return None
        view = with_entering(inv, self.entering)
        hosts = self.hosts_of(view)
        try:
            plan = manager.plan(
                "deploy", self.session, self.spec, view, hosts, self.target_of(hosts)
            )
        except VnetError as exc:  # say it and keep watching: the next change may fix it
            return Round(datetime.now(UTC), relevant, Plan(), errors=[str(exc)])
        rnd = Round(datetime.now(UTC), relevant, plan)
        if plan.empty or not self.apply:
            return rnd
        journal = Journal.for_session(self.session, f"{self.title}: {'; '.join(relevant)}")
        rnd.results = manager.apply(plan, self.session, stop=self.stop, journal=journal)
        journal.end(verified=None, remaining=None)
        rnd.journal = journal.id if journal.written else None
        return rnd

    def close(self) -> None:
        self.stop.set()
        self.watcher.close()
