package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestQueryAvailableDvsSpecAndVsanConfig(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	dm := *c.ServiceContent.DvSwitchManager
	all, err := methods.QueryAvailableDvsSpec(ctx, c.Client, &types.QueryAvailableDvsSpec{This: dm})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range all.Returnval {
		if s.Name != "DVS" || s.Vendor != "VMware, Inc." {
			t.Fatalf("product spec: %+v", s)
		}
		got = append(got, s.Version)
	}
	if len(got) != 5 || got[0] != "6.5.0" || got[4] != "7.0.3" {
		t.Fatalf("versions: %v", got)
	}
	rec := true
	r, err := methods.QueryAvailableDvsSpec(ctx, c.Client, &types.QueryAvailableDvsSpec{This: dm, Recommended: &rec})
	if err != nil || len(r.Returnval) != 4 || r.Returnval[0].Version != "6.6.0" {
		t.Fatalf("recommended: %v %+v", err, r)
	}
	spec := productSpec("7.0.3")
	h, err := methods.QueryDvsCompatibleHostSpec(ctx, c.Client, &types.QueryDvsCompatibleHostSpec{This: dm, SwitchProductSpec: &spec})
	if err != nil || len(h.Returnval) != 1 || h.Returnval[0].Version != "7.0.3" {
		t.Fatalf("compatible hosts: %v %+v", err, h)
	}
	bad := productSpec("5.0.0")
	if _, err := methods.QueryDvsCompatibleHostSpec(ctx, c.Client, &types.QueryDvsCompatibleHostSpec{This: dm, SwitchProductSpec: &bad}); err == nil {
		t.Fatal("unknown version accepted")
	}

	v, _ := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"ClusterComputeResource"}, true)
	var cls []mo.ClusterComputeResource
	if err := v.Retrieve(ctx, []string{"ClusterComputeResource"}, []string{"configurationEx"}, &cls); err != nil {
		t.Fatal(err)
	}
	if len(cls) == 0 {
		t.Fatal("no clusters")
	}
	for _, cl := range cls {
		vs := cl.ConfigurationEx.(*types.ClusterConfigInfoEx).VsanConfigInfo
		if vs == nil || vs.Enabled == nil || *vs.Enabled || vs.DefaultConfig == nil || *vs.DefaultConfig.AutoClaimStorage {
			t.Fatalf("vsanConfigInfo: %+v", vs)
		}
	}
}
