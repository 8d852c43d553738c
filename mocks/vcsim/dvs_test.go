package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func labDVS(t *testing.T, c *govmomi.Client) (*object.DistributedVirtualSwitch, *types.VMwareDVSConfigInfo) {
	t.Helper()
	ctx := context.Background()
	v, _ := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"DistributedVirtualSwitch"}, true)
	var dvss []mo.DistributedVirtualSwitch
	if err := v.Retrieve(ctx, []string{"DistributedVirtualSwitch"}, []string{"name", "config"}, &dvss); err != nil {
		t.Fatal(err)
	}
	for _, d := range dvss {
		if d.Name == "DVS0" {
			return object.NewDistributedVirtualSwitch(c.Client, d.Self), d.Config.(*types.VMwareDVSConfigInfo)
		}
	}
	t.Fatal("DVS0 not found")
	return nil, nil
}

func reconfigure(ctx context.Context, d *object.DistributedVirtualSwitch, spec types.BaseDVSConfigSpec) error {
	task, err := d.Reconfigure(ctx, spec)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

func pvlanSpec(op string, p, s int32, kind string) types.VMwareDVSPvlanConfigSpec {
	return types.VMwareDVSPvlanConfigSpec{Operation: op, PvlanEntry: types.VMwareDVSPvlanMapEntry{PrimaryVlanId: p, SecondaryVlanId: s, PvlanType: kind}}
}

func TestDVSMembersAndProxySwitch(t *testing.T) {
	_, c := startTestLab(t, nil)
	_, cfg := labDVS(t, c)
	if len(cfg.Host) != 2 {
		t.Fatalf("config.host: %d members", len(cfg.Host))
	}
	b := cfg.Host[0].Config.Backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking)
	if len(b.PnicSpec) != 2 || b.PnicSpec[0].PnicDevice != "vmnic2" {
		t.Fatalf("backing: %+v", b)
	}
	_, h := firstHost(t, c)
	ps := h.Config.Network.ProxySwitch
	if len(ps) != 1 || ps[0].DvsName != "DVS0" || len(ps[0].Pnic) != 2 || len(ps[0].UplinkPort) != 2 {
		t.Fatalf("proxy switch: %+v", ps)
	}
	if cfg.ConfigVersion == "" || cfg.MaxMtu != 1500 || cfg.DefaultPortConfig.(*types.VMwareDVSPortSetting).MacManagementPolicy == nil {
		t.Fatalf("dvs config defaults: %+v", cfg)
	}
}

func TestReconfigureDvsPvlanAndVersion(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	ver := cfg.ConfigVersion

	// stale version
	err := reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: "999"}, MaxMtu: 9000})
	expectFault(t, err, "ConcurrentAccess")

	// isolated without promiscuous primary
	err = reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: ver},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("add", 100, 101, "isolated")}})
	expectFault(t, err, "InvalidArgument")

	err = reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: ver, Description: "lab"},
		MaxMtu:                      9000,
		LinkDiscoveryProtocolConfig: &types.LinkDiscoveryProtocolConfig{Protocol: "lldp", Operation: "both"},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{
			pvlanSpec("add", 100, 100, "promiscuous"), pvlanSpec("add", 100, 101, "isolated"), pvlanSpec("add", 100, 102, "community")}})
	if err != nil {
		t.Fatal(err)
	}
	_, cfg2 := labDVS(t, c)
	if cfg2.ConfigVersion != bumpVersion(ver) || len(cfg2.PvlanConfig) != 3 || cfg2.MaxMtu != 9000 ||
		cfg2.LinkDiscoveryProtocolConfig.Protocol != "lldp" || cfg2.Description != "lab" {
		t.Fatalf("after reconfigure: version %s pvlan %v mtu %d", cfg2.ConfigVersion, cfg2.PvlanConfig, cfg2.MaxMtu)
	}
	// the old version is now stale
	expectFault(t, reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: ver}}), "ConcurrentAccess")
	v2 := cfg2.ConfigVersion
	expectFault(t, reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: v2},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("add", 100, 101, "community")}}), "AlreadyExists")
	expectFault(t, reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: v2},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("remove", 200, 201, "isolated")}}), "NotFound")
	expectFault(t, reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: v2},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("remove", 100, 100, "promiscuous")}}), "InvalidArgument")
	// failed calls do not bump the version; default port config is merged
	err = reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: v2,
		DefaultPortConfig: &types.VMwareDVSPortSetting{SecurityPolicy: &types.DVSSecurityPolicy{AllowPromiscuous: bp(true)}}},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("remove", 100, 102, "community")}})
	if err != nil {
		t.Fatal(err)
	}
	_, cfg3 := labDVS(t, c)
	dpc := cfg3.DefaultPortConfig.(*types.VMwareDVSPortSetting)
	if !*dpc.SecurityPolicy.AllowPromiscuous.Value || *dpc.SecurityPolicy.ForgedTransmits.Value || dpc.UplinkTeamingPolicy == nil ||
		!*dpc.MacManagementPolicy.AllowPromiscuous || len(cfg3.PvlanConfig) != 2 || cfg3.ConfigVersion != bumpVersion(v2) {
		t.Fatalf("merge: %+v %+v %v", dpc.SecurityPolicy, dpc.MacManagementPolicy, cfg3.PvlanConfig)
	}
}

func lacp(ctx context.Context, c *govmomi.Client, d *object.DistributedVirtualSwitch, specs []types.VMwareDvsLacpGroupSpec) *object.Task {
	res, err := methods.UpdateDVSLacpGroupConfig_Task(ctx, c.Client, &types.UpdateDVSLacpGroupConfig_Task{This: d.Reference(), LacpGroupSpec: specs})
	if err != nil {
		panic(err)
	}
	return object.NewTask(c.Client, res.Returnval)
}

func TestDvsLacpAndNioc(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, _ := labDVS(t, c)
	req := &types.UpdateDVSLacpGroupConfig_Task{This: d.Reference(), LacpGroupSpec: []types.VMwareDvsLacpGroupSpec{{
		Operation: "add", LacpGroupConfig: types.VMwareDvsLacpGroupConfig{Name: "lag1", UplinkNum: 2, Mode: "active"}}}}
	task := lacp(ctx, c, d, req.LacpGroupSpec)
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	task = lacp(ctx, c, d, req.LacpGroupSpec)
	expectFault(t, task.Wait(ctx), "AlreadyExists")
	_, cfg := labDVS(t, c)
	if len(cfg.LacpGroupConfig) != 1 || len(cfg.LacpGroupConfig[0].UplinkName) != 2 {
		t.Fatalf("lags: %+v", cfg.LacpGroupConfig)
	}
	task = lacp(ctx, c, d, []types.VMwareDvsLacpGroupSpec{{Operation: "remove", LacpGroupConfig: types.VMwareDvsLacpGroupConfig{Key: cfg.LacpGroupConfig[0].Key}}})
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := methods.EnableNetworkResourceManagement(ctx, c.Client, &types.EnableNetworkResourceManagement{This: d.Reference(), Enable: false}); err != nil {
		t.Fatal(err)
	}
	_, cfg = labDVS(t, c)
	if len(cfg.LacpGroupConfig) != 0 || *cfg.NetworkResourceManagementEnabled {
		t.Fatalf("after remove/disable: %+v %v", cfg.LacpGroupConfig, *cfg.NetworkResourceManagementEnabled)
	}
}

func TestReconfigureDvsHostRemoveAdd(t *testing.T) {
	_, c := startTestLab(t, func(o *Options) { o.VM = 0 })
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	host, _ := firstHost(t, c)
	err := reconfigure(ctx, d, &types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion, Host: []types.DistributedVirtualSwitchHostMemberConfigSpec{{
		Operation: "remove", Host: host.Reference()}}})
	if err != nil {
		t.Fatal(err)
	}
	_, cfg = labDVS(t, c)
	_, h := firstHost(t, c)
	if len(cfg.Host) != 1 || len(h.Config.Network.ProxySwitch) != 0 {
		t.Fatalf("after remove: %d members, %d proxy switches", len(cfg.Host), len(h.Config.Network.ProxySwitch))
	}
	err = reconfigure(ctx, d, &types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion, Host: []types.DistributedVirtualSwitchHostMemberConfigSpec{{
		Operation: "add", Host: host.Reference(), Backing: &types.DistributedVirtualSwitchHostMemberPnicBacking{
			PnicSpec: []types.DistributedVirtualSwitchHostMemberPnicSpec{{PnicDevice: "vmnic3"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, h = firstHost(t, c)
	if len(h.Config.Network.ProxySwitch) != 1 || len(h.Config.Network.ProxySwitch[0].Pnic) != 1 {
		t.Fatalf("after add: %+v", h.Config.Network.ProxySwitch)
	}
}

func TestReconfigureDVPortgroupMerge(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	if err := reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("add", 200, 200, "promiscuous"), pvlanSpec("add", 200, 201, "isolated")}}); err != nil {
		t.Fatal(err)
	}
	v, _ := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"DistributedVirtualPortgroup"}, true)
	var pgs []mo.DistributedVirtualPortgroup
	_ = v.Retrieve(ctx, []string{"DistributedVirtualPortgroup"}, []string{"name", "config"}, &pgs)
	var pgm mo.DistributedVirtualPortgroup
	for _, p := range pgs {
		if p.Name == "DC0_DVPG0" {
			pgm = p
		}
	}
	pg := object.NewDistributedVirtualPortgroup(c.Client, pgm.Self)
	run := func(spec types.DVPortgroupConfigSpec) error {
		task, err := pg.Reconfigure(ctx, spec)
		if err != nil {
			return err
		}
		return task.Wait(ctx)
	}
	ver := pgm.Config.ConfigVersion
	expectFault(t, run(types.DVPortgroupConfigSpec{ConfigVersion: "42", Description: "x"}), "ConcurrentAccess")
	expectFault(t, run(types.DVPortgroupConfigSpec{ConfigVersion: ver, DefaultPortConfig: &types.VMwareDVSPortSetting{
		Vlan: &types.VmwareDistributedVirtualSwitchPvlanSpec{PvlanId: 555}}}), "InvalidArgument")
	expectFault(t, run(types.DVPortgroupConfigSpec{ConfigVersion: ver, DefaultPortConfig: &types.VMwareDVSPortSetting{
		Vlan: &types.VmwareDistributedVirtualSwitchVlanIdSpec{VlanId: 5000}}}), "InvalidArgument")
	expectFault(t, run(types.DVPortgroupConfigSpec{ConfigVersion: ver, DefaultPortConfig: &types.VMwareDVSPortSetting{
		Vlan: &types.VmwareDistributedVirtualSwitchTrunkVlanSpec{VlanId: []types.NumericRange{{Start: 10, End: 5000}}}}}), "InvalidArgument")
	if err := run(types.DVPortgroupConfigSpec{ConfigVersion: ver, Description: "web", DefaultPortConfig: &types.VMwareDVSPortSetting{
		Vlan:           &types.VmwareDistributedVirtualSwitchPvlanSpec{PvlanId: 201},
		SecurityPolicy: &types.DVSSecurityPolicy{ForgedTransmits: bp(true)}}}); err != nil {
		t.Fatal(err)
	}
	var after mo.DistributedVirtualPortgroup
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, pgm.Self, []string{"config"}, &after); err != nil {
		t.Fatal(err)
	}
	s := after.Config.DefaultPortConfig.(*types.VMwareDVSPortSetting)
	if after.Config.Description != "web" || after.Config.ConfigVersion != bumpVersion(ver) || after.Config.NumPorts != pgm.Config.NumPorts ||
		after.Config.Policy == nil || s.UplinkTeamingPolicy == nil || s.InShapingPolicy == nil ||
		!*s.SecurityPolicy.ForgedTransmits.Value || *s.SecurityPolicy.AllowPromiscuous.Value || *s.MacManagementPolicy.AllowPromiscuous ||
		!*s.MacManagementPolicy.ForgedTransmits {
		t.Fatalf("merged config: %+v / %+v", after.Config, s)
	}
	if p, ok := s.Vlan.(*types.VmwareDistributedVirtualSwitchPvlanSpec); !ok || p.PvlanId != 201 {
		t.Fatalf("vlan: %#v", s.Vlan)
	}
	// a secondary in use cannot be removed from the switch
	_, cfg = labDVS(t, c)
	expectFault(t, reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("remove", 200, 201, "isolated")}}), "ResourceInUse")
}

func TestCreateDVSAndPortgroupHonourSpecs(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	finder := find.NewFinder(c.Client, true)
	dc, err := finder.Datacenter(ctx, "DC0")
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	folders, _ := dc.Folders(ctx)
	spec := types.DVSCreateSpec{ConfigSpec: &types.VMwareDVSConfigSpec{
		DVSConfigSpec: types.DVSConfigSpec{Name: "dvs-new", Description: "d"},
		MaxMtu:        9000,
		LinkDiscoveryProtocolConfig: &types.LinkDiscoveryProtocolConfig{Protocol: "lldp", Operation: "both"},
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("add", 10, 10, "promiscuous"), pvlanSpec("add", 10, 11, "isolated")},
	}}
	task, err := folders.NetworkFolder.CreateDVS(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := object.NewDistributedVirtualSwitch(c.Client, info.Result.(types.ManagedObjectReference))
	var m mo.DistributedVirtualSwitch
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, d.Reference(), []string{"config", "portgroup"}, &m); err != nil {
		t.Fatal(err)
	}
	cfg := m.Config.(*types.VMwareDVSConfigInfo)
	if cfg.MaxMtu != 9000 || cfg.LinkDiscoveryProtocolConfig.Protocol != "lldp" || len(cfg.PvlanConfig) != 2 || cfg.ConfigVersion != "1" || len(m.Portgroup) != 1 {
		t.Fatalf("created switch: mtu %d ldp %+v pvlan %d version %q pgs %d", cfg.MaxMtu, cfg.LinkDiscoveryProtocolConfig, len(cfg.PvlanConfig), cfg.ConfigVersion, len(m.Portgroup))
	}
	// a failing spec leaves no switch behind
	bad := types.DVSCreateSpec{ConfigSpec: &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{Name: "dvs-bad"}, MaxMtu: 20000}}
	task, _ = folders.NetworkFolder.CreateDVS(ctx, bad)
	expectFault(t, task.Wait(ctx), "InvalidArgument")
	if _, err := finder.Network(ctx, "dvs-bad"); err == nil {
		t.Fatal("dvs-bad exists after a failed create")
	}
	// a version QueryAvailableDvsSpec does not offer is refused, and leaves no switch
	old := types.DVSCreateSpec{ConfigSpec: &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{Name: "dvs-old"}},
		ProductInfo: &types.DistributedVirtualSwitchProductSpec{Version: "5.0.0"}}
	task, _ = folders.NetworkFolder.CreateDVS(ctx, old)
	expectFault(t, task.Wait(ctx), "InvalidArgument")
	if _, err := finder.Network(ctx, "dvs-old"); err == nil {
		t.Fatal("dvs-old exists after a refused version")
	}
	// port group: switch defaults + spec, PVLAN validated, teaming validated
	pgTask, _ := d.AddPortgroup(ctx, []types.DVPortgroupConfigSpec{{Name: "pg-a", DefaultPortConfig: &types.VMwareDVSPortSetting{
		Vlan: &types.VmwareDistributedVirtualSwitchPvlanSpec{PvlanId: 11}}}})
	if err := pgTask.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	pgTask, _ = d.AddPortgroup(ctx, []types.DVPortgroupConfigSpec{{Name: "pg-b", DefaultPortConfig: &types.VMwareDVSPortSetting{
		Vlan: &types.VmwareDistributedVirtualSwitchPvlanSpec{PvlanId: 99}}}})
	expectFault(t, pgTask.Wait(ctx), "InvalidArgument")
	pgTask, _ = d.AddPortgroup(ctx, []types.DVPortgroupConfigSpec{{Name: "pg-c", DefaultPortConfig: &types.VMwareDVSPortSetting{
		UplinkTeamingPolicy: &types.VmwareUplinkPortTeamingPolicy{UplinkPortOrder: &types.VMwareUplinkPortOrderPolicy{ActiveUplinkPort: []string{"nope"}}}}}})
	expectFault(t, pgTask.Wait(ctx), "InvalidArgument")
	pg, err := finder.Network(ctx, "pg-a")
	if err != nil {
		t.Fatal(err)
	}
	var p mo.DistributedVirtualPortgroup
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, pg.Reference(), []string{"config"}, &p); err != nil {
		t.Fatal(err)
	}
	ps := p.Config.DefaultPortConfig.(*types.VMwareDVSPortSetting)
	if p.Config.ConfigVersion != "1" || ps.SecurityPolicy == nil || ps.UplinkTeamingPolicy.RollingOrder == nil || p.Config.NumPorts != 8 {
		t.Fatalf("new port group config: %+v", p.Config)
	}
}
