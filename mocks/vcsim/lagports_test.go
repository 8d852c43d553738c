package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func hostUplinks(t *testing.T, c *govmomi.Client, d *object.DistributedVirtualSwitch, upg string, host types.ManagedObjectReference) map[string]types.DistributedVirtualPort {
	t.Helper()
	yes := true
	res, err := methods.FetchDVPorts(context.Background(), c.Client, &types.FetchDVPorts{This: d.Reference(), Criteria: &types.DistributedVirtualSwitchPortCriteria{
		PortgroupKey: []string{upg}, Inside: &yes, UplinkPort: &yes, Host: []types.ManagedObjectReference{host}}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.DistributedVirtualPort{}
	for _, p := range res.Returnval {
		if p.ProxyHost == nil || *p.ProxyHost != host {
			t.Fatalf("port %s (%s): proxyHost %v", p.Key, p.Config.Name, p.ProxyHost)
		}
		out[p.Config.Name] = p
	}
	return out
}

func editPnics(ctx context.Context, d *object.DistributedVirtualSwitch, host types.ManagedObjectReference, specs ...types.DistributedVirtualSwitchHostMemberPnicSpec) error {
	return reconfigure(ctx, d, &types.DVSConfigSpec{Host: []types.DistributedVirtualSwitchHostMemberConfigSpec{{
		Operation: "edit", Host: host, Backing: &types.DistributedVirtualSwitchHostMemberPnicBacking{PnicSpec: specs}}}})
}

func proxyOf(t *testing.T, c *govmomi.Client, uuid string) types.HostProxySwitch {
	t.Helper()
	_, h := firstHost(t, c)
	for _, ps := range h.Config.Network.ProxySwitch {
		if ps.DvsUuid == uuid {
			return ps
		}
	}
	t.Fatal("no proxy switch")
	return types.HostProxySwitch{}
}

// A LAG gives each member host its own uplink ports; a pNIC is bound to one by
// uplinkPortKey and read back everywhere the API shows it.
func TestLagUplinkPortsAndBinding(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	var dvs mo.DistributedVirtualSwitch
	if err := c.RetrieveOne(ctx, d.Reference(), []string{"uuid", "config"}, &dvs); err != nil {
		t.Fatal(err)
	}
	upg := cfg.UplinkPortgroup[0]
	var upgMo mo.DistributedVirtualPortgroup
	if err := c.RetrieveOne(ctx, upg, []string{"key", "portKeys"}, &upgMo); err != nil {
		t.Fatal(err)
	}
	before := len(upgMo.PortKeys)
	if err := lacp(ctx, c, d, []types.VMwareDvsLacpGroupSpec{{Operation: "add",
		LacpGroupConfig: types.VMwareDvsLacpGroupConfig{Name: "lag1", UplinkNum: 2, Mode: "active"}}}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	_, cfg = labDVS(t, c)
	g := cfg.LacpGroupConfig[0]
	if strings.Join(g.UplinkName, ",") != "lag1-0,lag1-1" || len(g.UplinkPortKey) != 2*len(cfg.Host) {
		t.Fatalf("LAG: names %v keys %v for %d hosts", g.UplinkName, g.UplinkPortKey, len(cfg.Host))
	}
	if err := c.RetrieveOne(ctx, upg, []string{"key", "portKeys"}, &upgMo); err != nil {
		t.Fatal(err)
	}
	if len(upgMo.PortKeys) != before+len(g.UplinkPortKey) {
		t.Fatalf("uplink port group ports: %d, want %d", len(upgMo.PortKeys), before+len(g.UplinkPortKey))
	}
	host, _ := firstHost(t, c)
	ports := hostUplinks(t, c, d, upgMo.Key, host.Reference())
	for _, n := range []string{"uplink1", "uplink2", "lag1-0", "lag1-1"} {
		if _, ok := ports[n]; !ok {
			t.Fatalf("no uplink port %s on the host: %v", n, ports)
		}
	}
	if ports["lag1-0"].Connectee != nil {
		t.Fatalf("a new LAG port is free: %+v", ports["lag1-0"].Connectee)
	}
	ps := proxyOf(t, c, dvs.Uuid)
	if len(ps.UplinkPort) != 4 || len(ps.HostLag) != 1 || ps.HostLag[0].LagName != "lag1" || len(ps.HostLag[0].UplinkPort) != 2 ||
		ps.HostLag[0].UplinkPort[0].Key != ports["lag1-0"].Key || ps.HostLag[0].UplinkPort[0].Value != "lag1-0" {
		t.Fatalf("proxy switch: uplinkPort %+v hostLag %+v", ps.UplinkPort, ps.HostLag)
	}

	// bad specs change nothing
	other := ""
	for _, k := range g.UplinkPortKey {
		if k != ports["lag1-0"].Key && k != ports["lag1-1"].Key {
			other = k // a LAG port of another host
		}
	}
	lag0, lag1 := ports["lag1-0"].Key, ports["lag1-1"].Key
	for _, bad := range [][]types.DistributedVirtualSwitchHostMemberPnicSpec{
		{{PnicDevice: "vmnic4", UplinkPortKey: other}},
		{{PnicDevice: "vmnic4", UplinkPortKey: lag0}, {PnicDevice: "vmnic5", UplinkPortKey: lag0}},
		{{PnicDevice: "vmnic4", UplinkPortKey: lag0}, {PnicDevice: "vmnic4", UplinkPortKey: lag1}},
	} {
		if err := editPnics(ctx, d, host.Reference(), bad...); err == nil || !strings.Contains(err.Error(), "vmnic") && !strings.Contains(err.Error(), "uplink port") {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	if ps2 := proxyOf(t, c, dvs.Uuid); len(ps2.Pnic) != 2 {
		t.Fatalf("a refused edit changed the pNICs: %v", ps2.Pnic)
	}

	// vmnic2 keeps the first standalone uplink, vmnic4/5 go into the LAG
	if err := editPnics(ctx, d, host.Reference(),
		types.DistributedVirtualSwitchHostMemberPnicSpec{PnicDevice: "vmnic2"},
		types.DistributedVirtualSwitchHostMemberPnicSpec{PnicDevice: "vmnic4", UplinkPortKey: lag0},
		types.DistributedVirtualSwitchHostMemberPnicSpec{PnicDevice: "vmnic5", UplinkPortKey: lag1}); err != nil {
		t.Fatal(err)
	}
	_, cfg = labDVS(t, c)
	var member types.DistributedVirtualSwitchHostMember
	for _, m := range cfg.Host {
		if *m.Config.Host == host.Reference() {
			member = m
		}
	}
	got := map[string]string{}
	for _, s := range member.Config.Backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking).PnicSpec {
		got[s.PnicDevice] = s.UplinkPortKey
		if s.UplinkPortgroupKey != upgMo.Key {
			t.Fatalf("uplinkPortgroupKey %q", s.UplinkPortgroupKey)
		}
	}
	if got["vmnic2"] != ports["uplink1"].Key || got["vmnic4"] != lag0 || got["vmnic5"] != lag1 || len(got) != 3 {
		t.Fatalf("config.host backing: %v", got)
	}
	ps = proxyOf(t, c, dvs.Uuid)
	pb := ps.Spec.Backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking)
	if len(pb.PnicSpec) != 3 || pb.PnicSpec[1].UplinkPortKey != lag0 || len(ps.Pnic) != 3 {
		t.Fatalf("proxy switch spec.backing: %+v pnic %v", pb.PnicSpec, ps.Pnic)
	}
	ports = hostUplinks(t, c, d, upgMo.Key, host.Reference())
	if p := ports["lag1-0"]; p.Key != lag0 || p.Connectee == nil || p.Connectee.NicKey != "vmnic4" || p.Connectee.Type != "pnic" || !p.State.RuntimeInfo.LinkUp {
		t.Fatalf("lag1-0 after binding: %+v", p)
	}

	// the pNIC's link goes down: so does its LAG port
	hs := stateOf(host.Reference())
	links.mu.Lock()
	hs.mu.Lock()
	setLink(hs, "vmnic4", false)
	hs.sync()
	hs.mu.Unlock()
	links.mu.Unlock()
	ports = hostUplinks(t, c, d, upgMo.Key, host.Reference())
	if ports["lag1-0"].State.RuntimeInfo.LinkUp || !ports["lag1-1"].State.RuntimeInfo.LinkUp {
		t.Fatalf("link state: lag1-0 %v lag1-1 %v", ports["lag1-0"].State.RuntimeInfo.LinkUp, ports["lag1-1"].State.RuntimeInfo.LinkUp)
	}
	allLinksUp()

	// the LAG shrinks to one port: vmnic5 is unassigned; removed: vmnic4 too
	if err := lacp(ctx, c, d, []types.VMwareDvsLacpGroupSpec{{Operation: "edit",
		LacpGroupConfig: types.VMwareDvsLacpGroupConfig{Key: g.Key, UplinkNum: 1}}}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ps = proxyOf(t, c, dvs.Uuid)
	if len(ps.Pnic) != 2 || len(ps.HostLag[0].UplinkPort) != 1 || len(ps.UplinkPort) != 3 {
		t.Fatalf("after shrink: pnic %v hostLag %+v", ps.Pnic, ps.HostLag)
	}
	if err := lacp(ctx, c, d, []types.VMwareDvsLacpGroupSpec{{Operation: "remove",
		LacpGroupConfig: types.VMwareDvsLacpGroupConfig{Key: g.Key}}}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ps = proxyOf(t, c, dvs.Uuid)
	if len(ps.Pnic) != 1 || len(ps.HostLag) != 0 || len(ps.UplinkPort) != 2 {
		t.Fatalf("after remove: pnic %v hostLag %+v uplinks %+v", ps.Pnic, ps.HostLag, ps.UplinkPort)
	}
	if err := c.RetrieveOne(ctx, upg, []string{"key", "portKeys"}, &upgMo); err != nil {
		t.Fatal(err)
	}
	if len(upgMo.PortKeys) != before {
		t.Fatalf("uplink port group after remove: %d ports, want %d", len(upgMo.PortKeys), before)
	}
}

// A host joining with an uplinkPortKey is refused (it has no ports yet); after joining,
// the new member gets the LAG's ports.
func TestLagPortsOfAJoiningHost(t *testing.T) {
	_, c := startTestLab(t, func(o *Options) { o.VM = 0 }) // a host with VMs cannot leave
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	if err := lacp(ctx, c, d, []types.VMwareDvsLacpGroupSpec{{Operation: "add",
		LacpGroupConfig: types.VMwareDvsLacpGroupConfig{Name: "lag1", UplinkNum: 2}}}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	host, _ := firstHost(t, c)
	if err := reconfigure(ctx, d, &types.DVSConfigSpec{Host: []types.DistributedVirtualSwitchHostMemberConfigSpec{{
		Operation: "remove", Host: host.Reference()}}}); err != nil {
		t.Fatal(err)
	}
	_, cfg = labDVS(t, c)
	if len(cfg.LacpGroupConfig[0].UplinkPortKey) != 2*len(cfg.Host) {
		t.Fatalf("LAG ports after a host left: %v", cfg.LacpGroupConfig[0].UplinkPortKey)
	}
	err := reconfigure(ctx, d, &types.DVSConfigSpec{Host: []types.DistributedVirtualSwitchHostMemberConfigSpec{{
		Operation: "add", Host: host.Reference(), Backing: &types.DistributedVirtualSwitchHostMemberPnicBacking{
			PnicSpec: []types.DistributedVirtualSwitchHostMemberPnicSpec{{PnicDevice: "vmnic4", UplinkPortKey: cfg.LacpGroupConfig[0].UplinkPortKey[0]}}}}}})
	if err == nil || !strings.Contains(err.Error(), "not an uplink port") {
		t.Fatalf("add with a key: %v", err)
	}
	if err := reconfigure(ctx, d, &types.DVSConfigSpec{Host: []types.DistributedVirtualSwitchHostMemberConfigSpec{{
		Operation: "add", Host: host.Reference()}}}); err != nil {
		t.Fatal(err)
	}
	_, cfg = labDVS(t, c)
	if len(cfg.LacpGroupConfig[0].UplinkPortKey) != 2*len(cfg.Host) {
		t.Fatalf("LAG ports after the host joined: %v", cfg.LacpGroupConfig[0].UplinkPortKey)
	}
	var dvs mo.DistributedVirtualSwitch
	if err := c.RetrieveOne(ctx, d.Reference(), []string{"uuid"}, &dvs); err != nil {
		t.Fatal(err)
	}
	if ps := proxyOf(t, c, dvs.Uuid); len(ps.HostLag) != 1 || len(ps.HostLag[0].UplinkPort) != 2 {
		t.Fatalf("joined host's proxy switch: %+v", ps.HostLag)
	}
}
