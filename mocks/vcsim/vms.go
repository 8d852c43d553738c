package main

// Virtual machine calls as vCenter does them, where stock vcsim 0.24.2 differs
// in ways network appliances (and vMotion) depend on:
//
//   - CloneVM_Task places the clone on spec.location.host (stock: the source's
//     host; the pool defaults to the host's cluster root pool), applies
//     spec.config's numCPUs, memoryMB, cpuAllocation, memoryAllocation,
//     latencySensitivity, memoryReservationLockedToMax and annotation (stock:
//     only extraConfig, instanceUuid and deviceChange), gives the clone's NICs
//     new MAC addresses (stock copies the source's) and honours spec.powerOn.
//   - RelocateVM_Task keeps HostSystem.vm of both hosts right (stock removes
//     the VM from the destination's list) and, like DRS, refuses a move that
//     breaks an enabled mandatory VM-host rule (VmHostAffinityRuleViolation).
//   - PowerOnVM_Task / PowerOffVM_Task connect / disconnect the cards set to
//     start connected and report VMware Tools running with a green heartbeat /
//     not running (stock leaves every card disconnected and tools unknown).

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
	}, "CloneVM_Task", "RelocateVM_Task", "PowerOnVM_Task", "PowerOffVM_Task")
}

type vmAlias struct {
	aliasBase
}

func (a *vmAlias) vm() *simulator.VirtualMachine {
	vm, _ := simulator.Map.Get(a.Orig).(*simulator.VirtualMachine)
	return vm
}

func notFound(ref types.ManagedObjectReference) *soap.Fault {
	return simulator.Fault("", &types.ManagedObjectNotFound{Obj: ref})
}

// taskResult is the finished task's error (nil on success) and result.
func taskResult(ref types.ManagedObjectReference) (*types.LocalizedMethodFault, types.AnyType) {
	t, _ := simulator.Map.Get(ref).(*simulator.Task)
	if t == nil {
		return &types.LocalizedMethodFault{Fault: &types.ManagedObjectNotFound{Obj: ref}}, nil
	}
	return t.Info.Error, t.Info.Result
}

// hostPool is the root resource pool of the host's cluster (or standalone compute resource).
func hostPool(host *simulator.HostSystem) *types.ManagedObjectReference {
	if host.Parent == nil {
		return nil
	}
	switch p := simulator.Map.Get(*host.Parent).(type) {
	case *simulator.ClusterComputeResource:
		return p.ResourcePool
	case *mo.ComputeResource:
		return p.ResourcePool
	}
	return nil
}

func (a *vmAlias) CloneVMTask(ctx *simulator.Context, req *types.CloneVM_Task) soap.HasFault {
	vm := a.vm()
	if vm == nil {
		return &methods.CloneVM_TaskBody{Fault_: notFound(a.Orig)}
	}
	spec := req.Spec
	var host *simulator.HostSystem
	if ref := spec.Location.Host; ref != nil {
		host, _ = simulator.Map.Get(*ref).(*simulator.HostSystem)
		if host == nil {
			return &methods.CloneVM_TaskBody{Fault_: notFound(*ref)}
		}
		if spec.Location.Pool == nil {
			spec.Location.Pool = hostPool(host)
		}
	}
	var res soap.HasFault
	withOrig(ctx, vm, func() {
		res = vm.CloneVMTask(ctx, &types.CloneVM_Task{This: vm.Self, Folder: req.Folder, Name: req.Name, Spec: spec})
	})
	body, ok := res.(*methods.CloneVM_TaskBody)
	if !ok || body.Res == nil {
		return res
	}
	if e, result := taskResult(body.Res.Returnval); e == nil {
		ref, _ := result.(types.ManagedObjectReference)
		dropTasksResulting(ref) // stock's inner CreateVM task (events.go)
		if clone, _ := simulator.Map.Get(ref).(*simulator.VirtualMachine); clone != nil {
			finishClone(ctx, vm, clone, host, spec)
		}
	}
	return res
}

// finishClone does what stock vcsim's clone leaves out (see the file comment).
func finishClone(ctx *simulator.Context, src, clone *simulator.VirtualMachine, host *simulator.HostSystem, spec types.VirtualMachineCloneSpec) {
	withOrig(ctx, clone, func() {
		if host != nil {
			setVMHost(clone, host)
		}
		// the source's vMotion encryption, unless the spec sets one (vm_security.go)
		mode := src.Config.MigrateEncryption
		if c := spec.Config; c != nil && validMigrateEncryption(c.MigrateEncryption) {
			mode = c.MigrateEncryption
		}
		if mode == "" {
			mode = defaultMigrateEncryption
		}
		setMigrateEncryption(clone, mode)
		newMACs(clone)
		bindVMPorts(clone, newPortBinder(nil)) // a port of its own on static-binding port groups (dvports.go)
		if c := spec.Config; c != nil {
			rc := types.VirtualMachineConfigSpec{
				NumCPUs:                      c.NumCPUs,
				NumCoresPerSocket:            c.NumCoresPerSocket,
				MemoryMB:                     c.MemoryMB,
				CpuAllocation:                c.CpuAllocation,
				MemoryAllocation:             c.MemoryAllocation,
				LatencySensitivity:           c.LatencySensitivity,
				MemoryReservationLockedToMax: c.MemoryReservationLockedToMax,
				Annotation:                   c.Annotation,
			}
			dropTaskOf(clone.ReconfigVMTask(ctx, &types.ReconfigVM_Task{This: clone.Self, Spec: rc})) // one task per call (events.go)
		}
		if spec.PowerOn {
			dropTaskOf(powerVM(ctx, clone, true))
		}
	})
}

// setVMHost moves the VM to host, keeping both hosts' vm lists in step.
func setVMHost(vm *simulator.VirtualMachine, host *simulator.HostSystem) {
	if old := vm.Runtime.Host; old != nil && *old != host.Self {
		if oh, _ := simulator.Map.Get(*old).(*simulator.HostSystem); oh != nil {
			simulator.Map.RemoveReference(oh, &oh.Vm, vm.Self)
			simulator.Map.Update(oh, []types.PropertyChange{{Name: "vm", Val: oh.Vm}})
		}
	}
	simulator.Map.AddReference(host, &host.Vm, vm.Self)
	simulator.Map.Update(host, []types.PropertyChange{{Name: "vm", Val: host.Vm}})
	ref := host.Self
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "runtime.host", Val: &ref},
		{Name: "summary.runtime.host", Val: &ref},
	})
}

// newMACs gives every NIC of vm an address no other VM uses, in vCenter's range.
func newMACs(vm *simulator.VirtualMachine) {
	used := map[string]bool{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		other := e.(*simulator.VirtualMachine)
		if other.Config == nil || other.Self == vm.Self {
			continue
		}
		for _, d := range other.Config.Hardware.Device {
			if nic, ok := d.(types.BaseVirtualEthernetCard); ok {
				used[nic.GetVirtualEthernetCard().MacAddress] = true
			}
		}
	}
	n := len(used)
	for i, d := range vm.Config.Hardware.Device {
		if _, ok := d.(types.BaseVirtualEthernetCard); !ok {
			continue
		}
		cp := copyDevice(d)
		card := cp.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		for {
			v := 0x800000 | (n & 0x3fffff)
			n++
			mac := fmt.Sprintf("00:50:56:%02x:%02x:%02x", v>>16&0xff, v>>8&0xff, v&0xff)
			if !used[mac] {
				card.MacAddress, used[mac] = mac, true
				break
			}
		}
		card.AddressType = string(types.VirtualEthernetCardMacTypeAssigned)
		vm.Config.Hardware.Device[i] = cp
	}
	simulator.Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: vm.Config.Hardware.Device}})
}

// ruleViolation names the enabled mandatory VM-host rule that forbids vm on host, if any.
func ruleViolation(vm *simulator.VirtualMachine, host *simulator.HostSystem) string {
	if host.Parent == nil {
		return ""
	}
	cl, _ := simulator.Map.Get(*host.Parent).(*simulator.ClusterComputeResource)
	if cl == nil {
		return ""
	}
	cfg, _ := cl.ConfigurationEx.(*types.ClusterConfigInfoEx)
	if cfg == nil {
		return ""
	}
	groups := map[string][]types.ManagedObjectReference{}
	for _, g := range cfg.Group {
		switch g := g.(type) {
		case *types.ClusterVmGroup:
			groups["vm:"+g.Name] = g.Vm
		case *types.ClusterHostGroup:
			groups["host:"+g.Name] = g.Host
		}
	}
	for _, r := range cfg.Rule {
		rule, ok := r.(*types.ClusterVmHostRuleInfo)
		if !ok || rule.Enabled == nil || !*rule.Enabled || rule.Mandatory == nil || !*rule.Mandatory {
			continue
		}
		if simulator.FindReference(groups["vm:"+rule.VmGroupName], vm.Self) == nil {
			continue
		}
		in := func(name string) bool { return simulator.FindReference(groups["host:"+name], host.Self) != nil }
		if (rule.AffineHostGroupName != "" && !in(rule.AffineHostGroupName)) ||
			(rule.AntiAffineHostGroupName != "" && in(rule.AntiAffineHostGroupName)) {
			return rule.Name
		}
	}
	return ""
}

func (a *vmAlias) RelocateVMTask(ctx *simulator.Context, req *types.RelocateVM_Task) soap.HasFault {
	vm := a.vm()
	if vm == nil {
		return &methods.RelocateVM_TaskBody{Fault_: notFound(a.Orig)}
	}
	var host *simulator.HostSystem
	if ref := req.Spec.Host; ref != nil {
		host, _ = simulator.Map.Get(*ref).(*simulator.HostSystem)
		if host == nil {
			return &methods.RelocateVM_TaskBody{Fault_: notFound(*ref)}
		}
		if rule := ruleViolation(vm, host); rule != "" {
			ref := runTask(ctx, vm, "relocateVm", func() *taskErr {
				return terr(&types.VmHostAffinityRuleViolation{VmName: vm.Name, HostName: host.Name},
					"Moving %s to %s would violate the mandatory VM-host rule %q", vm.Name, host.Name, rule)
			})
			return &methods.RelocateVM_TaskBody{Res: &types.RelocateVM_TaskResponse{Returnval: ref}}
		}
	}
	var res soap.HasFault
	withOrig(ctx, vm, func() {
		old := vm.Runtime.Host
		res = vm.RelocateVMTask(ctx, &types.RelocateVM_Task{This: vm.Self, Spec: req.Spec, Priority: req.Priority})
		body, ok := res.(*methods.RelocateVM_TaskBody)
		if !ok || body.Res == nil || host == nil {
			return
		}
		if e, _ := taskResult(body.Res.Returnval); e == nil {
			// stock vcsim already set runtime.host; restore the lists from the old host.
			if old != nil {
				vm.Runtime.Host = old
			}
			setVMHost(vm, host)
			if old != nil && *old != host.Self {
				postEvents(ctxUser(ctx), migratedEvent(vm, *old)) // events.go
			}
		}
	})
	return res
}

// powerVM runs stock power on/off and then sets NIC connection and tools state like ESXi.
func powerVM(ctx *simulator.Context, vm *simulator.VirtualMachine, on bool) soap.HasFault {
	var res soap.HasFault
	var task types.ManagedObjectReference
	if on {
		res = vm.PowerOnVMTask(ctx, &types.PowerOnVM_Task{This: vm.Self})
		if b, ok := res.(*methods.PowerOnVM_TaskBody); ok && b.Res != nil {
			task = b.Res.Returnval
		}
	} else {
		res = vm.PowerOffVMTask(ctx, &types.PowerOffVM_Task{This: vm.Self})
		if b, ok := res.(*methods.PowerOffVM_TaskBody); ok && b.Res != nil {
			task = b.Res.Returnval
		}
	}
	if task.Value == "" {
		return res
	}
	if e, _ := taskResult(task); e != nil {
		return res
	}
	for i, d := range vm.Config.Hardware.Device {
		if _, ok := d.(types.BaseVirtualEthernetCard); !ok {
			continue
		}
		cp := copyDevice(d)
		dev := cp.GetVirtualDevice()
		if dev.Connectable == nil {
			continue
		}
		c := *dev.Connectable
		c.Connected = on && c.StartConnected
		c.Status = "untried"
		if c.Connected {
			c.Status = "ok"
		}
		dev.Connectable = &c
		vm.Config.Hardware.Device[i] = cp
	}
	tools, status, beat := types.VirtualMachineToolsRunningStatusGuestToolsNotRunning, types.VirtualMachineToolsStatusToolsNotRunning, types.ManagedEntityStatusGray
	if on {
		tools, status, beat = types.VirtualMachineToolsRunningStatusGuestToolsRunning, types.VirtualMachineToolsStatusToolsOk, types.ManagedEntityStatusGreen
	}
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "config.hardware.device", Val: vm.Config.Hardware.Device},
		{Name: "guest.toolsRunningStatus", Val: string(tools)},
		{Name: "guest.toolsStatus", Val: status},
		{Name: "guestHeartbeatStatus", Val: beat},
		{Name: "summary.quickStats.guestHeartbeatStatus", Val: beat},
	})
	return res
}

func (a *vmAlias) PowerOnVMTask(ctx *simulator.Context, req *types.PowerOnVM_Task) soap.HasFault {
	vm := a.vm()
	if vm == nil {
		return &methods.PowerOnVM_TaskBody{Fault_: notFound(a.Orig)}
	}
	var res soap.HasFault
	withOrig(ctx, vm, func() { res = powerVM(ctx, vm, true) })
	return res
}

func (a *vmAlias) PowerOffVMTask(ctx *simulator.Context, req *types.PowerOffVM_Task) soap.HasFault {
	vm := a.vm()
	if vm == nil {
		return &methods.PowerOffVM_TaskBody{Fault_: notFound(a.Orig)}
	}
	var res soap.HasFault
	withOrig(ctx, vm, func() { res = powerVM(ctx, vm, false) })
	return res
}
