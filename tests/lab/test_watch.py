"""Live updates of host networking: a change made by another client (plain pyVmomi) reaches
`Watcher` in one update that names only the changed host, and the rebuilt inventory shows it.

The simulator reports host network changes to WaitForUpdates filters the way vCenter does
(mocks/vcsim/notify.go); both readers are checked.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from vnettool.inventory.collect import Watcher

pytestmark = pytest.mark.lab


def _host(session: object, name: str) -> vim.HostSystem:
    content = session.si.RetrieveContent()  # type: ignore[attr-defined]
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    try:
        return next(h for h in view.view if h.name == name)
    finally:
        view.DestroyView()


@pytest.mark.parametrize("reader", ["fast", "pyvmomi"])
def test_standard_network_change_reaches_the_watcher_in_one_update(
    fresh_lab: Callable[..., RunningLab], reader: str
) -> None:
    lab = fresh_lab(cluster=1, host=3, vm=2)
    with lab.session() as s, lab.session() as other:
        w = Watcher(s, reader=reader)
        try:
            first = w.poll(timeout_s=5)
            assert first is not None and first.inventory is not None
            target = sorted(h.name for h in first.inventory.hosts)[1]
            moref = first.inventory.host_by_name[target].moref
            before = {p.name: p.vlan_id for p in first.inventory.portgroups_of(target)}
            assert before["VM Network"] != 217

            ns = _host(other, target).configManager.networkSystem
            pg = next(p for p in ns.networkInfo.portgroup if p.spec.name == "VM Network")
            spec = pg.spec
            spec.vlanId = 217
            ns.UpdatePortGroup("VM Network", spec)

            change = w.poll(timeout_s=10)
            assert change is not None and change.inventory is not None
            assert list(change.modified) == [moref]
            assert "config.network" in change.modified[moref]
            assert not change.entered and not change.left
            after = {p.name: p.vlan_id for p in change.inventory.portgroups_of(target)}
            assert after == before | {"VM Network": 217}

            vmk = next(v for v in ns.networkInfo.vnic if v.device == "vmk1")
            vspec = vmk.spec
            vspec.mtu = 9000
            ns.UpdateVirtualNic("vmk1", vspec)
            change = w.poll(timeout_s=10)
            assert change is not None and change.inventory is not None
            assert list(change.modified) == [moref]
            mtus = {v.device: v.mtu for v in change.inventory.vmknics_of(target)}
            assert mtus["vmk1"] == 9000
            # other hosts were not touched
            others = [h for h in change.inventory.hosts if h.name != target]
            assert all(v.mtu == 1500 for h in others for v in change.inventory.vmknics_of(h.name))
        finally:
            w.close()
