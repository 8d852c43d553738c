package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func dvPortgroups(t *testing.T, c *govmomi.Client) []mo.DistributedVirtualPortgroup {
	t.Helper()
	ctx := context.Background()
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"DistributedVirtualPortgroup"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = v.Destroy(ctx) }()
	var pgs []mo.DistributedVirtualPortgroup
	if err := v.Retrieve(ctx, []string{"DistributedVirtualPortgroup"}, []string{"name"}, &pgs); err != nil {
		t.Fatal(err)
	}
	return pgs
}

func TestDestroyDVSRemovesPortgroupsAndFreesUplinks(t *testing.T) {
	_, c := startTestLab(t, func(o *Options) { o.VM = 0 })
	ctx := context.Background()
	d, _ := labDVS(t, c)
	if n := len(dvPortgroups(t, c)); n != 3 {
		t.Fatalf("before: %d DV port groups", n)
	}
	task, err := d.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if pgs := dvPortgroups(t, c); len(pgs) != 0 {
		t.Fatalf("port groups left behind: %+v", pgs)
	}
	hostObj, h := firstHost(t, c)
	if len(h.Config.Network.ProxySwitch) != 0 {
		t.Fatalf("proxy switch left: %+v", h.Config.Network.ProxySwitch)
	}
	var hn mo.HostSystem
	if err := hostObj.Properties(ctx, hostObj.Reference(), []string{"network"}, &hn); err != nil {
		t.Fatal(err)
	}
	for _, n := range hn.Network {
		if n.Type == "DistributedVirtualPortgroup" {
			t.Fatalf("host still lists %s", n)
		}
	}
	ns, err := hostObj.ConfigManager().NetworkSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.HostVirtualSwitchSpec{NumPorts: 64, Bridge: &types.HostVirtualSwitchBondBridge{NicDevice: []string{"vmnic2"}}}
	if err := ns.AddVirtualSwitch(ctx, "vSwitch-free", &spec); err != nil {
		t.Fatalf("vmnic2 still claimed after the switch was destroyed: %v", err)
	}
}

func TestDestroyRefusedWhileVMsAreConnected(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, _ := labDVS(t, c)
	task, _ := d.Destroy(ctx)
	expectFault(t, task.Wait(ctx), "ResourceInUse")
	for _, pg := range dvPortgroups(t, c) {
		if pg.Name != "DC0_DVPG0" {
			continue
		}
		task, _ := object.NewDistributedVirtualPortgroup(c.Client, pg.Self).Destroy(ctx)
		expectFault(t, task.Wait(ctx), "ResourceInUse")
	}
	if n := len(dvPortgroups(t, c)); n != 3 {
		t.Fatalf("a refused destroy removed port groups: %d left", n)
	}
}

func TestDestroyPortgroupLeavesNoReference(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	for _, pg := range dvPortgroups(t, c) {
		if pg.Name != "DC0_DVPG1" {
			continue
		}
		task, _ := object.NewDistributedVirtualPortgroup(c.Client, pg.Self).Destroy(ctx)
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		hostObj, _ := firstHost(t, c)
		var hn mo.HostSystem
		if err := hostObj.Properties(ctx, hostObj.Reference(), []string{"network"}, &hn); err != nil {
			t.Fatal(err)
		}
		for _, n := range hn.Network {
			if n == pg.Self {
				t.Fatalf("host still lists the destroyed %s", n)
			}
		}
		return
	}
	t.Fatal("DC0_DVPG1 not found")
}

// panicAlias answers CurrentTime with a panic, as a handler bug would.
type panicAlias struct{ aliasBase }

func (a *panicAlias) CurrentTime(ctx *simulator.Context, req *types.CurrentTime) soap.HasFault {
	var m map[string]*simulator.DistributedVirtualSwitch
	return &methods.CurrentTimeBody{Res: &types.CurrentTimeResponse{Returnval: time.Unix(int64(len(m["x"].Name)), 0)}}
}

func TestPanicIsAnsweredWithASystemErrorFaultAndTheConnectionStays(t *testing.T) {
	_, c := startTestLab(t, nil)
	registerOverride("ServiceInstance", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &panicAlias{newAliasBase(lab, orig)}
	}, "CurrentTime")
	defer delete(overrides, "CurrentTime")
	ctx := context.Background()
	_, err := methods.GetCurrentTime(ctx, c.Client)
	if err == nil || !strings.Contains(err.Error(), "internal error in CurrentTime") {
		t.Fatalf("want a SystemError fault naming the method, got %v", err)
	}
	expectFault(t, err, "SystemError")
	delete(overrides, "CurrentTime")
	if _, err := methods.GetCurrentTime(ctx, c.Client); err != nil {
		t.Fatalf("the lab no longer answers: %v", err)
	}
}

func TestRecoveredWriterReportsTheFaultStatus(t *testing.T) {
	body := []byte(`<Envelope><Body><FetchDVPorts><_this type="DistributedVirtualSwitch">dvs-1</_this></FetchDVPorts></Body></Envelope>`)
	rec := httptest.NewRecorder()
	tw := serveRecovered(rec, body, false, func(w http.ResponseWriter) { panic("interface conversion: mo.Reference is nil") })
	if rec.Code != http.StatusInternalServerError || tw == nil || tw.status != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if out := rec.Body.String(); !strings.Contains(out, "<reason>interface conversion") {
		t.Fatalf("no reason in %s", out)
	}
}
