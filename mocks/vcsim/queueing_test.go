package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// pingRTTus pings from host src's vmk1 to dst's and returns the average RTT in µs.
func pingRTTus(t *testing.T, src, dst string) int {
	t.Helper()
	var s, d hostView
	for _, h := range allHosts() {
		if h.Name == src {
			s = h
		}
		if h.Name == dst {
			d = h
		}
	}
	out := runPing(s, args("host", d.Name, "interface", "vmk1", "count", "2"), allHosts(), netem)
	if out.Err != "" {
		t.Fatal(out.Err)
	}
	return decode(t, out.XML).Summary.RoundtripAvg
}

// The documented model: an uplink's congestion delay reaches a vmknic's pings
// through the first active uplink of its port, scaled by 50/shares of its
// NIOC class and halved by a reservation; moving the port to another uplink
// leaves the congestion behind; a port group that forbids the override refuses it.
func TestUplinkCongestionNiocAndPortTeaming(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	scale := 0.0
	_ = netem.set(netemUpdate{TimeScale: &scale})
	defer netem.reset("", "", "")
	d, cfg := labDVS(t, c)
	hosts := allHosts()
	h0, h1 := hosts[0].Name, hosts[1].Name
	if len(cfg.InfrastructureTrafficResourceConfig) != len(niocClasses) {
		t.Fatalf("traffic classes %d", len(cfg.InfrastructureTrafficResourceConfig))
	}
	var pgKey string
	var pgRef types.ManagedObjectReference
	for _, ref := range switchNamed(t, "DVS0").Portgroup {
		pg := dvpgObj(ref)
		if pg != nil && !strings.Contains(pg.Name, "DVUplinks") {
			pgKey, pgRef = pg.Key, ref
			break
		}
	}
	// vmk1 (vMotion) of h0 onto the DVS
	hs := stateOf(hostRef(t, h0))
	ns := object.NewHostNetworkSystem(c.Client, hs.ns.Self)
	spec := types.HostVirtualNicSpec{DistributedVirtualPort: &types.DistributedVirtualSwitchPortConnection{SwitchUuid: cfg.Uuid, PortgroupKey: pgKey}}
	if err := ns.UpdateVirtualNic(ctx, "vmk1", spec); err != nil {
		t.Fatal(err)
	}
	if got := pingRTTus(t, h0, h1); got != 200 {
		t.Fatalf("healthy %d µs", got)
	}
	_ = netem.set(netemUpdate{Host: h0, Uplink: "vmnic2", RTTms: fp(40)})
	if got := pingRTTus(t, h0, h1); got != 40200 {
		t.Fatalf("congested uplink1 (vmnic2): %d µs, want 40200", got)
	}
	high := types.DvsHostInfrastructureTrafficResource{Key: "vmotion", AllocationInfo: types.DvsHostInfrastructureTrafficResourceAllocation{
		Shares: &types.SharesInfo{Level: types.SharesLevelHigh}}}
	if err := reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion,
		InfrastructureTrafficResourceConfig: []types.DvsHostInfrastructureTrafficResource{high}}}); err != nil {
		t.Fatal(err)
	}
	_, cfg = labDVS(t, c)
	if len(cfg.InfrastructureTrafficResourceConfig) != len(niocClasses) {
		t.Fatalf("an edit of one class replaced the list: %d", len(cfg.InfrastructureTrafficResourceConfig))
	}
	if got := pingRTTus(t, h0, h1); got != 20200 {
		t.Fatalf("vmotion shares high: %d µs, want 20200", got)
	}
	port := vmkPort(t, h0, "vmk1")
	move := func() error {
		task, err := d.ReconfigureDVPort(ctx, []types.DVPortConfigSpec{{Operation: "edit", Key: port, Setting: &types.VMwareDVSPortSetting{
			UplinkTeamingPolicy: &types.VmwareUplinkPortTeamingPolicy{UplinkPortOrder: &types.VMwareUplinkPortOrderPolicy{
				ActiveUplinkPort: []string{"uplink2"}, StandbyUplinkPort: []string{"uplink1"}}}}}})
		if err != nil {
			return err
		}
		return task.Wait(ctx)
	}
	if err := move(); err == nil || !strings.Contains(err.Error(), "does not allow") {
		t.Fatalf("override on a port group that forbids it: %v", err)
	}
	pg := object.NewDistributedVirtualPortgroup(c.Client, pgRef)
	task, err := pg.Reconfigure(ctx, types.DVPortgroupConfigSpec{ConfigVersion: dvpgObj(pgRef).Config.ConfigVersion,
		Policy: &types.VMwareDVSPortgroupPolicy{DVPortgroupPolicy: types.DVPortgroupPolicy{BlockOverrideAllowed: true}, UplinkTeamingOverrideAllowed: true}})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := move(); err != nil {
		t.Fatal(err)
	}
	if got := pingRTTus(t, h0, h1); got != 200 {
		t.Fatalf("port moved to uplink2 (vmnic3): %d µs, want 200", got)
	}
	// inherited=true drops the override: back on uplink1
	task, err = d.ReconfigureDVPort(ctx, []types.DVPortConfigSpec{{Operation: "edit", Key: port, Setting: &types.VMwareDVSPortSetting{
		UplinkTeamingPolicy: &types.VmwareUplinkPortTeamingPolicy{InheritablePolicy: types.InheritablePolicy{Inherited: true}}}}})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := pingRTTus(t, h0, h1); got != 20200 {
		t.Fatalf("override dropped: %d µs, want 20200", got)
	}
}

func switchNamed(t *testing.T, name string) *simulator.DistributedVirtualSwitch {
	for _, d := range allDVS() {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no switch %s", name)
	return nil
}

func dvpgObj(ref types.ManagedObjectReference) *simulator.DistributedVirtualPortgroup {
	pg, _ := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
	return pg
}

func hostRef(t *testing.T, name string) types.ManagedObjectReference {
	for _, e := range simulator.Map.All("HostSystem") {
		if h := e.(*simulator.HostSystem); h.Name == name {
			return h.Self
		}
	}
	t.Fatalf("no host %s", name)
	return types.ManagedObjectReference{}
}

func vmkPort(t *testing.T, host, device string) string {
	hs := stateOf(hostRef(t, host))
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, v := range hs.net().Vnic {
		if v.Device == device && v.Spec.DistributedVirtualPort != nil {
			return v.Spec.DistributedVirtualPort.PortKey
		}
	}
	t.Fatalf("%s of %s is not on a DV port", device, host)
	return ""
}
