"""Build a tiny appliance OVA for tests: an OVF 1.0 descriptor (three NICs on three OVF
networks, a SCSI disk, vApp properties, optionally deployment options) plus a disk that
starts like a stream-optimized VMDK ("KDMV" sparse magic), packed as a tar, descriptor first.
"""

from __future__ import annotations

import io
import struct
import tarfile
from pathlib import Path

NETWORKS = ("Management", "Outside", "Inside")
DEFAULT = ' ovf:default="true"'


def vmdk(size: int = 64 * 1024, magic: bytes = b"KDMV") -> bytes:
    """A disk image whose header is a sparse-extent header (magic, version 3, flags,
    capacity in sectors), padded with a pattern so a truncated upload is detectable."""
    header = magic + struct.pack("<IIQ", 3, 0x30001, 2 * 1024 * 1024)
    body = bytes((i * 7) % 251 for i in range(size - len(header)))
    return header + body


def descriptor(
    disk_size: int,
    *,
    networks: tuple[str, ...] = NETWORKS,
    nic_networks: tuple[str, ...] | None = None,
    options: tuple[str, ...] = (),
) -> str:
    nic_networks = nic_networks or networks
    nets = "".join(
        f'<Network ovf:name="{n}"><Description>{n}</Description></Network>' for n in networks
    )
    nics = "".join(
        f"""<Item><rasd:AddressOnParent>{7 + i}</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>{n}</rasd:Connection>
        <rasd:ElementName>Ethernet {i + 1}</rasd:ElementName>
        <rasd:InstanceID>{10 + i}</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType></Item>"""
        for i, n in enumerate(nic_networks)
    )
    opts = ""
    if options:
        opts = (
            "<DeploymentOptionSection><Info>sizes</Info>"
            + "".join(
                f'<Configuration ovf:id="{o}"{DEFAULT if i == 0 else ""}>'
                f"<Label>{o}</Label><Description>{o}</Description></Configuration>"
                for i, o in enumerate(options)
            )
            + "</DeploymentOptionSection>"
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
 xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
 xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="fw-disk1.vmdk" ovf:id="file1" ovf:size="{disk_size}"/></References>
  <DiskSection><Info>disks</Info>
    <Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1"
     ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection><Info>networks</Info>{nets}</NetworkSection>
  {opts}
  <VirtualSystem ovf:id="tinyfw">
    <Info>A tiny firewall appliance</Info>
    <Name>tinyfw</Name>
    <OperatingSystemSection ovf:id="101"><Info>os</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>tinyfw</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>1 virtual CPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>512MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      {nics}
    </VirtualHardwareSection>
    <ProductSection ovf:class="fw">
      <Info>settings</Info><Product>TinyFW</Product><Version>1.0</Version>
      <Property ovf:key="hostname" ovf:type="string" ovf:userConfigurable="true" ovf:value="fw">
        <Label>Host name</Label></Property>
      <Property ovf:key="admin_password" ovf:type="string" ovf:password="true"
       ovf:userConfigurable="true"><Label>Admin password</Label></Property>
    </ProductSection>
  </VirtualSystem>
</Envelope>
"""


def build_ova(
    path: Path,
    *,
    disk: bytes | None = None,
    networks: tuple[str, ...] = NETWORKS,
    nic_networks: tuple[str, ...] | None = None,
    options: tuple[str, ...] = (),
) -> Path:
    """Write the OVA (descriptor first, then the disk) and return its path."""
    data = vmdk() if disk is None else disk
    desc = descriptor(len(data), networks=networks, nic_networks=nic_networks, options=options)
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, blob in (("tinyfw.ovf", desc.encode()), ("fw-disk1.vmdk", data)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


if __name__ == "__main__":  # uv run python -m tests.ovfbuild OUT.ova: a demo image for the lab
    import sys

    print(build_ova(Path(sys.argv[1] if len(sys.argv) > 1 else "tinyfw.ova")))
