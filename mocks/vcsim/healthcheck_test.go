package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func setHealth(t *testing.T, c *govmomi.Client, d *object.DistributedVirtualSwitch, vlanMtu, teaming bool, interval int32) error {
	t.Helper()
	ctx := context.Background()
	req := types.UpdateDVSHealthCheckConfig_Task{This: d.Reference(), HealthCheckConfig: []types.BaseDVSHealthCheckConfig{
		&types.VMwareDVSVlanMtuHealthCheckConfig{VMwareDVSHealthCheckConfig: types.VMwareDVSHealthCheckConfig{DVSHealthCheckConfig: healthConfig(vlanMtu, interval)}},
		&types.VMwareDVSTeamingHealthCheckConfig{VMwareDVSHealthCheckConfig: types.VMwareDVSHealthCheckConfig{DVSHealthCheckConfig: healthConfig(teaming, interval)}},
	}}
	res, err := methods.UpdateDVSHealthCheckConfig_Task(ctx, c.Client, &req)
	if err != nil {
		return err
	}
	return object.NewTask(c.Client, res.Returnval).Wait(ctx)
}

func dvsRuntime(t *testing.T, d *object.DistributedVirtualSwitch) *types.DVSRuntimeInfo {
	t.Helper()
	var m mo.DistributedVirtualSwitch
	if err := d.Properties(context.Background(), d.Reference(), []string{"runtime"}, &m); err != nil {
		t.Fatal(err)
	}
	return m.Runtime
}

func TestHealthCheckConfigAndResults(t *testing.T) {
	_, c := startTestLab(t, nil)
	d, cfg := labDVS(t, c)
	if len(cfg.HealthCheckConfig) != 2 || healthEnabled(cfg, "vlanMtu") || healthEnabled(cfg, "teaming") {
		t.Fatalf("default health check config: %+v", cfg.HealthCheckConfig)
	}
	rt := dvsRuntime(t, d)
	if rt == nil || len(rt.HostMemberRuntime) != 2 || len(rt.HostMemberRuntime[0].HealthCheckResult) != 0 {
		t.Fatalf("runtime with checks off: %+v", rt)
	}
	if err := setHealth(t, c, d, true, false, 0); err == nil {
		t.Fatal("an enabled check with interval 0 was accepted")
	}
	if err := setHealth(t, c, d, true, true, 2); err != nil {
		t.Fatal(err)
	}
	_, cfg = labDVS(t, c)
	if !healthEnabled(cfg, "vlanMtu") || cfg.HealthCheckConfig[0].GetDVSHealthCheckConfig().Interval != 2 {
		t.Fatalf("config after update: %+v", cfg.HealthCheckConfig[0])
	}
	results := dvsRuntime(t, d).HostMemberRuntime[0].HealthCheckResult
	// two uplinks with a pNIC: VLAN + MTU each, and one teaming result
	if len(results) != 5 {
		t.Fatalf("results: %d", len(results))
	}
	for _, r := range results {
		switch x := r.(type) {
		case *types.VMwareDVSVlanHealthCheckResult:
			if len(x.UntrunkedVlan) != 0 || len(x.TrunkedVlan) != 1 || x.TrunkedVlan[0].End != 4094 {
				t.Fatalf("vlan: %+v", x)
			}
		case *types.VMwareDVSMtuHealthCheckResult:
			if x.MtuMismatch {
				t.Fatalf("mtu: %+v", x)
			}
		case *types.VMwareDVSTeamingHealthCheckResult:
			if x.TeamingStatus != "nonIphashMatch" {
				t.Fatalf("teaming: %+v", x)
			}
		}
	}
	// the ToR port of the first host's vmnic2: MTU 1500 and no VLAN 200; switch MTU 9000
	hostRef := dvsRuntime(t, d).HostMemberRuntime[0].Host
	hs := stateOf(hostRef)
	var cdp *types.PhysicalNicCdpInfo
	for _, p := range hs.net().Pnic {
		if p.Device == "vmnic2" {
			cdp = pnicHint(hs.host, p).ConnectedSwitchPort
		}
	}
	mtu, vlans, ch := int32(1500), "0-199,201-4094", true
	if err := (physUpdate{Switch: cdp.DevId, Port: cdp.PortId, Mtu: &mtu, Vlans: &vlans, Channel: &ch}).apply(); err != nil {
		t.Fatal(err)
	}
	if err := reconfigure(context.Background(), d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: dvsCfg(t, d).ConfigVersion}, MaxMtu: 9000}); err != nil {
		t.Fatal(err)
	}
	var mismatches, untrunked int
	var teaming string
	for _, r := range dvsRuntime(t, d).HostMemberRuntime[0].HealthCheckResult {
		switch x := r.(type) {
		case *types.VMwareDVSVlanHealthCheckResult:
			if len(x.UntrunkedVlan) > 0 {
				untrunked++
				if x.UntrunkedVlan[0] != (types.NumericRange{Start: 200, End: 200}) {
					t.Fatalf("untrunked: %+v", x.UntrunkedVlan)
				}
			}
		case *types.VMwareDVSMtuHealthCheckResult:
			if x.MtuMismatch {
				mismatches++
				if len(x.VlanNotSupportSwitchMtu) != 2 {
					t.Fatalf("mtu: %+v", x)
				}
			}
		case *types.VMwareDVSTeamingHealthCheckResult:
			teaming = x.TeamingStatus
		}
	}
	if mismatches != 1 || untrunked != 1 || teaming != "nonIphashMismatch" {
		t.Fatalf("mismatches %d untrunked %d teaming %s", mismatches, untrunked, teaming)
	}
	// switching the checks off clears the results
	if err := setHealth(t, c, d, false, false, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(dvsRuntime(t, d).HostMemberRuntime[0].HealthCheckResult); n != 0 {
		t.Fatalf("results with checks off: %d", n)
	}
	bad := "5000"
	if err := (physUpdate{Switch: cdp.DevId, Port: cdp.PortId, Vlans: &bad}).apply(); err == nil {
		t.Fatal("VLAN 5000 accepted")
	}
}
