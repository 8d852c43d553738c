package main

// Go-side checks of the vCenter 7.0.3 shapes clients other than vnettool read
// (the pyVmomi conformance suite, tests/lab/test_conformance.py, checks the
// same through a generic client).

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestNetworkConfigMirrorsNetworkInfo(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	_, h := firstHost(t, c)
	var ns mo.HostNetworkSystem
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, *h.ConfigManager.NetworkSystem, []string{"networkConfig", "networkInfo"}, &ns); err != nil {
		t.Fatal(err)
	}
	cfg, info := ns.NetworkConfig, ns.NetworkInfo
	if cfg == nil {
		t.Fatal("networkConfig unset")
	}
	if len(cfg.Pnic) != len(info.Pnic) || len(cfg.Vswitch) != len(info.Vswitch) || len(cfg.Portgroup) != len(info.Portgroup) ||
		len(cfg.Vnic) != len(info.Vnic) || len(cfg.ProxySwitch) != len(info.ProxySwitch) {
		t.Fatalf("networkConfig and networkInfo disagree: %+v", cfg)
	}
	b, ok := cfg.Vswitch[0].Spec.Bridge.(*types.HostVirtualSwitchBondBridge)
	if cfg.Vswitch[0].Name != "vSwitch0" || !ok || len(b.NicDevice) != 2 || cfg.Vswitch[0].ChangeOperation != "" {
		t.Fatalf("vswitch config: %+v", cfg.Vswitch[0])
	}
	if cfg.ProxySwitch[0].Uuid != info.ProxySwitch[0].DvsUuid || cfg.Vnic[0].Device != "vmk0" || cfg.Vnic[0].Portgroup != "Management Network" {
		t.Fatalf("proxy switch / vnic config: %+v %+v", cfg.ProxySwitch[0], cfg.Vnic[0])
	}
}

func TestQueryNetConfigEveryNicTypeWithPrefixedCandidates(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	_, h := firstHost(t, c)
	vnm := *h.ConfigManager.VirtualNicManager
	for _, nt := range []string{"management", "vmotion", "vSphereProvisioning", "faultToleranceLogging", "vsan",
		"vSphereReplication", "vSphereReplicationNFC", "vsanWitness", "vSphereBackupNFC", "ptp", "nvmeTcp", "nvmeRdma"} {
		res, err := methods.QueryNetConfig(ctx, c.Client, &types.QueryNetConfig{This: vnm, NicType: nt})
		if err != nil {
			t.Fatalf("%s: %v", nt, err)
		}
		for _, cand := range res.Returnval.CandidateVnic {
			if cand.Key != nt+"."+keyVnic+cand.Device {
				t.Fatalf("%s candidate key %q", nt, cand.Key)
			}
		}
	}
	// ptp takes one vmknic: selecting another replaces it
	for _, dev := range []string{"vmk0", "vmk1"} {
		if _, err := methods.SelectVnicForNicType(ctx, c.Client, &types.SelectVnicForNicType{This: vnm, NicType: "ptp", Device: dev}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := methods.QueryNetConfig(ctx, c.Client, &types.QueryNetConfig{This: vnm, NicType: "ptp"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Returnval.MultiSelectAllowed || len(res.Returnval.SelectedVnic) != 1 || res.Returnval.SelectedVnic[0] != "ptp."+keyVnic+"vmk1" {
		t.Fatalf("ptp: %+v", res.Returnval)
	}
}

func TestDVSIpfixDefaultAndClusterUsage(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	pc := property.DefaultCollector(c.Client)
	d := allDVS()[0]
	var dvs mo.DistributedVirtualSwitch
	if err := pc.RetrieveOne(ctx, d.Self, []string{"config"}, &dvs); err != nil {
		t.Fatal(err)
	}
	ipfix := dvs.Config.(*types.VMwareDVSConfigInfo).IpfixConfig
	if ipfix == nil || ipfix.CollectorIpAddress != "" || ipfix.ActiveFlowTimeout != 60 || ipfix.IdleFlowTimeout != 15 || ipfix.SamplingRate != 4096 {
		t.Fatalf("ipfixConfig: %+v", ipfix)
	}
	_, h := firstHost(t, c)
	var host mo.HostSystem
	if err := pc.RetrieveOne(ctx, h.Self, []string{"parent", "summary.hardware"}, &host); err != nil {
		t.Fatal(err)
	}
	res, err := methods.GetResourceUsage(ctx, c.Client, &types.GetResourceUsage{This: *host.Parent})
	if err != nil {
		t.Fatal(err)
	}
	u := res.Returnval
	hw := host.Summary.Hardware
	if u.CpuCapacityMHz != 2*hw.CpuMhz*int32(hw.NumCpuCores) || u.MemCapacityMB != 2*int32(hw.MemorySize>>20) || u.StorageCapacityMB == 0 {
		t.Fatalf("resource usage: %+v (host %+v)", u, hw)
	}
	var cl mo.ClusterComputeResource
	if err := pc.RetrieveOne(ctx, *host.Parent, []string{"summary", "configurationEx"}, &cl); err != nil {
		t.Fatal(err)
	}
	s := cl.Summary.(*types.ClusterComputeResourceSummary)
	if s.TotalCpu != u.CpuCapacityMHz || s.UsageSummary.TotalVmCount != 2 || s.UsageSummary.TotalCpuCapacityMhz != u.CpuCapacityMHz {
		t.Fatalf("cluster summary: %+v %+v", s, s.UsageSummary)
	}
	das := cl.ConfigurationEx.(*types.ClusterConfigInfoEx).DasConfig
	if das.Enabled == nil || *das.Enabled || das.DefaultVmSettings == nil || das.DefaultVmSettings.VmToolsMonitoringSettings == nil || das.AdmissionControlPolicy == nil {
		t.Fatalf("dasConfig: %+v", das)
	}
}

func TestPnicsOption(t *testing.T) {
	_, c := startTestLab(t, func(o *Options) { o.Pnics = 8 })
	_, h := firstHost(t, c)
	hs := stateOf(h.Self)
	if len(h.Config.Network.Pnic) != 8 {
		t.Fatalf("pnics: %d", len(h.Config.Network.Pnic))
	}
	for _, dev := range []string{"vmnic4", "vmnic5", "vmnic6", "vmnic7"} {
		if u := hs.pnicUser(dev, ""); u != "" {
			t.Fatalf("%s used by %s", dev, u)
		}
	}
	if u := hs.pnicUser("vmnic2", ""); u != "DVS0" {
		t.Fatalf("vmnic2 used by %q", u)
	}
	if _, err := StartLab(Options{Pnics: 1}); err == nil {
		t.Fatal("pnics=1 accepted")
	}
}

func TestHostPciPassthruAndProduct(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	_, h := firstHost(t, c)
	if h.Config.Product.Version != esxiVersion || h.ConfigManager.PciPassthruSystem == nil {
		t.Fatalf("product %s, passthru %v", h.Config.Product.Version, h.ConfigManager.PciPassthruSystem)
	}
	var ps mo.HostPciPassthruSystem
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, *h.ConfigManager.PciPassthruSystem, []string{"pciPassthruInfo"}, &ps); err != nil {
		t.Fatal(err)
	}
	var hw mo.HostSystem
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, h.Self, []string{"hardware.pciDevice"}, &hw); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, d := range hw.Hardware.PciDevice {
		ids[d.Id] = true
	}
	for _, p := range h.Config.Network.Pnic {
		if !ids[p.Pci] {
			t.Fatalf("%s (%s) not in hardware.pciDevice", p.Device, p.Pci)
		}
	}
	if len(ps.PciPassthruInfo) != len(hw.Hardware.PciDevice) {
		t.Fatalf("passthru info %d for %d devices", len(ps.PciPassthruInfo), len(hw.Hardware.PciDevice))
	}
}
