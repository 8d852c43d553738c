package main

// Distributed switches: lab setup (full default config, extra switches for
// -dvs N, host members with proxy switches) and vCenter-like
// ReconfigureDvs_Task / ReconfigureDVPortgroup_Task / UpdateDVSLacpGroupConfig_Task /
// EnableNetworkResourceManagement through aliases (see ext.go).

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func bp(v bool) *types.BoolPolicy { return &types.BoolPolicy{Value: &v} }

// defaultPortSetting is vCenter 7's default port config of a new switch.
func defaultPortSetting() *types.VMwareDVSPortSetting {
	return &types.VMwareDVSPortSetting{
		DVPortSetting: types.DVPortSetting{
			Blocked:                 bp(false),
			VmDirectPathGen2Allowed: bp(false),
			InShapingPolicy: &types.DVSTrafficShapingPolicy{
				Enabled: bp(false), AverageBandwidth: &types.LongPolicy{Value: 100000000},
				PeakBandwidth: &types.LongPolicy{Value: 100000000}, BurstSize: &types.LongPolicy{Value: 104857600},
			},
			OutShapingPolicy: &types.DVSTrafficShapingPolicy{
				Enabled: bp(false), AverageBandwidth: &types.LongPolicy{Value: 100000000},
				PeakBandwidth: &types.LongPolicy{Value: 100000000}, BurstSize: &types.LongPolicy{Value: 104857600},
			},
			NetworkResourcePoolKey: &types.StringPolicy{Value: "-1"},
			FilterPolicy:           &types.DvsFilterPolicy{},
		},
		Vlan: &types.VmwareDistributedVirtualSwitchVlanIdSpec{VlanId: 0},
		UplinkTeamingPolicy: &types.VmwareUplinkPortTeamingPolicy{
			Policy:         &types.StringPolicy{Value: "loadbalance_srcid"},
			ReversePolicy:  bp(true),
			NotifySwitches: bp(true),
			RollingOrder:   bp(false),
			FailureCriteria: &types.DVSFailureCriteria{
				CheckSpeed: &types.StringPolicy{Value: "minimum"}, Speed: &types.IntPolicy{Value: 10},
				CheckDuplex: bp(false), FullDuplex: bp(false), CheckErrorPercent: bp(false),
				Percentage: &types.IntPolicy{Value: 0}, CheckBeacon: bp(false),
			},
			UplinkPortOrder: &types.VMwareUplinkPortOrderPolicy{ActiveUplinkPort: []string{"uplink1", "uplink2"}},
		},
		SecurityPolicy: &types.DVSSecurityPolicy{AllowPromiscuous: bp(false), MacChanges: bp(false), ForgedTransmits: bp(false)},
		IpfixEnabled:   bp(false),
		TxUplink:       bp(false),
		LacpPolicy:     &types.VMwareUplinkLacpPolicy{Enable: bp(false), Mode: &types.StringPolicy{Value: "passive"}},
		MacManagementPolicy: &types.DVSMacManagementPolicy{
			AllowPromiscuous: boolp(false), MacChanges: boolp(false), ForgedTransmits: boolp(false),
			MacLearningPolicy: &types.DVSMacLearningPolicy{Enabled: false, AllowUnicastFlooding: boolp(true), Limit: int32p(4096), LimitPolicy: "DROP"},
		},
		QosTag: &types.IntPolicy{Value: -1},
	}
}

func int32p(v int32) *int32 { return &v }

// ---------- generic merge ----------

var leafTypes = map[string]bool{
	"BoolPolicy": true, "StringPolicy": true, "IntPolicy": true, "LongPolicy": true,
	"VMwareUplinkPortOrderPolicy": true, "DVSMacLearningPolicy": true,
}

// mergeStruct copies the set fields of src into dst (same struct type);
// nested policies are merged field by field, "Inherited" is always copied.
func mergeStruct(dst, src reflect.Value) {
	t := src.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		sf, df := src.Field(i), dst.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			mergeStruct(df, sf)
			continue
		}
		if f.Name == "Inherited" {
			df.Set(sf)
			continue
		}
		if sf.IsZero() {
			continue
		}
		switch sf.Kind() {
		case reflect.Ptr:
			et := sf.Type().Elem()
			if et.Kind() == reflect.Struct && !leafTypes[et.Name()] && !df.IsNil() {
				cp := reflect.New(et)
				cp.Elem().Set(df.Elem())
				mergeStruct(cp.Elem(), sf.Elem())
				df.Set(cp)
				continue
			}
		}
		df.Set(sf)
	}
}

// mergePortSetting merges src into a copy of dst.
func mergePortSetting(dst, src types.BaseDVPortSetting) types.BaseDVPortSetting {
	if src == nil {
		return dst
	}
	if dst == nil || reflect.TypeOf(dst) != reflect.TypeOf(src) {
		return src
	}
	cp := reflect.New(reflect.TypeOf(dst).Elem())
	cp.Elem().Set(reflect.ValueOf(dst).Elem())
	mergeStruct(cp.Elem(), reflect.ValueOf(src).Elem())
	out := cp.Interface().(types.BaseDVPortSetting)
	if vs, ok := out.(*types.VMwareDVSPortSetting); ok {
		if in, ok := src.(*types.VMwareDVSPortSetting); ok {
			syncMacManagement(vs, in)
		}
	}
	return out
}

// syncMacManagement mirrors securityPolicy <-> macManagementPolicy (6.7+).
func syncMacManagement(out, in *types.VMwareDVSPortSetting) {
	val := func(p *types.BoolPolicy) *bool {
		if p == nil {
			return nil
		}
		return p.Value
	}
	if in.SecurityPolicy != nil && in.MacManagementPolicy == nil && out.SecurityPolicy != nil {
		m := types.DVSMacManagementPolicy{}
		if out.MacManagementPolicy != nil {
			m = *out.MacManagementPolicy
		}
		m.Inherited = out.SecurityPolicy.Inherited
		m.AllowPromiscuous = val(out.SecurityPolicy.AllowPromiscuous)
		m.MacChanges = val(out.SecurityPolicy.MacChanges)
		m.ForgedTransmits = val(out.SecurityPolicy.ForgedTransmits)
		out.MacManagementPolicy = &m
	} else if in.MacManagementPolicy != nil && in.SecurityPolicy == nil && out.MacManagementPolicy != nil {
		m := out.MacManagementPolicy
		mk := func(b *bool) *types.BoolPolicy {
			if b == nil {
				return nil
			}
			return &types.BoolPolicy{Value: b}
		}
		out.SecurityPolicy = &types.DVSSecurityPolicy{
			InheritablePolicy: types.InheritablePolicy{Inherited: m.Inherited},
			AllowPromiscuous:  mk(m.AllowPromiscuous), MacChanges: mk(m.MacChanges), ForgedTransmits: mk(m.ForgedTransmits),
		}
	}
}

// copyFields copies set fields of spec into info by name (same type), except skip.
func copyFields(info, spec reflect.Value, skip map[string]bool) {
	t := spec.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		sf := spec.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			copyFields(info, sf, skip)
			continue
		}
		if skip[f.Name] || sf.IsZero() {
			continue
		}
		df := info.FieldByName(f.Name)
		if df.IsValid() && df.Type() == sf.Type() && df.CanSet() {
			df.Set(sf)
		}
	}
}

// ---------- setup ----------

type dvsState struct {
	uplinkSeq int
	lagPorts  map[string]lagPort // port key -> LAG port (lagports.go)
}

var dvsStates = map[string]*dvsState{}

func dvsConfig(d *simulator.DistributedVirtualSwitch) *types.VMwareDVSConfigInfo {
	c, _ := d.Config.(*types.VMwareDVSConfigInfo)
	return c
}

func uplinkPortgroup(d *simulator.DistributedVirtualSwitch) *simulator.DistributedVirtualPortgroup {
	for _, ref := range d.Portgroup {
		if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok && strings.Contains(pg.Name, "-DVUplinks") {
			return pg
		}
	}
	return nil
}

func uplinkNames(cfg *types.VMwareDVSConfigInfo) []string {
	if p, ok := cfg.UplinkPortPolicy.(*types.DVSNameArrayUplinkPortPolicy); ok && len(p.UplinkPortName) > 0 {
		return p.UplinkPortName
	}
	return []string{"uplink1", "uplink2"}
}

// addMember records the host in the switch's config.host and gives the host
// a proxy switch; pnics are the uplink pNICs (may be empty).
func addMember(d *simulator.DistributedVirtualSwitch, hostRef types.ManagedObjectReference, pnics []string) {
	cfg := dvsConfig(d)
	hs := stateOf(hostRef)
	st := dvsStates[d.Self.Value]
	if st == nil {
		st = &dvsState{}
		dvsStates[d.Self.Value] = st
	}
	upg := uplinkPortgroup(d)
	upgKey := ""
	if upg != nil {
		upgKey = upg.Key
	}
	names := uplinkNames(cfg)
	var portKeys []string
	var backing types.DistributedVirtualSwitchHostMemberPnicBacking
	var uplinkKV []types.KeyValue
	for i := range names {
		st.uplinkSeq++
		k := strconv.Itoa(st.uplinkSeq - 1)
		portKeys = append(portKeys, k)
		uplinkKV = append(uplinkKV, types.KeyValue{Key: k, Value: names[i]})
		if i < len(pnics) {
			backing.PnicSpec = append(backing.PnicSpec, types.DistributedVirtualSwitchHostMemberPnicSpec{
				PnicDevice: pnics[i], UplinkPortKey: k, UplinkPortgroupKey: upgKey,
			})
		}
	}
	if upg != nil {
		upg.PortKeys = append(upg.PortKeys, portKeys...)
		upg.Config.NumPorts = int32(len(upg.PortKeys))
	}
	cfg.Host = append(cfg.Host, types.DistributedVirtualSwitchHostMember{
		Config: types.DistributedVirtualSwitchHostMemberConfigInfo{
			Host: &hostRef, MaxProxySwitchPorts: 512, Backing: &backing,
			NsxSwitch: boolp(false), EnsEnabled: boolp(false), EnsInterruptEnabled: boolp(false),
		},
		ProductInfo:   &cfg.ProductInfo,
		UplinkPortKey: portKeys,
		Status:        "up",
	})
	if hs == nil {
		return
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var pkeys []string
	for _, p := range pnics {
		pkeys = append(pkeys, keyPnic+p)
	}
	ni := hs.net()
	ni.ProxySwitch = append(ni.ProxySwitch, types.HostProxySwitch{
		DvsUuid: d.Uuid, DvsName: d.Name, Key: d.Uuid, NumPorts: 512, ConfigNumPorts: 512, NumPortsAvailable: 512 - int32(len(names)),
		UplinkPort: uplinkKV, Mtu: cfg.MaxMtu, Pnic: pkeys,
		Spec:                        types.HostProxySwitchSpec{Backing: &backing},
		NetworkReservationSupported: boolp(false), NsxtEnabled: boolp(false), EnsEnabled: boolp(false), EnsInterruptEnabled: boolp(false),
	})
	hs.sync()
}

func removeMember(d *simulator.DistributedVirtualSwitch, hostRef types.ManagedObjectReference) {
	cfg := dvsConfig(d)
	var keep []types.DistributedVirtualSwitchHostMember
	for _, m := range cfg.Host {
		if m.Config.Host != nil && *m.Config.Host == hostRef {
			if upg := uplinkPortgroup(d); upg != nil {
				var pk []string
				for _, k := range upg.PortKeys {
					if !contains(m.UplinkPortKey, k) {
						pk = append(pk, k)
					}
				}
				upg.PortKeys = pk
				upg.Config.NumPorts = int32(len(pk))
			}
			continue
		}
		keep = append(keep, m)
	}
	cfg.Host = keep
	if hs := stateOf(hostRef); hs != nil {
		hs.mu.Lock()
		ni := hs.net()
		var ps []types.HostProxySwitch
		for _, p := range ni.ProxySwitch {
			if p.DvsUuid != d.Uuid {
				ps = append(ps, p)
			}
		}
		ni.ProxySwitch = ps
		hs.sync()
		hs.mu.Unlock()
	}
}

func backingPnics(b types.BaseDistributedVirtualSwitchHostMemberBacking) []string {
	var out []string
	if pb, ok := b.(*types.DistributedVirtualSwitchHostMemberPnicBacking); ok {
		for _, s := range pb.PnicSpec {
			out = append(out, s.PnicDevice)
		}
	}
	return out
}

func fixupDVS(d *simulator.DistributedVirtualSwitch) {
	cfg := dvsConfig(d)
	if cfg == nil {
		return
	}
	if cfg.ConfigVersion == "" {
		cfg.ConfigVersion = "1"
	}
	if cfg.MaxMtu == 0 {
		cfg.MaxMtu = 1500
	}
	if cfg.LinkDiscoveryProtocolConfig == nil {
		cfg.LinkDiscoveryProtocolConfig = &types.LinkDiscoveryProtocolConfig{Protocol: "cdp", Operation: "listen"}
	}
	if cfg.LacpApiVersion == "" {
		cfg.LacpApiVersion = "multipleLag"
	}
	vcenterDVSDefaults(cfg)
	healthCheckDefaults(cfg) // healthcheck.go
	niocDefaults(cfg)        // queueing.go
	if cfg.MulticastFilteringMode == "" {
		cfg.MulticastFilteringMode = "legacyFiltering"
	}
	if cfg.NetworkResourceManagementEnabled == nil {
		cfg.NetworkResourceManagementEnabled = boolp(true)
	}
	if cfg.NetworkResourceControlVersion == "" {
		cfg.NetworkResourceControlVersion = "version3"
	}
	if cfg.UplinkPortPolicy == nil {
		cfg.UplinkPortPolicy = &types.DVSNameArrayUplinkPortPolicy{UplinkPortName: []string{"uplink1", "uplink2"}}
	}
	cfg.DefaultPortConfig = mergePortSetting(defaultPortSetting(), cfg.DefaultPortConfig)
	if cfg.Policy == nil {
		cfg.Policy = &types.DVSPolicy{AutoPreInstallAllowed: boolp(false), AutoUpgradeAllowed: boolp(false), PartialUpgradeAllowed: boolp(false)}
	}
	if pi := d.Summary.ProductInfo; pi != nil {
		// a create spec's productInfo usually carries the version only
		if pi.Name == "" {
			pi.Name = "DVS"
		}
		if pi.Vendor == "" {
			pi.Vendor = "VMware, Inc."
		}
		if pi.ForwardingClass == "" {
			pi.ForwardingClass = "etherswitch"
		}
	}
	cfg.ProductInfo = *d.Summary.ProductInfo
	cfg.ProductInfo.Version = productVersion
	d.Summary.ProductInfo.Version = productVersion
	if cfg.MaxPorts == 0 {
		cfg.MaxPorts = 2147483647
	}
	if upg := uplinkPortgroup(d); upg != nil {
		cfg.UplinkPortgroup = []types.ManagedObjectReference{upg.Self}
		upg.Config.Uplink = boolp(true)
	}
	for _, ref := range d.Portgroup {
		if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok {
			fixupPortgroup(d, pg, cfg)
		}
	}
}

func fixupPortgroup(d *simulator.DistributedVirtualSwitch, pg *simulator.DistributedVirtualPortgroup, cfg *types.VMwareDVSConfigInfo) {
	if pg.Config.ConfigVersion == "" {
		pg.Config.ConfigVersion = "1"
	}
	if pg.Config.Type == "" {
		pg.Config.Type = string(types.DistributedVirtualPortgroupPortgroupTypeEarlyBinding)
	}
	if pg.Config.Uplink == nil {
		pg.Config.Uplink = boolp(false)
	}
	pg.Config.DefaultPortConfig = mergePortSetting(cfg.DefaultPortConfig, pg.Config.DefaultPortConfig)
	if *pg.Config.Uplink {
		return
	}
	if pg.Config.Type == string(types.DistributedVirtualPortgroupPortgroupTypeEphemeral) {
		return // ports come and go with the connections (dvports.go)
	}
	if pg.Config.NumPorts == 0 {
		pg.Config.NumPorts = 8
		pg.Config.AutoExpand = boolp(true)
	}
	if len(pg.PortKeys) == 0 {
		pg.PortKeys = allocPortKeys(d, int(pg.Config.NumPorts)) // unique per switch (dvports.go)
	}
}

func init() {
	registerSetup(20, "distributed switches", func(lab *Lab) error {
		dvsStates = map[string]*dvsState{}
		ctx := context.Background()
		c, err := vim25.NewClient(ctx, lab.Model.Service)
		if err != nil {
			return err
		}
		var dcs []*simulator.Datacenter
		for _, e := range simulator.Map.All("Datacenter") {
			dcs = append(dcs, e.(*simulator.Datacenter))
		}
		sort.Slice(dcs, func(i, j int) bool { return dcs[i].Name < dcs[j].Name })
		for _, dc := range dcs {
			var have int
			for _, d := range allDVS() {
				if entityDatacenter(d) == dc {
					have++
				}
			}
			var hosts []types.ManagedObjectReference
			for _, e := range simulator.Map.All("HostSystem") {
				if hs := stateOf(e.Reference()); hs != nil && hs.datacenter() == dc {
					hosts = append(hosts, e.Reference())
				}
			}
			folder := object.NewFolder(c, dc.NetworkFolder)
			for i := have; i < lab.Opts.DVS; i++ {
				name := fmt.Sprintf("DVS%d", i)
				task, err := folder.CreateDVS(ctx, types.DVSCreateSpec{ConfigSpec: &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{Name: name}}})
				if err != nil {
					return err
				}
				info, err := task.WaitForResult(ctx, nil)
				if err != nil {
					return err
				}
				dvs := object.NewDistributedVirtualSwitch(c, info.Result.(types.ManagedObjectReference))
				for j := 0; j < lab.Opts.PG; j++ {
					pgName := fmt.Sprintf("%s_DVPG%d", dc.Name, j)
					if i > 0 {
						pgName = fmt.Sprintf("%s_DVS%d_DVPG%d", dc.Name, i, j)
					}
					task, err := dvs.AddPortgroup(ctx, []types.DVPortgroupConfigSpec{{Name: pgName}})
					if err != nil {
						return err
					}
					if err := task.Wait(ctx); err != nil {
						return err
					}
				}
				for _, h := range hosts {
					task, err := dvs.Reconfigure(ctx, &types.DVSConfigSpec{Host: []types.DistributedVirtualSwitchHostMemberConfigSpec{{
						Operation: string(types.ConfigSpecOperationAdd), Host: h}}})
					if err != nil {
						return err
					}
					_ = task.Wait(ctx)
				}
			}
		}
		switches := allDVS()
		sort.Slice(switches, func(i, j int) bool { return switches[i].Name < switches[j].Name })
		used := map[string]bool{} // host already has the vmnic2/3 uplinks on a switch
		for _, d := range switches {
			fixupDVS(d)
			members := append([]types.ManagedObjectReference(nil), d.Summary.HostMember...)
			for _, h := range members {
				var pnics []string
				if !used[h.Value] {
					pnics = []string{"vmnic2", "vmnic3"}
					used[h.Value] = true
				}
				addMember(d, h, pnics)
			}
		}
		return nil
	})

	factory := func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &dvsAlias{newAliasBase(lab, orig)}
	}
	for _, t := range []string{"DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch"} {
		registerOverride(t, factory, "ReconfigureDvs_Task", "UpdateDVSLacpGroupConfig_Task", "EnableNetworkResourceManagement", "AddDVPortgroup_Task")
	}
	registerOverride("DistributedVirtualPortgroup", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &dvpgAlias{newAliasBase(lab, orig)}
	}, "ReconfigureDVPortgroup_Task")
}

// ---------- ReconfigureDvs_Task ----------

type dvsAlias struct {
	aliasBase
}

func (a *dvsAlias) dvs() *simulator.DistributedVirtualSwitch {
	d, _ := simulator.Map.Get(types.ManagedObjectReference{Type: "DistributedVirtualSwitch", Value: a.Orig.Value}).(*simulator.DistributedVirtualSwitch)
	return d
}

func concurrentAccess(cur, sent string) types.BaseMethodFault {
	return &types.ConcurrentAccess{}
}

func checkVersion(cur, sent string) (types.BaseMethodFault, string) {
	if cur == "" {
		cur = "0"
	}
	if sent != "" && sent != cur {
		return concurrentAccess(cur, sent), fmt.Sprintf("Cannot complete operation due to concurrent modification by another operation (configVersion %s, current %s).", sent, cur)
	}
	return nil, ""
}

// taskFault carries a message into the task's LocalizedMethodFault.
type taskErr struct {
	fault types.BaseMethodFault
	msg   string
}

func runTask(ctx *simulator.Context, obj mo.Reference, name string, fn func() *taskErr) types.ManagedObjectReference {
	var e *taskErr
	task := simulator.CreateTask(obj, name, func(t *simulator.Task) (types.AnyType, types.BaseMethodFault) {
		withOrig(ctx, obj, func() { e = fn() })
		if e != nil {
			return nil, e.fault
		}
		return nil, nil
	})
	ref := task.Run()
	if e != nil && task.Info.Error != nil && e.msg != "" {
		task.Info.Error.LocalizedMessage = e.msg
	}
	return ref
}

func terr(f types.BaseMethodFault, format string, args ...interface{}) *taskErr {
	return &taskErr{fault: f, msg: fmt.Sprintf(format, args...)}
}

func (a *dvsAlias) ReconfigureDvsTask(ctx *simulator.Context, req *types.ReconfigureDvs_Task) soap.HasFault {
	d := a.dvs()
	if d == nil {
		return &methods.ReconfigureDvs_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTask(ctx, d, "reconfigureDvs", onSuccess(ctx, func() *taskErr { return reconfigureDvs(ctx, d, req.Spec) }, func() []types.BaseEvent {
		ev := &types.DvsReconfiguredEvent{DvsEvent: dvsEvent(d, fmt.Sprintf("The vSphere Distributed Switch %s in %s was reconfigured.", d.Name, dcName(d))), ConfigSpec: req.Spec}
		return append([]types.BaseEvent{ev}, memberEvents(d, req.Spec.GetDVSConfigSpec())...)
	})) // events.go
	return &methods.ReconfigureDvs_TaskBody{Res: &types.ReconfigureDvs_TaskResponse{Returnval: ref}}
}

func validatePvlan(entries []types.VMwareDVSPvlanMapEntry, e types.VMwareDVSPvlanMapEntry, editing bool) *taskErr {
	if e.PrimaryVlanId < 1 || e.PrimaryVlanId > 4094 || e.SecondaryVlanId < 1 || e.SecondaryVlanId > 4094 {
		return terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec.pvlanEntry"}, "PVLAN ids must be in 1-4094")
	}
	switch e.PvlanType {
	case "promiscuous":
		if e.PrimaryVlanId != e.SecondaryVlanId {
			return terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec.pvlanEntry.secondaryVlanId"},
				"a promiscuous PVLAN entry needs primaryVlanId == secondaryVlanId")
		}
	case "isolated", "community":
		if e.PrimaryVlanId == e.SecondaryVlanId {
			return terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec.pvlanEntry.secondaryVlanId"},
				"an %s PVLAN entry needs a secondary id different from the primary", e.PvlanType)
		}
		found := false
		for _, x := range entries {
			if x.PrimaryVlanId == e.PrimaryVlanId && x.SecondaryVlanId == e.PrimaryVlanId && x.PvlanType == "promiscuous" {
				found = true
			}
			if e.PvlanType == "isolated" && x.PvlanType == "isolated" && x.PrimaryVlanId == e.PrimaryVlanId && x.SecondaryVlanId != e.SecondaryVlanId {
				return terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec.pvlanEntry.pvlanType"},
					"primary VLAN %d already has an isolated secondary (%d)", e.PrimaryVlanId, x.SecondaryVlanId)
			}
		}
		if !found {
			return terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec.pvlanEntry.primaryVlanId"},
				"primary VLAN %d has no promiscuous entry", e.PrimaryVlanId)
		}
	default:
		return terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec.pvlanEntry.pvlanType"}, "invalid pvlanType %q", e.PvlanType)
	}
	return nil
}

func pvlanInUse(d *simulator.DistributedVirtualSwitch, secondary int32) string {
	for _, ref := range d.Portgroup {
		pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
		if !ok {
			continue
		}
		if s, ok := pg.Config.DefaultPortConfig.(*types.VMwareDVSPortSetting); ok {
			if p, ok := s.Vlan.(*types.VmwareDistributedVirtualSwitchPvlanSpec); ok && p.PvlanId == secondary {
				return pg.Name
			}
		}
	}
	return ""
}

func applyPvlan(d *simulator.DistributedVirtualSwitch, cur []types.VMwareDVSPvlanMapEntry, specs []types.VMwareDVSPvlanConfigSpec) ([]types.VMwareDVSPvlanMapEntry, *taskErr) {
	entries := append([]types.VMwareDVSPvlanMapEntry(nil), cur...)
	for _, s := range specs {
		e := s.PvlanEntry
		idx := -1
		for i, x := range entries {
			if x.SecondaryVlanId == e.SecondaryVlanId {
				idx = i
			}
		}
		switch s.Operation {
		case "add":
			if idx >= 0 {
				return nil, terr(&types.AlreadyExists{Name: strconv.Itoa(int(e.SecondaryVlanId))},
					"PVLAN secondary id %d already exists", e.SecondaryVlanId)
			}
			if f := validatePvlan(entries, e, false); f != nil {
				return nil, f
			}
			entries = append(entries, e)
		case "edit":
			if idx < 0 {
				return nil, terr(&types.NotFound{}, "PVLAN secondary id %d not found", e.SecondaryVlanId)
			}
			old := entries[idx]
			rest := append(append([]types.VMwareDVSPvlanMapEntry(nil), entries[:idx]...), entries[idx+1:]...)
			if old.PvlanType == "promiscuous" && (e.PvlanType != "promiscuous" || e.PrimaryVlanId != old.PrimaryVlanId) {
				for _, x := range rest {
					if x.PrimaryVlanId == old.PrimaryVlanId {
						return nil, terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec"},
							"primary VLAN %d still has secondary VLAN %d", old.PrimaryVlanId, x.SecondaryVlanId)
					}
				}
			}
			if f := validatePvlan(rest, e, true); f != nil {
				return nil, f
			}
			entries[idx] = e
		case "remove":
			if idx < 0 || entries[idx].PrimaryVlanId != e.PrimaryVlanId {
				return nil, terr(&types.NotFound{}, "PVLAN entry %d/%d not found", e.PrimaryVlanId, e.SecondaryVlanId)
			}
			if entries[idx].PvlanType == "promiscuous" {
				for _, x := range entries {
					if x.PrimaryVlanId == e.PrimaryVlanId && x.SecondaryVlanId != e.SecondaryVlanId {
						return nil, terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec"},
							"cannot remove primary VLAN %d: secondary VLAN %d still uses it", e.PrimaryVlanId, x.SecondaryVlanId)
					}
				}
			}
			if pg := pvlanInUse(d, e.SecondaryVlanId); pg != "" {
				return nil, terr(&types.ResourceInUse{Type: "DistributedVirtualPortgroup", Name: pg},
					"PVLAN %d is used by port group %s", e.SecondaryVlanId, pg)
			}
			entries = append(entries[:idx], entries[idx+1:]...)
		default:
			return nil, terr(&types.InvalidArgument{InvalidProperty: "pvlanConfigSpec.operation"}, "invalid operation %q", s.Operation)
		}
	}
	return entries, nil
}

func reconfigureDvs(ctx *simulator.Context, d *simulator.DistributedVirtualSwitch, spec types.BaseDVSConfigSpec) *taskErr {
	cfg := dvsConfig(d)
	base := spec.GetDVSConfigSpec()
	if f, msg := checkVersion(cfg.ConfigVersion, base.ConfigVersion); f != nil {
		return &taskErr{f, msg}
	}
	next := *cfg // work on a copy, commit at the end
	vspec, _ := spec.(*types.VMwareDVSConfigSpec)
	if vspec != nil {
		if len(vspec.PvlanConfigSpec) > 0 {
			entries, e := applyPvlan(d, cfg.PvlanConfig, vspec.PvlanConfigSpec)
			if e != nil {
				return e
			}
			next.PvlanConfig = entries
		}
		if vspec.MaxMtu != 0 && (vspec.MaxMtu < 1280 || vspec.MaxMtu > 9000) {
			return terr(&types.InvalidArgument{InvalidProperty: "maxMtu"}, "maxMtu %d out of range 1280-9000", vspec.MaxMtu)
		}
		if l := vspec.LinkDiscoveryProtocolConfig; l != nil {
			if l.Protocol != "cdp" && l.Protocol != "lldp" {
				return terr(&types.InvalidArgument{InvalidProperty: "linkDiscoveryProtocolConfig.protocol"}, "invalid protocol %q", l.Protocol)
			}
			switch l.Operation {
			case "none", "listen", "advertise", "both":
			default:
				return terr(&types.InvalidArgument{InvalidProperty: "linkDiscoveryProtocolConfig.operation"}, "invalid operation %q", l.Operation)
			}
		}
		if v := vspec.LacpApiVersion; v != "" && v != "singleLag" && v != "multipleLag" {
			return terr(&types.InvalidArgument{InvalidProperty: "lacpApiVersion"}, "invalid lacpApiVersion %q", v)
		}
		if vspec.IpfixConfig != nil {
			if e := validateIpfix(vspec.IpfixConfig); e != nil {
				return e
			}
		}
		if len(vspec.VspanConfigSpec) > 0 {
			sessions, e := applyVspan(d, cfg.VspanSession, vspec.VspanConfigSpec)
			if e != nil {
				return e
			}
			next.VspanSession = sessions
		}
	}
	if p, ok := base.UplinkPortPolicy.(*types.DVSNameArrayUplinkPortPolicy); ok && len(p.UplinkPortName) == 0 {
		return terr(&types.InvalidArgument{InvalidProperty: "uplinkPortPolicy.uplinkPortName"}, "at least one uplink name is required")
	}
	if base.Name != "" && base.Name != d.Name {
		f := simulator.Map.Get(*d.Parent)
		if folder, ok := f.(*simulator.Folder); ok {
			if other := simulator.Map.FindByName(base.Name, folder.ChildEntity); other != nil && other.Reference() != d.Self {
				return terr(&types.DuplicateName{Name: base.Name, Object: other.Reference()}, "name %s already in use", base.Name)
			}
		}
	}
	// host members: validate first
	for _, m := range base.Host {
		h, ok := simulator.Map.Get(m.Host).(*simulator.HostSystem)
		if !ok {
			return terr(&types.ManagedObjectNotFound{Obj: m.Host}, "host %s not found", m.Host.Value)
		}
		member := simulator.FindReference(d.Summary.HostMember, m.Host) != nil
		switch types.ConfigSpecOperation(m.Operation) {
		case types.ConfigSpecOperationAdd:
			if member {
				return terr(&types.AlreadyExists{Name: h.Name}, "host %s is already a member", h.Name)
			}
		case types.ConfigSpecOperationRemove, types.ConfigSpecOperationEdit:
			if !member {
				return terr(&types.NotFound{}, "host %s is not a member of %s", h.Name, d.Name)
			}
		default:
			return terr(&types.InvalidArgument{InvalidProperty: "host.operation"}, "invalid operation %q", m.Operation)
		}
		if m.Operation != string(types.ConfigSpecOperationRemove) {
			if e := checkPnicSpecs(d, h, m.Operation, m.Backing); e != nil {
				return e
			}
			hs := stateOf(m.Host)
			for _, p := range backingPnics(m.Backing) {
				if hs != nil && !hs.hasPnic(p) {
					return terr(&types.NotFound{}, "physical NIC %s not found on %s", p, h.Name)
				}
				if hs != nil {
					if u := hs.pnicUser(p, ""); u != "" && u != d.Name {
						return terr(&types.ResourceInUse{Type: "PhysicalNic", Name: p}, "physical NIC %s of %s is used by %s", p, h.Name, u)
					}
				}
			}
		} else {
			for _, ref := range h.Vm {
				vm := simulator.Map.Get(ref).(*simulator.VirtualMachine)
				if pg := simulator.FindReference(vm.Network, d.Portgroup...); pg != nil {
					return terr(&types.ResourceInUse{Type: pg.Type, Name: pg.Value}, "VM %s on %s uses the switch", vm.Name, h.Name)
				}
			}
			if hs := stateOf(m.Host); hs != nil {
				for _, v := range hs.net().Vnic {
					if v.Spec.DistributedVirtualPort != nil && v.Spec.DistributedVirtualPort.SwitchUuid == d.Uuid {
						return terr(&types.ResourceInUse{Type: "HostVirtualNic", Name: v.Device}, "%s on %s uses the switch", v.Device, h.Name)
					}
				}
			}
		}
	}

	// apply scalar fields
	skip := map[string]bool{"Host": true, "PvlanConfigSpec": true, "VspanConfigSpec": true, "ConfigVersion": true,
		"DefaultPortConfig": true, "Contact": true, "Name": true, "InfrastructureTrafficResourceConfig": true}
	copyFields(reflect.ValueOf(&next).Elem(), reflect.ValueOf(spec).Elem(), skip)
	if edits := base.InfrastructureTrafficResourceConfig; len(edits) > 0 {
		merged, e := mergeTraffic(cfg.InfrastructureTrafficResourceConfig, edits) // queueing.go
		if e != nil {
			return e
		}
		// the network resource pools keep fitting the VM reservation (nioc_pools.go)
		if e := checkPoolQuota(&next, merged, cfg.VmVnicNetworkResourcePool, "infrastructureTrafficResourceConfig.allocationInfo.reservation"); e != nil {
			return e
		}
		next.InfrastructureTrafficResourceConfig = merged
	}
	if base.DefaultPortConfig != nil {
		next.DefaultPortConfig = mergePortSetting(cfg.DefaultPortConfig, base.DefaultPortConfig)
		if e := ipfixNeedsCollector(&next, base.DefaultPortConfig, "defaultPortConfig"); e != nil {
			return e
		}
	}
	if base.Contact != nil {
		next.Contact = *base.Contact
	}
	renamed := base.Name != "" && base.Name != d.Name
	if renamed {
		next.Name = base.Name
		d.Name = base.Name
		d.Entity().Name = base.Name
		d.Summary.Name = base.Name
		for _, m := range cfg.Host {
			if hs := stateOf(*m.Config.Host); hs != nil {
				hs.mu.Lock()
				for i := range hs.net().ProxySwitch {
					if hs.net().ProxySwitch[i].DvsUuid == d.Uuid {
						hs.net().ProxySwitch[i].DvsName = base.Name
					}
				}
				hs.notify() // the host's proxy switch names the vDS: config.network changed
				hs.mu.Unlock()
			}
		}
	}
	if base.Description != "" { // "" left it out; the sentinel clears it (unsetdesc.go)
		next.Description = described(base.Description)
		d.Summary.Description = next.Description
	}
	next.ConfigVersion = bumpVersion(cfg.ConfigVersion)
	*cfg = next

	// host members
	for _, m := range base.Host {
		h := simulator.Map.Get(m.Host).(*simulator.HostSystem)
		switch types.ConfigSpecOperation(m.Operation) {
		case types.ConfigSpecOperationAdd:
			hostNetworks := append(h.Network, d.Portgroup...)
			simulator.Map.Update(h, []types.PropertyChange{{Name: "network", Val: hostNetworks}})
			for _, ref := range d.Portgroup {
				pg := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
				simulator.Map.Update(pg, []types.PropertyChange{{Name: "host", Val: append(pg.Host, m.Host)}})
				if parent, ok := simulator.Map.Get(*h.Parent).(*simulator.ClusterComputeResource); ok {
					if simulator.FindReference(parent.Network, ref) == nil {
						simulator.Map.Update(parent, []types.PropertyChange{{Name: "network", Val: append(parent.Network, ref)}})
					}
				}
			}
			d.Summary.HostMember = append(d.Summary.HostMember, m.Host)
			addMember(d, m.Host, backingPnics(m.Backing))
		case types.ConfigSpecOperationEdit:
			editMemberPnics(d, m.Host, m.Backing) // lagports.go: uplinkPortKey honoured
		case types.ConfigSpecOperationRemove:
			members := append([]types.ManagedObjectReference(nil), d.Summary.HostMember...)
			simulator.RemoveReference(&members, m.Host)
			d.Summary.HostMember = members
			var nets []types.ManagedObjectReference
			for _, n := range h.Network {
				if simulator.FindReference(d.Portgroup, n) == nil {
					nets = append(nets, n)
				}
			}
			simulator.Map.Update(h, []types.PropertyChange{{Name: "network", Val: nets}})
			for _, ref := range d.Portgroup {
				pg := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
				hosts := append([]types.ManagedObjectReference(nil), pg.Host...)
				simulator.RemoveReference(&hosts, m.Host)
				simulator.Map.Update(pg, []types.PropertyChange{{Name: "host", Val: hosts}})
			}
			removeMember(d, m.Host)
		}
	}
	// proxy switch MTU follows maxMtu
	for _, m := range cfg.Host {
		if hs := stateOf(*m.Config.Host); hs != nil {
			hs.mu.Lock()
			for i := range hs.net().ProxySwitch {
				if hs.net().ProxySwitch[i].DvsUuid == d.Uuid {
					hs.net().ProxySwitch[i].Mtu = cfg.MaxMtu
				}
			}
			hs.mu.Unlock()
		}
	}
	syncLagPorts(d) // lagports.go: members' LAG ports and proxy switches
	changes := []types.PropertyChange{{Name: "config", Val: d.Config}}
	if renamed { // vCenter reports the name too: clients read it on its own
		changes = append(changes, types.PropertyChange{Name: "name", Val: d.Name})
	}
	simulator.Map.Update(d, changes)
	refreshHealth(d) // members, maxMtu and teaming decide the health check results
	return nil
}

// ---------- EnableNetworkResourceManagement ----------

func (a *dvsAlias) EnableNetworkResourceManagement(ctx *simulator.Context, req *types.EnableNetworkResourceManagement) soap.HasFault {
	d := a.dvs()
	if d == nil {
		return &methods.EnableNetworkResourceManagementBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	withOrig(ctx, d, func() {
		cfg := dvsConfig(d)
		cfg.NetworkResourceManagementEnabled = boolp(req.Enable)
		cfg.ConfigVersion = bumpVersion(cfg.ConfigVersion)
	})
	return &methods.EnableNetworkResourceManagementBody{Res: &types.EnableNetworkResourceManagementResponse{}}
}

// ---------- UpdateDVSLacpGroupConfig_Task ----------

func (a *dvsAlias) UpdateDVSLacpGroupConfigTask(ctx *simulator.Context, req *types.UpdateDVSLacpGroupConfig_Task) soap.HasFault {
	d := a.dvs()
	if d == nil {
		return &methods.UpdateDVSLacpGroupConfig_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTask(ctx, d, "updateDVSLacpGroupConfig", onSuccess(ctx, func() *taskErr {
		cfg := dvsConfig(d)
		if cfg.LacpApiVersion != "multipleLag" {
			return terr(&types.InvalidArgument{InvalidProperty: "lacpApiVersion"}, "LAGs need lacpApiVersion multipleLag")
		}
		lags := append([]types.VMwareDvsLacpGroupConfig(nil), cfg.LacpGroupConfig...)
		find := func(key string) int {
			for i, l := range lags {
				if l.Key == key {
					return i
				}
			}
			return -1
		}
		for _, s := range req.LacpGroupSpec {
			g := s.LacpGroupConfig
			switch s.Operation {
			case "add":
				if g.Name == "" {
					return terr(&types.InvalidArgument{InvalidProperty: "lacpGroupConfig.name"}, "LAG name is required")
				}
				for _, l := range lags {
					if l.Name == g.Name {
						return terr(&types.AlreadyExists{Name: g.Name}, "LAG %s already exists", g.Name)
					}
				}
				if g.UplinkNum < 1 || g.UplinkNum > 32 {
					return terr(&types.InvalidArgument{InvalidProperty: "lacpGroupConfig.uplinkNum"}, "uplinkNum must be 1-32")
				}
				if g.Mode == "" {
					g.Mode = "passive"
				}
				if g.Mode != "active" && g.Mode != "passive" {
					return terr(&types.InvalidArgument{InvalidProperty: "lacpGroupConfig.mode"}, "invalid mode %q", g.Mode)
				}
				if g.LoadbalanceAlgorithm == "" {
					g.LoadbalanceAlgorithm = "srcDestIpTcpUdpPortVlan"
				}
				g.Key = fmt.Sprintf("lag-%d", len(lags)+1)
				for find(g.Key) >= 0 {
					g.Key += "x"
				}
				g.UplinkName = nil
				for i := 0; i < int(g.UplinkNum); i++ {
					g.UplinkName = append(g.UplinkName, fmt.Sprintf("%s-%d", g.Name, i))
				}
				lags = append(lags, g)
			case "edit":
				i := find(g.Key)
				if i < 0 {
					return terr(&types.NotFound{}, "LAG %s not found", g.Key)
				}
				cur := lags[i]
				if g.Name != "" {
					cur.Name = g.Name
				}
				if g.Mode != "" {
					cur.Mode = g.Mode
				}
				if g.LoadbalanceAlgorithm != "" {
					cur.LoadbalanceAlgorithm = g.LoadbalanceAlgorithm
				}
				if g.UplinkNum != 0 {
					cur.UplinkNum = g.UplinkNum
					cur.UplinkName = nil
					for j := 0; j < int(g.UplinkNum); j++ {
						cur.UplinkName = append(cur.UplinkName, fmt.Sprintf("%s-%d", cur.Name, j))
					}
				}
				if g.Vlan != nil {
					cur.Vlan = g.Vlan
				}
				if g.Ipfix != nil {
					cur.Ipfix = g.Ipfix
				}
				lags[i] = cur
			case "remove":
				i := find(g.Key)
				if i < 0 {
					return terr(&types.NotFound{}, "LAG %s not found", g.Key)
				}
				if pg := lagInUse(d, lags[i].Name); pg != "" {
					return terr(&types.ResourceInUse{Type: "DistributedVirtualPortgroup", Name: pg},
						"LAG %s is in the failover order of port group %s", lags[i].Name, pg)
				}
				lags = append(lags[:i], lags[i+1:]...)
			default:
				return terr(&types.InvalidArgument{InvalidProperty: "operation"}, "invalid operation %q", s.Operation)
			}
		}
		cfg.LacpGroupConfig = lags
		cfg.ConfigVersion = bumpVersion(cfg.ConfigVersion)
		syncLagPorts(d) // lagports.go: every member gets the LAGs' uplink ports
		simulator.Map.Update(d, []types.PropertyChange{{Name: "config", Val: d.Config}})
		return nil
	}, func() []types.BaseEvent {
		return []types.BaseEvent{&types.DvsReconfiguredEvent{DvsEvent: dvsEvent(d, fmt.Sprintf("The vSphere Distributed Switch %s in %s was reconfigured.", d.Name, dcName(d)))}}
	})) // events.go
	return &methods.UpdateDVSLacpGroupConfig_TaskBody{Res: &types.UpdateDVSLacpGroupConfig_TaskResponse{Returnval: ref}}
}

// ---------- ReconfigureDVPortgroup_Task ----------

type dvpgAlias struct {
	aliasBase
}

func validateVlanSpec(d *simulator.DistributedVirtualSwitch, v types.BaseVmwareDistributedVirtualSwitchVlanSpec) *taskErr {
	switch x := v.(type) {
	case *types.VmwareDistributedVirtualSwitchVlanIdSpec:
		if x.VlanId < 0 || x.VlanId > 4094 {
			return terr(&types.InvalidArgument{InvalidProperty: "defaultPortConfig.vlan.vlanId"}, "VLAN id %d out of range 0-4094", x.VlanId)
		}
	case *types.VmwareDistributedVirtualSwitchTrunkVlanSpec:
		if len(x.VlanId) == 0 {
			return terr(&types.InvalidArgument{InvalidProperty: "defaultPortConfig.vlan.vlanId"}, "trunk needs at least one range")
		}
		for _, r := range x.VlanId {
			if r.Start < 0 || r.End > 4094 || r.Start > r.End {
				return terr(&types.InvalidArgument{InvalidProperty: "defaultPortConfig.vlan.vlanId"}, "invalid trunk range %d-%d", r.Start, r.End)
			}
		}
	case *types.VmwareDistributedVirtualSwitchPvlanSpec:
		cfg := dvsConfig(d)
		for _, e := range cfg.PvlanConfig {
			if e.SecondaryVlanId == x.PvlanId {
				return nil
			}
		}
		return terr(&types.InvalidArgument{InvalidProperty: "defaultPortConfig.vlan.pvlanId"},
			"PVLAN id %d is not a secondary VLAN of %s", x.PvlanId, d.Name)
	}
	return nil
}

func (a *dvpgAlias) ReconfigureDVPortgroupTask(ctx *simulator.Context, req *types.ReconfigureDVPortgroup_Task) soap.HasFault {
	pg, _ := simulator.Map.Get(a.Orig).(*simulator.DistributedVirtualPortgroup)
	if pg == nil {
		return &methods.ReconfigureDVPortgroup_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	oldName := pg.Name
	ref := runTask(ctx, pg, "reconfigureDvPortgroup", onSuccess(ctx, func() *taskErr {
		spec := req.Spec
		if f, msg := checkVersion(pg.Config.ConfigVersion, spec.ConfigVersion); f != nil {
			return &taskErr{f, msg}
		}
		d, _ := simulator.Map.Get(*pg.Config.DistributedVirtualSwitch).(*simulator.DistributedVirtualSwitch)
		if s, ok := spec.DefaultPortConfig.(*types.VMwareDVSPortSetting); ok && s.Vlan != nil && d != nil {
			if e := validateVlanSpec(d, s.Vlan); e != nil {
				return e
			}
		}
		if spec.NumPorts < 0 {
			return terr(&types.InvalidArgument{InvalidProperty: "numPorts"}, "numPorts must not be negative")
		}
		if d != nil {
			if e := validatePoolKey(d, spec.VmVnicNetworkResourcePoolKey); e != nil { // nioc_pools.go
				return e
			}
			if e := ipfixNeedsCollector(dvsConfig(d), spec.DefaultPortConfig, "defaultPortConfig"); e != nil {
				return e
			}
		}
		if spec.Type != "" {
			switch spec.Type {
			case "earlyBinding", "lateBinding", "ephemeral":
			default:
				return terr(&types.InvalidArgument{InvalidProperty: "type"}, "invalid port group type %q", spec.Type)
			}
		}
		if spec.Name != "" && spec.Name != pg.Name {
			if f, ok := simulator.Map.Get(*pg.Parent).(*simulator.Folder); ok {
				if other := simulator.Map.FindByName(spec.Name, f.ChildEntity); other != nil && other.Reference() != pg.Self {
					return terr(&types.DuplicateName{Name: spec.Name, Object: other.Reference()}, "name %s already in use", spec.Name)
				}
			}
		}
		next := pg.Config
		skip := map[string]bool{"ConfigVersion": true, "DefaultPortConfig": true, "Name": true}
		copyFields(reflect.ValueOf(&next).Elem(), reflect.ValueOf(&spec).Elem(), skip)
		// an empty description unsets it (unsetdesc.go)
		next.Description = described(next.Description)
		setting, filters, e := takeFilterPolicy(d, pg.Config.DefaultPortConfig, spec.DefaultPortConfig) // trafficfilter.go
		if e != nil {
			return e
		}
		if setting != nil {
			next.DefaultPortConfig = mergePortSetting(pg.Config.DefaultPortConfig, setting)
			setFilterPolicy(next.DefaultPortConfig, filters)
			if sp, ok := spec.DefaultPortConfig.(*types.VMwareDVSPortSetting); ok && sp.UplinkTeamingPolicy != nil && sp.UplinkTeamingPolicy.UplinkPortOrder != nil && d != nil {
				if e := validateTeaming(d, next.DefaultPortConfig); e != nil {
					return e
				}
			}
		}
		if spec.Name != "" && spec.Name != pg.Name {
			old := pg.Name
			next.Name = spec.Name
			pg.Name = spec.Name
			pg.Entity().Name = spec.Name
			if d != nil {
				for i, n := range d.Summary.PortgroupName {
					if n == old {
						d.Summary.PortgroupName[i] = spec.Name
					}
				}
			}
		}
		if n := int(spec.NumPorts); n > 0 && n != len(pg.PortKeys) && d != nil {
			if n > len(pg.PortKeys) {
				pg.PortKeys = append(pg.PortKeys, allocPortKeys(d, n-len(pg.PortKeys))...)
			} else {
				pg.PortKeys = pg.PortKeys[:n]
			}
		}
		next.ConfigVersion = bumpVersion(pg.Config.ConfigVersion)
		pg.Config = next
		changes := []types.PropertyChange{{Name: "config", Val: pg.Config}}
		if pg.Name != oldName { // vCenter reports the name too: clients read it on its own
			changes = append(changes, types.PropertyChange{Name: "name", Val: pg.Name})
		}
		simulator.Map.Update(pg, changes)
		return nil
	}, func() []types.BaseEvent {
		ev := &types.DVPortgroupReconfiguredEvent{DVPortgroupEvent: pgEvent(pg, dvsOf(pg), fmt.Sprintf("Distributed virtual port group %s in %s was reconfigured.", pg.Name, dcName(pg))), ConfigSpec: req.Spec}
		if oldName == pg.Name {
			return []types.BaseEvent{ev}
		}
		return []types.BaseEvent{ev, &types.DVPortgroupRenamedEvent{DVPortgroupEvent: pgEvent(pg, dvsOf(pg),
			fmt.Sprintf("Distributed virtual port group %s in %s was renamed to %s.", oldName, dcName(pg), pg.Name)), OldName: oldName, NewName: pg.Name}}
	})) // events.go
	return &methods.ReconfigureDVPortgroup_TaskBody{Res: &types.ReconfigureDVPortgroup_TaskResponse{Returnval: ref}}
}
