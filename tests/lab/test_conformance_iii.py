"""Lab conformance, part III: what a generic client sees of switch lifecycles, DV ports,
tasks and events. Plain pyVmomi against a private lab, checked against vCenter 7.0.3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyVmomi import vim

from tests.conftest import RunningLab
from tests.lab.test_conformance import hosts, objs, wait
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab


@pytest.fixture
def lab2(fresh_lab: Any) -> Iterator[tuple[RunningLab, Session]]:
    running = fresh_lab(cluster=1, host=2, vm=2)
    with running.session() as s:
        yield running, s


@pytest.fixture
def lab_free(fresh_lab: Any) -> Iterator[tuple[RunningLab, Session]]:
    """Hosts whose vmnic2/vmnic3 are free (no DVS in the lab)."""
    running = fresh_lab(cluster=1, host=2, vm=2, dvs=0)
    with running.session() as s:
        yield running, s


def create_dvs(s: Session, name: str, pnic: str = "vmnic2", pgs: int = 2) -> Any:
    """A switch with every host as a member (uplink `pnic`) and `pgs` port groups."""
    dc = next(iter(objs(s, vim.Datacenter).values()))
    members = [
        vim.dvs.HostMember.ConfigSpec(
            operation="add",
            host=h,
            backing=vim.dvs.HostMember.PnicBacking(
                pnicSpec=[vim.dvs.HostMember.PnicSpec(pnicDevice=pnic)]
            ),
        )
        for h in hosts(s)
    ]
    cfg = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(name=name, host=members)
    dvs = wait(
        dc.networkFolder.CreateDVS_Task(vim.DistributedVirtualSwitch.CreateSpec(configSpec=cfg))
    )
    if pgs:
        specs = [
            vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
                name=f"{name}-pg{i}", type="earlyBinding"
            )
            for i in range(pgs)
        ]
        wait(dvs.AddDVPortgroup_Task(specs))
    return dvs


def test_destroying_a_dvs_removes_its_port_groups_and_frees_the_uplinks(
    lab_free: tuple[RunningLab, Session],
) -> None:
    _, s = lab_free
    dvs = create_dvs(s, "dvs-gone")
    pg_refs = {pg._moId for pg in dvs.portgroup}
    assert len(pg_refs) == 3  # two port groups and the uplink port group
    wait(dvs.Destroy_Task())
    left = {
        n for n, pg in objs(s, vim.dvs.DistributedVirtualPortgroup).items() if pg._moId in pg_refs
    }
    assert left == set(), "port groups of the destroyed switch are still in the inventory"
    assert "dvs-gone" not in objs(s, vim.DistributedVirtualSwitch)
    cluster = next(iter(objs(s, vim.ClusterComputeResource).values()))
    assert not {n._moId for n in cluster.network} & pg_refs
    for h in hosts(s):
        assert [p.dvsName for p in h.config.network.proxySwitch] == []
        assert not {n._moId for n in h.network} & pg_refs
        # the uplink is free again: a standard switch may claim it
        h.configManager.networkSystem.AddVirtualSwitch(
            "vSwitch-after",
            vim.host.VirtualSwitch.Specification(
                numPorts=64, bridge=vim.host.VirtualSwitch.BondBridge(nicDevice=["vmnic2"])
            ),
        )


def test_destroy_is_refused_while_vms_are_connected(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    dvs = objs(s, vim.DistributedVirtualSwitch)["DVS0"]
    before = sorted(objs(s, vim.dvs.DistributedVirtualPortgroup))
    with pytest.raises(vim.fault.ResourceInUse) as err:
        wait(dvs.Destroy_Task())
    assert "DVS0" in (err.value.msg or "")
    with pytest.raises(vim.fault.ResourceInUse) as err:
        wait(objs(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG0"].Destroy_Task())
    assert "DC0_DVPG0" in (err.value.msg or "")
    assert sorted(objs(s, vim.dvs.DistributedVirtualPortgroup)) == before
    assert all(h.config.network.proxySwitch for h in hosts(s))


def test_destroying_a_dv_port_group_leaves_no_reference(lab2: tuple[RunningLab, Session]) -> None:
    _, s = lab2
    pg = objs(s, vim.dvs.DistributedVirtualPortgroup)["DC0_DVPG1"]
    ref = pg._moId
    wait(pg.Destroy_Task())
    dvs = objs(s, vim.DistributedVirtualSwitch)["DVS0"]
    assert ref not in {p._moId for p in dvs.portgroup}
    assert "DC0_DVPG1" not in dvs.summary.portgroupName
    for h in hosts(s):
        assert ref not in {n._moId for n in h.network}
