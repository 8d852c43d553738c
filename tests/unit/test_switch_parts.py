"""The helpers the named parts of a distributed switch share (engine/dvcommon.py)."""

from __future__ import annotations

import pytest

from vnettool.engine.common import CannotRestore
from vnettool.engine.dvcommon import absent_pairs, named_conflict, switch_part
from vnettool.engine.mirror import resource as mirrors
from vnettool.engine.niocpool import resource as pools
from vnettool.models.inventory import DistributedSwitch, Inventory, NiocPool
from vnettool.models.plan import Change

FIELDS = ("reservation_mbps", "description")


def pool(mbps: int, key: str = "k1") -> NiocPool:
    return NiocPool(dvs="DVS0", name="p1", key=key, reservation_mbps=mbps)


def switch(*parts: NiocPool) -> DistributedSwitch:
    return DistributedSwitch(name="DVS0", moref="dvs-1", uuid="u", nioc_pools=list(parts))


def test_absent_pairs_keeps_switch_slash_name_and_reports_every_other_shape() -> None:
    problems: list[str] = []
    got = absent_pairs(
        ["DVS0/p1", "p2", "DVS0/", "DVS1/a/b"], "nioc_pools", "'switch/pool'", problems
    )
    assert got == {("DVS0", "p1"), ("DVS1", "a/b")}
    assert problems == [
        "absent.nioc_pools: 'p2' must be 'switch/pool'",
        "absent.nioc_pools: 'DVS0/' must be 'switch/pool'",
    ]


def test_named_conflict_names_what_another_client_changed() -> None:
    was, want = pool(100), pool(200)
    check = named_conflict(lambda sw: sw.nioc_pools, "p1", was, want, FIELDS)
    assert check(switch(pool(100))) is None  # untouched since the plan
    assert check(switch(pool(200))) is None  # already what this change wants
    assert check(switch(pool(150))) == "reservation_mbps: 100 → 150"
    # a removal: a part someone else deleted meanwhile is no conflict; one re-created is
    gone = named_conflict(lambda sw: sw.nioc_pools, "p1", was, None, FIELDS)
    assert gone(switch()) is None
    assert gone(switch(pool(150))) == "reservation_mbps: 100 → 150"


def test_switch_part_finds_the_part_and_refuses_a_vanished_switch() -> None:
    change = Change(kind="update", resource="nioc_pool", name="DVS0/p1", host=None,
                    lane="dvs:DVS0", switch="DVS0", before=pool(100), after=pool(200))  # fmt: skip
    inv = Inventory(distributed_switches=[switch(pool(200))])
    found = switch_part(change, inv, lambda sw: sw.nioc_pools)
    assert found is not None and found[1] == pool(200)
    with pytest.raises(CannotRestore, match="its switch DVS0 no longer exists"):
        switch_part(change, Inventory(), lambda sw: sw.nioc_pools)
    created = change.model_copy(update={"kind": "create", "before": None})
    assert switch_part(created, Inventory(), lambda sw: sw.nioc_pools) is None


def test_restore_of_a_part_keeps_the_server_fields_of_the_current_one() -> None:
    change = Change(kind="update", resource="nioc_pool", name="DVS0/p1", host=None,
                    lane="dvs:DVS0", switch="DVS0", before=pool(100, key="old"), after=pool(200))  # fmt: skip
    back = pools.restore(change, Inventory(distributed_switches=[switch(pool(200, key="new"))]))
    assert back is not None and back.kind == "update"
    assert isinstance(back.after, NiocPool) and back.after.key == "new"
    assert [(d.field, d.before, d.after) for d in back.diffs] == [("reservation_mbps", 200, 100)]
    assert mirrors.kept == ("key",) and pools.kept == ("key", "config_version")
