package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

func reconfigurePools(t *testing.T, c *govmomi.Client, d *object.DistributedVirtualSwitch, specs ...types.DvsVmVnicResourcePoolConfigSpec) error {
	t.Helper()
	ctx := context.Background()
	res, err := methods.DvsReconfigureVmVnicNetworkResourcePool_Task(ctx, c.Client, &types.DvsReconfigureVmVnicNetworkResourcePool_Task{This: d.Reference(), ConfigSpec: specs})
	if err != nil {
		return err
	}
	return object.NewTask(c.Client, res.Returnval).Wait(ctx)
}

func TestNetworkResourcePools(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	gold := types.DvsVmVnicResourcePoolConfigSpec{Operation: "add", Name: "gold", AllocationInfo: &types.DvsVmVnicResourceAllocation{ReservationQuota: 300}}
	// no VM reservation yet: no room for a quota
	if err := reconfigurePools(t, c, d, gold); err == nil || !strings.Contains(err.Error(), "raise the virtualMachine reservation") {
		t.Fatalf("quota without a VM reservation: %v", err)
	}
	vm := types.DvsHostInfrastructureTrafficResource{Key: "virtualMachine", AllocationInfo: types.DvsHostInfrastructureTrafficResourceAllocation{Reservation: int64p(200)}}
	if err := reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion, InfrastructureTrafficResourceConfig: []types.DvsHostInfrastructureTrafficResource{vm}}}); err != nil {
		t.Fatal(err)
	}
	if err := reconfigurePools(t, c, d, gold); err != nil { // 300 <= 200 x 2 uplinks
		t.Fatal(err)
	}
	if err := reconfigurePools(t, c, d, gold); err == nil {
		t.Fatal("a second pool named gold was accepted")
	}
	pools := dvsCfg(t, d).VmVnicNetworkResourcePool
	if len(pools) != 1 || pools[0].Name != "gold" || pools[0].Key == "" || pools[0].AllocationInfo.ReservationQuota != 300 {
		t.Fatalf("pools: %+v", pools)
	}
	key := pools[0].Key
	// lowering the VM reservation below the pools' quota is refused
	vm.AllocationInfo.Reservation = int64p(100)
	if err := reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: dvsCfg(t, d).ConfigVersion, InfrastructureTrafficResourceConfig: []types.DvsHostInfrastructureTrafficResource{vm}}}); err == nil {
		t.Fatal("VM reservation lowered below the pools' quota")
	}
	// a port group uses the pool; an unknown key is refused; the pool in use cannot go
	finder := find.NewFinder(c.Client, true)
	dc, _ := finder.Datacenter(ctx, "DC0")
	finder.SetDatacenter(dc)
	n, err := finder.Network(ctx, "DC0_DVPG0")
	if err != nil {
		t.Fatal(err)
	}
	pg := n.(*object.DistributedVirtualPortgroup)
	set := func(k string) error {
		task, err := pg.Reconfigure(ctx, types.DVPortgroupConfigSpec{VmVnicNetworkResourcePoolKey: k})
		if err != nil {
			return err
		}
		return task.Wait(ctx)
	}
	if err := set("no-such-pool"); err == nil {
		t.Fatal("unknown pool key accepted")
	}
	if err := set(key); err != nil {
		t.Fatal(err)
	}
	remove := types.DvsVmVnicResourcePoolConfigSpec{Operation: "remove", Key: key}
	if err := reconfigurePools(t, c, d, remove); err == nil || !strings.Contains(err.Error(), "DC0_DVPG0") {
		t.Fatalf("pool in use removed: %v", err)
	}
	if err := set("-1"); err != nil {
		t.Fatal(err)
	}
	edit := types.DvsVmVnicResourcePoolConfigSpec{Operation: "edit", Key: key, ConfigVersion: "1", AllocationInfo: &types.DvsVmVnicResourceAllocation{ReservationQuota: 400}}
	if err := reconfigurePools(t, c, d, edit); err != nil {
		t.Fatal(err)
	}
	if err := reconfigurePools(t, c, d, edit); err == nil { // stale configVersion
		t.Fatal("stale pool configVersion accepted")
	}
	if err := reconfigurePools(t, c, d, remove); err != nil {
		t.Fatal(err)
	}
	if n := len(dvsCfg(t, d).VmVnicNetworkResourcePool); n != 0 {
		t.Fatalf("pools left: %d", n)
	}
}
