package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func firstHost(t *testing.T, c *govmomi.Client) (*object.HostSystem, mo.HostSystem) {
	t.Helper()
	ctx := context.Background()
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"HostSystem"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var hosts []mo.HostSystem
	if err := v.Retrieve(ctx, []string{"HostSystem"}, []string{"name", "config", "configManager"}, &hosts); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h.Name == "DC0_C0_H0" {
			return object.NewHostSystem(c.Client, h.Self), h
		}
	}
	t.Fatal("DC0_C0_H0 not found")
	return nil, mo.HostSystem{}
}

func faultOf(err error) types.BaseMethodFault {
	if err == nil || !soap.IsSoapFault(err) {
		return nil
	}
	f, _ := soap.ToSoapFault(err).VimFault().(types.BaseMethodFault)
	return f
}

func expectFault(t *testing.T, err error, kind string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %s fault, got success", kind)
	}
	if te, ok := err.(task.Error); ok {
		name := strings.TrimPrefix(strings.TrimPrefix(typeName(te.Fault()), "*"), "types.")
		if name == kind {
			return
		}
		t.Fatalf("expected %s fault, got %s (%v)", kind, name, err)
	}
	if soap.IsSoapFault(err) {
		vf := soap.ToSoapFault(err).VimFault()
		name := strings.TrimPrefix(strings.TrimPrefix(typeName(vf), "*"), "types.")
		if name == kind {
			return
		}
		t.Fatalf("expected %s fault, got %s (%v)", kind, name, err)
	}
	if soap.IsVimFault(err) {
		name := strings.TrimPrefix(strings.TrimPrefix(typeName(soap.ToVimFault(err)), "*"), "types.")
		if name == kind {
			return
		}
		t.Fatalf("expected %s fault, got %s (%v)", kind, name, err)
	}
	t.Fatalf("expected %s fault, got %v", kind, err)
}

func TestRealisticHostNetwork(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	_, h := firstHost(t, c)
	n := h.Config.Network
	if len(n.Pnic) != 6 || n.Pnic[5].Device != "vmnic5" || n.Pnic[0].LinkSpeed.SpeedMb != 10000 || n.Pnic[0].Driver != "ixgben" {
		t.Fatalf("pnics: %+v", n.Pnic)
	}
	if len(n.Vswitch) != 1 || len(n.Vswitch[0].Pnic) != 2 {
		t.Fatalf("vswitch: %+v", n.Vswitch)
	}
	pol := n.Vswitch[0].Spec.Policy
	if *pol.Security.AllowPromiscuous || *pol.Security.MacChanges || *pol.Security.ForgedTransmits ||
		pol.NicTeaming.Policy != "loadbalance_srcid" || !*pol.NicTeaming.NotifySwitches || *pol.NicTeaming.RollingOrder ||
		*pol.NicTeaming.FailureCriteria.CheckBeacon || *pol.ShapingPolicy.Enabled {
		t.Fatalf("vSwitch0 policy: %+v", pol)
	}
	var mgmt, vmk1 *types.HostVirtualNic
	for i := range n.Vnic {
		switch n.Vnic[i].Device {
		case "vmk0":
			mgmt = &n.Vnic[i]
		case "vmk1":
			vmk1 = &n.Vnic[i]
		}
	}
	if mgmt == nil || mgmt.Spec.Ip.IpAddress != "10.0.0.1" || vmk1 == nil || vmk1.Spec.Ip.IpAddress != "10.1.0.1" || vmk1.Portgroup != "vMotion" {
		t.Fatalf("vmknics: %+v", n.Vnic)
	}
	// network system view == host config view
	var ns mo.HostNetworkSystem
	pc := property.DefaultCollector(c.Client)
	if err := pc.RetrieveOne(ctx, *h.ConfigManager.NetworkSystem, []string{"networkInfo"}, &ns); err != nil {
		t.Fatal(err)
	}
	if len(ns.NetworkInfo.Pnic) != 6 || len(ns.NetworkInfo.Vnic) != 2 {
		t.Fatalf("networkInfo drift: %d pnics %d vnics", len(ns.NetworkInfo.Pnic), len(ns.NetworkInfo.Vnic))
	}
	// unique MACs across hosts and VMs
	v, _ := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"HostSystem", "VirtualMachine"}, true)
	var hosts []mo.HostSystem
	if err := v.Retrieve(ctx, []string{"HostSystem"}, []string{"config.network"}, &hosts); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, hh := range hosts {
		for _, p := range hh.Config.Network.Pnic {
			if seen[p.Mac] {
				t.Fatalf("duplicate pnic MAC %s", p.Mac)
			}
			seen[p.Mac] = true
		}
	}
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"config.hardware.device"}, &vms); err != nil {
		t.Fatal(err)
	}
	for _, vm := range vms {
		for _, d := range vm.Config.Hardware.Device {
			if nic, ok := d.(types.BaseVirtualEthernetCard); ok {
				mac := nic.GetVirtualEthernetCard().MacAddress
				if seen[mac] {
					t.Fatalf("duplicate VM MAC %s", mac)
				}
				seen[mac] = true
			}
		}
	}
}

func TestVirtualSwitchAndPortGroup(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	host, _ := firstHost(t, c)
	ns, err := host.ConfigManager().NetworkSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := &types.HostVirtualSwitchSpec{NumPorts: 256, Mtu: 9000,
		Bridge: &types.HostVirtualSwitchBondBridge{NicDevice: []string{"vmnic2"}}}
	// vmnic2 is a DVS uplink in the lab topology
	expectFault(t, ns.AddVirtualSwitch(ctx, "vSwitch1", spec), "ResourceInUse")
	spec.Bridge = nil
	if err := ns.AddVirtualSwitch(ctx, "vSwitch1", spec); err != nil {
		t.Fatal(err)
	}
	expectFault(t, ns.AddVirtualSwitch(ctx, "vSwitch1", spec), "AlreadyExists")
	expectFault(t, ns.UpdateVirtualSwitch(ctx, "nope", *spec), "NotFound")

	// switch policy change is reflected in the port groups' computed policy
	if err := ns.AddPortGroup(ctx, types.HostPortGroupSpec{Name: "pg-a", VswitchName: "vSwitch1", VlanId: 10,
		Policy: types.HostNetworkPolicy{Security: &types.HostNetworkSecurityPolicy{ForgedTransmits: types.NewBool(true)}}}); err != nil {
		t.Fatal(err)
	}
	expectFault(t, ns.AddPortGroup(ctx, types.HostPortGroupSpec{Name: "pg-a", VswitchName: "vSwitch1"}), "AlreadyExists")
	expectFault(t, ns.AddPortGroup(ctx, types.HostPortGroupSpec{Name: "pg-b", VswitchName: "nope"}), "NotFound")
	upd := *spec
	upd.Policy = defaultSwitchPolicy(nil, nil)
	upd.Policy.Security.AllowPromiscuous = types.NewBool(true)
	if err := ns.UpdateVirtualSwitch(ctx, "vSwitch1", upd); err != nil {
		t.Fatal(err)
	}
	var nsm mo.HostNetworkSystem
	pc := property.DefaultCollector(c.Client)
	get := func() *types.HostPortGroup {
		if err := pc.RetrieveOne(ctx, ns.Reference(), []string{"networkInfo"}, &nsm); err != nil {
			t.Fatal(err)
		}
		for i := range nsm.NetworkInfo.Portgroup {
			if nsm.NetworkInfo.Portgroup[i].Spec.Name == "pg-a" || nsm.NetworkInfo.Portgroup[i].Spec.Name == "pg-renamed" {
				return &nsm.NetworkInfo.Portgroup[i]
			}
		}
		t.Fatal("pg missing")
		return nil
	}
	pg := get()
	if !*pg.ComputedPolicy.Security.AllowPromiscuous || !*pg.ComputedPolicy.Security.ForgedTransmits || *pg.ComputedPolicy.Security.MacChanges {
		t.Fatalf("computed policy: %+v", pg.ComputedPolicy.Security)
	}
	for _, sw := range nsm.NetworkInfo.Vswitch {
		if sw.Name == "vSwitch1" && (sw.Mtu != 9000 || sw.Spec.NumPorts != 256) {
			t.Fatalf("vSwitch1 spec not kept: %+v", sw)
		}
	}
	// rename collision and rename
	expectFault(t, ns.UpdatePortGroup(ctx, "pg-a", types.HostPortGroupSpec{Name: "VM Network", VswitchName: "vSwitch1"}), "AlreadyExists")
	expectFault(t, ns.UpdatePortGroup(ctx, "nope", types.HostPortGroupSpec{Name: "x", VswitchName: "vSwitch1"}), "NotFound")
	if err := ns.UpdatePortGroup(ctx, "pg-a", types.HostPortGroupSpec{Name: "pg-renamed", VswitchName: "vSwitch1", VlanId: 20,
		Policy: types.HostNetworkPolicy{Security: &types.HostNetworkSecurityPolicy{AllowPromiscuous: types.NewBool(false)}}}); err != nil {
		t.Fatal(err)
	}
	pg = get()
	if pg.Spec.Name != "pg-renamed" || pg.Spec.VlanId != 20 || *pg.ComputedPolicy.Security.AllowPromiscuous {
		t.Fatalf("after update: %+v", pg)
	}
	// same-named port group on a second host shares the Network
	v, _ := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"HostSystem"}, true)
	var hosts []mo.HostSystem
	_ = v.Retrieve(ctx, []string{"HostSystem"}, []string{"name", "configManager"}, &hosts)
	for _, h := range hosts {
		if h.Name == "DC0_C0_H1" {
			ns2 := object.NewHostNetworkSystem(c.Client, *h.ConfigManager.NetworkSystem)
			if err := ns2.AddPortGroup(ctx, types.HostPortGroupSpec{Name: "pg-renamed", VswitchName: "vSwitch0"}); err != nil {
				t.Fatalf("same-named port group on another host: %v", err)
			}
		}
	}
	expectFault(t, ns.RemovePortGroup(ctx, "nope"), "NotFound")
	if err := ns.RemovePortGroup(ctx, "pg-renamed"); err != nil {
		t.Fatal(err)
	}
	if err := ns.RemoveVirtualSwitch(ctx, "vSwitch1"); err != nil {
		t.Fatal(err)
	}
	expectFault(t, ns.RemoveVirtualSwitch(ctx, "vSwitch1"), "NotFound")
}

func TestVmkernelAdaptersAndServices(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	host, h := firstHost(t, c)
	ns, _ := host.ConfigManager().NetworkSystem(ctx)
	dev, err := ns.AddVirtualNic(ctx, "VM Network", types.HostVirtualNicSpec{
		Ip: &types.HostIpConfig{IpAddress: "192.168.5.10", SubnetMask: "255.255.255.0"}, Mtu: 9000})
	if err != nil {
		t.Fatal(err)
	}
	if dev != "vmk2" {
		t.Fatalf("device %s, want vmk2", dev)
	}
	_, err = ns.AddVirtualNic(ctx, "nope", types.HostVirtualNicSpec{})
	expectFault(t, err, "NotFound")
	_, err = ns.AddVirtualNic(ctx, "VM Network", types.HostVirtualNicSpec{Ip: &types.HostIpConfig{IpAddress: "300.1.1.1", SubnetMask: "255.255.255.0"}})
	expectFault(t, err, "InvalidArgument")
	_, err = ns.AddVirtualNic(ctx, "VM Network", types.HostVirtualNicSpec{Mac: "00:50:56:40:00:00"})
	expectFault(t, err, "AlreadyExists")

	// DV port group vmknic
	var dvs mo.DistributedVirtualSwitch
	var pgs []mo.DistributedVirtualPortgroup
	v, _ := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"DistributedVirtualPortgroup"}, true)
	_ = v.Retrieve(ctx, []string{"DistributedVirtualPortgroup"}, []string{"name", "key", "config"}, &pgs)
	pc := property.DefaultCollector(c.Client)
	var pgKey string
	for _, p := range pgs {
		if p.Name == "DC0_DVPG0" {
			pgKey = p.Key
			_ = pc.RetrieveOne(ctx, *p.Config.DistributedVirtualSwitch, []string{"uuid"}, &dvs)
		}
	}
	dvDev, err := ns.AddVirtualNic(ctx, "", types.HostVirtualNicSpec{
		DistributedVirtualPort: &types.DistributedVirtualSwitchPortConnection{SwitchUuid: dvs.Uuid, PortgroupKey: pgKey},
		Ip:                     &types.HostIpConfig{Dhcp: true}, NetStackInstanceKey: "vmotion"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ns.AddVirtualNic(ctx, "", types.HostVirtualNicSpec{
		DistributedVirtualPort: &types.DistributedVirtualSwitchPortConnection{SwitchUuid: dvs.Uuid, PortgroupKey: "nope"}})
	expectFault(t, err, "NotFound")

	if err := ns.UpdateVirtualNic(ctx, dev, types.HostVirtualNicSpec{Mtu: 1500}); err != nil {
		t.Fatal(err)
	}
	expectFault(t, ns.UpdateVirtualNic(ctx, "vmk99", types.HostVirtualNicSpec{}), "NotFound")

	// services
	vnm := *h.ConfigManager.VirtualNicManager
	if _, err := methods.SelectVnicForNicType(ctx, c.Client, &types.SelectVnicForNicType{This: vnm, NicType: "vmotion", Device: dvDev}); err != nil {
		t.Fatal(err)
	}
	_, err = methods.SelectVnicForNicType(ctx, c.Client, &types.SelectVnicForNicType{This: vnm, NicType: "bogus", Device: dvDev})
	expectFault(t, err, "InvalidArgument")
	_, err = methods.SelectVnicForNicType(ctx, c.Client, &types.SelectVnicForNicType{This: vnm, NicType: "vsan", Device: "vmk42"})
	expectFault(t, err, "NotFound")
	res, err := methods.QueryNetConfig(ctx, c.Client, &types.QueryNetConfig{This: vnm, NicType: "vmotion"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"vmotion.key-vim.host.VirtualNic-vmk1": true, "vmotion.key-vim.host.VirtualNic-" + dvDev: true}
	if len(res.Returnval.SelectedVnic) != 2 || !want[res.Returnval.SelectedVnic[0]] || !want[res.Returnval.SelectedVnic[1]] {
		t.Fatalf("selected: %v", res.Returnval.SelectedVnic)
	}
	if len(res.Returnval.CandidateVnic) != 4 {
		t.Fatalf("candidates: %d", len(res.Returnval.CandidateVnic))
	}
	if _, err := methods.DeselectVnicForNicType(ctx, c.Client, &types.DeselectVnicForNicType{This: vnm, NicType: "vmotion", Device: "vmk1"}); err != nil {
		t.Fatal(err)
	}
	if err := ns.RemoveVirtualNic(ctx, dvDev); err != nil {
		t.Fatal(err)
	}
	expectFault(t, ns.RemoveVirtualNic(ctx, dvDev), "NotFound")
	var hm mo.HostSystem
	if err := pc.RetrieveOne(ctx, host.Reference(), []string{"config.virtualNicManagerInfo.netConfig"}, &hm); err != nil {
		t.Fatal(err)
	}
	for _, nc := range hm.Config.VirtualNicManagerInfo.NetConfig {
		if nc.NicType == "vmotion" && len(nc.SelectedVnic) != 0 {
			t.Fatalf("vmotion selection after deselect/remove: %v", nc.SelectedVnic)
		}
		if nc.NicType == "management" && (len(nc.SelectedVnic) != 1 || nc.SelectedVnic[0] != "management.key-vim.host.VirtualNic-vmk0") {
			t.Fatalf("management selection: %v", nc.SelectedVnic)
		}
	}
}
