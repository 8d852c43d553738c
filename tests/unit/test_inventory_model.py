"""The snapshot's cached indexes must never answer for a copy with different lists."""

from __future__ import annotations

from tests.factories import snapshot


def test_groupings_match_a_list_scan() -> None:
    inv = snapshot()
    for h in inv.hosts:
        assert inv.portgroups_of(h.name) == [
            p for p in inv.standard_port_groups if p.host == h.name
        ]
        assert inv.vmknics_of(h.name) == [v for v in inv.vmkernel_adapters if v.host == h.name]
    assert inv.portgroups_of("no-such-host") == []


def test_model_copy_drops_cached_indexes() -> None:
    inv = snapshot()
    host = inv.hosts[0].name
    assert inv.portgroups_of(host) and inv.host_by_name
    emptied = inv.model_copy(update={"standard_port_groups": [], "hosts": []})
    assert emptied.portgroups_of(host) == []
    assert host not in emptied.host_by_name
    assert inv.portgroups_of(host), "the original keeps its own index"


def test_equality_ignores_built_indexes() -> None:
    a = snapshot()
    b = snapshot()
    a.portgroups_of(a.hosts[0].name)
    assert a == b
