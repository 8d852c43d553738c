"""Issue 28 item 9: the small things that get pasted into tickets."""

from __future__ import annotations

import json

from tests.factories import snapshot
from vnettool.cli.output import duration_text


def test_durations_are_never_zero_point_zero() -> None:
    assert duration_text(0.0004) == "<1 ms"
    assert duration_text(0.045) == "45 ms"
    assert duration_text(1.26) == "1.3 s"
    assert duration_text(125.2) == "2 min 05 s"
    assert duration_text(None) == "-"
    assert "0.0 s" not in {duration_text(x / 1000) for x in range(0, 1000, 7)}


def test_a_one_time_inventory_has_no_empty_version() -> None:
    from vnettool.models.inventory import Inventory

    inv = snapshot()
    assert json.loads(Inventory().model_dump_json())["version"] is None
    old = json.loads(inv.model_dump_json()) | {"version": ""}  # snapshots saved before
    assert Inventory.model_validate(old).hosts == inv.hosts


def test_inventory_tables_say_yes_no_and_join_with_commas() -> None:
    from vnettool.cli import inventory_views as views

    inv = snapshot()
    for kind in views.KINDS.values():
        for rec in kind.records(inv):
            for v in rec.values():
                assert not isinstance(v, bool), (kind.noun, rec)
                if isinstance(v, str):
                    assert " , " not in v and not v.endswith(" ,"), (kind.noun, rec)


def test_vcenter_level_changes_are_not_on_one_host() -> None:
    from vnettool.engine.render import where

    assert where([None]) == "in vCenter"
    assert where(["DC0_C0_H1"]) == "on DC0_C0_H1"
    assert where([f"DC0_C1_H{i}" for i in range(32)]) == "on 32 hosts DC0_C1_H[0-31]"
