package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestOneTaskPerCallWithUserTargetAndEvents(t *testing.T) {
	_, c := startTestLab(t, func(o *Options) { o.DVS = 0 })
	ctx := context.Background()
	finder := find.NewFinder(c.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	folders, _ := dc.Folders(ctx)
	task, err := folders.NetworkFolder.CreateDVS(ctx, types.DVSCreateSpec{
		ConfigSpec:  &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{Name: "dvs-ev"}},
		ProductInfo: &types.DistributedVirtualSwitchProductSpec{Version: "7.0.3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	dvs := object.NewDistributedVirtualSwitch(c.Client, info.Result.(types.ManagedObjectReference))
	pgTask, _ := dvs.AddPortgroup(ctx, []types.DVPortgroupConfigSpec{{Name: "pg-ev", Type: "earlyBinding"}})
	if err := pgTask.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var tm mo.TaskManager
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, *c.ServiceContent.TaskManager, []string{"recentTask"}, &tm); err != nil {
		t.Fatal(err)
	}
	var tasks []mo.Task
	_ = property.DefaultCollector(c.Client).Retrieve(ctx, tm.RecentTask, []string{"info"}, &tasks)
	count := map[string]int{}
	for _, tk := range tasks {
		count[tk.Info.DescriptionId]++
		if tk.Info.DescriptionId == "Folder.createDVS" || tk.Info.DescriptionId == "DistributedVirtualSwitch.addDVPortgroup" {
			u, _ := tk.Info.Reason.(*types.TaskReasonUser)
			if u == nil || u.UserName != "any" {
				t.Fatalf("%s initiator: %#v", tk.Info.DescriptionId, tk.Info.Reason)
			}
		}
		if tk.Info.DescriptionId == "DistributedVirtualSwitch.addDVPortgroup" && tk.Info.EntityName != "dvs-ev" {
			t.Fatalf("task target %q", tk.Info.EntityName)
		}
	}
	if count["Folder.createDVS"] != 1 || count["DistributedVirtualSwitch.addDVPortgroup"] != 1 {
		t.Fatalf("tasks: %v", count)
	}
	var sw mo.DistributedVirtualSwitch
	_ = dvs.Properties(ctx, dvs.Reference(), []string{"summary"}, &sw)
	if p := sw.Summary.ProductInfo; p.Name != "DVS" || p.Vendor != "VMware, Inc." || p.Version != "7.0.3" {
		t.Fatalf("productInfo: %+v", p)
	}
	events, err := event.NewManager(c.Client).QueryEvents(ctx, types.EventFilterSpec{EventTypeId: []string{"DvsCreatedEvent", "DVPortgroupCreatedEvent", "TaskEvent"}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range events {
		name := strings.TrimPrefix(typeName(e), "*types.")
		kinds[name]++
		if e.GetEvent().UserName != "any" {
			t.Fatalf("%s by %q", name, e.GetEvent().UserName)
		}
	}
	if kinds["DvsCreatedEvent"] != 1 || kinds["DVPortgroupCreatedEvent"] != 1 || kinds["TaskEvent"] < 2 {
		t.Fatalf("events: %v", kinds)
	}
}
