"""Distributed switch specs: the VMwareDVSConfigSpec of a reconfigure (and of a create),
with its PVLAN, LACP, mirroring, NetFlow and host-member parts, and the specs of the calls
beside ReconfigureDvs_Task (LACP groups, network resource pools, health check).

Pure: models in, partial vim specs out (only the changed switch properties are set). Host
morefs become references without a stub: a spec is serialized, never called through.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from pyVmomi import vim
from pyVmomi.VmomiSupport import binary

from vnettool.models.desired import BackupEntity
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    HealthCheckConfig,
    LacpGroup,
    MirrorSession,
    NetflowConfig,
    NiocPool,
    PvlanEntry,
)
from vnettool.vsphere.specs.dvport import changed, port_setting, unset


def _nioc_alloc(t: Any) -> Any:
    shares = None
    if t.level is not None:
        shares = vim.SharesInfo(level=t.level, shares=t.shares or 0)
    return vim.DistributedVirtualSwitch.HostInfrastructureTrafficResource.ResourceAllocation(
        limit=t.limit_mbps if t.limit_mbps is not None else -1,
        reservation=t.reservation_mbps,
        shares=shares,
    )


def switch_spec(
    before: DistributedSwitch | None,
    after: DistributedSwitch,
    host_ops: list[tuple[str, str, dict[str, str]]] | None = None,
) -> Any:
    """VMwareDVSConfigSpec with only the changed switch properties (plus host operations).

    `host_ops`: (operation add/edit/remove, host moref, {pnic: uplink name}).
    """
    s = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec()
    if before is None:
        s.name = after.name
    if changed(before, after, "max_mtu"):
        s.maxMtu = after.max_mtu
    if changed(before, after, "description") or unset(before, after, "description"):
        s.description = after.description or ""
    if after.uplink_names and (before is None or before.uplink_names != after.uplink_names):
        s.uplinkPortPolicy = vim.DistributedVirtualSwitch.NameArrayUplinkPortPolicy(
            uplinkPortName=list(after.uplink_names)
        )
    if changed(before, after, "ldp_protocol") or changed(before, after, "ldp_operation"):
        s.linkDiscoveryProtocolConfig = vim.host.LinkDiscoveryProtocolConfig(
            protocol=after.ldp_protocol or "cdp", operation=after.ldp_operation or "listen"
        )
    if changed(before, after, "nioc_enabled") and before is None:
        s.networkResourceControlVersion = "version3"
    if after.nioc and (before is None or before.nioc != after.nioc):
        old = {t.key: t for t in (before.nioc if before else [])}
        s.infrastructureTrafficResourceConfig = [
            vim.DistributedVirtualSwitch.HostInfrastructureTrafficResource(
                key=t.key, allocationInfo=_nioc_alloc(t)
            )
            for t in after.nioc
            if old.get(t.key) != t
        ]
    setting = port_setting(before.default_port if before else None, after.default_port)
    if setting is not None:
        s.defaultPortConfig = setting
    ops = []
    for op, host_moref, pnics in host_ops or []:
        m = vim.dvs.HostMember.ConfigSpec(operation=op, host=vim.HostSystem(host_moref, None))
        if op != "remove":
            m.backing = vim.dvs.HostMember.PnicBacking(
                pnicSpec=[
                    vim.dvs.HostMember.PnicSpec(pnicDevice=p, uplinkPortKey=None)
                    for p in pnics  # in uplink order: vCenter fills uplinks in this order
                ]
            )
        ops.append(m)
    if ops:
        s.host = ops
    return s


def create_spec(
    after: DistributedSwitch, host_ops: list[tuple[str, str, dict[str, str]]] | None = None
) -> Any:
    """A DVSCreateSpec: every given property (a create), the version asked for, members."""
    spec = vim.DistributedVirtualSwitch.CreateSpec(configSpec=switch_spec(None, after, host_ops))
    if after.version:
        spec.productInfo = vim.dvs.ProductSpec(version=after.version)
    return spec


def pvlan_spec(op: str, e: PvlanEntry) -> Any:
    return vim.dvs.VmwareDistributedVirtualSwitch.PvlanConfigSpec(
        operation=op,
        pvlanEntry=vim.dvs.VmwareDistributedVirtualSwitch.PvlanMapEntry(
            primaryVlanId=e.primary_id, secondaryVlanId=e.secondary_id, pvlanType=e.type
        ),
    )


def lag_spec(op: str, g: LacpGroup) -> Any:
    cfg = vim.dvs.VmwareDistributedVirtualSwitch.LacpGroupConfig(
        key=g.key,
        name=g.name,
        mode=g.mode,
        uplinkNum=g.uplink_count,
        loadbalanceAlgorithm=g.load_balance,
    )
    return vim.dvs.VmwareDistributedVirtualSwitch.LacpGroupSpec(lacpGroupConfig=cfg, operation=op)


def host_uplinks_spec(host_moref: str, keys: dict[str, str]) -> Any:
    """A switch spec that binds a member's pNICs to uplink ports by key (host `edit`):
    `keys` is pnic -> port key, the host's whole mapping (pNICs left out are released)."""
    s = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec()
    s.host = [
        vim.dvs.HostMember.ConfigSpec(
            operation="edit",
            host=vim.HostSystem(host_moref, None),
            backing=vim.dvs.HostMember.PnicBacking(
                pnicSpec=[
                    vim.dvs.HostMember.PnicSpec(pnicDevice=p, uplinkPortKey=k)
                    for p, k in keys.items()
                ]
            ),
        )
    ]
    return s


# -- NetFlow and port mirroring ---------------------------------------------------------------
def ipfix_config(n: NetflowConfig) -> Any:
    """The whole VMwareIpfixConfig (vCenter replaces it as one; its timeouts are required)."""
    return vim.dvs.VmwareDistributedVirtualSwitch.IpfixConfig(
        collectorIpAddress=n.collector_ip or "",
        collectorPort=n.collector_port or 0,
        observationDomainId=n.observation_domain or 0,
        activeFlowTimeout=n.active_timeout_s if n.active_timeout_s is not None else 60,
        idleFlowTimeout=n.idle_timeout_s if n.idle_timeout_s is not None else 15,
        samplingRate=n.sampling_rate if n.sampling_rate is not None else 4096,
        internalFlowsOnly=bool(n.internal_only),
    )


def _vspan_port(
    keys: Sequence[str],
    uplinks: Sequence[str] = (),
    ips: Sequence[str] = (),
    vlans: Sequence[int] = (),
) -> Any:
    if not (keys or uplinks or ips or vlans):
        return None
    return vim.dvs.VmwareDistributedVirtualSwitch.VspanPorts(
        portKey=list(keys), uplinkPortName=list(uplinks), ipAddress=list(ips), vlans=list(vlans)
    )


def vspan_spec(op: str, m: MirrorSession) -> Any:
    """A VMwareDVSVspanConfigSpec; edit and add send the whole session (vCenter replaces it)."""
    vs = vim.dvs.VmwareDistributedVirtualSwitch
    if op == "remove":
        return vs.VspanConfigSpec(operation=op, vspanSession=vs.VspanSession(key=m.key))
    sess = vs.VspanSession(
        key=m.key if op == "edit" else None,
        name=m.name,
        description=m.description,
        enabled=bool(m.enabled),
        sessionType=m.type,
        sourcePortTransmitted=_vspan_port(m.sources_transmitted),
        sourcePortReceived=_vspan_port(m.sources_received, vlans=m.source_vlans),
        destinationPort=_vspan_port(m.destination_ports, m.destination_uplinks, m.destination_ips),
        mirroredPacketLength=m.packet_length,
        samplingRate=m.sampling_rate,
        encapsulationVlanId=m.encapsulation_vlan,
        stripOriginalVlan=bool(m.strip_vlan),
        normalTrafficAllowed=bool(m.normal_traffic),
        encapType=m.encapsulation,
        erspanId=m.erspan_id,
    )
    return vs.VspanConfigSpec(operation=op, vspanSession=sess)


def pool_spec(op: str, p: NiocPool) -> Any:
    """A DvsVmVnicResourcePoolConfigSpec; add and edit send the pool's whole settings."""
    spec = vim.dvs.VmVnicNetworkResourcePool.ConfigSpec(operation=op, key=p.key)
    if op != "remove":
        spec.name = p.name
        spec.description = p.description or ""
        spec.allocationInfo = vim.dvs.VmVnicNetworkResourcePool.ResourceAllocation(
            reservationQuota=p.reservation_mbps or 0
        )
    if op == "edit":
        spec.configVersion = p.config_version
    return spec


def health_check_configs(hc: HealthCheckConfig) -> list[Any]:
    """Both health check classes' configs (each replaces its class's config on the switch)."""
    dvs = vim.dvs.VmwareDistributedVirtualSwitch

    def cfg(kind: Any, on: bool | None, interval: int | None) -> Any:
        return kind(enable=bool(on), interval=interval if interval is not None else 1)

    return [
        cfg(dvs.VlanMtuHealthCheckConfig, hc.vlan_mtu, hc.vlan_mtu_interval),
        cfg(dvs.TeamingHealthCheckConfig, hc.teaming, hc.teaming_interval),
    ]


# -- vCenter's backup of a switch (DVSManager export / import) ---------------------------------
def export_selection(sw: DistributedSwitch, portgroups: list[DistributedPortGroup]) -> list[Any]:
    """What DVSManagerExportEntity_Task exports: the switch and its non-uplink port groups."""
    sel: list[Any] = [vim.dvs.DistributedVirtualSwitchSelection(dvsUuid=sw.uuid)]
    keys = [p.key for p in portgroups if not p.uplink]
    if keys:
        sel.append(vim.dvs.DistributedVirtualPortgroupSelection(dvsUuid=sw.uuid, portgroupKey=keys))
    return sel


def backup_configs(entities: list[BackupEntity]) -> list[Any]:
    """The EntityBackupConfigs of an import: vCenter's blobs back unchanged (base64 in the
    file, xsd:base64Binary on the wire; a blob that is not base64 is refused here)."""
    return [
        vim.dvs.EntityBackup.Config(
            entityType=e.entity_type,
            configBlob=binary(base64.b64decode(e.blob, validate=True)),
            key=e.key,
            name=e.name,
            container=vim.Folder(e.container, None) if e.container else None,
            configVersion=e.config_version,
        )
        for e in entities
    ]
