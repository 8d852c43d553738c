"""The run journal without a server: write-ahead records, killed runs, run order, conflicts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.unit.test_engine_core import _applied
from tests.unit.test_engine_plan import VMOTION_DOC, desired, inventory
from vnettool.engine import plan, rollback
from vnettool.engine.journal import UNKNOWN_OUTCOME, Journal, RunRecord, find_run
from vnettool.models.plan import Change, Result


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path))
    return tmp_path / "runs"


def _journal() -> Journal:
    return Journal(source="t.yml", vcenter="vc", instance="uuid-1")


def test_intent_is_on_disk_before_the_call_and_a_killed_run_names_it(home: Path) -> None:
    p = plan(desired(**VMOTION_DOC), inventory(2))
    j = _journal()
    first, second = p.changes[0], p.changes[1]
    j.intent(first)
    j.result(Result(change=first, changed=True))
    j.intent(second)  # ... and the process is killed during the call
    rec = RunRecord(j.path)
    assert rec.instance_uuid == "uuid-1"
    assert [r.change.id for r in rec.results] == [first.id, second.id]
    assert rec.results[0].changed
    assert rec.results[1].failed and rec.results[1].error == UNKNOWN_OUTCOME
    assert [r.change.id for r in rec.unknown] == [second.id]
    # the unknown change is rolled back like a failed one: from its before-state
    assert rollback([rec.results[1]], inventory(2)).plan.empty  # it did not happen: nothing
    assert os.stat(j.path).st_mode & 0o777 == 0o600


def test_a_line_cut_short_by_a_kill_is_ignored(home: Path) -> None:
    p = plan(desired(**VMOTION_DOC), inventory(1))
    j = _journal()
    j.intent(p.changes[0])
    with j.path.open("a") as f:
        f.write('{"type": "intent", "seq": 2, "change": {"kind": "cr')
    rec = RunRecord(j.path)
    assert [r.change.id for r in rec.results] == [p.changes[0].id]


def test_a_run_that_sends_nothing_leaves_no_journal(home: Path) -> None:
    p = plan(desired(**VMOTION_DOC), inventory(1))
    j = _journal()
    j.result(Result(change=p.changes[0], skipped=True, error="interrupted: not started"))
    j.end(verified=True, remaining=0)
    assert not j.path.exists()


def test_last_is_the_last_started_even_within_one_second(home: Path) -> None:
    ids = []
    for _ in range(40):
        j = _journal()
        j.intent(Change(kind="create", resource="standard_switch", host="h", name="s"))
        ids.append(j.id)
    assert len(set(ids)) == 40
    assert sorted(ids) == ids  # ids sort in start order, too
    assert find_run("last").id == ids[-1]
    # `last` is decided by the recorded start, not by the name
    renamed = home / "zzzzzzzz-copied-early.jsonl"  # a name that sorts last
    head, *rest = (home / f"{ids[0]}.jsonl").read_text().splitlines()
    renamed.write_text("\n".join([head, *rest]) + "\n")
    assert (
        json.loads(head)["started_ns"]
        < json.loads((home / f"{ids[-1]}.jsonl").read_text().splitlines()[0])["started_ns"]
    )
    assert find_run("last").id == ids[-1]


def test_rollback_names_what_it_cannot_restore_and_conflicts() -> None:
    inv = inventory(1, with_vswitch1=True)
    p = plan(desired(standard_switches=[{"name": "vSwitch1", "mtu": 1500}]), inv)
    (sw,) = _applied(p)
    # someone set another MTU since the run: a conflict naming the field and both values
    other = inv.model_copy(
        update={
            "standard_switches": [
                s.model_copy(update={"mtu": 4000}) if s.name == "vSwitch1" else s
                for s in inv.standard_switches
            ]
        }
    )
    rb = rollback([sw], other)
    assert rb.conflicts == [
        "update standard_switch esx1: vSwitch1: changed since the run: mtu is now 4000, "
        "the run set 1500"
    ]
    # as the run left it: no conflict
    left = other.model_copy(
        update={
            "standard_switches": [
                s.model_copy(update={"mtu": 1500}) if s.name == "vSwitch1" else s
                for s in inv.standard_switches
            ]
        }
    )
    assert rollback([sw], left).conflicts == []
    # a change vnettool has no undo for is named, never dropped (appliance changes have one
    # now: a kind no resource registers stands in)
    fw = Result(change=Change(kind="update", resource="host_firmware", name="fw-1"), changed=True)
    assert rollback([fw], left).unrestorable == [
        "update host_firmware fw-1: vnettool has no undo for host firmware changes"
    ]
    vm = Result(change=Change(kind="update", resource="appliance", name="fw-1"), changed=True)
    assert rollback([vm], left).unrestorable == [
        "update appliance fw-1: the change carries no appliance data"
    ]
    # the host is gone: an object it had before cannot be restored
    gone = left.model_copy(update={"hosts": []})
    (line,) = rollback([sw], gone).unrestorable
    assert "host esx1 is no longer in the inventory" in line


def test_last_run_is_the_newest_that_changed_something_on_this_vcenter(home: Path) -> None:
    """The TUI's rollback key: never a run of another vCenter, nor one that only failed."""
    from vnettool.engine.journal import last_run

    p = plan(desired(**VMOTION_DOC), inventory(2))
    change = p.changes[0]

    def run(instance: str, changed: bool) -> str:
        j = Journal(source="t.yml", vcenter="vc", instance=instance)
        j.intent(change)
        j.result(
            Result(
                change=change, changed=changed, failed=not changed, error=None if changed else "x"
            )
        )
        j.end(verified=changed, remaining=0)
        return j.id

    assert last_run("uuid-1") is None
    mine = run("uuid-1", True)
    run("uuid-2", True)  # newer, another vCenter
    run("uuid-1", False)  # newer, only failed
    rec = last_run("uuid-1")
    assert rec is not None and rec.id == mine
    (home / "broken.jsonl").write_text("{not json\n{")  # unreadable journals are passed over
    assert last_run("uuid-1") is not None and last_run("uuid-1").id == mine  # type: ignore[union-attr]
