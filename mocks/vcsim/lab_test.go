package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator/vpx"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// startTestLab starts a small lab (1 cluster, 2 hosts, 2 VMs, 1 DVS, 2 PGs).
func startTestLab(t *testing.T, mod func(*Options)) (*Lab, *govmomi.Client) {
	t.Helper()
	o := DefaultOptions()
	o.Cluster, o.Host, o.VM = 1, 2, 2
	if mod != nil {
		mod(&o)
	}
	lab, err := StartLab(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	return lab, login(t, lab)
}

func login(t *testing.T, lab *Lab) *govmomi.Client {
	t.Helper()
	u := *lab.URL
	u.User = url.UserPassword("any", "thing")
	c, err := govmomi.NewClient(context.Background(), &u, true)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

func TestControlHealth(t *testing.T) {
	lab, _ := startTestLab(t, nil)
	res, err := httpClient().Get(lab.ControlURL() + "health")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]interface{}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || v["ok"] != true {
		t.Fatalf("health: %v %v", v, err)
	}
}

func TestSessionsExpire(t *testing.T) {
	lab, c := startTestLab(t, nil)
	ctx := context.Background()
	if _, err := methods.GetCurrentTime(ctx, c.Client); err != nil {
		t.Fatal(err)
	}
	res, err := httpClient().Post(lab.ControlURL()+"sessions/expire", "application/json", nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("expire: %v %v", res, err)
	}
	res.Body.Close()
	_, err = methods.GetCurrentTime(ctx, c.Client)
	if err == nil {
		t.Fatal("expected NotAuthenticated after expiry")
	}
	if !soap.IsSoapFault(err) {
		t.Fatalf("unexpected error %v", err)
	}
	if _, ok := soap.ToSoapFault(err).VimFault().(types.NotAuthenticated); !ok {
		t.Fatalf("expected NotAuthenticated, got %#v", soap.ToSoapFault(err).VimFault())
	}
	// re-login with the same client (same cookie jar) works
	u := *lab.URL
	if err := c.Login(ctx, url.UserPassword("a", "b")); err != nil {
		t.Fatalf("re-login: %v (%s)", err, u.String())
	}
	if _, err := methods.GetCurrentTime(ctx, c.Client); err != nil {
		t.Fatal(err)
	}
}

func TestAboutAPI70(t *testing.T) {
	_, c := startTestLab(t, nil)
	about := c.ServiceContent.About
	if about.ApiVersion != "7.0.3.0" || about.Version != "7.0.3" {
		t.Fatalf("about: %+v", about)
	}
	if about.InstanceUuid == "" || about.InstanceUuid == vpx.ServiceContent.About.InstanceUuid {
		t.Fatalf("instance UUID %q: each lab must have its own", about.InstanceUuid)
	}
}

func TestPropertyCollectorUnsetAndPaging(t *testing.T) {
	_, c := startTestLab(t, func(o *Options) { o.VM = 5 })
	ctx := context.Background()
	m := view.NewManager(c.Client)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)

	req := types.RetrievePropertiesEx{
		This: c.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{
			ObjectSet: []types.ObjectSpec{{
				Obj:  v.Reference(),
				Skip: types.NewBool(true),
				SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{
					Type: "ContainerView", Path: "view",
				}},
			}},
			PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name", "snapshot", "parentVApp"}}},
		}},
		Options: types.RetrieveOptions{MaxObjects: 2},
	}
	res, err := methods.RetrievePropertiesEx(ctx, c.Client, &req)
	if err != nil {
		t.Fatal(err)
	}
	total := len(res.Returnval.Objects)
	if total != 2 || res.Returnval.Token == "" {
		t.Fatalf("first page: %d objects, token %q", total, res.Returnval.Token)
	}
	token := res.Returnval.Token
	for token != "" {
		cres, err := methods.ContinueRetrievePropertiesEx(ctx, c.Client, &types.ContinueRetrievePropertiesEx{
			This: c.ServiceContent.PropertyCollector, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		total += len(cres.Returnval.Objects)
		token = cres.Returnval.Token
	}
	if total != 5 {
		t.Fatalf("paged total %d, want 5", total)
	}

	// unset properties: single-property reads return empty, not a dropped connection
	var hosts []mo.HostSystem
	hv, _ := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"HostSystem"}, true)
	if err := hv.Retrieve(ctx, []string{"HostSystem"}, []string{"capability", "name"}, &hosts); err != nil {
		t.Fatal(err)
	}
	var ns mo.HostNetworkSystem
	pc := property.DefaultCollector(c.Client)
	h := hosts[0]
	var hs mo.HostSystem
	if err := pc.RetrieveOne(ctx, h.Self, []string{"configManager"}, &hs); err != nil {
		t.Fatal(err)
	}
	if err := pc.RetrieveOne(ctx, *hs.ConfigManager.NetworkSystem, []string{"capabilities", "dnsConfig", "networkConfig"}, &ns); err != nil {
		t.Fatal(err)
	}
}

func TestStateFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := writeAtomic(p, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil || len(data) == 0 {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
}
