package main

// HostSystem.EnterMaintenanceMode_Task / ExitMaintenanceMode_Task: stock vcsim
// flips runtime.inMaintenanceMode without telling PropertyCollector filters.
// vCenter reports the change like any other property change, so a
// WaitForUpdates client sees a host enter and leave maintenance mode; and it
// posts EnteringMaintenanceModeEvent when the task starts, then
// EnteredMaintenanceModeEvent (ExitMaintenanceModeEvent when leaving), which
// the lab posts too. (The lab enters at once: it has no DRS evacuation, so
// the "entering" phase, while vCenter waits for the VMs to leave, is empty.)

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	registerOverride("HostSystem", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &hostEsxcli{aliasBase: newAliasBase(lab, orig)}
	}, "EnterMaintenanceMode_Task", "ExitMaintenanceMode_Task")
}

func (h *hostEsxcli) maintenance(ctx *simulator.Context, on bool, name string) (types.ManagedObjectReference, *soap.Fault) {
	host, _ := simulator.Map.Get(h.Orig).(*simulator.HostSystem)
	if host == nil {
		return types.ManagedObjectReference{}, notFound(h.Orig)
	}
	ev := func() types.HostEvent {
		return types.HostEvent{Event: types.Event{Datacenter: dcArg(host), Host: hostArg(host.Self)}}
	}
	user := ctxUser(ctx)
	if on && !host.Runtime.InMaintenanceMode {
		postEvents(user, &types.EnteringMaintenanceModeEvent{HostEvent: ev()})
	}
	changed := false
	ref := runTask(ctx, host, name, func() *taskErr {
		if host.Runtime.InMaintenanceMode != on {
			simulator.Map.Update(host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: on}})
			host.Runtime.InMaintenanceMode = on
			changed = true
		}
		return nil
	})
	if changed && on {
		postEvents(user, &types.EnteredMaintenanceModeEvent{HostEvent: ev()})
	} else if changed {
		postEvents(user, &types.ExitMaintenanceModeEvent{HostEvent: ev()})
	}
	return ref, nil
}

func (h *hostEsxcli) EnterMaintenanceModeTask(ctx *simulator.Context, req *types.EnterMaintenanceMode_Task) soap.HasFault {
	ref, f := h.maintenance(ctx, true, "enterMaintenanceMode")
	if f != nil {
		return &methods.EnterMaintenanceMode_TaskBody{Fault_: f}
	}
	return &methods.EnterMaintenanceMode_TaskBody{Res: &types.EnterMaintenanceMode_TaskResponse{Returnval: ref}}
}

func (h *hostEsxcli) ExitMaintenanceModeTask(ctx *simulator.Context, req *types.ExitMaintenanceMode_Task) soap.HasFault {
	ref, f := h.maintenance(ctx, false, "exitMaintenanceMode")
	if f != nil {
		return &methods.ExitMaintenanceMode_TaskBody{Fault_: f}
	}
	return &methods.ExitMaintenanceMode_TaskBody{Res: &types.ExitMaintenanceMode_TaskResponse{Returnval: ref}}
}
