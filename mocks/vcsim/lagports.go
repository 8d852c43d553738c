package main

// LACP LAG uplink ports, as vCenter makes them for enhanced LACP (lacpApiVersion
// multipleLag, UpdateDVSLacpGroupConfig_Task):
//
//   - a LAG of uplinkNum ports gives every member host uplinkNum uplink ports of its own
//     in the switch's uplink port group, named after the LAG's uplinkName (lag1-0,
//     lag1-1, ...). They are listed in the LAG's uplinkPortKey (every host's),
//     in config.uplinkPortgroup's portKeys, in the host's proxy switch (uplinkPort key ->
//     name, and hostLag per LAG) and by FetchDVPorts with the host as proxyHost;
//   - a pNIC is put into a LAG by naming the LAG port's key as uplinkPortKey of its
//     DistributedVirtualSwitchHostMemberPnicSpec (ReconfigureDvs_Task, host "edit"),
//     exactly as for a standalone uplink port; a pNIC without a key takes the first free
//     standalone uplink port. A host joining ("add") has no LAG ports yet, so a key there
//     is refused: join first, then edit (what the vSphere Client's "Assign uplink" does);
//   - a LAG that shrinks or is removed, and a host that leaves, take their ports away; a
//     pNIC bound to such a port is unassigned (stays a member pNIC of nothing);
//   - a port's runtime linkUp is its pNIC's link (vmnic down: the LAG port is down). The
//     vim API has no other LACP runtime status (the LACPDU state is in the vSAN API's
//     LACPInfo, not emulated).
//
// Decision (the API reference does not say): the member's own uplinkPortKey
// (DistributedVirtualSwitchHostMember.uplinkPortKey) keeps listing the standalone uplink
// ports only, in uplinkPortPolicy order; the LAG ports are reached through the LAG and
// the host's proxy switch.

import (
	"fmt"
	"reflect"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// lagPort is one LAG uplink port of one host.
type lagPort struct {
	lag   string // LAG key
	host  string // host moref value
	index int    // position in the LAG: its name is the LAG's uplinkName[index]
}

func lagPortID(lag, host string, index int) string { return fmt.Sprintf("%s/%s/%d", lag, host, index) }

// lagPortName is the uplink port name of a LAG port key ("" when it is none).
func lagPortName(d *simulator.DistributedVirtualSwitch, key string) (string, string) {
	p, ok := stateOfDVS(d).lagPorts[key]
	if !ok {
		return "", ""
	}
	for _, g := range dvsConfig(d).LacpGroupConfig {
		if g.Key == p.lag && p.index < len(g.UplinkName) {
			return g.UplinkName[p.index], p.host
		}
	}
	return "", p.host
}

// hostLagPorts lists a host's LAG ports per LAG, in LAG and port order.
func hostLagPorts(d *simulator.DistributedVirtualSwitch, host string) []types.HostProxySwitchHostLagConfig {
	st := stateOfDVS(d)
	byID := map[string]string{}
	for k, p := range st.lagPorts {
		byID[lagPortID(p.lag, p.host, p.index)] = k
	}
	var out []types.HostProxySwitchHostLagConfig
	for _, g := range dvsConfig(d).LacpGroupConfig {
		hl := types.HostProxySwitchHostLagConfig{LagKey: g.Key, LagName: g.Name}
		for i := 0; i < int(g.UplinkNum) && i < len(g.UplinkName); i++ {
			if k, ok := byID[lagPortID(g.Key, host, i)]; ok {
				hl.UplinkPort = append(hl.UplinkPort, types.KeyValue{Key: k, Value: g.UplinkName[i]})
			}
		}
		out = append(out, hl)
	}
	return out
}

// hostUplinkPorts is every uplink port of a member (standalone, then LAG ports): key -> name.
func hostUplinkPorts(d *simulator.DistributedVirtualSwitch, m types.DistributedVirtualSwitchHostMember) []types.KeyValue {
	names := uplinkNames(dvsConfig(d))
	var out []types.KeyValue
	for i, k := range m.UplinkPortKey {
		if i < len(names) {
			out = append(out, types.KeyValue{Key: k, Value: names[i]})
		}
	}
	for _, hl := range hostLagPorts(d, m.Config.Host.Value) {
		out = append(out, hl.UplinkPort...)
	}
	return out
}

func memberBacking(m *types.DistributedVirtualSwitchHostMember) *types.DistributedVirtualSwitchHostMemberPnicBacking {
	b, _ := m.Config.Backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking)
	if b == nil {
		b = &types.DistributedVirtualSwitchHostMemberPnicBacking{}
		m.Config.Backing = b
	}
	return b
}

// syncLagPorts makes the LAG ports match the switch's LAGs and members, unassigns the
// pNICs of ports that went away and refreshes every member's proxy switch. Call it after
// any change of LAGs or members, with no host lock held.
func syncLagPorts(d *simulator.DistributedVirtualSwitch) {
	cfg := dvsConfig(d)
	st := stateOfDVS(d)
	if st.lagPorts == nil {
		st.lagPorts = map[string]lagPort{}
	}
	if len(cfg.LacpGroupConfig) == 0 && len(st.lagPorts) == 0 {
		return
	}
	members := map[string]bool{}
	for _, m := range cfg.Host {
		if m.Config.Host != nil {
			members[m.Config.Host.Value] = true
		}
	}
	lags := map[string]types.VMwareDvsLacpGroupConfig{}
	for _, g := range cfg.LacpGroupConfig {
		lags[g.Key] = g
	}
	byID := map[string]string{}
	dropped := map[string]bool{}
	for k, p := range st.lagPorts {
		g, ok := lags[p.lag]
		if !ok || !members[p.host] || p.index >= int(g.UplinkNum) {
			delete(st.lagPorts, k)
			dropped[k] = true
			continue
		}
		byID[lagPortID(p.lag, p.host, p.index)] = k
	}
	for _, m := range cfg.Host {
		if m.Config.Host == nil {
			continue
		}
		h := m.Config.Host.Value
		for _, g := range cfg.LacpGroupConfig {
			for i := 0; i < int(g.UplinkNum); i++ {
				id := lagPortID(g.Key, h, i)
				if _, ok := byID[id]; !ok {
					k := allocPortKeys(d, 1)[0]
					st.lagPorts[k] = lagPort{lag: g.Key, host: h, index: i}
					byID[id] = k
				}
			}
		}
	}
	for i := range cfg.LacpGroupConfig {
		g := &cfg.LacpGroupConfig[i]
		g.UplinkPortKey = nil
		for _, m := range cfg.Host {
			for j := 0; m.Config.Host != nil && j < int(g.UplinkNum); j++ {
				g.UplinkPortKey = append(g.UplinkPortKey, byID[lagPortID(g.Key, m.Config.Host.Value, j)])
			}
		}
	}
	if upg := uplinkPortgroup(d); upg != nil {
		var keys []string
		for _, m := range cfg.Host {
			keys = append(keys, m.UplinkPortKey...)
			for _, hl := range hostLagPorts(d, m.Config.Host.Value) {
				for _, kv := range hl.UplinkPort {
					keys = append(keys, kv.Key)
				}
			}
		}
		upg.PortKeys = keys
		upg.Config.NumPorts = int32(len(keys))
	}
	for i := range cfg.Host {
		m := &cfg.Host[i]
		if m.Config.Host == nil {
			continue
		}
		b := memberBacking(m)
		var keep []types.DistributedVirtualSwitchHostMemberPnicSpec
		for _, s := range b.PnicSpec {
			if !dropped[s.UplinkPortKey] {
				keep = append(keep, s)
			}
		}
		if len(keep) != len(b.PnicSpec) {
			m.Config.Backing = &types.DistributedVirtualSwitchHostMemberPnicBacking{PnicSpec: keep}
		}
		refreshProxySwitch(d, *m)
	}
}

// refreshProxySwitch shows a member's uplink ports, LAGs and pNICs in its host's
// config.network.proxySwitch (HostNetworkInfo), notifying only when something changed.
func refreshProxySwitch(d *simulator.DistributedVirtualSwitch, m types.DistributedVirtualSwitchHostMember) {
	hs := stateOf(*m.Config.Host)
	if hs == nil {
		return
	}
	b := memberBacking(&m)
	ports := hostUplinkPorts(d, m)
	lags := hostLagPorts(d, m.Config.Host.Value)
	var pkeys []string
	for _, s := range b.PnicSpec {
		pkeys = append(pkeys, keyPnic+s.PnicDevice)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	ni := hs.net()
	for i := range ni.ProxySwitch {
		ps := &ni.ProxySwitch[i]
		if ps.DvsUuid != d.Uuid {
			continue
		}
		cur, _ := ps.Spec.Backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking)
		if reflect.DeepEqual(ps.UplinkPort, ports) && reflect.DeepEqual(ps.HostLag, lags) &&
			reflect.DeepEqual(ps.Pnic, pkeys) && cur != nil && reflect.DeepEqual(cur.PnicSpec, b.PnicSpec) {
			return
		}
		ps.UplinkPort = ports
		ps.HostLag = lags
		ps.Pnic = pkeys
		ps.Spec.Backing = &types.DistributedVirtualSwitchHostMemberPnicBacking{PnicSpec: append([]types.DistributedVirtualSwitchHostMemberPnicSpec(nil), b.PnicSpec...)}
		ps.NumPortsAvailable = ps.NumPorts - int32(len(ports))
		hs.sync()
		return
	}
}

// checkPnicSpecs refuses what vCenter refuses in a member's pnicSpec: an uplinkPortKey
// that is not one of the host's uplink ports on this switch (a joining host has none
// yet), and two pNICs on one port or one pNIC twice.
func checkPnicSpecs(d *simulator.DistributedVirtualSwitch, host *simulator.HostSystem, op string, b types.BaseDistributedVirtualSwitchHostMemberBacking) *taskErr {
	pb, ok := b.(*types.DistributedVirtualSwitchHostMemberPnicBacking)
	if !ok {
		return nil
	}
	ports := map[string]bool{}
	if op == string(types.ConfigSpecOperationEdit) {
		for _, m := range dvsConfig(d).Host {
			if m.Config.Host != nil && m.Config.Host.Value == host.Self.Value {
				for _, kv := range hostUplinkPorts(d, m) {
					ports[kv.Key] = true
				}
			}
		}
	}
	seenPort, seenPnic := map[string]string{}, map[string]bool{}
	for _, s := range pb.PnicSpec {
		if seenPnic[s.PnicDevice] {
			return terr(&types.InvalidArgument{InvalidProperty: "host.backing.pnicSpec.pnicDevice"},
				"physical NIC %s of %s is given twice", s.PnicDevice, host.Name)
		}
		seenPnic[s.PnicDevice] = true
		if s.UplinkPortKey == "" {
			continue
		}
		if !ports[s.UplinkPortKey] {
			return terr(&types.InvalidArgument{InvalidProperty: "host.backing.pnicSpec.uplinkPortKey"},
				"uplink port %s is not an uplink port of %s on %s", s.UplinkPortKey, host.Name, d.Name)
		}
		if other, ok := seenPort[s.UplinkPortKey]; ok {
			return terr(&types.InvalidArgument{InvalidProperty: "host.backing.pnicSpec.uplinkPortKey"},
				"physical NICs %s and %s of %s are both given uplink port %s", other, s.PnicDevice, host.Name, s.UplinkPortKey)
		}
		seenPort[s.UplinkPortKey] = s.PnicDevice
	}
	return nil
}

// editMemberPnics binds a member's pNICs to ports in place (the ports keep their keys):
// a pNIC with an uplinkPortKey goes to that port, the others to the first free
// standalone uplink ports in order (more pNICs than free ports: the rest stay unbound).
func editMemberPnics(d *simulator.DistributedVirtualSwitch, hostRef types.ManagedObjectReference, b types.BaseDistributedVirtualSwitchHostMemberBacking) {
	cfg := dvsConfig(d)
	upgKey := ""
	if upg := uplinkPortgroup(d); upg != nil {
		upgKey = upg.Key
	}
	var specs []types.DistributedVirtualSwitchHostMemberPnicSpec
	if pb, ok := b.(*types.DistributedVirtualSwitchHostMemberPnicBacking); ok {
		specs = pb.PnicSpec
	}
	for i := range cfg.Host {
		m := &cfg.Host[i]
		if m.Config.Host == nil || m.Config.Host.Value != hostRef.Value {
			continue
		}
		taken := map[string]bool{}
		for _, s := range specs {
			taken[s.UplinkPortKey] = s.UplinkPortKey != ""
		}
		var free []string
		for _, k := range m.UplinkPortKey {
			if !taken[k] {
				free = append(free, k)
			}
		}
		var out []types.DistributedVirtualSwitchHostMemberPnicSpec
		for _, s := range specs {
			k := s.UplinkPortKey
			if k == "" {
				if len(free) == 0 {
					continue
				}
				k, free = free[0], free[1:]
			}
			out = append(out, types.DistributedVirtualSwitchHostMemberPnicSpec{
				PnicDevice: s.PnicDevice, UplinkPortKey: k, UplinkPortgroupKey: upgKey,
			})
		}
		m.Config.Backing = &types.DistributedVirtualSwitchHostMemberPnicBacking{PnicSpec: out}
		refreshProxySwitch(d, *m)
	}
}
