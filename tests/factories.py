"""One place to build inventories for unit tests: stored snapshots, and small builders that
fill in what every object of a kind needs so a test spells out only what it is about.

`lab_inventory` is shaped like the lab's hosts (vmnic0-3, vSwitch0 with Management Network and
vmk0), which is what the engine planners expect to find; `snapshot` loads the stored lab
snapshots the TUI, appliance and playbook tests read. The builders take any model field as a
keyword, so a scenario is a few calls instead of a page of constructors.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from vnettool.models.inventory import (
    Cluster,
    Datacenter,
    DistributedPortGroup,
    DistributedSwitch,
    Host,
    Inventory,
    PhysicalNic,
    StandardPortGroup,
    StandardSwitch,
    VirtualMachine,
    VmkernelAdapter,
    VmNic,
)
from vnettool.models.policy import NetworkPolicy, SecurityPolicy, ShapingPolicy, TeamingPolicy

_UNIT = Path(__file__).parent / "unit"
SNAPSHOTS = {
    # 8 hosts in 2 clusters, DVS0 with a PVLAN map, 16 VMs: a collected lab snapshot
    "lab": _UNIT / "test_tui_inventory.json",
    # the playbook corpus's snapshot (its expected outputs name its objects)
    "corpus": _UNIT / "playbook_corpus" / "inventory.json",
}


@cache
def _snapshot_json(name: str) -> str:
    return SNAPSHOTS[name].read_text()


def snapshot(name: str = "lab") -> Inventory:
    """A fresh copy of a stored snapshot (tests may edit it)."""
    return Inventory.model_validate_json(_snapshot_json(name))


def pnics(host: str, count: int, **kw: Any) -> list[PhysicalNic]:
    """vmnic0..count-1 of `host`."""
    return [PhysicalNic(host=host, device=f"vmnic{k}", **kw) for k in range(count)]


def host(name: str, index: int = 0, **kw: Any) -> Host:
    return Host(moref=f"host-{index}", name=name, **kw)


def vswitch(host: str, name: str = "vSwitch0", **kw: Any) -> StandardSwitch:
    return StandardSwitch(host=host, name=name, **kw)


def portgroup(host: str, name: str, switch: str = "vSwitch0", **kw: Any) -> StandardPortGroup:
    return StandardPortGroup(host=host, name=name, switch=switch, **kw)


def vmk(host: str, device: str, **kw: Any) -> VmkernelAdapter:
    return VmkernelAdapter(host=host, device=device, **kw)


def dv_switch(name: str = "DVS0", **kw: Any) -> DistributedSwitch:
    base: dict[str, Any] = {"moref": "dvs-1", "uuid": "u-1"}
    return DistributedSwitch(name=name, **(base | kw))


def dv_portgroup(name: str, dvs: str = "DVS0", **kw: Any) -> DistributedPortGroup:
    base: dict[str, Any] = {"moref": f"pg-{name}", "key": f"key-{name}"}
    return DistributedPortGroup(name=name, dvs=dvs, **(base | kw))


def vm_nic(network: str | None, key: int = 4000, label: str = "nic1", **kw: Any) -> VmNic:
    return VmNic(key=key, label=label, network=network, **kw)


def vm(name: str, moref: str, host: str, **kw: Any) -> VirtualMachine:
    return VirtualMachine(moref=moref, name=name, host=host, **kw)


def site(datacenter: str = "DC", cluster: str = "C1", **kw: Any) -> Inventory:
    """A one-datacenter, one-cluster vCenter; `kw` are the inventory's collections."""
    return Inventory(
        vcenter="vc.example",
        datacenters=[Datacenter(moref="dc-1", name=datacenter)],
        clusters=[Cluster(moref="c-1", name=cluster, datacenter=datacenter)],
        **kw,
    )


# vSwitch0 as the lab creates it: one active uplink, the ESXi security defaults
SWITCH_POLICY = NetworkPolicy(
    security=SecurityPolicy(allow_promiscuous=False, mac_changes=True, forged_transmits=True),
    shaping=ShapingPolicy(enabled=False),
    teaming=TeamingPolicy(
        policy="loadbalance_srcid",
        notify_switches=True,
        failback=True,
        check_beacon=False,
        active_uplinks=["vmnic0"],
        standby_uplinks=[],
    ),
)


def host_names(n: int) -> list[str]:
    return [f"esx{i}" for i in range(1, n + 1)]


# the lab's (ESXi 7.0.3's) defaults of the advanced settings vnettool reads
LAB_OPTIONS = {"Net.BlockGuestBPDU": 1, "Net.DVFilterBindIpAddress": "", "Net.BMCNetworkEnable": 1}


def _lab_host(i: int, name: str, with_vswitch1: bool) -> dict[str, list[Any]]:
    """One lab-shaped host: its own object, switches, port groups and vmknics."""
    out: dict[str, list[Any]] = {
        "hosts": [
            host(
                name, i, datacenter="DC0", cluster="C0", pnics=pnics(name, 4), advanced=LAB_OPTIONS
            )
        ],
        "standard_switches": [
            vswitch(
                name,
                mtu=1500,
                num_ports=128,
                uplinks=["vmnic0"],
                policy=SWITCH_POLICY,
                portgroups=["Management Network"],
            )
        ],
        "standard_port_groups": [portgroup(name, "Management Network")],
        "vmkernel_adapters": [
            vmk(
                name,
                "vmk0",
                portgroup="Management Network",
                ip=f"192.168.0.{i + 1}",
                netmask="255.255.255.0",
                mtu=1500,
                services=["management"],
            )
        ],
    }
    if with_vswitch1:
        teaming = SWITCH_POLICY.teaming.model_copy(update={"active_uplinks": ["vmnic1"]})
        out["standard_switches"].append(
            vswitch(
                name,
                "vSwitch1",
                mtu=9000,
                num_ports=128,
                uplinks=["vmnic1"],
                policy=SWITCH_POLICY.model_copy(update={"teaming": teaming}),
            )
        )
        out["standard_port_groups"].append(portgroup(name, "pg-vmotion", "vSwitch1", vlan_id=20))
        out["vmkernel_adapters"].append(
            vmk(
                name,
                "vmk1",
                portgroup="pg-vmotion",
                ip=f"10.10.0.{i + 1}",
                netmask="255.255.255.0",
                mtu=9000,
                services=["vmotion"],
            )
        )
    return out


def lab_inventory(n_hosts: int = 2, *, with_vswitch1: bool = False, **extra: Any) -> Inventory:
    """Hosts like the lab's: vmnic0-3, vSwitch0 with Management Network + vmk0 (management);
    `with_vswitch1` adds vSwitch1 (MTU 9000) with pg-vmotion and vmk1. `extra` adds or
    replaces collections (distributed switches, VMs...)."""
    data: dict[str, list[Any]] = {
        "hosts": [],
        "standard_switches": [],
        "standard_port_groups": [],
        "vmkernel_adapters": [],
    }
    for i, name in enumerate(host_names(n_hosts)):
        for key, objs in _lab_host(i, name, with_vswitch1).items():
            data[key] += objs
    return Inventory(**(data | extra))
