"""A NIOC traffic class this version does not know (a newer vCenter adds them: 8.0's nvmetcp
broke a Terraform provider, terraform-provider-vsphere PR#1633) is read, kept, shown and left
untouched by a plan that edits another class: never a crash, never dropped."""

from __future__ import annotations

from pyVmomi import vim
from rich.console import Console

from tests import factories
from vnettool.cli import inventory_views as views
from vnettool.engine import plan
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import Inventory
from vnettool.tui.model import NetIndex, dvs_details
from vnettool.vsphere.collector import RawObject
from vnettool.vsphere.reader import Resolver, dvs_from_raw
from vnettool.vsphere.specs import dvs as dvs_spec

T = vim.DistributedVirtualSwitch.HostInfrastructureTrafficResource


def _class(key: str, level: str, shares: int, reservation: int) -> object:
    alloc = T.ResourceAllocation(
        limit=-1, reservation=reservation, shares=vim.SharesInfo(level=level, shares=shares)
    )
    return T(key=key, allocationInfo=alloc)


def _switch_with_new_class() -> Inventory:
    cfg = vim.dvs.VmwareDistributedVirtualSwitch.ConfigInfo(
        name="DVS0",
        configVersion="7",
        networkResourceManagementEnabled=True,
        uplinkPortPolicy=vim.DistributedVirtualSwitch.NameArrayUplinkPortPolicy(
            uplinkPortName=["uplink1", "uplink2"]
        ),
        infrastructureTrafficResourceConfig=[
            _class("vmotion", "normal", 50, 0),
            _class("nvmeRdmaStorage", "custom", 77, 100),  # not in 7.0.3's list
        ],
    )
    raw = RawObject(type="DistributedVirtualSwitch", moref="dvs-9", props={"name": "DVS0",
                                                                           "config": cfg})  # fmt: skip
    sw = dvs_from_raw(raw, Resolver({}), {}, [])
    inv = factories.snapshot()
    dvs = [sw.model_copy(update={"moref": d.moref, "uuid": d.uuid, "datacenter": d.datacenter})
           if d.name == "DVS0" else d for d in inv.distributed_switches]  # fmt: skip
    return inv.model_copy(update={"distributed_switches": dvs})


def test_an_unknown_traffic_class_is_kept_shown_and_left_alone() -> None:
    inv = _switch_with_new_class()
    sw = inv.dvs_by_name["DVS0"]
    new = next(t for t in sw.nioc if t.key == "nvmeRdmaStorage")
    assert (new.level, new.shares, new.reservation_mbps, new.limit_mbps) == (
        "custom",
        77,
        100,
        None,
    )
    # shown: `inventory nioc` and the TUI switch pane
    rows = [r for r in views.nioc(inv) if r["name"] == "nvmeRdmaStorage"]
    assert rows == [
        {
            "switch": "DVS0",
            "kind": "traffic",
            "name": "nvmeRdmaStorage",
            "shares": "custom (77)",
            "reservation": 100,
            "limit": "unlimited",
            "note": "class not known to vnettool",
        }
    ]
    console = Console(width=120, record=True)
    ix = NetIndex.build(inv)
    console.print(dvs_details(ix.dvs["DVS0"], ix))
    assert "nvmeRdmaStorage (new class)" in console.export_text()
    # a plan that edits vMotion keeps the new class and sends only vMotion
    p = plan(
        DesiredState.model_validate(
            {"distributed_switches": [{"name": "DVS0", "traffic": {"vmotion": {"shares": "high"}}}]}
        ),
        inv,
    )
    (ch,) = p.changes
    assert [d.field for d in ch.diffs] == ["nioc.vmotion.level", "nioc.vmotion.shares"]
    after = ch.after
    assert any(t.key == "nvmeRdmaStorage" and t.shares == 77 for t in after.nioc)  # type: ignore[union-attr]
    spec = dvs_spec.switch_spec(ch.before, after)  # type: ignore[arg-type]
    assert [t.key for t in spec.infrastructureTrafficResourceConfig] == ["vmotion"]
