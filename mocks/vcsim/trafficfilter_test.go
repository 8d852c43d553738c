package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func pgNamed(t *testing.T, ctx context.Context, finder *find.Finder, name string) *object.DistributedVirtualPortgroup {
	t.Helper()
	n, err := finder.Network(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return n.(*object.DistributedVirtualPortgroup)
}

func pgConfig(t *testing.T, ctx context.Context, pg *object.DistributedVirtualPortgroup) types.DVPortgroupConfigInfo {
	t.Helper()
	var m mo.DistributedVirtualPortgroup
	if err := pg.Properties(ctx, pg.Reference(), []string{"config"}, &m); err != nil {
		t.Fatal(err)
	}
	return m.Config
}

func filterOf(cfg types.DVPortgroupConfigInfo) *types.DvsFilterPolicy {
	return cfg.DefaultPortConfig.GetDVPortSetting().FilterPolicy
}

func reconfigurePg(ctx context.Context, pg *object.DistributedVirtualPortgroup, version string, fp *types.DvsFilterPolicy) error {
	task, err := pg.Reconfigure(ctx, types.DVPortgroupConfigSpec{ConfigVersion: version,
		DefaultPortConfig: &types.VMwareDVSPortSetting{DVPortSetting: types.DVPortSetting{FilterPolicy: fp}}})
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

func tr(b bool) *bool { return &b }

func sampleRuleset(dscp int32) *types.DvsTrafficRuleset {
	return &types.DvsTrafficRuleset{Enabled: tr(true), Rules: []types.DvsTrafficRule{
		{Description: "mark-voice", Sequence: 10, Direction: "outgoingPackets",
			Qualifier: []types.BaseDvsNetworkRuleQualifier{
				&types.DvsIpNetworkRuleQualifier{
					DestinationAddress: &types.IpRange{AddressPrefix: "10.0.0.0", PrefixLength: 8},
					Protocol:           &types.IntExpression{Value: 17},
					DestinationIpPort:  &types.DvsIpPortRange{StartPortNumber: 16384, EndPortNumber: 32767},
				},
				&DvsSystemTrafficNetworkRuleQualifier{types.DvsSystemTrafficNetworkRuleQualifier{
					TypeOfSystemTraffic: &types.StringExpression{Value: "virtualMachine"}}},
			},
			Action: &types.DvsUpdateTagNetworkRuleAction{DscpTag: dscp, QosTag: 5}},
		{Description: "drop-bpdu", Sequence: 20,
			Qualifier: []types.BaseDvsNetworkRuleQualifier{
				&DvsMacNetworkRuleQualifier{types.DvsMacNetworkRuleQualifier{
					DestinationAddress: &types.SingleMac{Address: "01:80:c2:00:00:00"},
					VlanId:             &types.IntExpression{Value: 10}}},
			},
			Action: &types.DvsDropNetworkRuleAction{}},
	}}
}

func TestTrafficRulesStoredKeyedAndValidated(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	finder := find.NewFinder(c.Client, true)
	dc, err := finder.Datacenter(ctx, "DC0")
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	pg := pgNamed(t, ctx, finder, "DC0_DVPG0")
	cfg := pgConfig(t, ctx, pg)

	// bad input: DSCP 64, CoS 8, an unknown system traffic class, two IP qualifiers
	bad := []*types.DvsTrafficRuleset{sampleRuleset(64)}
	cos := sampleRuleset(46)
	cos.Rules[0].Action = &types.DvsUpdateTagNetworkRuleAction{QosTag: 8}
	sys := sampleRuleset(46)
	sys.Rules[0].Qualifier[1] = &DvsSystemTrafficNetworkRuleQualifier{types.DvsSystemTrafficNetworkRuleQualifier{
		TypeOfSystemTraffic: &types.StringExpression{Value: "bogus"}}}
	two := sampleRuleset(46)
	two.Rules[0].Qualifier[1] = &types.DvsIpNetworkRuleQualifier{}
	bad = append(bad, cos, sys, two)
	for _, rs := range bad {
		err := reconfigurePg(ctx, pg, cfg.ConfigVersion, &types.DvsFilterPolicy{FilterConfig: []types.BaseDvsFilterConfig{
			&types.DvsTrafficFilterConfig{TrafficRuleset: rs}}})
		expectFault(t, err, "InvalidArgument")
	}
	if now := pgConfig(t, ctx, pg); now.ConfigVersion != cfg.ConfigVersion {
		t.Fatalf("a refused spec changed the port group: %s -> %s", cfg.ConfigVersion, now.ConfigVersion)
	}

	// add through a spec: keys assigned, qualifiers of all three kinds read back
	err = reconfigurePg(ctx, pg, cfg.ConfigVersion, &types.DvsFilterPolicy{FilterConfig: []types.BaseDvsFilterConfig{
		&types.DvsTrafficFilterConfigSpec{Operation: "add", DvsTrafficFilterConfig: types.DvsTrafficFilterConfig{TrafficRuleset: sampleRuleset(46)}}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg = pgConfig(t, ctx, pg)
	fp := filterOf(cfg)
	if fp == nil || len(fp.FilterConfig) != 1 {
		t.Fatalf("filter policy: %+v", fp)
	}
	f := fp.FilterConfig[0].(*types.DvsTrafficFilterConfig)
	rs := f.TrafficRuleset
	if f.Key == "" || f.AgentName != trafficAgent || rs.Key == "" || len(rs.Rules) != 2 || rs.Rules[0].Key == "" {
		t.Fatalf("keys not assigned: %+v %+v", f, rs)
	}
	if _, ok := rs.Rules[1].Qualifier[0].(*DvsMacNetworkRuleQualifier); !ok {
		t.Fatalf("MAC qualifier read back as %T", rs.Rules[1].Qualifier[0])
	}
	if a := rs.Rules[0].Action.(*types.DvsUpdateTagNetworkRuleAction); a.DscpTag != 46 || a.QosTag != 5 {
		t.Fatalf("tag action: %+v", a)
	}
	if rs.Rules[1].Direction != "both" {
		t.Fatalf("direction default: %q", rs.Rules[1].Direction)
	}

	// edit by key keeps the filter; mixing configs and specs is refused
	edit := *f
	edit.TrafficRuleset = &types.DvsTrafficRuleset{Key: rs.Key, Enabled: tr(false), Rules: rs.Rules[1:]}
	err = reconfigurePg(ctx, pg, cfg.ConfigVersion, &types.DvsFilterPolicy{FilterConfig: []types.BaseDvsFilterConfig{
		&types.DvsTrafficFilterConfigSpec{Operation: "edit", DvsTrafficFilterConfig: edit},
		&types.DvsTrafficFilterConfig{}}})
	expectFault(t, err, "InvalidArgument")
	err = reconfigurePg(ctx, pg, cfg.ConfigVersion, &types.DvsFilterPolicy{FilterConfig: []types.BaseDvsFilterConfig{
		&types.DvsTrafficFilterConfigSpec{Operation: "edit", DvsTrafficFilterConfig: edit}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg = pgConfig(t, ctx, pg)
	got := filterOf(cfg).FilterConfig[0].(*types.DvsTrafficFilterConfig)
	if got.Key != f.Key || *got.TrafficRuleset.Enabled || len(got.TrafficRuleset.Rules) != 1 || got.TrafficRuleset.Rules[0].Key != rs.Rules[1].Key {
		t.Fatalf("edit: %+v", got.TrafficRuleset)
	}

	// remove by key; then inherit the switch's (none)
	err = reconfigurePg(ctx, pg, cfg.ConfigVersion, &types.DvsFilterPolicy{FilterConfig: []types.BaseDvsFilterConfig{
		&types.DvsTrafficFilterConfigSpec{Operation: "remove", DvsTrafficFilterConfig: types.DvsTrafficFilterConfig{DvsFilterConfig: types.DvsFilterConfig{Key: f.Key}}}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg = pgConfig(t, ctx, pg)
	if fp := filterOf(cfg); fp == nil || len(fp.FilterConfig) != 0 {
		t.Fatalf("after remove: %+v", fp)
	}
	if err := reconfigurePg(ctx, pg, cfg.ConfigVersion, &types.DvsFilterPolicy{InheritablePolicy: types.InheritablePolicy{Inherited: true}}); err != nil {
		t.Fatal(err)
	}
	if fp := filterOf(pgConfig(t, ctx, pg)); fp == nil || !fp.Inherited || len(fp.FilterConfig) != 0 {
		t.Fatalf("inherited: %+v", fp)
	}
}
