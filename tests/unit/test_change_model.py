"""Changes carry typed states and fields, and read back from JSON (a journal) the same."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factories import lab_inventory as inventory
from tests.unit.test_engine_plan import desired
from vnettool.engine import plan
from vnettool.models.inventory import DistributedSwitch, StandardSwitch
from vnettool.models.plan import Change, HostOp, Opaque

DOC = {
    "standard_switches": [{"name": "vSwitch1", "mtu": 1500}],
    "distributed_switches": [{"name": "DVS0", "max_mtu": 9000}],
}
# The same plan as written to journals by the version that kept these fields in `spec`.
OLD = Path(__file__).parent / "data" / "changes_with_spec.json"


def test_states_are_the_resource_models_and_survive_json() -> None:
    p = plan(desired(**DOC), inventory(1, with_vswitch1=True))
    vss, dvs = p.changes
    assert isinstance(vss.before, StandardSwitch) and isinstance(vss.after, StandardSwitch)
    assert (vss.before.mtu, vss.after.mtu, vss.host_moref) == (9000, 1500, "host-0")
    assert isinstance(dvs.after, DistributedSwitch) and dvs.before is None
    assert (dvs.lane, dvs.switch) == ("dvs:DVS0", "DVS0")
    again = [Change.model_validate_json(c.model_dump_json()) for c in p.changes]
    assert again == p.changes
    assert isinstance(again[0].after, StandardSwitch)


def test_a_change_journaled_with_spec_reads_into_the_typed_fields() -> None:
    new = plan(desired(**DOC), inventory(1, with_vswitch1=True)).changes
    old = [Change.model_validate(d) for d in json.loads(OLD.read_text())]
    for o, n in zip(old, new, strict=True):
        assert o.model_dump(exclude={"impact"}) == n.model_dump(exclude={"impact"})
    assert isinstance(old[0].before, StandardSwitch) and old[0].before.mtu == 9000
    assert old[1].host_ops == n.host_ops and all(isinstance(h, HostOp) for h in old[1].host_ops)


def test_a_state_of_an_unknown_resource_is_kept_as_written() -> None:
    c = Change.model_validate(
        {"kind": "update", "resource": "from_the_future", "name": "x", "before": {"a": 1}}
    )
    assert isinstance(c.before, Opaque) and c.before.model_dump() == {"a": 1}
    assert json.loads(c.model_dump_json())["before"] == {"a": 1}
