"""Hand-built inventories for the impact tests: real model classes, a lab-like layout.

Each host: vmnic0/vmnic1 on vSwitch0 (Management Network + vmk0, vMotion + vmk1, VM Network),
cabled to tor-a / tor-b; vmnic2/vmnic3 on DVS0 as uplink1/uplink2 (or as the two ports of LAG
lag1), cabled to tor-a / tor-b too.
"""

from __future__ import annotations

from vnettool.models.inventory import (
    Cluster,
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    DvsHostMember,
    Host,
    Inventory,
    LacpGroup,
    LinkNeighbor,
    PhysicalNic,
    StandardPortGroup,
    StandardSwitch,
    VirtualMachine,
    VmkernelAdapter,
    VmNic,
)
from vnettool.models.policy import NetworkPolicy, TeamingPolicy, VlanSpec

DVS_UUID = "uuid-dvs0"


def pnic(host: str, n: int, *, up: bool = True, switch: str | None = None) -> PhysicalNic:
    sw = switch or f"tor-{'ab'[n % 2]}"
    return PhysicalNic(
        host=host,
        device=f"vmnic{n}",
        link_up=up,
        speed_mb=10000 if up else None,
        neighbors=[
            LinkNeighbor(
                protocol="cdp", switch_id=sw, port_id=f"Ethernet{int(host[1:]) + 1}/{n + 1}"
            )
        ]
        if up
        else [],
    )


def teaming(
    active: list[str], standby: list[str] | None = None, policy: str = "loadbalance_srcid"
) -> NetworkPolicy:
    return NetworkPolicy(
        teaming=TeamingPolicy(policy=policy, active_uplinks=active, standby_uplinks=standby or [])
    )


def std_pg(
    host: str, name: str, vlan: int = 0, team: NetworkPolicy | None = None
) -> StandardPortGroup:
    return StandardPortGroup(
        host=host,
        name=name,
        switch="vSwitch0",
        vlan_id=vlan,
        effective=team or teaming(["vmnic0", "vmnic1"]),
    )


def host_objects(
    name: str, cluster: str = "C0", lag: bool = False
) -> tuple[Host, StandardSwitch, list[StandardPortGroup], list[VmkernelAdapter], DvsHostMember]:
    h = Host(
        moref=f"host-{name}", name=name, cluster=cluster, pnics=[pnic(name, i) for i in range(4)]
    )
    sw = StandardSwitch(
        host=name,
        name="vSwitch0",
        uplinks=["vmnic0", "vmnic1"],
        policy=teaming(["vmnic0", "vmnic1"]),
        portgroups=["Management Network", "vMotion", "VM Network"],
    )
    pgs = [
        std_pg(name, "Management Network"),
        std_pg(name, "vMotion", 20),
        std_pg(name, "VM Network"),
    ]
    vmks = [
        VmkernelAdapter(
            host=name, device="vmk0", portgroup="Management Network", services=["management"]
        ),
        VmkernelAdapter(host=name, device="vmk1", portgroup="vMotion", services=["vmotion"]),
    ]
    ports = (
        {"vmnic2": "lag1-0", "vmnic3": "lag1-1"}
        if lag
        else {"vmnic2": "uplink1", "vmnic3": "uplink2"}
    )
    return h, sw, pgs, vmks, DvsHostMember(host=name, pnics=ports, status="up")


def dv_pg(
    name: str, key: str, active: list[str], standby: list[str] | None = None, vlan: int = 10
) -> DistributedPortGroup:
    return DistributedPortGroup(
        moref=key,
        key=key,
        name=name,
        dvs="DVS0",
        dvs_uuid=DVS_UUID,
        setting=DvPortSetting(
            vlan=VlanSpec(kind="vlan", vlan_id=vlan),
            teaming=TeamingPolicy(active_uplinks=active, standby_uplinks=standby or []),
        ),
    )


def vm(name: str, host: str, *nets: tuple[str, str | None], cluster: str = "C0") -> VirtualMachine:
    """nets: (port group name, DV port group key or None) per NIC."""
    return VirtualMachine(
        moref=f"vm-{name}",
        name=name,
        host=host,
        cluster=cluster,
        power_state="poweredOn",
        nics=[
            VmNic(
                key=4000 + i,
                label=f"ethernet-{i}",
                connected=True,
                network=net,
                dvs_uuid=DVS_UUID if key else None,
                dv_portgroup_key=key,
            )
            for i, (net, key) in enumerate(nets)
        ],
    )


def build(hosts: int = 2, lag: bool = False, vms: list[VirtualMachine] | None = None) -> Inventory:
    names = [f"H{i}" for i in range(hosts)]
    parts = [host_objects(n, lag=lag) for n in names]
    dvs = DistributedSwitch(
        moref="dvs-1",
        name="DVS0",
        uuid=DVS_UUID,
        uplink_names=["uplink1", "uplink2"],
        default_port=DvPortSetting(teaming=TeamingPolicy(active_uplinks=["uplink1", "uplink2"])),
        lags=[LacpGroup(dvs="DVS0", name="lag1", uplink_names=["lag1-0", "lag1-1"])] if lag else [],
        hosts=[p[4] for p in parts],
    )
    dvpgs = [
        dv_pg("web", "dvpg-1", ["lag1"] if lag else ["uplink1", "uplink2"]),
        dv_pg("db", "dvpg-2", ["uplink1"], ["uplink2"], vlan=30),
    ]
    default_vms = [
        vm("web1", "H0", ("web", "dvpg-1")),
        vm("app1", "H1", ("VM Network", None), ("db", "dvpg-2")),
    ]
    return Inventory(
        clusters=[Cluster(moref="c-1", name="C0", datacenter="DC0")],
        hosts=[p[0] for p in parts],
        standard_switches=[p[1] for p in parts],
        standard_port_groups=[pg for p in parts for pg in p[2]],
        distributed_switches=[dvs],
        distributed_port_groups=dvpgs,
        vmkernel_adapters=[v for p in parts for v in p[3]],
        vms=default_vms if vms is None else vms,
    )
