package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func dvsCfg(t *testing.T, d *object.DistributedVirtualSwitch) *types.VMwareDVSConfigInfo {
	t.Helper()
	var m mo.DistributedVirtualSwitch
	if err := d.Properties(context.Background(), d.Reference(), []string{"config"}, &m); err != nil {
		t.Fatal(err)
	}
	return m.Config.(*types.VMwareDVSConfigInfo)
}

func TestIpfixRangesAndCollectorBeforeEnable(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	if cfg.IpfixConfig == nil || cfg.IpfixConfig.ActiveFlowTimeout != 60 {
		t.Fatalf("default ipfixConfig: %+v", cfg.IpfixConfig)
	}
	on := &types.VMwareDVSPortSetting{IpfixEnabled: bp(true)}
	// no collector yet: a port group cannot enable NetFlow
	finder := find.NewFinder(c.Client, true)
	dc, err := finder.Datacenter(ctx, "DC0")
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	n, err := finder.Network(ctx, "DC0_DVPG0")
	if err != nil {
		t.Fatal(err)
	}
	pg := n.(*object.DistributedVirtualPortgroup)
	var pm mo.DistributedVirtualPortgroup
	_ = pg.Properties(ctx, pg.Reference(), []string{"config"}, &pm)
	task, err := pg.Reconfigure(ctx, types.DVPortgroupConfigSpec{ConfigVersion: pm.Config.ConfigVersion, DefaultPortConfig: on})
	if err != nil {
		t.Fatal(err)
	}
	expectFault(t, task.Wait(ctx), "InvalidArgument")
	bad := *cfg.IpfixConfig
	bad.ActiveFlowTimeout = 5
	err = reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion}, IpfixConfig: &bad})
	expectFault(t, err, "InvalidArgument")
	bad = *cfg.IpfixConfig
	bad.CollectorIpAddress = "10.0.0.300"
	err = reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion}, IpfixConfig: &bad})
	expectFault(t, err, "InvalidArgument")
	if got := dvsCfg(t, d); got.ConfigVersion != cfg.ConfigVersion || got.IpfixConfig.CollectorIpAddress != "" {
		t.Fatalf("refused specs changed the switch: %+v", got.IpfixConfig)
	}
	good := types.VMwareIpfixConfig{CollectorIpAddress: "192.0.2.10", CollectorPort: 2055, ObservationDomainId: 7,
		ActiveFlowTimeout: 120, IdleFlowTimeout: 20, SamplingRate: 100, InternalFlowsOnly: true}
	if err := reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion}, IpfixConfig: &good}); err != nil {
		t.Fatal(err)
	}
	if got := dvsCfg(t, d).IpfixConfig; *got != good {
		t.Fatalf("ipfixConfig %+v, want %+v", got, good)
	}
	_ = pg.Properties(ctx, pg.Reference(), []string{"config"}, &pm)
	task, _ = pg.Reconfigure(ctx, types.DVPortgroupConfigSpec{ConfigVersion: pm.Config.ConfigVersion, DefaultPortConfig: on})
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	_ = pg.Properties(ctx, pg.Reference(), []string{"config"}, &pm)
	if !ipfixOn(pm.Config.DefaultPortConfig) {
		t.Fatal("ipfixEnabled not stored")
	}
}

func vspan(op string, s types.VMwareVspanSession) types.VMwareDVSVspanConfigSpec {
	return types.VMwareDVSVspanConfigSpec{Operation: op, VspanSession: s}
}

func TestVspanSessions(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	ports, err := d.FetchDVPorts(ctx, &types.DistributedVirtualSwitchPortCriteria{UplinkPort: boolp(false)})
	if err != nil || len(ports) < 3 {
		t.Fatalf("ports: %v %d", err, len(ports))
	}
	k0, k1, k2 := ports[0].Key, ports[1].Key, ports[2].Key
	send := func(specs ...types.VMwareDVSVspanConfigSpec) error {
		return reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: dvsCfg(t, d).ConfigVersion}, VspanConfigSpec: specs})
	}
	span := types.VMwareVspanSession{Name: "span1", Enabled: true, SessionType: "dvPortMirror",
		SourcePortTransmitted: &types.VMwareVspanPort{PortKey: []string{k0, k1}},
		SourcePortReceived:    &types.VMwareVspanPort{PortKey: []string{k0}},
		DestinationPort:       &types.VMwareVspanPort{PortKey: []string{k2}},
		MirroredPacketLength:  128, SamplingRate: 1, NormalTrafficAllowed: true}
	// a source port that does not exist
	missing := span
	missing.SourcePortTransmitted = &types.VMwareVspanPort{PortKey: []string{"99999"}}
	expectFault(t, send(vspan("add", missing)), "NotFound")
	wrongDest := span
	wrongDest.DestinationPort = &types.VMwareVspanPort{UplinkPortName: []string{"uplink1"}}
	expectFault(t, send(vspan("add", wrongDest)), "InvalidArgument")
	short := span
	short.MirroredPacketLength = 10
	expectFault(t, send(vspan("add", short)), "InvalidArgument")
	if got := dvsCfg(t, d); got.ConfigVersion != cfg.ConfigVersion || len(got.VspanSession) != 0 {
		t.Fatalf("refused specs changed the switch: %+v", got.VspanSession)
	}
	if err := send(vspan("add", span)); err != nil {
		t.Fatal(err)
	}
	expectFault(t, send(vspan("add", span)), "DuplicateName")
	erspan := types.VMwareVspanSession{Name: "erspan", SessionType: "encapsulatedRemoteMirrorSource",
		SourcePortReceived: &types.VMwareVspanPort{PortKey: []string{k1}},
		DestinationPort:    &types.VMwareVspanPort{IpAddress: []string{"192.0.2.20"}}, EncapType: "erspan3", ErspanId: 5}
	if err := send(vspan("add", erspan)); err != nil {
		t.Fatal(err)
	}
	got := dvsCfg(t, d).VspanSession
	if len(got) != 2 || got[0].Key == "" || got[0].Key == got[1].Key || got[0].MirroredPacketLength != 128 ||
		len(got[0].SourcePortTransmitted.PortKey) != 2 || got[1].DestinationPort.IpAddress[0] != "192.0.2.20" {
		t.Fatalf("sessions: %+v", got)
	}
	edited := got[0]
	edited.Enabled = false
	edited.SamplingRate = 10
	if err := send(vspan("edit", edited)); err != nil {
		t.Fatal(err)
	}
	if s := dvsCfg(t, d).VspanSession[0]; s.Enabled || s.SamplingRate != 10 || s.Name != "span1" {
		t.Fatalf("edited: %+v", s)
	}
	if err := send(vspan("remove", types.VMwareVspanSession{Key: got[1].Key})); err != nil {
		t.Fatal(err)
	}
	expectFault(t, send(vspan("remove", types.VMwareVspanSession{Key: got[1].Key})), "NotFound")
	if s := dvsCfg(t, d).VspanSession; len(s) != 1 || s[0].Name != "span1" {
		t.Fatalf("after remove: %+v", s)
	}
}
