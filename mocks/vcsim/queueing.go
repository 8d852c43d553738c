package main

// Uplink queueing: what NIOC shares and port-level teaming do to latency.
//
// netem.go gives hosts and host pairs a link profile (the path itself: a slow
// host stays slow whatever its switch does). This file adds congestion on one
// physical uplink of one host, which the switch's own settings can work
// around, so a client that changes NIOC or a port's teaming can see it work:
//
//   POST /vnettool/netem {"host":"DC0_C0_H1","uplink":"vmnic2","rtt_ms":40}
//   DELETE /vnettool/netem?host=DC0_C0_H1&uplink=vmnic2
//
// A VMkernel adapter's frames leave through the first active uplink of its
// port's effective teaming (port override, else port group, else switch
// default; on a standard switch the port group's, else the vSwitch's NIC
// order). A ping then pays, on top of the path profile, the congestion delay
// of the source's and the target's uplink, scaled by the NIOC allocation of
// the adapter's traffic class (vmotion for a vMotion adapter, vsan,
// management, …) on that distributed switch when NIOC is on:
//
//   delay = uplink rtt_ms × 50 / shares            (normal = 1, high = ½)
//           × ½ when the class has a reservation   (a reserved slice queues less)
//
// Standard switches have no NIOC: their delay is the uplink's rtt_ms.
//
// The lab also gives every VMware switch vCenter 7.0.3's NIOC v3 traffic
// classes and merges infrastructureTrafficResourceConfig by key on
// ReconfigureDvs_Task (as vCenter does), and answers ReconfigureDVPort_Task:
// a port's own setting overrides its port group's, field by field; a policy
// sent with inherited=true drops the port's override of it. An uplink
// teaming override on a port group that does not allow it is refused.

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// niocClasses: vCenter 7.0.3's NIOC v3 system traffic classes and default shares.
var niocClasses = []struct {
	key    string
	level  types.SharesLevel
	shares int32
}{
	{"management", types.SharesLevelNormal, 50}, {"faultTolerance", types.SharesLevelNormal, 50},
	{"vmotion", types.SharesLevelNormal, 50}, {"virtualMachine", types.SharesLevelHigh, 100},
	{"iSCSI", types.SharesLevelNormal, 50}, {"nfs", types.SharesLevelNormal, 50},
	{"hbr", types.SharesLevelNormal, 50}, {"vsan", types.SharesLevelNormal, 50},
	{"vdp", types.SharesLevelNormal, 50}, {"backupNfc", types.SharesLevelNormal, 50},
	{"nvmetcp", types.SharesLevelNormal, 50},
}

func int64p(v int64) *int64 { return &v }

// niocDefaults fills the traffic classes a switch does not list yet.
func niocDefaults(cfg *types.VMwareDVSConfigInfo) {
	have := map[string]bool{}
	for _, t := range cfg.InfrastructureTrafficResourceConfig {
		have[t.Key] = true
	}
	for _, c := range niocClasses {
		if have[c.key] {
			continue
		}
		cfg.InfrastructureTrafficResourceConfig = append(cfg.InfrastructureTrafficResourceConfig,
			types.DvsHostInfrastructureTrafficResource{Key: c.key, AllocationInfo: types.DvsHostInfrastructureTrafficResourceAllocation{
				Limit: int64p(-1), Reservation: int64p(0), Shares: &types.SharesInfo{Level: c.level, Shares: c.shares},
			}})
	}
}

// mergeTraffic edits the listed classes of cur, field by field, like vCenter.
func mergeTraffic(cur, edits []types.DvsHostInfrastructureTrafficResource) ([]types.DvsHostInfrastructureTrafficResource, *taskErr) {
	out := append([]types.DvsHostInfrastructureTrafficResource(nil), cur...)
	for _, e := range edits {
		i := -1
		for j := range out {
			if out[j].Key == e.Key {
				i = j
			}
		}
		if i < 0 {
			return nil, terr(&types.InvalidArgument{InvalidProperty: "infrastructureTrafficResourceConfig.key"}, "unknown system traffic class %q", e.Key)
		}
		a, n := &out[i].AllocationInfo, e.AllocationInfo
		if n.Limit != nil {
			a.Limit = n.Limit
		}
		if n.Reservation != nil {
			if *n.Reservation < 0 {
				return nil, terr(&types.InvalidArgument{InvalidProperty: "allocationInfo.reservation"}, "reservation of %s must be >= 0", e.Key)
			}
			a.Reservation = n.Reservation
		}
		if s := n.Shares; s != nil {
			if s.Level == types.SharesLevelCustom && (s.Shares < 1 || s.Shares > 100) {
				return nil, terr(&types.InvalidArgument{InvalidProperty: "allocationInfo.shares.shares"}, "custom shares of %s must be within 1..100", e.Key)
			}
			cp := *s
			switch s.Level {
			case types.SharesLevelLow:
				cp.Shares = 25
			case types.SharesLevelNormal:
				cp.Shares = 50
			case types.SharesLevelHigh:
				cp.Shares = 100
			}
			a.Shares = &cp
		}
	}
	return out, nil
}

// ---------- port overrides and ReconfigureDVPort_Task ----------

var (
	portOverridesMu sync.Mutex
	// switch uuid -> port key -> the port's own setting (nil: inherits all)
	portOverrides = map[string]map[string]*types.VMwareDVSPortSetting{}
	portVersions  = map[string]map[string]string{}
)

// portSetting is a port's effective setting: its port group's with the port's
// own overrides laid over it.
func portSetting(d *simulator.DistributedVirtualSwitch, pg *simulator.DistributedVirtualPortgroup, key string) (types.BaseDVPortSetting, string) {
	portOverridesMu.Lock()
	own := portOverrides[d.Uuid][key]
	ver := portVersions[d.Uuid][key]
	portOverridesMu.Unlock()
	base := pg.Config.DefaultPortConfig
	if base == nil {
		base = dvsConfig(d).DefaultPortConfig
	}
	if ver == "" {
		ver = "0"
	}
	vs, ok := base.(*types.VMwareDVSPortSetting)
	if !ok {
		return base, ver
	}
	cp := *vs
	markInherited(reflect.ValueOf(&cp).Elem())
	if own == nil {
		return &cp, ver
	}
	return mergePortSetting(&cp, own), ver
}

// markInherited sets inherited=true on copies of every policy of a port
// setting: what a port takes from its port group, vCenter reports as inherited.
func markInherited(v reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f, ft := v.Field(i), v.Type().Field(i)
		if ft.Anonymous && f.Kind() == reflect.Struct {
			markInherited(f)
			continue
		}
		if f.Kind() != reflect.Ptr || f.IsNil() || f.Elem().Kind() != reflect.Struct {
			continue
		}
		cp := reflect.New(f.Elem().Type())
		cp.Elem().Set(f.Elem())
		if inh := cp.Elem().FieldByName("Inherited"); inh.IsValid() && inh.CanSet() {
			inh.SetBool(true)
		}
		markInherited(cp.Elem())
		f.Set(cp)
	}
}

func teamingOverrideAllowed(pg *simulator.DistributedVirtualPortgroup) bool {
	p, ok := pg.Config.Policy.(*types.VMwareDVSPortgroupPolicy)
	return ok && p.UplinkTeamingOverrideAllowed
}

// editPort applies one DVPortConfigSpec (operation edit) to the port overrides.
func editPort(d *simulator.DistributedVirtualSwitch, spec types.DVPortConfigSpec) *taskErr {
	if spec.Operation != string(types.ConfigSpecOperationEdit) {
		return terr(&types.InvalidArgument{InvalidProperty: "port.operation"}, "operation %q: ports are only edited", spec.Operation)
	}
	pg := portgroupOfPort(d, spec.Key)
	if pg == nil {
		return terr(&types.NotFound{}, "port %s not found on %s", spec.Key, d.Name)
	}
	in, _ := spec.Setting.(*types.VMwareDVSPortSetting)
	if in == nil {
		return nil
	}
	portOverridesMu.Lock()
	defer portOverridesMu.Unlock()
	if cur := portVersions[d.Uuid][spec.Key]; spec.ConfigVersion != "" && spec.ConfigVersion != cur && !(cur == "" && spec.ConfigVersion == "0") {
		return terr(&types.ConcurrentAccess{}, "port %s was changed since version %s", spec.Key, spec.ConfigVersion)
	}
	cp := *in
	if t := cp.UplinkTeamingPolicy; t != nil && !t.Inherited && !teamingOverrideAllowed(pg) {
		return terr(&types.InvalidArgument{InvalidProperty: "setting.uplinkTeamingPolicy"},
			"port group %s does not allow overriding the uplink teaming policy on a port", pg.Config.Name)
	}
	if portOverrides[d.Uuid] == nil {
		portOverrides[d.Uuid] = map[string]*types.VMwareDVSPortSetting{}
		portVersions[d.Uuid] = map[string]string{}
	}
	own := portOverrides[d.Uuid][spec.Key]
	if t := cp.UplinkTeamingPolicy; t != nil && t.Inherited {
		cp.UplinkTeamingPolicy = nil
		if own != nil {
			c := *own
			c.UplinkTeamingPolicy = nil
			own = &c
		}
	}
	var merged *types.VMwareDVSPortSetting
	if own == nil {
		merged = &cp
	} else {
		merged, _ = mergePortSetting(own, &cp).(*types.VMwareDVSPortSetting)
	}
	portOverrides[d.Uuid][spec.Key] = merged
	portVersions[d.Uuid][spec.Key] = bumpVersion(portVersions[d.Uuid][spec.Key])
	return nil
}

func portgroupOfPort(d *simulator.DistributedVirtualSwitch, key string) *simulator.DistributedVirtualPortgroup {
	for _, ref := range d.Portgroup {
		if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok && contains(pg.PortKeys, key) {
			return pg
		}
	}
	return nil
}

func (a *dvsAlias) ReconfigureDVPortTask(ctx *simulator.Context, req *types.ReconfigureDVPort_Task) soap.HasFault {
	d := a.dvs()
	if d == nil {
		return &methods.ReconfigureDVPort_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTask(ctx, d, "reconfigureDVPort", func() *taskErr {
		for _, s := range req.Port { // validate all first: the task changes every port or none
			if pg := portgroupOfPort(d, s.Key); pg == nil {
				return terr(&types.NotFound{}, "port %s not found on %s", s.Key, d.Name)
			}
		}
		for _, s := range req.Port {
			if e := editPort(d, s); e != nil {
				return e
			}
		}
		return nil
	})
	return &methods.ReconfigureDVPort_TaskBody{Res: &types.ReconfigureDVPort_TaskResponse{Returnval: ref}}
}

func init() {
	for _, t := range []string{"DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch"} {
		registerOverride(t, func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
			return &dvsAlias{newAliasBase(lab, orig)}
		}, "ReconfigureDVPort_Task")
	}
}

// ---------- congestion on the way out ----------

// nicServiceClass maps a VMkernel service to its NIOC traffic class.
var nicServiceClass = map[string]string{
	"vmotion": "vmotion", "vsan": "vsan", "management": "management", "faultToleranceLogging": "faultTolerance",
	"vSphereReplication": "hbr", "vSphereReplicationNFC": "hbr", "vSphereBackupNFC": "backupNfc", "nvmeTcp": "nvmetcp",
}

// trafficClass is the NIOC class of a host's VMkernel adapter.
func trafficClass(h *mo.HostSystem, device string) string {
	if h.Config == nil || h.Config.VirtualNicManagerInfo == nil {
		return "management"
	}
	for _, nc := range h.Config.VirtualNicManagerInfo.NetConfig {
		for _, k := range nc.SelectedVnic {
			if k == selectedKey(nc.NicType, device) {
				if c, ok := nicServiceClass[nc.NicType]; ok && nc.NicType != "management" {
					return c
				}
			}
		}
	}
	return "management"
}

// egress is where one VMkernel adapter's frames leave its host.
type egress struct {
	Pnic   string
	Factor float64 // NIOC scaling of the uplink's congestion delay
}

// vmkEgress resolves the uplink and NIOC factor of adapter v of host h.
func vmkEgress(h *mo.HostSystem, v types.HostVirtualNic) egress {
	if c := v.Spec.DistributedVirtualPort; c != nil {
		return dvEgress(h, v.Device, c)
	}
	ni := h.Config.Network
	if ni == nil {
		return egress{Factor: 1}
	}
	var order []string
	for _, pg := range ni.Portgroup {
		if pg.Spec.Name == v.Portgroup && pg.Spec.Policy.NicTeaming != nil && pg.Spec.Policy.NicTeaming.NicOrder != nil {
			order = pg.Spec.Policy.NicTeaming.NicOrder.ActiveNic
		}
	}
	if len(order) == 0 {
		for _, pg := range ni.Portgroup {
			if pg.Spec.Name != v.Portgroup {
				continue
			}
			for _, sw := range ni.Vswitch {
				if sw.Name == pg.Spec.VswitchName && sw.Spec.Policy != nil && sw.Spec.Policy.NicTeaming != nil && sw.Spec.Policy.NicTeaming.NicOrder != nil {
					order = sw.Spec.Policy.NicTeaming.NicOrder.ActiveNic
				}
			}
		}
	}
	if len(order) == 0 {
		return egress{Factor: 1}
	}
	return egress{Pnic: order[0], Factor: 1}
}

func dvEgress(h *mo.HostSystem, device string, c *types.DistributedVirtualSwitchPortConnection) egress {
	out := egress{Factor: 1}
	var d *simulator.DistributedVirtualSwitch
	for _, s := range allDVS() {
		if s.Uuid == c.SwitchUuid {
			d = s
		}
	}
	if d == nil {
		return out
	}
	// No lock on d: pings run concurrently with reconfigurations and only read
	// (port overrides have their own lock).
	func() {
		cfg := dvsConfig(d)
		pg := portgroupOfPort(d, c.PortKey)
		if pg == nil {
			pg = dvPortgroupByKey(d, c.PortgroupKey)
		}
		if pg == nil {
			return
		}
		setting, _ := portSetting(d, pg, c.PortKey)
		vs, _ := setting.(*types.VMwareDVSPortSetting)
		uplink := ""
		if vs != nil && vs.UplinkTeamingPolicy != nil && vs.UplinkTeamingPolicy.UplinkPortOrder != nil && len(vs.UplinkTeamingPolicy.UplinkPortOrder.ActiveUplinkPort) > 0 {
			uplink = vs.UplinkTeamingPolicy.UplinkPortOrder.ActiveUplinkPort[0]
		}
		out.Pnic = memberPnic(cfg, h.Self, uplink)
		if cfg.NetworkResourceManagementEnabled != nil && *cfg.NetworkResourceManagementEnabled {
			out.Factor = niocFactor(cfg, trafficClass(h, device))
		}
	}()
	return out
}

// memberPnic is the host's physical NIC behind uplink name (the first uplink
// when the name is empty or unknown).
func memberPnic(cfg *types.VMwareDVSConfigInfo, host types.ManagedObjectReference, uplink string) string {
	names := uplinkNames(cfg)
	for _, m := range cfg.Host {
		if m.Config.Host == nil || m.Config.Host.Value != host.Value {
			continue
		}
		b, _ := m.Config.Backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking)
		if b == nil {
			return ""
		}
		byPort := map[string]string{}
		for _, p := range b.PnicSpec {
			byPort[p.UplinkPortKey] = p.PnicDevice
		}
		for i, k := range m.UplinkPortKey {
			if i < len(names) && (uplink == "" || names[i] == uplink) && byPort[k] != "" {
				return byPort[k]
			}
		}
		if len(b.PnicSpec) > 0 {
			return b.PnicSpec[0].PnicDevice
		}
	}
	return ""
}

func niocFactor(cfg *types.VMwareDVSConfigInfo, class string) float64 {
	for _, t := range cfg.InfrastructureTrafficResourceConfig {
		if t.Key != class {
			continue
		}
		f := 1.0
		if s := t.AllocationInfo.Shares; s != nil && s.Shares > 0 {
			f = 50 / float64(s.Shares)
		}
		if r := t.AllocationInfo.Reservation; r != nil && *r > 0 {
			f /= 2
		}
		return f
	}
	return 1
}

// congestionMs is the extra round-trip time of adapter e's uplink on host h.
func (n *netemState) congestionMs(h endpoint, e egress) float64 {
	if e.Pnic == "" {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, name := range []string{h.Name, h.Moref} {
		if p, ok := n.uplinks[[2]string{name, e.Pnic}]; ok {
			return p.RTTms * e.Factor
		}
	}
	return 0
}

func (n *netemState) setUplink(u netemUpdate) error {
	if u.Peer != "" {
		return fmt.Errorf("uplink and peer exclude each other")
	}
	if u.MTU != nil || u.LossPct != nil || u.JitterMs != nil {
		return fmt.Errorf("an uplink takes rtt_ms only")
	}
	if !hostHasPnic(u.Host, u.Uplink) {
		return fmt.Errorf("%s has no physical NIC %s", u.Host, u.Uplink)
	}
	k := [2]string{u.Host, u.Uplink}
	cur, ok := n.uplinks[k]
	if !ok {
		cur = linkProfile{MTU: defaultMTU}
	}
	p, err := u.apply(cur)
	if err != nil {
		return err
	}
	n.uplinks[k] = p
	return nil
}

// hostHasPnic: a lab host (by name or moref) with that physical NIC; true
// when the host is not a lab host (the unit tests' netem has none).
func hostHasPnic(host, pnic string) bool {
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		if h.Name != host && h.Self.Value != host {
			continue
		}
		if hs := stateOf(h.Self); hs != nil {
			hs.mu.Lock()
			defer hs.mu.Unlock()
			return hs.hasPnic(pnic)
		}
	}
	return true
}
