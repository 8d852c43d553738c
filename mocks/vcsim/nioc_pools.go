package main

// NIOC v3 network resource pools (VM vNIC pools), which stock vcsim does not
// have: config.vmVnicNetworkResourcePool, DvsReconfigureVmVnicNetworkResourcePool_Task
// and a DV port group's config.vmVnicNetworkResourcePoolKey.
//
//   - add (name required and unique, the server assigns the key), edit and
//     remove by key; an edit with a configVersion must match the pool's
//     (ConcurrentAccess otherwise); every change bumps the pool's and the
//     switch's configVersion.
//   - pools need NIOC enabled at version3.
//   - quota: a pool's allocationInfo.reservationQuota (Mbit/s) is carved out
//     of the virtualMachine system traffic reservation of every uplink, so the
//     pools' sum may not exceed that reservation times the number of uplinks
//     (vSphere Networking guide, "Allocate Bandwidth by Using Network Resource
//     Pools"); lowering the virtualMachine reservation below what the pools
//     hold is refused the same way.
//   - a port group's vmVnicNetworkResourcePoolKey must name a pool of its
//     switch ("-1" or empty: none, as vCenter writes it); a pool a port group
//     uses cannot be removed (ResourceInUse).

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vmReservation: the virtualMachine class reservation (Mbit/s per uplink).
func vmReservation(traffic []types.DvsHostInfrastructureTrafficResource) int64 {
	for _, t := range traffic {
		if t.Key == "virtualMachine" && t.AllocationInfo.Reservation != nil {
			return *t.AllocationInfo.Reservation
		}
	}
	return 0
}

func poolQuota(pools []types.DVSVmVnicNetworkResourcePool) int64 {
	var sum int64
	for _, p := range pools {
		if p.AllocationInfo != nil {
			sum += p.AllocationInfo.ReservationQuota
		}
	}
	return sum
}

// checkPoolQuota: the pools fit the virtualMachine reservation of all uplinks.
func checkPoolQuota(cfg *types.VMwareDVSConfigInfo, traffic []types.DvsHostInfrastructureTrafficResource, pools []types.DVSVmVnicNetworkResourcePool, prop string) *taskErr {
	uplinks := int64(len(uplinkNames(cfg)))
	room := vmReservation(traffic) * uplinks
	if sum := poolQuota(pools); sum > room {
		return badArg(prop, "network resource pools reserve %d Mbit/s but virtual machine traffic reserves %d Mbit/s on %d uplinks (%d Mbit/s): raise the virtualMachine reservation first",
			sum, vmReservation(traffic), uplinks, room)
	}
	return nil
}

func poolUsers(d *simulator.DistributedVirtualSwitch, key string) []string {
	var out []string
	for _, ref := range d.Portgroup {
		if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok && pg.Config.VmVnicNetworkResourcePoolKey == key {
			out = append(out, pg.Name)
		}
	}
	return out
}

// validatePoolKey: a port group's pool key names a pool of its switch (or none).
func validatePoolKey(d *simulator.DistributedVirtualSwitch, key string) *taskErr {
	if key == "" || key == "-1" {
		return nil
	}
	for _, p := range dvsConfig(d).VmVnicNetworkResourcePool {
		if p.Key == key {
			return nil
		}
	}
	return terr(&types.NotFound{}, "network resource pool %s does not exist on %s", key, d.Name)
}

func applyPools(d *simulator.DistributedVirtualSwitch, specs []types.DvsVmVnicResourcePoolConfigSpec) ([]types.DVSVmVnicNetworkResourcePool, *taskErr) {
	cfg := dvsConfig(d)
	if cfg.NetworkResourceManagementEnabled == nil || !*cfg.NetworkResourceManagementEnabled || cfg.NetworkResourceControlVersion != "version3" {
		return nil, terr(&types.InvalidArgument{InvalidProperty: "configSpec"}, "network resource pools need Network I/O Control version 3 enabled on %s", d.Name)
	}
	pools := append([]types.DVSVmVnicNetworkResourcePool(nil), cfg.VmVnicNetworkResourcePool...)
	find := func(key string) int {
		for i := range pools {
			if pools[i].Key == key {
				return i
			}
		}
		return -1
	}
	for i, s := range specs {
		where := fmt.Sprintf("configSpec[%d]", i)
		if s.AllocationInfo != nil && s.AllocationInfo.ReservationQuota < 0 {
			return nil, badArg(where+".allocationInfo.reservationQuota", "reservationQuota %d must not be negative", s.AllocationInfo.ReservationQuota)
		}
		switch s.Operation {
		case "add":
			if s.Name == "" {
				return nil, badArg(where+".name", "a network resource pool needs a name")
			}
			for _, p := range pools {
				if p.Name == s.Name {
					return nil, terr(&types.DuplicateName{Name: s.Name}, "network resource pool %s already exists on %s", s.Name, d.Name)
				}
			}
			alloc := s.AllocationInfo
			if alloc == nil {
				alloc = &types.DvsVmVnicResourceAllocation{}
			}
			pools = append(pools, types.DVSVmVnicNetworkResourcePool{
				Key: uuid.New().String(), Name: s.Name, Description: s.Description, ConfigVersion: "1", AllocationInfo: alloc,
			})
		case "edit":
			j := find(s.Key)
			if j < 0 {
				return nil, terr(&types.NotFound{}, "network resource pool %s does not exist on %s", s.Key, d.Name)
			}
			if s.ConfigVersion != "" && s.ConfigVersion != pools[j].ConfigVersion {
				return nil, terr(&types.ConcurrentAccess{}, "network resource pool %s was changed by another operation (configVersion %s, current %s)", pools[j].Name, s.ConfigVersion, pools[j].ConfigVersion)
			}
			if s.Name != "" && s.Name != pools[j].Name {
				for _, p := range pools {
					if p.Name == s.Name {
						return nil, terr(&types.DuplicateName{Name: s.Name}, "network resource pool %s already exists on %s", s.Name, d.Name)
					}
				}
				pools[j].Name = s.Name
			}
			if s.Description != "" {
				pools[j].Description = s.Description
			}
			if s.AllocationInfo != nil {
				pools[j].AllocationInfo = s.AllocationInfo
			}
			pools[j].ConfigVersion = bumpVersion(pools[j].ConfigVersion)
		case "remove":
			j := find(s.Key)
			if j < 0 {
				return nil, terr(&types.NotFound{}, "network resource pool %s does not exist on %s", s.Key, d.Name)
			}
			if users := poolUsers(d, s.Key); len(users) > 0 {
				return nil, terr(&types.ResourceInUse{Type: "DVSVmVnicNetworkResourcePool", Name: pools[j].Name}, "network resource pool %s is used by port group %v", pools[j].Name, users)
			}
			pools = append(pools[:j], pools[j+1:]...)
		default:
			return nil, badArg(where+".operation", "invalid operation %q", s.Operation)
		}
	}
	if e := checkPoolQuota(cfg, cfg.InfrastructureTrafficResourceConfig, pools, "configSpec.allocationInfo.reservationQuota"); e != nil {
		return nil, e
	}
	return pools, nil
}

func (a *dvsAlias) DvsReconfigureVmVnicNetworkResourcePoolTask(ctx *simulator.Context, req *types.DvsReconfigureVmVnicNetworkResourcePool_Task) soap.HasFault {
	d := a.dvs()
	if d == nil {
		return &methods.DvsReconfigureVmVnicNetworkResourcePool_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTask(ctx, d, "DvsReconfigureVmVnicNetworkResourcePool_Task", func() *taskErr {
		pools, e := applyPools(d, req.ConfigSpec)
		if e != nil {
			return e
		}
		cfg := dvsConfig(d)
		cfg.VmVnicNetworkResourcePool = pools
		cfg.ConfigVersion = bumpVersion(cfg.ConfigVersion)
		simulator.Map.Update(d, []types.PropertyChange{{Name: "config", Val: d.Config}})
		return nil
	})
	return &methods.DvsReconfigureVmVnicNetworkResourcePool_TaskBody{Res: &types.DvsReconfigureVmVnicNetworkResourcePool_TaskResponse{Returnval: ref}}
}

func init() {
	for _, t := range []string{"DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch"} {
		registerOverride(t, func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
			return &dvsAlias{newAliasBase(lab, orig)}
		}, "DvsReconfigureVmVnicNetworkResourcePool_Task")
	}
}
