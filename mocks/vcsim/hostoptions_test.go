package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Each host has its own advanced options, typed like ESXi; updates are checked like ESXi's.
func TestHostAdvancedOptionsPerHostAndTyped(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	_, h := firstHost(t, c)
	om := object.NewOptionManager(c.Client, *h.ConfigManager.AdvancedOption)
	got, err := om.Query(ctx, "Net.BlockGuestBPDU")
	if err != nil || len(got) != 1 || got[0].GetOptionValue().Value != int64(1) {
		t.Fatalf("default BPDU filter: %+v %v", got, err)
	}
	err = om.Update(ctx, []types.BaseOptionValue{&types.OptionValue{Key: "Net.BlockGuestBPDU", Value: int32(0)}})
	expectFault(t, err, "InvalidArgument") // xsd:int for a long option
	err = om.Update(ctx, []types.BaseOptionValue{
		&types.OptionValue{Key: "Net.BlockGuestBPDU", Value: int64(0)},
		&types.OptionValue{Key: "Net.NoSuchOption", Value: int64(0)},
	})
	expectFault(t, err, "InvalidName")
	if got, _ = om.Query(ctx, "Net.BlockGuestBPDU"); got[0].GetOptionValue().Value != int64(1) {
		t.Fatal("a refused call changed an option")
	}
	if err = om.Update(ctx, []types.BaseOptionValue{&types.OptionValue{Key: "Net.BlockGuestBPDU", Value: int64(0)}}); err != nil {
		t.Fatal(err)
	}

	// indexed property paths, read in one retrieval for every host's option manager
	pc := property.DefaultCollector(c.Client)
	var refs []types.ManagedObjectReference
	hosts := labHosts(t, c)
	for _, x := range hosts {
		refs = append(refs, *x.ConfigManager.AdvancedOption)
	}
	var content []types.ObjectContent
	err = pc.Retrieve(ctx, refs, []string{`setting["Net.BlockGuestBPDU"]`, `setting["Net.Missing"]`}, &content)
	if err != nil {
		t.Fatal(err)
	}
	zero := 0
	for _, oc := range content {
		if len(oc.PropSet) != 1 || oc.PropSet[0].Name != `setting["Net.BlockGuestBPDU"]` {
			t.Fatalf("indexed answer: %+v", oc)
		}
		if oc.PropSet[0].Val.(types.OptionValue).Value == int64(0) {
			zero++
		}
	}
	if len(content) != len(hosts) || zero != 1 {
		t.Fatalf("%d answers for %d hosts, %d with the filter off (want 1: options are per host)", len(content), len(hosts), zero)
	}
}

func labHosts(t *testing.T, c *govmomi.Client) []mo.HostSystem {
	t.Helper()
	ctx := context.Background()
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"HostSystem"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var hosts []mo.HostSystem
	if err := v.Retrieve(ctx, []string{"HostSystem"}, []string{"name", "configManager"}, &hosts); err != nil {
		t.Fatal(err)
	}
	return hosts
}
