"""Standard switching specs: host network policies, vSwitch, port group and VMkernel
adapter specifications for HostNetworkSystem.

Pure: models in API units (what the object must look like after the call) in, whole vim
specifications out (the Update* calls replace the object's state). No session.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import VmomiSupport, vim

from vnettool.models.inventory import StandardPortGroup, StandardSwitch, VmkernelAdapter
from vnettool.models.policy import NetworkPolicy

DEFAULT_NUM_PORTS = 128


def _any(*values: Any) -> bool:
    return any(v is not None for v in values)


def host_network_policy(p: NetworkPolicy) -> Any:
    """A vim.host.NetworkPolicy; a block whose fields are all unset is left unset (inherit)."""
    pol = vim.host.NetworkPolicy()
    s, sh, t = p.security, p.shaping, p.teaming
    if _any(s.allow_promiscuous, s.mac_changes, s.forged_transmits):
        pol.security = vim.host.NetworkPolicy.SecurityPolicy(
            allowPromiscuous=s.allow_promiscuous,
            macChanges=s.mac_changes,
            forgedTransmits=s.forged_transmits,
        )
    if _any(sh.enabled, sh.average_bps, sh.peak_bps, sh.burst_bytes):
        pol.shapingPolicy = vim.host.NetworkPolicy.TrafficShapingPolicy(
            enabled=sh.enabled,
            averageBandwidth=sh.average_bps,
            peakBandwidth=sh.peak_bps,
            burstSize=sh.burst_bytes,
        )
    if _any(
        t.policy,
        t.notify_switches,
        t.failback,
        t.check_beacon,
        t.active_uplinks,
        t.standby_uplinks,
    ):
        team = vim.host.NetworkPolicy.NicTeamingPolicy(
            policy=t.policy,
            notifySwitches=t.notify_switches,
            rollingOrder=None if t.failback is None else not t.failback,
        )
        if t.check_beacon is not None:
            team.failureCriteria = vim.host.NetworkPolicy.NicFailureCriteria(
                checkBeacon=t.check_beacon
            )
        if t.active_uplinks is not None or t.standby_uplinks is not None:
            team.nicOrder = vim.host.NetworkPolicy.NicOrderPolicy(
                activeNic=list(t.active_uplinks or []),
                standbyNic=list(t.standby_uplinks or []),
            )
        pol.nicTeaming = team
    return pol


def vswitch_spec(sw: StandardSwitch) -> Any:
    policy = host_network_policy(sw.policy)
    spec = vim.host.VirtualSwitch.Specification(numPorts=sw.num_ports or DEFAULT_NUM_PORTS)
    if policy.security or policy.shapingPolicy or policy.nicTeaming:
        spec.policy = policy  # none given at creation: the host's defaults apply
    if sw.mtu is not None:
        spec.mtu = sw.mtu
    if sw.uplinks:
        bridge = vim.host.VirtualSwitch.BondBridge(nicDevice=list(sw.uplinks))
        if sw.policy.teaming.check_beacon:
            bridge.beacon = vim.host.VirtualSwitch.BeaconConfig(interval=1)
        spec.bridge = bridge
    return spec


def portgroup_spec(pg: StandardPortGroup) -> Any:
    return vim.host.PortGroup.Specification(
        name=pg.name,
        vlanId=pg.vlan_id,
        vswitchName=pg.switch,
        policy=host_network_policy(pg.policy),
    )


def vnic_spec(vmk: VmkernelAdapter) -> Any:
    spec = vim.host.VirtualNic.Specification()
    if vmk.dhcp:
        spec.ip = vim.host.IpConfig(dhcp=True)
    elif vmk.ip:
        spec.ip = vim.host.IpConfig(dhcp=False, ipAddress=vmk.ip, subnetMask=vmk.netmask)
    if vmk.mtu is not None:
        spec.mtu = vmk.mtu
    return spec


def vnic_move_spec(dv: tuple[str, str] | None, portgroup: str | None) -> Any:
    """A VirtualNic.Specification that only moves the adapter: onto a DV port group
    (`dv` = (switch uuid, port group key)) or onto a standard port group by name."""
    spec = vim.host.VirtualNic.Specification()
    if dv is not None:
        spec.distributedVirtualPort = vim.dvs.PortConnection(switchUuid=dv[0], portgroupKey=dv[1])
    else:
        spec.portgroup = portgroup
    return spec


def option_values(values: dict[str, int | str]) -> list[Any]:
    """Host advanced options as OptionValues, by key. Integers go as xsd:long: ESXi types
    these options long and refuses an xsd:int (pyVmomi's int)."""
    long_t = VmomiSupport.GetVmodlType("long")
    return [
        vim.option.OptionValue(key=k, value=long_t(v) if isinstance(v, int) else v)
        for k, v in sorted(values.items())
    ]
