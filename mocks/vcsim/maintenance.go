package main

// HostSystem.EnterMaintenanceMode_Task / ExitMaintenanceMode_Task: stock vcsim
// flips runtime.inMaintenanceMode without telling PropertyCollector filters.
// vCenter reports the change like any other property change, so a
// WaitForUpdates client sees a host enter and leave maintenance mode.

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
	return runTask(ctx, host, name, func() *taskErr {
		if host.Runtime.InMaintenanceMode != on {
			simulator.Map.Update(host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: on}})
			host.Runtime.InMaintenanceMode = on
		}
		return nil
	}), nil
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
