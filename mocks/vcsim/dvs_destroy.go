package main

// Destroy_Task of distributed switches and DV port groups like vCenter.
// Stock vcsim removed only the switch object: its port groups stayed in the
// network folder with a dangling switch reference (destroying one of them
// then panicked), the member hosts kept their proxy switches and so their
// uplink pNICs stayed claimed. vCenter removes the port groups with the
// switch, removes the switch from every member host (freeing the pNICs) and
// refuses while a VM NIC or a VMkernel adapter is still connected.

import (
	"fmt"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	factory := func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &dvsAlias{newAliasBase(lab, orig)}
	}
	for _, t := range []string{"DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch"} {
		registerOverride(t, factory, "Destroy_Task")
	}
	registerOverride("DistributedVirtualPortgroup", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &dvpgAlias{newAliasBase(lab, orig)}
	}, "Destroy_Task")
}

// portgroupUser names what still uses a DV port group ("" when nothing):
// a VM NIC or a host VMkernel adapter.
func portgroupUser(pg *simulator.DistributedVirtualPortgroup) string {
	for _, e := range simulator.Map.All("VirtualMachine") {
		if vm, ok := e.(*simulator.VirtualMachine); ok && simulator.FindReference(vm.Network, pg.Self) != nil {
			return "VM " + vm.Name
		}
	}
	for _, h := range pg.Host {
		hs := stateOf(h)
		if hs == nil {
			continue
		}
		hs.mu.Lock()
		for _, v := range hs.net().Vnic {
			if c := v.Spec.DistributedVirtualPort; c != nil && c.PortgroupKey == pg.Key {
				hs.mu.Unlock()
				return fmt.Sprintf("%s on %s", v.Device, hs.host.Name)
			}
		}
		hs.mu.Unlock()
	}
	return ""
}

// dropNetworkRefs removes a port group from every list that points at it:
// its hosts' and their compute resources' network lists, the datacenter's
// network list and the network folder; then from the registry.
func dropNetworkRefs(ctx *simulator.Context, pg *simulator.DistributedVirtualPortgroup) {
	ref := pg.Self
	for _, h := range pg.Host {
		host, ok := simulator.Map.Get(h).(*simulator.HostSystem)
		if !ok {
			continue
		}
		nets := append([]types.ManagedObjectReference(nil), host.Network...)
		simulator.RemoveReference(&nets, ref)
		simulator.Map.Update(host, []types.PropertyChange{{Name: "network", Val: nets}})
		if host.Parent == nil {
			continue
		}
		switch cr := simulator.Map.Get(*host.Parent).(type) {
		case *simulator.ClusterComputeResource:
			nets := append([]types.ManagedObjectReference(nil), cr.Network...)
			simulator.RemoveReference(&nets, ref)
			simulator.Map.Update(cr, []types.PropertyChange{{Name: "network", Val: nets}})
		case *mo.ComputeResource:
			nets := append([]types.ManagedObjectReference(nil), cr.Network...)
			simulator.RemoveReference(&nets, ref)
			simulator.Map.Update(cr, []types.PropertyChange{{Name: "network", Val: nets}})
		}
	}
	if dc := entityDatacenter(pg); dc != nil {
		simulator.Map.RemoveReference(dc, &dc.Network, ref)
	}
	if pg.Parent != nil {
		if f, ok := simulator.Map.Get(*pg.Parent).(*simulator.Folder); ok {
			simulator.Map.WithLock(f, func() {
				children := append([]types.ManagedObjectReference(nil), f.ChildEntity...)
				simulator.RemoveReference(&children, ref)
				simulator.Map.Update(f, []types.PropertyChange{{Name: "childEntity", Val: children}})
			})
		}
	}
	simulator.Map.Remove(ref)
}

// destroyPortgroup removes pg from its switch (when the switch still exists)
// and from the inventory.
func destroyPortgroup(ctx *simulator.Context, pg *simulator.DistributedVirtualPortgroup) {
	if pg.Config.DistributedVirtualSwitch != nil {
		if d, ok := simulator.Map.Get(*pg.Config.DistributedVirtualSwitch).(*simulator.DistributedVirtualSwitch); ok {
			pgs := append([]types.ManagedObjectReference(nil), d.Portgroup...)
			simulator.RemoveReference(&pgs, pg.Self)
			var names []string
			for _, n := range d.Summary.PortgroupName {
				if n != pg.Name {
					names = append(names, n)
				}
			}
			simulator.Map.Update(d, []types.PropertyChange{
				{Name: "portgroup", Val: pgs},
				{Name: "summary.portgroupName", Val: names},
			})
		}
	}
	dropNetworkRefs(ctx, pg)
}

func (a *dvpgAlias) DestroyTask(ctx *simulator.Context, req *types.Destroy_Task) soap.HasFault {
	pg, _ := simulator.Map.Get(a.Orig).(*simulator.DistributedVirtualPortgroup)
	if pg == nil {
		return &methods.Destroy_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTask(ctx, pg, "destroy", func() *taskErr {
		if u := portgroupUser(pg); u != "" {
			return terr(&types.ResourceInUse{Type: "DistributedVirtualPortgroup", Name: pg.Name},
				"The resource '%s' is in use: %s is connected to it.", pg.Name, u)
		}
		ev := &types.DVPortgroupDestroyedEvent{DVPortgroupEvent: pgEvent(pg, dvsOf(pg),
			fmt.Sprintf("Distributed virtual port group %s in %s was deleted.", pg.Name, dcName(pg)))}
		destroyPortgroup(ctx, pg)
		postEvents(ctxUser(ctx), ev) // events.go
		return nil
	})
	return &methods.Destroy_TaskBody{Res: &types.Destroy_TaskResponse{Returnval: ref}}
}

func (a *dvsAlias) DestroyTask(ctx *simulator.Context, req *types.Destroy_Task) soap.HasFault {
	d := a.dvs()
	if d == nil {
		return &methods.Destroy_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTask(ctx, d, "destroy", func() *taskErr {
		var pgs []*simulator.DistributedVirtualPortgroup
		for _, r := range d.Portgroup {
			if pg, ok := simulator.Map.Get(r).(*simulator.DistributedVirtualPortgroup); ok {
				if u := portgroupUser(pg); u != "" {
					return terr(&types.ResourceInUse{Type: "DistributedVirtualSwitch", Name: d.Name},
						"The resource '%s' is in use: %s is connected to %s.", d.Name, u, pg.Name)
				}
				pgs = append(pgs, pg)
			}
		}
		evs := []types.BaseEvent{&types.DvsDestroyedEvent{DvsEvent: dvsEvent(d,
			fmt.Sprintf("The vSphere Distributed Switch %s in %s was deleted.", d.Name, dcName(d)))}}
		for _, pg := range pgs {
			destroyPortgroup(ctx, pg)
		}
		defer postEvents(ctxUser(ctx), evs...) // events.go
		for _, h := range append([]types.ManagedObjectReference(nil), d.Summary.HostMember...) {
			removeMember(d, h)
		}
		delete(dvsStates, d.Self.Value)
		simulator.Map.Update(d, []types.PropertyChange{{Name: "summary.hostMember", Val: []types.ManagedObjectReference(nil)}})
		if dc := entityDatacenter(d); dc != nil {
			simulator.Map.RemoveReference(dc, &dc.Network, d.Self)
		}
		if f, ok := simulator.Map.Get(*d.Parent).(*simulator.Folder); ok {
			simulator.Map.WithLock(f, func() {
				children := append([]types.ManagedObjectReference(nil), f.ChildEntity...)
				simulator.RemoveReference(&children, d.Self)
				simulator.Map.Update(f, []types.PropertyChange{{Name: "childEntity", Val: children}})
			})
		}
		for _, t := range []string{"VmwareDistributedVirtualSwitch", aliasPrefix + "VmwareDistributedVirtualSwitch", aliasPrefix + "DistributedVirtualSwitch"} {
			simulator.Map.Remove(types.ManagedObjectReference{Type: t, Value: d.Self.Value})
		}
		simulator.Map.Remove(d.Self)
		return nil
	})
	return &methods.Destroy_TaskBody{Res: &types.Destroy_TaskResponse{Returnval: ref}}
}
