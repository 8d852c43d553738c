package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// Renames of VMs already reported arrive as one modify each, without re-collecting the
// filter (the task objects the calls create are not of a type it asks for); a destroyed VM
// leaves; a filter created after the first wait is reported whole at the next wait.
func TestWaitForUpdatesIsIncremental(t *testing.T) {
	_, c := startTestLab(t, func(o *Options) { o.Host, o.VM = 2, 6 })
	ctx := context.Background()
	vmView, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	pcRef := c.ServiceContent.PropertyCollector
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: vmView.Reference(), Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{
			&types.TraversalSpec{Type: "ContainerView", Path: "view"},
		}}},
		PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name", "runtime.host"}}},
	}
	if _, err := methods.CreateFilter(ctx, c.Client, &types.CreateFilter{This: pcRef, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	wait := func(version string) *types.UpdateSet {
		t.Helper()
		res, err := methods.WaitForUpdatesEx(ctx, c.Client, &types.WaitForUpdatesEx{This: pcRef, Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return res.Returnval
	}
	objects := func(set *types.UpdateSet) []types.ObjectUpdate {
		var out []types.ObjectUpdate
		for _, fu := range set.FilterSet {
			out = append(out, fu.ObjectSet...)
		}
		return out
	}
	first := wait("")
	initial := objects(first)
	if len(initial) != 6 {
		t.Fatalf("initial: %d objects, want 6", len(initial))
	}
	for _, ou := range initial {
		if ou.Kind != types.ObjectUpdateKindEnter || len(ou.ChangeSet) != 2 {
			t.Fatalf("initial %v: kind %s, %d properties", ou.Obj, ou.Kind, len(ou.ChangeSet))
		}
	}
	pc := simulator.Map.Get(pcRef).(*labPC)
	before := pc.ws.recolls

	for i, ou := range initial[:3] {
		vm := object.NewVirtualMachine(c.Client, ou.Obj)
		task, err := vm.Rename(ctx, "renamed-"+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	for version := first.Version; len(got) < 3; {
		set := wait(version)
		version = set.Version
		for _, ou := range objects(set) {
			if ou.Kind != types.ObjectUpdateKindModify {
				t.Fatalf("%v: %s, want modify", ou.Obj, ou.Kind)
			}
			for _, ch := range ou.ChangeSet {
				if ch.Name != "name" {
					t.Fatalf("%v: change of %s, only name was changed", ou.Obj, ch.Name)
				}
				got[ou.Obj.Value] = ch.Val.(string)
			}
		}
	}
	for i, ou := range initial[:3] {
		if want := "renamed-" + string(rune('a'+i)); got[ou.Obj.Value] != want {
			t.Fatalf("%s: %q, want %q", ou.Obj.Value, got[ou.Obj.Value], want)
		}
	}
	if pc.ws.recolls != before {
		t.Fatalf("renames re-collected the filter %d times", pc.ws.recolls-before)
	}

	// a VM destroyed leaves
	gone := initial[5].Obj
	vm := object.NewVirtualMachine(c.Client, gone)
	if task, err := vm.PowerOff(ctx); err == nil {
		_ = task.Wait(ctx)
	}
	task, err := vm.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	left := false
	for version := first.Version; !left; {
		set := wait(version)
		version = set.Version
		for _, ou := range objects(set) {
			left = left || (ou.Obj == gone && ou.Kind == types.ObjectUpdateKindLeave)
		}
	}

	// a filter created now is reported whole at the next wait
	hostSpec := spec
	hostSpec.PropSet = []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name"}}}
	if _, err := methods.CreateFilter(ctx, c.Client, &types.CreateFilter{This: pcRef, Spec: hostSpec}); err != nil {
		t.Fatal(err)
	}
	if n := len(objects(wait(first.Version))); n != 5 {
		t.Fatalf("new filter: %d objects entered, want 5", n)
	}
}

// A host added to a cluster enters a HostSystem container view's filter.
func TestWaitForUpdatesReportsAnAddedHost(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	hostView, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"HostSystem"}, true)
	if err != nil {
		t.Fatal(err)
	}
	pcRef := c.ServiceContent.PropertyCollector
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: hostView.Reference(), Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{
			&types.TraversalSpec{Type: "ContainerView", Path: "view"},
		}}},
		PropSet: []types.PropertySpec{{Type: "HostSystem", PathSet: []string{"name"}}},
	}
	if _, err := methods.CreateFilter(ctx, c.Client, &types.CreateFilter{This: pcRef, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	res, err := methods.WaitForUpdatesEx(ctx, c.Client, &types.WaitForUpdatesEx{This: pcRef, Version: ""})
	if err != nil {
		t.Fatal(err)
	}
	version := res.Returnval.Version
	finder := find.NewFinder(c.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	cl, err := finder.DefaultClusterComputeResource(ctx)
	if err != nil {
		t.Fatal(err)
	}
	task, err := cl.AddHost(ctx, types.HostConnectSpec{HostName: "esx-new.lab.local", UserName: "root", Password: "x", Force: true}, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		max := int32(2)
		res, err := methods.WaitForUpdatesEx(ctx, c.Client, &types.WaitForUpdatesEx{This: pcRef, Version: version, Options: &types.WaitOptions{MaxWaitSeconds: &max}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Returnval == nil {
			continue
		}
		version = res.Returnval.Version
		for _, fu := range res.Returnval.FilterSet {
			for _, ou := range fu.ObjectSet {
				t.Logf("%s %v %v", ou.Kind, ou.Obj, ou.ChangeSet)
				for _, ch := range ou.ChangeSet {
					if ou.Kind == types.ObjectUpdateKindEnter && ch.Name == "name" && ch.Val == "esx-new.lab.local" {
						return
					}
				}
			}
		}
	}
	t.Fatal("the added host never entered")
}
