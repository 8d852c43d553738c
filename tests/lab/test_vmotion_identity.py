"""The vMotion pre-check compares what a network *is*, not what it is called: a destination
whose "VM Network" is on another VLAN is refused, one with the same VLAN and policy is not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import RunningLab
from tests.lab.conftest import FaultRow, record
from vnettool.engine import apply, plan
from vnettool.inventory import collect
from vnettool.latency.mover import vm_networks_missing
from vnettool.models.desired import DesiredState

pytestmark = pytest.mark.lab


def test_same_name_on_another_vlan_is_not_the_same_network(
    fresh_lab: Callable[..., RunningLab],
) -> None:
    lab = fresh_lab(cluster=1, host=3, vm=3, dvs=0)
    with lab.session(insecure=True, thumbprint=None) as s:
        inv = collect(s)
        vm = next(v for v in inv.vms if any(n.network == "VM Network" for n in v.nics))
        others = sorted(h.name for h in inv.hosts if h.name != vm.host)
        trap, good = others[0], others[1]
        doc = {
            "target": {"hosts": [trap]},
            "standard_port_groups": [{"name": "VM Network", "switch": "vSwitch0", "vlan": 999}],
        }
        results = apply(plan(DesiredState.model_validate(doc), inv), s)
        assert all(r.changed for r in results)
        inv = collect(s)
    refused = vm_networks_missing(inv, vm, trap)
    assert refused and "is on VLAN 999, not 0" in refused[0], refused
    assert vm_networks_missing(inv, vm, good) == []
    record(FaultRow("vMotion pre-check", "same PG name, VLAN 999 on target", 2, "refused", 0))
