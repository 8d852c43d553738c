package main

// Distributed ports like vCenter. Stock vcsim listed every port group among
// the ports, left portgroupKey empty, ignored the criteria, numbered every
// port group's ports from 0 (keys repeated within a switch) and never bound a
// VM NIC to a port. Here:
//   - port keys are unique per switch: uplink ports and port group ports draw
//     from one counter per switch (allocPortKeys);
//   - FetchDVPorts returns the ports of the switch's port groups (uplink ports
//     named after the switch's uplink names) with portgroupKey, connectee,
//     proxy host and runtime state, filtered by DistributedVirtualSwitchPortCriteria
//     (portgroupKey + inside, portKey, uplinkPort, connected, active, host);
//   - a VM NIC or VMkernel adapter connecting to a port group gets a free port
//     of it (static binding); a full port group expands when autoExpand is on,
//     an ephemeral one gets a new port.

import (
	"strconv"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	factory := func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &dvsAlias{newAliasBase(lab, orig)}
	}
	for _, t := range []string{"DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch"} {
		registerOverride(t, factory, "FetchDVPorts", "FetchDVPortKeys")
	}
	registerSetup(32, "vm nic dv ports", func(lab *Lab) error {
		b := newPortBinder(nil)
		for _, e := range simulator.Map.All("VirtualMachine") {
			vm := e.(*simulator.VirtualMachine)
			labelNICs(vm) // vm_reconfig.go
			bindVMPorts(vm, b)
		}
		return nil
	})
}

func stateOfDVS(d *simulator.DistributedVirtualSwitch) *dvsState {
	st := dvsStates[d.Self.Value]
	if st == nil {
		st = &dvsState{}
		dvsStates[d.Self.Value] = st
	}
	return st
}

// allocPortKeys returns n new port keys of switch d.
func allocPortKeys(d *simulator.DistributedVirtualSwitch, n int) []string {
	st := stateOfDVS(d)
	keys := make([]string, 0, n)
	for i := 0; i < n; i++ {
		keys = append(keys, strconv.Itoa(st.uplinkSeq))
		st.uplinkSeq++
	}
	return keys
}

// portUse is what is connected to a port.
type portUse struct {
	entity types.ManagedObjectReference
	nicKey string
	kind   string // vmVnic, hostVmknic, pnic
	host   *types.ManagedObjectReference
	active bool
}

func dvPortgroupByKey(d *simulator.DistributedVirtualSwitch, key string) *simulator.DistributedVirtualPortgroup {
	for _, ref := range d.Portgroup {
		if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok && pg.Key == key {
			return pg
		}
	}
	return nil
}

// portUsers maps the port keys of switch d to what uses them. locked is a
// host whose lock the caller already holds (nil: none).
func portUsers(d *simulator.DistributedVirtualSwitch, locked *hostState) map[string]portUse {
	out := map[string]portUse{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		if vm.Config == nil {
			continue
		}
		for _, dev := range vm.Config.Hardware.Device {
			nic, ok := dev.(types.BaseVirtualEthernetCard)
			if !ok {
				continue
			}
			card := nic.GetVirtualEthernetCard()
			b, ok := card.Backing.(*types.VirtualEthernetCardDistributedVirtualPortBackingInfo)
			if !ok || b.Port.SwitchUuid != d.Uuid || b.Port.PortKey == "" {
				continue
			}
			connected := card.Connectable != nil && card.Connectable.Connected
			out[b.Port.PortKey] = portUse{entity: vm.Self, nicKey: strconv.Itoa(int(card.Key)), kind: "vmVnic",
				host: vm.Runtime.Host, active: connected && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn}
		}
	}
	for _, m := range dvsConfig(d).Host {
		if m.Config.Host == nil {
			continue
		}
		host := *m.Config.Host
		hs := stateOf(host)
		if hs != nil && hs != locked {
			hs.mu.Lock()
		}
		if b, ok := m.Config.Backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking); ok {
			for _, p := range b.PnicSpec {
				// an uplink port is up when its pNIC's link is (links.go): a LAG port too
				out[p.UplinkPortKey] = portUse{entity: host, nicKey: p.PnicDevice, kind: "pnic", host: &host, active: hs == nil || pnicLinkUp(hs, p.PnicDevice)}
			}
		}
		if hs == nil {
			continue
		}
		for _, v := range hs.net().Vnic {
			if c := v.Spec.DistributedVirtualPort; c != nil && c.SwitchUuid == d.Uuid && c.PortKey != "" {
				out[c.PortKey] = portUse{entity: host, nicKey: v.Device, kind: "hostVmknic", host: &host, active: true}
			}
		}
		if hs != locked {
			hs.mu.Unlock()
		}
	}
	return out
}

// pnicLinkUp tells whether a host's pNIC has link; the caller holds hs.mu.
func pnicLinkUp(hs *hostState, device string) bool {
	for _, p := range hs.net().Pnic {
		if p.Device == device {
			return !linkDown(p)
		}
	}
	return false
}

// autoExpandStep is how many ports a full auto-expanding port group grows by.
const autoExpandStep = 8

// freeHint remembers per port group where the last free port was found, so
// that binding thousands of NICs (lab setup) does not rescan taken ports.
var freeHint = map[string]int{}

// freePort picks a port of pg that taken does not hold, expanding the port
// group when it is ephemeral (one port) or auto-expands; "" when it is full.
func freePort(d *simulator.DistributedVirtualSwitch, pg *simulator.DistributedVirtualPortgroup, taken func(string) bool) string {
	if pg.Config.Type != string(types.DistributedVirtualPortgroupPortgroupTypeEphemeral) {
		n := len(pg.PortKeys)
		start := freeHint[pg.Key]
		for i := 0; i < n; i++ {
			j := (start + i) % n
			if !taken(pg.PortKeys[j]) {
				freeHint[pg.Key] = j + 1
				return pg.PortKeys[j]
			}
		}
		if pg.Config.AutoExpand == nil || !*pg.Config.AutoExpand {
			return ""
		}
		freeHint[pg.Key] = n + 1
		pg.PortKeys = append(pg.PortKeys, allocPortKeys(d, autoExpandStep)...)
		pg.Config.NumPorts = int32(len(pg.PortKeys))
		return pg.PortKeys[n]
	}
	k := allocPortKeys(d, 1)[0]
	pg.PortKeys = append(pg.PortKeys, k)
	pg.Config.NumPorts = int32(len(pg.PortKeys))
	return k
}

// portBinder binds connections to ports. Lab setup binds thousands of NICs
// with one binder (switches and port users read once); a call binds with a
// fresh one.
type portBinder struct {
	switches map[string]*simulator.DistributedVirtualSwitch // by uuid
	users    map[string]map[string]portUse                  // switch uuid -> port key -> user
	locked   *hostState
}

func newPortBinder(locked *hostState) *portBinder {
	b := &portBinder{switches: map[string]*simulator.DistributedVirtualSwitch{}, users: map[string]map[string]portUse{}, locked: locked}
	for _, d := range allDVS() {
		b.switches[d.Uuid] = d
	}
	return b
}

// bind gives connection c a port of its port group unless it holds a valid
// one of its own already; self is what connects.
func (b *portBinder) bind(c *types.DistributedVirtualSwitchPortConnection, self portUse) {
	d := b.switches[c.SwitchUuid]
	if d == nil {
		return
	}
	pg := dvPortgroupByKey(d, c.PortgroupKey)
	if pg == nil {
		return
	}
	users := b.users[d.Uuid]
	if users == nil {
		users = portUsers(d, b.locked)
		b.users[d.Uuid] = users
	}
	if c.PortKey != "" && contains(pg.PortKeys, c.PortKey) {
		if u, ok := users[c.PortKey]; !ok || (u.entity == self.entity && u.nicKey == self.nicKey) {
			users[c.PortKey] = self
			return
		}
	}
	k := freePort(d, pg, func(k string) bool { _, ok := users[k]; return ok })
	c.PortKey = k
	if k != "" {
		users[k] = self
	}
}

// bindVMPorts gives every DV-port NIC of vm a port of its own.
func bindVMPorts(vm *simulator.VirtualMachine, b *portBinder) {
	if vm.Config == nil {
		return
	}
	changed := false
	for i, dev := range vm.Config.Hardware.Device {
		nic, ok := dev.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		back, ok := nic.GetVirtualEthernetCard().Backing.(*types.VirtualEthernetCardDistributedVirtualPortBackingInfo)
		if !ok {
			continue
		}
		c := back.Port
		b.bind(&c, portUse{entity: vm.Self, nicKey: strconv.Itoa(int(nic.GetVirtualEthernetCard().Key))})
		if c.PortKey == back.Port.PortKey {
			continue
		}
		cp := copyDevice(dev)
		card := cp.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		nb := *back
		nb.Port = c
		card.Backing = &nb
		vm.Config.Hardware.Device[i] = cp
		changed = true
	}
	if changed {
		simulator.Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: vm.Config.Hardware.Device}})
	}
}

// switchPorts lists every port of switch d.
func switchPorts(d *simulator.DistributedVirtualSwitch) []types.DistributedVirtualPort {
	users := portUsers(d, nil)
	uplinkName := map[string]string{}
	uplinkHost := map[string]types.ManagedObjectReference{} // an uplink port belongs to its host
	for _, m := range dvsConfig(d).Host {
		if m.Config.Host == nil {
			continue
		}
		for _, kv := range hostUplinkPorts(d, m) { // standalone and LAG ports (lagports.go)
			uplinkName[kv.Key] = kv.Value
			uplinkHost[kv.Key] = *m.Config.Host
		}
	}
	now := time.Now()
	var out []types.DistributedVirtualPort
	for _, ref := range d.Portgroup {
		pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
		if !ok {
			continue
		}
		for _, k := range pg.PortKeys {
			setting, version := portSetting(d, pg, k) // queueing.go: the port's own overrides
			p := types.DistributedVirtualPort{
				Key: k, DvsUuid: d.Uuid, PortgroupKey: pg.Key, Conflict: false, LastStatusChange: now,
				Config: types.DVPortConfigInfo{Name: uplinkName[k], Setting: setting, ConfigVersion: version},
				State:  &types.DVPortState{RuntimeInfo: &types.DVPortStatus{LinkUp: false, Blocked: false}},
			}
			if h, ok := uplinkHost[k]; ok {
				p.ProxyHost = &h
			}
			if u, ok := users[k]; ok {
				p.Connectee = &types.DistributedVirtualSwitchPortConnectee{
					ConnectedEntity: &u.entity, NicKey: u.nicKey, Type: u.kind}
				p.ProxyHost = u.host
				p.State.RuntimeInfo.LinkUp = u.active
				p.ConnectionCookie = int32(len(out) + 1)
			}
			out = append(out, p)
		}
	}
	return out
}

func boolIs(p *bool, v bool) bool { return p == nil || *p == v }

// portMatches applies a DistributedVirtualSwitchPortCriteria to one port.
func portMatches(p types.DistributedVirtualPort, uplink map[string]bool, c *types.DistributedVirtualSwitchPortCriteria) bool {
	if c == nil {
		return true
	}
	if c.Inside != nil {
		in := len(c.PortgroupKey) == 0 && p.PortgroupKey != "" || contains(c.PortgroupKey, p.PortgroupKey)
		if in != *c.Inside {
			return false
		}
	}
	if len(c.PortKey) > 0 && !contains(c.PortKey, p.Key) {
		return false
	}
	if !boolIs(c.UplinkPort, uplink[p.PortgroupKey]) || !boolIs(c.Connected, p.Connectee != nil) {
		return false
	}
	if !boolIs(c.Active, p.State != nil && p.State.RuntimeInfo != nil && p.State.RuntimeInfo.LinkUp) {
		return false
	}
	if len(c.Host) > 0 && (p.ProxyHost == nil || simulator.FindReference(c.Host, *p.ProxyHost) == nil) {
		return false
	}
	return true
}

func (a *dvsAlias) fetchPorts(criteria *types.DistributedVirtualSwitchPortCriteria) ([]types.DistributedVirtualPort, *soap.Fault) {
	d := a.dvs()
	if d == nil {
		return nil, simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})
	}
	uplink := map[string]bool{}
	for _, ref := range d.Portgroup {
		if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok {
			uplink[pg.Key] = pg.Config.Uplink != nil && *pg.Config.Uplink
		}
	}
	var out []types.DistributedVirtualPort
	for _, p := range switchPorts(d) {
		if portMatches(p, uplink, criteria) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (a *dvsAlias) FetchDVPorts(ctx *simulator.Context, req *types.FetchDVPorts) soap.HasFault {
	ports, f := a.fetchPorts(req.Criteria)
	if f != nil {
		return &methods.FetchDVPortsBody{Fault_: f}
	}
	return &methods.FetchDVPortsBody{Res: &types.FetchDVPortsResponse{Returnval: ports}}
}

func (a *dvsAlias) FetchDVPortKeys(ctx *simulator.Context, req *types.FetchDVPortKeys) soap.HasFault {
	ports, f := a.fetchPorts(req.Criteria)
	if f != nil {
		return &methods.FetchDVPortKeysBody{Fault_: f}
	}
	keys := make([]string, 0, len(ports))
	for _, p := range ports {
		keys = append(keys, p.Key)
	}
	return &methods.FetchDVPortKeysBody{Res: &types.FetchDVPortKeysResponse{Returnval: keys}}
}

// bindVmkPort gives VMkernel adapter dev of the host (whose lock the caller
// holds) a port of the port group it connects to.
func (hs *hostState) bindVmkPort(c *types.DistributedVirtualSwitchPortConnection, dev string) {
	host := hs.host.Self
	newPortBinder(hs).bind(c, portUse{entity: host, nicKey: dev, kind: "hostVmknic", host: &host, active: true})
}
