"""CDP/LLDP neighbours: `collect(neighbors=True)` equals what plain pyVmomi's QueryNetworkHint
returns, host by host and pNIC by pNIC; without the flag no extra call is made."""

from __future__ import annotations

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from vnettool.inventory.collect import collect
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab


def _reference(session: Session) -> dict[tuple[str, str], set[tuple[str, str, str]]]:
    content = session.si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    out: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
    for host in view.view:
        for hint in host.configManager.networkSystem.QueryNetworkHint() or []:
            seen = set()
            if hint.connectedSwitchPort:
                seen.add(("cdp", hint.connectedSwitchPort.devId, hint.connectedSwitchPort.portId))
            if hint.lldpInfo:
                seen.add(("lldp", hint.lldpInfo.chassisId, hint.lldpInfo.portId))
            out[(host.name, hint.device)] = seen
    view.DestroyView()
    return out


def test_neighbours_match_query_network_hint(lab: RunningLab) -> None:
    with lab.session() as s:
        inv = collect(s, neighbors=True)
        plain = collect(s)
        ref = _reference(s)
    got = {
        (h.name, p.device): {(n.protocol, n.switch_id, n.port_id) for n in p.neighbors}
        for h in inv.hosts
        for p in h.pnics
    }
    assert got == ref
    assert any(got.values())
    assert all(not p.neighbors for h in plain.hosts for p in h.pnics)
    # the rest of the inventory is the same read
    assert inv.model_dump(exclude={"hosts", "collected_at"}) == plain.model_dump(
        exclude={"hosts", "collected_at"}
    )
