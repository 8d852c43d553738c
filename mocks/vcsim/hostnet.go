package main

// Host networking: one network view per host. The HostNetworkSystem's
// networkInfo IS the host's config.network (same pointer); every change goes
// through a hostState (per-host lock) and ends with sync(), which recomputes
// derived fields: port group computedPolicy (switch policy + port group
// overrides), vswitch port group / pnic keys, port group ports of vmknics,
// and the VirtualNicManager candidate/selected lists.

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	keyVswitch   = "key-vim.host.VirtualSwitch-"
	keyPortgroup = "key-vim.host.PortGroup-"
	keyPnic      = "key-vim.host.PhysicalNic-"
	keyVnic      = "key-vim.host.VirtualNic-"
)

// hostState holds per-host extension state.
type hostState struct {
	mu   sync.Mutex
	host *simulator.HostSystem
	ns   *hostNetSys
	vnm  *vnicManager
	port int // port key counter
}

var (
	hostStatesMu sync.Mutex
	hostStates   = map[string]*hostState{} // host moref value
)

func stateOf(host types.ManagedObjectReference) *hostState {
	hostStatesMu.Lock()
	defer hostStatesMu.Unlock()
	return hostStates[host.Value]
}

func (hs *hostState) net() *types.HostNetworkInfo { return hs.host.Config.Network }

func (hs *hostState) nextPortKey() string {
	hs.port++
	return fmt.Sprintf("key-vim.host.PortGroup.Port-%d", 33554432+hs.port)
}

// ---------- policies ----------

func boolp(b bool) *bool { return &b }

func defaultSwitchPolicy(active, standby []string) *types.HostNetworkPolicy {
	return &types.HostNetworkPolicy{
		Security: &types.HostNetworkSecurityPolicy{
			AllowPromiscuous: boolp(false),
			MacChanges:       boolp(false),
			ForgedTransmits:  boolp(false),
		},
		NicTeaming: &types.HostNicTeamingPolicy{
			Policy:         "loadbalance_srcid",
			ReversePolicy:  boolp(true),
			NotifySwitches: boolp(true),
			RollingOrder:   boolp(false),
			FailureCriteria: &types.HostNicFailureCriteria{
				CheckSpeed:        "minimum",
				Speed:             10,
				CheckDuplex:       boolp(false),
				FullDuplex:        boolp(false),
				CheckErrorPercent: boolp(false),
				Percentage:        0,
				CheckBeacon:       boolp(false),
			},
			NicOrder: &types.HostNicOrderPolicy{ActiveNic: active, StandbyNic: standby},
		},
		OffloadPolicy: &types.HostNetOffloadCapabilities{
			CsumOffload: boolp(true), TcpSegmentation: boolp(true), ZeroCopyXmit: boolp(true),
		},
		ShapingPolicy: &types.HostNetworkTrafficShapingPolicy{Enabled: boolp(false)},
	}
}

// computePolicy applies port group overrides (set fields) on the switch policy.
func computePolicy(sw *types.HostNetworkPolicy, pg types.HostNetworkPolicy) types.HostNetworkPolicy {
	var out types.HostNetworkPolicy
	if sw != nil {
		out = *deepCopyPolicy(sw)
	}
	if s := pg.Security; s != nil {
		if out.Security == nil {
			out.Security = &types.HostNetworkSecurityPolicy{}
		}
		if s.AllowPromiscuous != nil {
			out.Security.AllowPromiscuous = s.AllowPromiscuous
		}
		if s.MacChanges != nil {
			out.Security.MacChanges = s.MacChanges
		}
		if s.ForgedTransmits != nil {
			out.Security.ForgedTransmits = s.ForgedTransmits
		}
	}
	if t := pg.NicTeaming; t != nil {
		if out.NicTeaming == nil {
			out.NicTeaming = &types.HostNicTeamingPolicy{}
		}
		o := out.NicTeaming
		if t.Policy != "" {
			o.Policy = t.Policy
		}
		if t.ReversePolicy != nil {
			o.ReversePolicy = t.ReversePolicy
		}
		if t.NotifySwitches != nil {
			o.NotifySwitches = t.NotifySwitches
		}
		if t.RollingOrder != nil {
			o.RollingOrder = t.RollingOrder
		}
		if t.NicOrder != nil {
			o.NicOrder = t.NicOrder
		}
		if fc := t.FailureCriteria; fc != nil {
			if o.FailureCriteria == nil {
				o.FailureCriteria = &types.HostNicFailureCriteria{}
			}
			if fc.CheckBeacon != nil {
				o.FailureCriteria.CheckBeacon = fc.CheckBeacon
			}
			if fc.CheckSpeed != "" {
				o.FailureCriteria.CheckSpeed = fc.CheckSpeed
				o.FailureCriteria.Speed = fc.Speed
			}
			if fc.CheckDuplex != nil {
				o.FailureCriteria.CheckDuplex = fc.CheckDuplex
				o.FailureCriteria.FullDuplex = fc.FullDuplex
			}
			if fc.CheckErrorPercent != nil {
				o.FailureCriteria.CheckErrorPercent = fc.CheckErrorPercent
				o.FailureCriteria.Percentage = fc.Percentage
			}
		}
	}
	if s := pg.ShapingPolicy; s != nil && s.Enabled != nil {
		c := *s
		out.ShapingPolicy = &c
	}
	if o := pg.OffloadPolicy; o != nil {
		if out.OffloadPolicy == nil {
			out.OffloadPolicy = &types.HostNetOffloadCapabilities{}
		}
		if o.CsumOffload != nil {
			out.OffloadPolicy.CsumOffload = o.CsumOffload
		}
		if o.TcpSegmentation != nil {
			out.OffloadPolicy.TcpSegmentation = o.TcpSegmentation
		}
		if o.ZeroCopyXmit != nil {
			out.OffloadPolicy.ZeroCopyXmit = o.ZeroCopyXmit
		}
	}
	return out
}

func deepCopyPolicy(p *types.HostNetworkPolicy) *types.HostNetworkPolicy {
	out := *p
	if p.Security != nil {
		s := *p.Security
		out.Security = &s
	}
	if p.NicTeaming != nil {
		t := *p.NicTeaming
		if t.FailureCriteria != nil {
			fc := *t.FailureCriteria
			t.FailureCriteria = &fc
		}
		if t.NicOrder != nil {
			no := types.HostNicOrderPolicy{
				ActiveNic:  append([]string(nil), t.NicOrder.ActiveNic...),
				StandbyNic: append([]string(nil), t.NicOrder.StandbyNic...),
			}
			t.NicOrder = &no
		}
		out.NicTeaming = &t
	}
	if p.ShapingPolicy != nil {
		s := *p.ShapingPolicy
		out.ShapingPolicy = &s
	}
	if p.OffloadPolicy != nil {
		o := *p.OffloadPolicy
		out.OffloadPolicy = &o
	}
	return &out
}

// emptyPortgroupPolicy is what ESXi reports as spec.policy of a port group
// without overrides.
func emptyPortgroupPolicy() types.HostNetworkPolicy {
	return types.HostNetworkPolicy{
		Security:      &types.HostNetworkSecurityPolicy{},
		NicTeaming:    &types.HostNicTeamingPolicy{FailureCriteria: &types.HostNicFailureCriteria{}},
		OffloadPolicy: &types.HostNetOffloadCapabilities{},
		ShapingPolicy: &types.HostNetworkTrafficShapingPolicy{},
	}
}

// ---------- sync ----------

func (hs *hostState) sync() {
	ni := hs.net()
	swByName := map[string]*types.HostVirtualSwitch{}
	for i := range ni.Vswitch {
		sw := &ni.Vswitch[i]
		swByName[sw.Name] = sw
		sw.Key = keyVswitch + sw.Name
		sw.Portgroup = nil
		sw.Pnic = nil
		if b, ok := sw.Spec.Bridge.(*types.HostVirtualSwitchBondBridge); ok {
			for _, d := range b.NicDevice {
				sw.Pnic = append(sw.Pnic, keyPnic+d)
			}
		}
		if sw.Spec.NumPorts == 0 {
			sw.Spec.NumPorts = 128
		}
		sw.NumPorts = sw.Spec.NumPorts
		sw.Mtu = sw.Spec.Mtu
		if sw.Mtu == 0 {
			sw.Mtu = 1500
		}
	}
	vnicsByPG := map[string][]types.HostVirtualNic{}
	for _, v := range ni.Vnic {
		if v.Portgroup != "" {
			vnicsByPG[v.Portgroup] = append(vnicsByPG[v.Portgroup], v)
		}
	}
	for i := range ni.Portgroup {
		pg := &ni.Portgroup[i]
		pg.Key = keyPortgroup + pg.Spec.Name
		sw := swByName[pg.Spec.VswitchName]
		pg.Port = nil
		for _, v := range vnicsByPG[pg.Spec.Name] {
			pg.Port = append(pg.Port, types.HostPortGroupPort{Key: v.Port, Mac: []string{v.Spec.Mac}, Type: "host"})
		}
		if sw == nil {
			continue
		}
		pg.Vswitch = sw.Key
		sw.Portgroup = append(sw.Portgroup, pg.Key)
		pg.ComputedPolicy = computePolicy(sw.Spec.Policy, pg.Spec.Policy)
	}
	for i := range ni.Vswitch {
		sw := &ni.Vswitch[i]
		used := 0
		for _, pg := range ni.Portgroup {
			if pg.Spec.VswitchName == sw.Name {
				used += len(pg.Port)
			}
		}
		sw.NumPortsAvailable = sw.NumPorts - int32(used) - 6
		if sw.NumPortsAvailable < 0 {
			sw.NumPortsAvailable = 0
		}
	}
	if hs.vnm != nil {
		hs.vnm.syncLocked()
	}
	if hs.ns != nil {
		hs.ns.NetworkConfig = networkConfigOf(ni)
	}
	hs.notify()
}

// ---------- lookups ----------

func (hs *hostState) vswitch(name string) (int, *types.HostVirtualSwitch) {
	ni := hs.net()
	for i := range ni.Vswitch {
		if ni.Vswitch[i].Name == name {
			return i, &ni.Vswitch[i]
		}
	}
	return -1, nil
}

func (hs *hostState) portgroup(name string) (int, *types.HostPortGroup) {
	ni := hs.net()
	for i := range ni.Portgroup {
		if ni.Portgroup[i].Spec.Name == name {
			return i, &ni.Portgroup[i]
		}
	}
	return -1, nil
}

func (hs *hostState) vnic(device string) (int, *types.HostVirtualNic) {
	ni := hs.net()
	for i := range ni.Vnic {
		if ni.Vnic[i].Device == device {
			return i, &ni.Vnic[i]
		}
	}
	return -1, nil
}

func (hs *hostState) hasPnic(device string) bool {
	for _, p := range hs.net().Pnic {
		if p.Device == device {
			return true
		}
	}
	return false
}

// pnicUser returns the switch using a pNIC ("" if free), ignoring exceptSwitch.
func (hs *hostState) pnicUser(device, exceptSwitch string) string {
	ni := hs.net()
	for _, sw := range ni.Vswitch {
		if sw.Name == exceptSwitch {
			continue
		}
		if b, ok := sw.Spec.Bridge.(*types.HostVirtualSwitchBondBridge); ok {
			for _, d := range b.NicDevice {
				if d == device {
					return sw.Name
				}
			}
		}
	}
	for _, ps := range ni.ProxySwitch {
		for _, k := range ps.Pnic {
			if k == keyPnic+device {
				return ps.DvsName
			}
		}
	}
	return ""
}

// ---------- faults ----------

func fNotFound(msg string) *soap.Fault { return simulator.Fault(msg, &types.NotFound{}) }

func fAlreadyExists(name, msg string) *soap.Fault {
	return simulator.Fault(msg, &types.AlreadyExists{Name: name})
}

func fInvalidArg(prop, msg string) *soap.Fault {
	return simulator.Fault(msg, &types.InvalidArgument{InvalidProperty: prop})
}

func fInUse(kind, name, msg string) *soap.Fault {
	return simulator.Fault(msg, &types.ResourceInUse{Type: kind, Name: name})
}

// ---------- HostNetworkSystem wrapper ----------

type hostNetSys struct {
	simulator.HostNetworkSystem
	hs *hostState
}

func (s *hostNetSys) validateSwitchSpec(name string, spec *types.HostVirtualSwitchSpec) *soap.Fault {
	if spec == nil {
		return nil
	}
	if spec.NumPorts < 0 || spec.NumPorts > 4088 {
		return fInvalidArg("spec.numPorts", fmt.Sprintf("numPorts %d out of range", spec.NumPorts))
	}
	if spec.Mtu != 0 && (spec.Mtu < 1280 || spec.Mtu > 9000) {
		return fInvalidArg("spec.mtu", fmt.Sprintf("MTU %d out of range 1280-9000", spec.Mtu))
	}
	if b, ok := spec.Bridge.(*types.HostVirtualSwitchBondBridge); ok {
		for _, d := range b.NicDevice {
			if !s.hs.hasPnic(d) {
				return fNotFound(fmt.Sprintf("physical NIC %s not found", d))
			}
			if u := s.hs.pnicUser(d, name); u != "" {
				return fInUse("PhysicalNic", d, fmt.Sprintf("physical NIC %s is already used by %s", d, u))
			}
		}
	}
	return nil
}

func (s *hostNetSys) AddVirtualSwitch(ctx *simulator.Context, req *types.AddVirtualSwitch) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.AddVirtualSwitchBody{}
	if req.VswitchName == "" || len(req.VswitchName) > 32 {
		body.Fault_ = fInvalidArg("vswitchName", "invalid virtual switch name")
		return body
	}
	if _, sw := hs.vswitch(req.VswitchName); sw != nil {
		body.Fault_ = fAlreadyExists(req.VswitchName, "virtual switch "+req.VswitchName+" already exists")
		return body
	}
	if f := s.validateSwitchSpec(req.VswitchName, req.Spec); f != nil {
		body.Fault_ = f
		return body
	}
	sw := types.HostVirtualSwitch{Name: req.VswitchName}
	if req.Spec != nil {
		sw.Spec = *req.Spec
	}
	var active []string
	if b, ok := sw.Spec.Bridge.(*types.HostVirtualSwitchBondBridge); ok {
		active = append(active, b.NicDevice...)
	}
	// ESXi fills what the spec leaves unset with its defaults (a partial policy still
	// gives a switch a complete effective policy).
	policy := defaultSwitchPolicy(active, nil)
	if sw.Spec.Policy != nil {
		merged := computePolicy(policy, *sw.Spec.Policy)
		policy = &merged
	}
	sw.Spec.Policy = policy
	hs.net().Vswitch = append(hs.net().Vswitch, sw)
	hs.sync()
	body.Res = &types.AddVirtualSwitchResponse{}
	return body
}

func (s *hostNetSys) UpdateVirtualSwitch(ctx *simulator.Context, req *types.UpdateVirtualSwitch) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.UpdateVirtualSwitchBody{}
	_, sw := hs.vswitch(req.VswitchName)
	if sw == nil {
		body.Fault_ = fNotFound("virtual switch " + req.VswitchName + " not found")
		return body
	}
	if f := s.validateSwitchSpec(req.VswitchName, &req.Spec); f != nil {
		body.Fault_ = f
		return body
	}
	spec := req.Spec
	if spec.Policy == nil {
		spec.Policy = sw.Spec.Policy
	}
	sw.Spec = spec
	hs.sync()
	body.Res = &types.UpdateVirtualSwitchResponse{}
	return body
}

func (s *hostNetSys) RemoveVirtualSwitch(ctx *simulator.Context, req *types.RemoveVirtualSwitch) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.RemoveVirtualSwitchBody{}
	i, sw := hs.vswitch(req.VswitchName)
	if sw == nil {
		body.Fault_ = fNotFound("virtual switch " + req.VswitchName + " not found")
		return body
	}
	ni := hs.net()
	var keep []types.HostPortGroup
	for _, pg := range ni.Portgroup {
		if pg.Spec.VswitchName != sw.Name {
			keep = append(keep, pg)
			continue
		}
		for _, v := range ni.Vnic {
			if v.Portgroup == pg.Spec.Name {
				body.Fault_ = fInUse("HostVirtualNic", v.Device, fmt.Sprintf("virtual switch %s is in use by %s", sw.Name, v.Device))
				return body
			}
		}
	}
	for _, pg := range ni.Portgroup {
		if pg.Spec.VswitchName == sw.Name {
			hs.detachNetwork(pg.Spec.Name)
		}
	}
	ni.Portgroup = keep
	ni.Vswitch = append(ni.Vswitch[:i], ni.Vswitch[i+1:]...)
	hs.sync()
	body.Res = &types.RemoveVirtualSwitchResponse{}
	return body
}

func validVlan(id int32) bool { return id >= 0 && id <= 4095 }

func (s *hostNetSys) AddPortGroup(ctx *simulator.Context, req *types.AddPortGroup) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.AddPortGroupBody{}
	spec := req.Portgrp
	if spec.Name == "" {
		body.Fault_ = fInvalidArg("portgrp.name", "port group name must not be empty")
		return body
	}
	if _, sw := hs.vswitch(spec.VswitchName); sw == nil {
		body.Fault_ = fNotFound("virtual switch " + spec.VswitchName + " not found")
		return body
	}
	if _, pg := hs.portgroup(spec.Name); pg != nil {
		body.Fault_ = fAlreadyExists(spec.Name, "port group "+spec.Name+" already exists")
		return body
	}
	if !validVlan(spec.VlanId) {
		body.Fault_ = fInvalidArg("portgrp.vlanId", fmt.Sprintf("VLAN ID %d out of range 0-4095", spec.VlanId))
		return body
	}
	if f := hs.attachNetwork(ctx, s, spec.Name); f != nil {
		body.Fault_ = f
		return body
	}
	hs.net().Portgroup = append(hs.net().Portgroup, types.HostPortGroup{Spec: spec})
	hs.sync()
	body.Res = &types.AddPortGroupResponse{}
	return body
}

func (s *hostNetSys) UpdatePortGroup(ctx *simulator.Context, req *types.UpdatePortGroup) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.UpdatePortGroupBody{}
	_, pg := hs.portgroup(req.PgName)
	if pg == nil {
		body.Fault_ = fNotFound("port group " + req.PgName + " not found")
		return body
	}
	spec := req.Portgrp
	if spec.Name == "" {
		spec.Name = req.PgName
	}
	if spec.VswitchName == "" {
		spec.VswitchName = pg.Spec.VswitchName
	}
	if spec.Name != req.PgName {
		if _, other := hs.portgroup(spec.Name); other != nil {
			body.Fault_ = fAlreadyExists(spec.Name, "port group "+spec.Name+" already exists")
			return body
		}
	}
	if _, sw := hs.vswitch(spec.VswitchName); sw == nil {
		body.Fault_ = fNotFound("virtual switch " + spec.VswitchName + " not found")
		return body
	}
	if !validVlan(spec.VlanId) {
		body.Fault_ = fInvalidArg("portgrp.vlanId", fmt.Sprintf("VLAN ID %d out of range 0-4095", spec.VlanId))
		return body
	}
	if spec.Name != req.PgName {
		if hs.hasNetwork(req.PgName) {
			hs.detachNetwork(req.PgName)
			if f := hs.attachNetwork(ctx, s, spec.Name); f != nil {
				body.Fault_ = f
				return body
			}
		}
		ni := hs.net()
		for i := range ni.Vnic {
			if ni.Vnic[i].Portgroup == req.PgName {
				ni.Vnic[i].Portgroup = spec.Name
				ni.Vnic[i].Spec.Portgroup = spec.Name
			}
		}
	}
	_, pg = hs.portgroup(req.PgName)
	pg.Spec = spec
	hs.sync()
	body.Res = &types.UpdatePortGroupResponse{}
	return body
}

func (s *hostNetSys) RemovePortGroup(ctx *simulator.Context, req *types.RemovePortGroup) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.RemovePortGroupBody{}
	i, pg := hs.portgroup(req.PgName)
	if pg == nil {
		body.Fault_ = fNotFound("port group " + req.PgName + " not found")
		return body
	}
	ni := hs.net()
	for _, v := range ni.Vnic {
		if v.Portgroup == req.PgName {
			body.Fault_ = fInUse("HostVirtualNic", v.Device, fmt.Sprintf("port group %s is in use by %s", req.PgName, v.Device))
			return body
		}
	}
	hs.detachNetwork(req.PgName)
	ni.Portgroup = append(ni.Portgroup[:i], ni.Portgroup[i+1:]...)
	hs.sync()
	body.Res = &types.RemovePortGroupResponse{}
	return body
}

// ---------- Network objects for standard port groups ----------
// Same-named standard port groups on different hosts share one Network.

func (hs *hostState) datacenter() *simulator.Datacenter { return entityDatacenter(hs.host) }

func entityDatacenter(e mo.Entity) *simulator.Datacenter {
	for {
		p := e.Entity().Parent
		if p == nil {
			return nil
		}
		obj := simulator.Map.Get(*p)
		if dc, ok := obj.(*simulator.Datacenter); ok {
			return dc
		}
		ent, ok := obj.(mo.Entity)
		if !ok {
			return nil
		}
		e = ent
	}
}

func (hs *hostState) findNetwork(name string) *mo.Network {
	dc := hs.datacenter()
	if dc == nil {
		return nil
	}
	// The network folder is where vcsim itself looks for a name clash (DuplicateName), so
	// look there too: the datacenter's network list has been seen to lag behind it.
	refs := dc.Network
	if f, ok := simulator.Map.Get(dc.NetworkFolder).(*simulator.Folder); ok {
		refs = append(append([]types.ManagedObjectReference{}, f.ChildEntity...), dc.Network...)
	}
	for _, ref := range refs {
		if ref.Type != "Network" {
			continue
		}
		if n, ok := simulator.Map.Get(ref).(*mo.Network); ok && n.Name == name {
			return n
		}
	}
	return nil
}

func (hs *hostState) hasNetwork(name string) bool {
	n := hs.findNetwork(name)
	return n != nil && simulator.FindReference(n.Host, hs.host.Self) != nil
}

// networksMu serialises the find-or-create of the Network objects that same-named standard
// port groups on different hosts share (concurrent AddPortGroup calls on several hosts would
// otherwise both create it, and the second would fail with DuplicateName).
var networksMu sync.Mutex

func (hs *hostState) attachNetwork(ctx *simulator.Context, s *hostNetSys, name string) *soap.Fault {
	networksMu.Lock()
	defer networksMu.Unlock()
	n := hs.findNetwork(name)
	if n == nil {
		// let vcsim create the Network object in the datacenter's network folder
		tmp := *s.HostNetworkSystem.NetworkInfo
		tmp.Vswitch = []types.HostVirtualSwitch{{Name: "tmp"}}
		tmp.Portgroup = nil
		orig := s.HostNetworkSystem.NetworkInfo
		s.HostNetworkSystem.NetworkInfo = &tmp
		res := s.HostNetworkSystem.AddPortGroup(ctx, &types.AddPortGroup{Portgrp: types.HostPortGroupSpec{Name: name, VswitchName: "tmp"}})
		s.HostNetworkSystem.NetworkInfo = orig
		if f := res.Fault(); f != nil {
			return f
		}
		n = hs.findNetwork(name)
		if n == nil {
			return nil
		}
	}
	simulator.Map.AddReference(n, &n.Host, hs.host.Self)
	simulator.Map.AddReference(hs.host, &hs.host.Network, n.Self)
	return nil
}

func (hs *hostState) detachNetwork(name string) {
	networksMu.Lock()
	defer networksMu.Unlock()
	n := hs.findNetwork(name)
	if n == nil {
		return
	}
	simulator.Map.RemoveReference(n, &n.Host, hs.host.Self)
	simulator.Map.RemoveReference(hs.host, &hs.host.Network, n.Self)
	if len(n.Host) == 0 && len(n.Vm) == 0 {
		dc := hs.datacenter()
		if f, ok := simulator.Map.Get(dc.NetworkFolder).(*simulator.Folder); ok {
			simulator.Map.RemoveReference(f, &f.ChildEntity, n.Self)
		}
		simulator.Map.RemoveReference(dc, &dc.Network, n.Self)
		simulator.Map.Remove(n.Self)
	}
}

// ---------- VMkernel adapters ----------

var netStacks = map[string]bool{"defaultTcpipStack": true, "vmotion": true, "vSphereProvisioning": true}

func validateIP(ip *types.HostIpConfig) *soap.Fault {
	if ip == nil || ip.Dhcp {
		return nil
	}
	if net.ParseIP(ip.IpAddress).To4() == nil {
		return fInvalidArg("nic.ip.ipAddress", fmt.Sprintf("invalid IP address %q", ip.IpAddress))
	}
	m := net.ParseIP(ip.SubnetMask).To4()
	if m == nil {
		return fInvalidArg("nic.ip.subnetMask", fmt.Sprintf("invalid subnet mask %q", ip.SubnetMask))
	}
	if ones, bits := net.IPMask(m).Size(); bits == 0 || ones == 0 {
		return fInvalidArg("nic.ip.subnetMask", fmt.Sprintf("invalid subnet mask %q", ip.SubnetMask))
	}
	return nil
}

func validMAC(mac string) bool {
	hw, err := net.ParseMAC(mac)
	return err == nil && len(hw) == 6
}

// dvPortTarget checks a DV port connection for this host.
func (hs *hostState) dvPortTarget(c *types.DistributedVirtualSwitchPortConnection) *soap.Fault {
	var dvs *simulator.DistributedVirtualSwitch
	for _, d := range allDVS() {
		if d.Uuid == c.SwitchUuid {
			dvs = d
		}
	}
	if dvs == nil {
		return fNotFound("distributed switch " + c.SwitchUuid + " not found")
	}
	if simulator.FindReference(dvs.Summary.HostMember, hs.host.Self) == nil {
		return fInvalidArg("nic.distributedVirtualPort", fmt.Sprintf("host %s is not a member of %s", hs.host.Name, dvs.Name))
	}
	if c.PortgroupKey == "" {
		return fInvalidArg("nic.distributedVirtualPort.portgroupKey", "portgroupKey is required")
	}
	for _, ref := range dvs.Portgroup {
		if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok && pg.Key == c.PortgroupKey {
			return nil
		}
	}
	return fNotFound(fmt.Sprintf("port group %s not found on %s", c.PortgroupKey, dvs.Name))
}

func (hs *hostState) nextVmk() string {
	for n := 0; ; n++ {
		d := fmt.Sprintf("vmk%d", n)
		if _, v := hs.vnic(d); v == nil {
			return d
		}
	}
}

func (hs *hostState) macInUse(mac, except string) bool {
	for _, v := range hs.net().Vnic {
		if v.Device != except && strings.EqualFold(v.Spec.Mac, mac) {
			return true
		}
	}
	return false
}

func (s *hostNetSys) AddVirtualNic(ctx *simulator.Context, req *types.AddVirtualNic) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.AddVirtualNicBody{}
	dev, f := hs.addVnic(req.Portgroup, req.Nic, "")
	if f != nil {
		body.Fault_ = f
		return body
	}
	body.Res = &types.AddVirtualNicResponse{Returnval: dev}
	return body
}

// addVnic creates a VMkernel adapter on port group pg (or the DV port of
// spec) named dev ("" = the next free vmkN). The caller holds hs.mu. Both
// HostNetworkSystem.AddVirtualNic and esxcli `network ip interface add` come
// here, so an adapter made either way is the same.
func (hs *hostState) addVnic(pg string, spec types.HostVirtualNicSpec, dev string) (string, *soap.Fault) {
	if dev == "" {
		dev = hs.nextVmk()
	} else if _, v := hs.vnic(dev); v != nil {
		return "", fAlreadyExists(dev, "virtual NIC "+dev+" already exists")
	}
	if spec.DistributedVirtualPort != nil {
		if pg != "" {
			return "", fInvalidArg("portgroup", "portgroup must be empty for a distributed port connection")
		}
		if f := hs.dvPortTarget(spec.DistributedVirtualPort); f != nil {
			return "", f
		}
		c := *spec.DistributedVirtualPort
		hs.bindVmkPort(&c, dev) // dvports.go
		spec.DistributedVirtualPort = &c
	} else {
		if pg == "" {
			return "", fInvalidArg("portgroup", "portgroup or distributedVirtualPort is required")
		}
		if _, p := hs.portgroup(pg); p == nil {
			return "", fNotFound("port group " + pg + " not found")
		}
		spec.Portgroup = pg
	}
	if spec.Ip == nil {
		spec.Ip = &types.HostIpConfig{Dhcp: true}
	}
	if f := validateIP(spec.Ip); f != nil {
		return "", f
	}
	if spec.Mtu == 0 {
		spec.Mtu = 1500
	}
	if spec.Mtu < 1280 || spec.Mtu > 9000 {
		return "", fInvalidArg("nic.mtu", fmt.Sprintf("MTU %d out of range 1280-9000", spec.Mtu))
	}
	if spec.NetStackInstanceKey == "" {
		spec.NetStackInstanceKey = "defaultTcpipStack"
	}
	if !netStacks[spec.NetStackInstanceKey] {
		return "", fNotFound("TCP/IP stack " + spec.NetStackInstanceKey + " not found")
	}
	if spec.Mac == "" {
		spec.Mac = labMAC(0x60, hashRef(hs.host.Self.Value), len(hs.net().Vnic)+16)
	} else if !validMAC(spec.Mac) {
		return "", fInvalidArg("nic.mac", fmt.Sprintf("invalid MAC address %q", spec.Mac))
	} else if hs.macInUse(spec.Mac, "") {
		return "", fAlreadyExists(spec.Mac, "MAC address "+spec.Mac+" is already in use")
	}
	if spec.TsoEnabled == nil {
		spec.TsoEnabled = boolp(true)
	}
	v := types.HostVirtualNic{Device: dev, Key: keyVnic + dev, Portgroup: spec.Portgroup, Spec: spec}
	if spec.DistributedVirtualPort == nil {
		v.Port = hs.nextPortKey()
	}
	hs.net().Vnic = append(hs.net().Vnic, v)
	hs.sync()
	return dev, nil
}

func (s *hostNetSys) UpdateVirtualNic(ctx *simulator.Context, req *types.UpdateVirtualNic) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.UpdateVirtualNicBody{}
	if f := hs.updateVnic(req.Device, req.Nic); f != nil {
		body.Fault_ = f
		return body
	}
	body.Res = &types.UpdateVirtualNicResponse{}
	return body
}

// updateVnic applies the set fields of nic to VMkernel adapter device (the
// caller holds hs.mu); HostNetworkSystem.UpdateVirtualNic and esxcli
// `network ip interface ipv4 set` both come here.
func (hs *hostState) updateVnic(device string, nic types.HostVirtualNicSpec) *soap.Fault {
	_, v := hs.vnic(device)
	if v == nil {
		return fNotFound("virtual NIC " + device + " not found")
	}
	spec := nic
	cur := v.Spec
	if spec.Ip != nil {
		if f := validateIP(spec.Ip); f != nil {
			return f
		}
		cur.Ip = spec.Ip
	}
	if spec.Mac != "" {
		if !validMAC(spec.Mac) {
			return fInvalidArg("nic.mac", fmt.Sprintf("invalid MAC address %q", spec.Mac))
		}
		if hs.macInUse(spec.Mac, device) {
			return fAlreadyExists(spec.Mac, "MAC address "+spec.Mac+" is already in use")
		}
		cur.Mac = spec.Mac
	}
	if spec.Mtu != 0 {
		if spec.Mtu < 1280 || spec.Mtu > 9000 {
			return fInvalidArg("nic.mtu", fmt.Sprintf("MTU %d out of range 1280-9000", spec.Mtu))
		}
		cur.Mtu = spec.Mtu
	}
	if spec.NetStackInstanceKey != "" && spec.NetStackInstanceKey != cur.NetStackInstanceKey {
		return fInvalidArg("nic.netStackInstanceKey", "the TCP/IP stack of a VMkernel adapter cannot be changed")
	}
	if spec.TsoEnabled != nil {
		cur.TsoEnabled = spec.TsoEnabled
	}
	if spec.IpRouteSpec != nil {
		if cfg, ok := spec.IpRouteSpec.IpRouteConfig.(*types.HostIpRouteConfig); ok && cfg.DefaultGateway != "" &&
			net.ParseIP(cfg.DefaultGateway).To4() == nil {
			return fInvalidArg("nic.ipRouteSpec.ipRouteConfig.defaultGateway", fmt.Sprintf("invalid gateway %q", cfg.DefaultGateway))
		}
		cur.IpRouteSpec = spec.IpRouteSpec
	}
	port := v.Port
	pgName := v.Portgroup
	if spec.DistributedVirtualPort != nil {
		if f := hs.dvPortTarget(spec.DistributedVirtualPort); f != nil {
			return f
		}
		c := *spec.DistributedVirtualPort
		hs.bindVmkPort(&c, v.Device) // dvports.go
		cur.DistributedVirtualPort = &c
		cur.Portgroup = ""
		pgName = ""
		port = ""
	} else if spec.Portgroup != "" && spec.Portgroup != v.Portgroup {
		if _, pg := hs.portgroup(spec.Portgroup); pg == nil {
			return fNotFound("port group " + spec.Portgroup + " not found")
		}
		cur.Portgroup = spec.Portgroup
		cur.DistributedVirtualPort = nil
		pgName = spec.Portgroup
		if port == "" {
			port = hs.nextPortKey()
		}
	}
	v.Spec = cur
	v.Portgroup = pgName
	v.Port = port
	hs.sync()
	return nil
}

func (s *hostNetSys) RemoveVirtualNic(ctx *simulator.Context, req *types.RemoveVirtualNic) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	body := &methods.RemoveVirtualNicBody{}
	i, v := hs.vnic(req.Device)
	if v == nil {
		body.Fault_ = fNotFound("virtual NIC " + req.Device + " not found")
		return body
	}
	ni := hs.net()
	ni.Vnic = append(ni.Vnic[:i], ni.Vnic[i+1:]...)
	hs.sync()
	body.Res = &types.RemoveVirtualNicResponse{}
	return body
}

// QueryNetworkHint: one hint per pNIC (with LLDP neighbour data when known).
func (s *hostNetSys) QueryNetworkHint(req *types.QueryNetworkHint) soap.HasFault {
	hs := s.hs
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var info []types.PhysicalNicHintInfo
	for _, p := range hs.net().Pnic {
		if len(req.Device) > 0 && !contains(req.Device, p.Device) {
			continue
		}
		if linkDown(p) { // no frames, so no CDP/LLDP neighbour (see links.go)
			info = append(info, types.PhysicalNicHintInfo{Device: p.Device})
			continue
		}
		info = append(info, pnicHint(hs.host, p))
	}
	return &methods.QueryNetworkHintBody{Res: &types.QueryNetworkHintResponse{Returnval: info}}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
