package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestFetchDVPortsUniqueKeysCriteriaAndStaticBinding(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	all, err := d.FetchDVPorts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range all {
		if p.PortgroupKey == "" || seen[p.Key] {
			t.Fatalf("port %s: portgroupKey %q, repeated %v", p.Key, p.PortgroupKey, seen[p.Key])
		}
		seen[p.Key] = true
	}
	if len(all) != 8+8+4 {
		t.Fatalf("%d ports, want 2x8 port group ports + 4 uplink ports", len(all))
	}
	var pgs []mo.DistributedVirtualPortgroup
	for _, p := range dvPortgroups(t, c) {
		pgs = append(pgs, p)
	}
	var pg0 string
	for _, p := range pgs {
		var full mo.DistributedVirtualPortgroup
		_ = object.NewDistributedVirtualPortgroup(c.Client, p.Self).Properties(ctx, p.Self, []string{"key", "name"}, &full)
		if full.Name == "DC0_DVPG0" {
			pg0 = full.Key
		}
	}
	in, _ := d.FetchDVPorts(ctx, &types.DistributedVirtualSwitchPortCriteria{PortgroupKey: []string{pg0}, Inside: types.NewBool(true)})
	if len(in) != 8 {
		t.Fatalf("inside %s: %d ports", pg0, len(in))
	}
	conn, _ := d.FetchDVPorts(ctx, &types.DistributedVirtualSwitchPortCriteria{PortgroupKey: []string{pg0}, Inside: types.NewBool(true), Connected: types.NewBool(true)})
	if len(conn) != 2 || conn[0].Connectee == nil || conn[0].Connectee.Type != "vmVnic" || conn[0].Key == conn[1].Key {
		t.Fatalf("connected VM ports: %+v", conn)
	}
	up, _ := d.FetchDVPorts(ctx, &types.DistributedVirtualSwitchPortCriteria{UplinkPort: types.NewBool(true)})
	if len(up) != 4 || up[0].Config.Name != uplinkNames(cfg)[0] || up[1].Config.Name != uplinkNames(cfg)[1] {
		t.Fatalf("uplink ports: %+v", up)
	}
	if up[0].Connectee == nil || up[0].Connectee.Type != "pnic" || up[0].Connectee.NicKey != "vmnic2" {
		t.Fatalf("uplink connectee: %+v", up[0].Connectee)
	}
}
