package main

// VM NIC connection state like vCenter: a powered-on VM's network cards that
// start connected are connected (stock vcsim leaves connected=false and
// status "untried" on every card, which an audit would report as down NICs).

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	registerSetup(31, "vm nic connection state", func(lab *Lab) error {
		for _, e := range simulator.Map.All("VirtualMachine") {
			vm := e.(*simulator.VirtualMachine)
			if vm.Config == nil || vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
				continue
			}
			for i, d := range vm.Config.Hardware.Device {
				if _, ok := d.(types.BaseVirtualEthernetCard); !ok {
					continue
				}
				cp := copyDevice(d)
				dev := cp.GetVirtualDevice()
				if dev.Connectable == nil || !dev.Connectable.StartConnected {
					continue
				}
				c := *dev.Connectable
				c.Connected = true
				c.Status = "ok"
				dev.Connectable = &c
				vm.Config.Hardware.Device[i] = cp
			}
		}
		return nil
	})
}
