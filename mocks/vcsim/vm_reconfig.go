package main

// ReconfigVM_Task NIC changes like vCenter. Stock vcsim gave a NIC added
// without a key the key 2xx and the label "ethernet--7" (its name is taken
// before a unit number is assigned), generated a 00:0c:29 (ESXi host) MAC and
// appended the NIC's network to the VM's network list even when it was there
// already. vCenter keys NICs from 4000, labels them "Network adapter N",
// generates 00:50:56 addresses (addressType "assigned") and lists each network
// once; a NIC on a DV port group gets a port of it (dvports.go).

import (
	"fmt"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	registerOverride("VirtualMachine", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &vmAlias{aliasBase: newAliasBase(lab, orig)}
	}, "ReconfigVM_Task")
}

// labelNICs names the VM's NICs "Network adapter N" in device order, as
// vCenter shows them (stock's model: "ethernet-0").
func labelNICs(vm *simulator.VirtualMachine) {
	if vm.Config == nil {
		return
	}
	n := 0
	for i, d := range vm.Config.Hardware.Device {
		if _, ok := d.(types.BaseVirtualEthernetCard); !ok {
			continue
		}
		n++
		cp := copyDevice(d)
		dev := cp.GetVirtualDevice()
		info := types.Description{Label: fmt.Sprintf("Network adapter %d", n)}
		if dev.DeviceInfo != nil {
			info.Summary = dev.DeviceInfo.GetDescription().Summary
		}
		dev.DeviceInfo = &info
		vm.Config.Hardware.Device[i] = cp
	}
}

// usedMACs is every NIC MAC address of every VM.
func usedMACs() map[string]bool {
	used := map[string]bool{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		if vm.Config == nil {
			continue
		}
		for _, d := range vm.Config.Hardware.Device {
			if nic, ok := d.(types.BaseVirtualEthernetCard); ok {
				used[nic.GetVirtualEthernetCard().MacAddress] = true
			}
		}
	}
	return used
}

// vcenterMAC is a free address in vCenter's generated range 00:50:56:80:00:00-bf:ff:ff.
func vcenterMAC(used map[string]bool) string {
	for n := len(used); ; n++ {
		v := 0x800000 | (n & 0x3fffff)
		mac := fmt.Sprintf("00:50:56:%02x:%02x:%02x", v>>16&0xff, v>>8&0xff, v&0xff)
		if !used[mac] {
			used[mac] = true
			return mac
		}
	}
}

// prepareNICs fills key, label and MAC of the NICs the spec adds.
func prepareNICs(vm *simulator.VirtualMachine, spec *types.VirtualMachineConfigSpec) {
	nics, maxKey := 0, int32(3999)
	for _, d := range vm.Config.Hardware.Device {
		if _, ok := d.(types.BaseVirtualEthernetCard); ok {
			nics++
			if k := d.GetVirtualDevice().Key; k > maxKey {
				maxKey = k
			}
		}
	}
	var used map[string]bool
	for _, ch := range spec.DeviceChange {
		dc := ch.GetVirtualDeviceConfigSpec()
		nic, ok := dc.Device.(types.BaseVirtualEthernetCard)
		if !ok || dc.Operation != types.VirtualDeviceConfigSpecOperationAdd {
			continue
		}
		card := nic.GetVirtualEthernetCard()
		if card.Key <= 0 {
			maxKey++
			card.Key = maxKey
		}
		nics++
		label := fmt.Sprintf("Network adapter %d", nics)
		if card.DeviceInfo == nil {
			card.DeviceInfo = &types.Description{Label: label}
		} else if info := card.DeviceInfo.GetDescription(); info.Label == "" {
			info.Label = label
		}
		if card.MacAddress == "" && card.AddressType != string(types.VirtualEthernetCardMacTypeManual) {
			if used == nil {
				used = usedMACs()
			}
			card.MacAddress = vcenterMAC(used)
			card.AddressType = string(types.VirtualEthernetCardMacTypeAssigned)
		}
	}
}

// nicNetworks is the VM's network list as vCenter keeps it: each NIC's network, once.
func nicNetworks(vm *simulator.VirtualMachine) []types.ManagedObjectReference {
	var out []types.ManagedObjectReference
	for _, d := range vm.Config.Hardware.Device {
		nic, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		var ref *types.ManagedObjectReference
		switch b := nic.GetVirtualEthernetCard().Backing.(type) {
		case *types.VirtualEthernetCardNetworkBackingInfo:
			ref = b.Network
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			ref = &types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: b.Port.PortgroupKey}
		}
		if ref != nil && simulator.FindReference(out, *ref) == nil {
			out = append(out, *ref)
		}
	}
	return out
}

func (a *vmAlias) ReconfigVMTask(ctx *simulator.Context, req *types.ReconfigVM_Task) soap.HasFault {
	vm := a.vm()
	if vm == nil {
		return &methods.ReconfigVM_TaskBody{Fault_: notFound(a.Orig)}
	}
	if e := checkVMSecuritySpec(&req.Spec); e != nil { // vm_security.go
		return &methods.ReconfigVM_TaskBody{Res: &types.ReconfigVM_TaskResponse{
			Returnval: runTask(ctx, vm, "reconfigVm", func() *taskErr { return e }),
		}}
	}
	var body soap.HasFault
	withOrig(ctx, vm, func() {
		if vm.Config != nil {
			prepareNICs(vm, &req.Spec)
		}
		extra := takeExtraConfig(&req.Spec)
		body = vm.ReconfigVMTask(ctx, req)
		if vm.Config == nil {
			return
		}
		if b, ok := body.(*methods.ReconfigVM_TaskBody); ok && b.Res != nil {
			if e, _ := taskResult(b.Res.Returnval); e == nil {
				mergeExtraConfig(vm, extra)
				setMigrateEncryption(vm, req.Spec.MigrateEncryption)
			}
		}
		bindVMPorts(vm, newPortBinder(nil))
		simulator.Map.Update(vm, []types.PropertyChange{{Name: "network", Val: nicNetworks(vm)}})
	})
	return body
}
