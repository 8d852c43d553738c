package main

// ClusterComputeResource.MoveInto_Task (stock vcsim 0.24.2 lacks it): move hosts
// that are in maintenance mode into a cluster, as an admin does when a cluster
// grows. Like vCenter, a host not in maintenance mode is refused (InvalidState);
// the host keeps its network configuration and DVS memberships, and its VMs move
// to the new cluster's root resource pool.

import (
	"sort"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	registerOverride("ClusterComputeResource", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &clusterAlias{aliasBase: newAliasBase(lab, orig)}
	}, "MoveInto_Task", "AddHost_Task")
}

// AddHostTask adds the host like stock vcsim, then gives it the lab's realistic
// network (as many pNICs as the lab's hosts, vSwitch0 with Management Network/vmk0, VM Network, vMotion/vmk1,
// the wrapped network system and VirtualNicManager), as the hosts the lab starts with,
// and reports it to container views and WaitForUpdates clients (stock did not).
func (a *clusterAlias) AddHostTask(ctx *simulator.Context, req *types.AddHost_Task) soap.HasFault {
	cl, _ := simulator.Map.Get(a.Orig).(*simulator.ClusterComputeResource)
	if cl == nil {
		return &methods.AddHost_TaskBody{Fault_: notFound(a.Orig)}
	}
	var res soap.HasFault
	withOrig(ctx, cl, func() {
		res = cl.AddHostTask(&types.AddHost_Task{This: cl.Self, Spec: req.Spec, AsConnected: req.AsConnected})
	})
	body, ok := res.(*methods.AddHost_TaskBody)
	if !ok || body.Res == nil {
		return res
	}
	if e, result := taskResult(body.Res.Returnval); e == nil {
		ref, _ := result.(types.ManagedObjectReference)
		if h, _ := simulator.Map.Get(ref).(*simulator.HostSystem); h != nil {
			var hs *hostState
			simulator.Map.WithLock(h, func() { hs = setupHost(h, addedHostPos(cl, h)) })
			_ = linkPortgroupNetworks(hs) // pgnetworks.go
			simulator.Map.WithLock(cl, func() { refreshClusterSummary(cl) })
			// Stock registers the host before its cluster lists it, so container views
			// (which look for it from their root) missed it and a WaitForUpdates client
			// never saw it enter; vCenter reports a new host like any new object. Announce
			// it again now that the cluster lists it, and the cluster's changed host list.
			simulator.Map.Put(h)
			simulator.Map.Update(cl, []types.PropertyChange{{Name: "host", Val: cl.Host}})
		}
	}
	return res
}

// addedHostPos places a host added at run time after the hosts of its cluster.
func addedHostPos(cl *simulator.ClusterComputeResource, h *simulator.HostSystem) hostPos {
	var clusters []string
	for _, e := range simulator.Map.All("ClusterComputeResource") {
		clusters = append(clusters, e.(*simulator.ClusterComputeResource).Name)
	}
	sort.Strings(clusters)
	ci := sort.SearchStrings(clusters, cl.Name)
	hostStatesMu.Lock()
	ordinal := len(hostStates)
	hostStatesMu.Unlock()
	return hostPos{cluster: ci, index: len(cl.Host) - 1, ordinal: ordinal, tor: "tor-" + strings.ToLower(cl.Name)}
}

type clusterAlias struct {
	aliasBase
}

func (a *clusterAlias) MoveIntoTask(ctx *simulator.Context, req *types.MoveInto_Task) soap.HasFault {
	cl, _ := simulator.Map.Get(a.Orig).(*simulator.ClusterComputeResource)
	if cl == nil {
		return &methods.MoveInto_TaskBody{Fault_: notFound(a.Orig)}
	}
	ref := runTask(ctx, cl, "moveIntoCluster", func() *taskErr {
		var hosts []*simulator.HostSystem
		for _, r := range req.Host {
			h, _ := simulator.Map.Get(r).(*simulator.HostSystem)
			if h == nil {
				return terr(&types.ManagedObjectNotFound{Obj: r}, "host %s not found", r.Value)
			}
			if h.Parent != nil && *h.Parent == cl.Self {
				continue
			}
			if !h.Runtime.InMaintenanceMode {
				return terr(&types.InvalidState{}, "The host %s must be in maintenance mode to move into %s", h.Name, cl.Name)
			}
			if h.Parent == nil {
				return terr(&types.InvalidArgument{InvalidProperty: "host"}, "host %s has no parent", h.Name)
			}
			if _, ok := simulator.Map.Get(*h.Parent).(*simulator.ClusterComputeResource); !ok {
				return terr(&types.NotSupported{}, "the lab moves hosts between clusters only (%s is standalone)", h.Name)
			}
			hosts = append(hosts, h)
		}
		for _, h := range hosts {
			moveHost(cl, h)
		}
		return nil
	})
	return &methods.MoveInto_TaskBody{Res: &types.MoveInto_TaskResponse{Returnval: ref}}
}

func moveHost(cl *simulator.ClusterComputeResource, h *simulator.HostSystem) {
	old := simulator.Map.Get(*h.Parent).(*simulator.ClusterComputeResource)
	simulator.Map.WithLock(old, func() {
		simulator.RemoveReference(&old.Host, h.Self)
		refreshClusterSummary(old)
	})
	simulator.Map.Update(old, []types.PropertyChange{{Name: "host", Val: old.Host}})
	cl.Host = append(cl.Host, h.Self)
	simulator.Map.Update(cl, []types.PropertyChange{{Name: "host", Val: cl.Host}})
	parent := cl.Self
	simulator.Map.Update(h, []types.PropertyChange{{Name: "parent", Val: &parent}})
	newPool, _ := simulator.Map.Get(*cl.ResourcePool).(*simulator.ResourcePool)
	for _, ref := range h.Vm {
		vm, _ := simulator.Map.Get(ref).(*simulator.VirtualMachine)
		if vm == nil || vm.ResourcePool == nil || newPool == nil {
			continue
		}
		if oldPool, _ := simulator.Map.Get(*vm.ResourcePool).(*simulator.ResourcePool); oldPool != nil {
			simulator.Map.RemoveReference(oldPool, &oldPool.Vm, ref)
		}
		simulator.Map.AddReference(newPool, &newPool.Vm, ref)
		pool := newPool.Self
		simulator.Map.Update(vm, []types.PropertyChange{{Name: "resourcePool", Val: &pool}})
	}
	refreshClusterSummary(cl)
}
