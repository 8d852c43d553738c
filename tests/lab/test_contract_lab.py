"""The resource contract on the lab, over the registry: every case marked `lab: true` in
tests/engine/cases is applied to a fresh default lab through real pyVmomi, then

apply → fresh inventory → the same document plans nothing → rollback from the results →
fresh inventory → it plans exactly what it planned before the apply, and a second rollback
is empty.

Every registered resource has such a case, except the appliance kinds, which need a VM
template and a 4-host cluster: tests/lab/test_appliances.py rolls their runs back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import RunningLab
from tests.engine.test_contract import _case_files, changes_of, desired, ids, load
from vnettool.engine import apply, plan, rollback
from vnettool.engine.registry import RESOURCES
from vnettool.inventory import collect
from vnettool.models.plan import Result

pytestmark = pytest.mark.lab

LAB_CASES = [p for p in _case_files() if load(p).get("lab")]
ELSEWHERE = {"appliance", "protected_nic_disconnect"}  # tests/lab/test_appliances.py


def _failures(results: list[Result]) -> list[str]:
    return [f"{r.change.summary()}: {r.error}" for r in results if r.failed or r.skipped]


@pytest.mark.parametrize("path", LAB_CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_apply_then_rollback_on_the_lab(path: Any, fresh_lab: Callable[..., RunningLab]) -> None:
    case = load(path)
    with fresh_lab().session() as s:
        p = changes_of(case, collect(s))
        want = ids(p)
        assert want, "the case changes something on the lab"
        results = apply(p, s, force=True)
        assert not _failures(results), _failures(results)
        if "desired" in case:
            assert plan(desired(case), collect(s)).empty, "applied, it plans nothing"
        rb = rollback(results, collect(s))
        assert rb.unrestorable == [] and rb.conflicts == []
        back = apply(rb.plan, s, force=True)
        assert not _failures(back), _failures(back)
        now = collect(s)
        assert ids(changes_of(case, now)) == want, "rolled back, it plans as before"
        assert rollback(results, now).plan.empty


def test_every_registered_resource_is_applied_on_the_lab() -> None:
    covered = {load(p)["resource"] for p in LAB_CASES}
    missing = [r.name for r in RESOURCES if r.name not in covered | ELSEWHERE]
    assert missing == []
