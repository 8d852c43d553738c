package main

// Per-host PCI view and product, as ESXi 7.0.3 under vCenter 7.0.3 shows it.
//
// Stock vcsim gives every host the same configManager.pciPassthruSystem
// reference ("ha-pcipassthrusystem") with no object behind it (every read is
// ManagedObjectNotFound), its hardware.pciDevice list has no entry for the
// host's pNICs, and hosts claim ESXi 6.5.0 while the lab's distributed
// switches are version 7.0.3 (vCenter admits only 7.0.3 hosts to those).
// Inventory clients read a pNIC's adapter name from hardware.pciDevice by the
// pNIC's pci id and its passthrough / SR-IOV state from the passthru system.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	esxiVersion = "7.0.3"
	esxiBuild   = "20328353" // ESXi 7.0 Update 3g
)

type pciPassthruSystem struct {
	mo.HostPciPassthruSystem
}

// intelVendor is 0x8086 as the API's signed xsd:short carries it.
const intelVendor = int16(-32634)

func pnicPciDevice(p types.PhysicalNic) types.HostPciDevice {
	var bus, fn int
	if parts := strings.Split(p.Pci, ":"); len(parts) == 3 {
		b, _ := strconv.ParseInt(parts[1], 16, 32)
		f, _ := strconv.Atoi(strings.TrimPrefix(parts[2], "00."))
		bus, fn = int(b), f
	}
	dev := types.HostPciDevice{
		Id: p.Pci, ClassId: 0x0200, Bus: byte(bus), Slot: 0, Function: byte(fn),
		VendorId: intelVendor, SubVendorId: intelVendor, VendorName: "Intel(R)",
		DeviceId: 0x10fb, SubDeviceId: 0x0003, DeviceName: "82599 10 Gigabit Dual Port Network Connection",
	}
	if p.Driver == "i40en" {
		dev.DeviceId, dev.SubDeviceId, dev.DeviceName = 0x1572, 0x0001, "Ethernet Controller X710 for 10GbE SFP+"
	}
	return dev
}

// setupHostPci gives a host its own PCI device list (with its pNICs), its own
// PciPassthruSystem and the 7.0.3 product.
func setupHostPci(host *simulator.HostSystem) {
	if host.Hardware != nil {
		devs := append([]types.HostPciDevice(nil), host.Hardware.PciDevice...)
		for _, p := range host.Config.Network.Pnic {
			devs = append(devs, pnicPciDevice(p))
		}
		host.Hardware.PciDevice = devs
	}
	ps := &pciPassthruSystem{}
	ps.Self = types.ManagedObjectReference{Type: "HostPciPassthruSystem", Value: "pciPassthruSystem-" + host.Self.Value}
	if host.Hardware != nil {
		for _, d := range host.Hardware.PciDevice {
			ps.PciPassthruInfo = append(ps.PciPassthruInfo, &types.HostPciPassthruInfo{
				Id: d.Id, DependentDevice: d.Id, PassthruCapable: d.ClassId == 0x0200,
			})
		}
	}
	ref := simulator.Map.Put(ps).Reference()
	host.ConfigManager.PciPassthruSystem = &ref

	product := host.Config.Product
	product.Version, product.Build = esxiVersion, esxiBuild
	product.FullName = fmt.Sprintf("VMware ESXi %s build-%s", esxiVersion, esxiBuild)
	host.Config.Product = product
	if host.Summary.Config.Product != nil {
		p := product
		host.Summary.Config.Product = &p
	}
}
