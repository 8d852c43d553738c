"""The appliance watch's pure parts: which host changes it reacts to, and the inventory it
plans against while a host is entering maintenance mode."""

from __future__ import annotations

from tests.factories import snapshot
from vnettool.appliances.watch import HostFact, host_changes, host_facts, with_entering


def test_host_changes_name_each_kind() -> None:
    before = {
        "h0": HostFact("C0", False, "connected"),
        "h1": HostFact("C0", False, "connected"),
        "h2": HostFact("C0", True, "connected"),
        "h3": HostFact("C0", False, "connected"),
        "h4": HostFact("C1", False, "connected"),
    }
    after = {
        "h0": HostFact("C0", False, "connected"),  # unchanged: not named
        "h1": HostFact("C0", True, "connected"),
        "h2": HostFact("C0", False, "connected"),
        "h3": HostFact("C0", False, "disconnected"),
        "h4": HostFact("C0", False, "connected"),
        "h5": HostFact("C0", False, "connected"),
    }
    assert host_changes(before, after) == {
        "h1": "h1 entered maintenance mode",
        "h2": "h2 left maintenance mode",
        "h3": "h3 is disconnected",
        "h4": "h4 moved from C1 to C0",
        "h5": "h5 joined C0",
    }
    assert host_changes(after, {}) == {h: f"{h} was removed from C0" for h in sorted(after)}


def test_entering_hosts_are_planned_as_in_maintenance() -> None:
    inv = snapshot()
    name = next(h.name for h in inv.hosts if not h.maintenance)
    view = with_entering(inv, {name})
    before, after = host_facts(inv), host_facts(view)
    assert after[name].maintenance
    assert {h: f for h, f in after.items() if h != name} == {
        h: f for h, f in before.items() if h != name
    }
    assert with_entering(inv, set()) is inv
