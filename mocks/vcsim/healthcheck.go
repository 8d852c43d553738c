package main

// vSphere Distributed Switch health check, which stock vcsim does not have:
// config.healthCheckConfig (VLAN/MTU and teaming, each enable + interval in
// minutes), UpdateDVSHealthCheckConfig_Task, and the results vCenter publishes
// per member host in runtime.hostMemberRuntime[].healthCheckResult.
//
// The results are computed from the lab's own state against a model of the
// physical side (the ToR port each pNIC is cabled to, as its CDP/LLDP hint
// says): every ToR port has an MTU, a set of allowed (trunked) VLANs and
// whether it is in a port channel. By default a port is what a Nexus ToR
// port set up for ESXi is: MTU 9216, `switchport trunk allowed vlan all`
// (0-4094, VLAN 0 being the untagged native VLAN), no port channel.
//
//   - VLAN check, per uplink: the VLANs the switch's uplink port group carries
//     (its trunk range; vCenter's DVUplinks default is 0-4094) split into
//     trunkedVlan (allowed on the ToR port) and untrunkedVlan (not allowed).
//   - MTU check, per uplink: mtuMismatch when the ToR port's MTU is below the
//     switch's maxMtu; the trunked VLANs are then all in
//     vlanNotSupportSwitchMtu, else all in vlanSupportSwitchMtu.
//   - Teaming check, per host: iphashMatch / iphashMismatch when the switch's
//     default teaming is IP hash and all / not all of the host's uplink ports
//     are in a port channel; nonIphashMatch / nonIphashMismatch likewise
//     when it is not IP hash.
//   - An uplink without a pNIC, or whose link is down, has no result (no
//     frames); a check that is off has none either.
//
// vCenter publishes results after the first round of a check (within its
// interval); the lab publishes them at once and again whenever something
// they depend on changes (the config, ReconfigureDvs, a link, the physical
// side), so a client reads the state a completed round would report.
//
//   GET    /vnettool/physical    the ToR ports that differ from the default
//   POST   /vnettool/physical    {"switch":"tor-dc0_c0-a","port":"Ethernet1/3",
//                                "mtu":1500,"vlans":"0-199,201-4094","channel":false}
//                                (fields left out keep their value)
//   DELETE /vnettool/physical    every port back to the default
//
// --scenario audit (and stig, which includes it) seeds one port: the ToR port of the first cluster's third
// host's vmnic3 (an uplink of DVS0) has MTU 1500 and does not allow VLAN 200.

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// ---------- the physical side ----------

type physPort struct {
	Switch  string `json:"switch"`
	Port    string `json:"port"`
	Mtu     int32  `json:"mtu"`
	Vlans   string `json:"vlans"`
	Channel bool   `json:"channel"`
}

type physUpdate struct {
	Switch  string  `json:"switch"`
	Port    string  `json:"port"`
	Mtu     *int32  `json:"mtu"`
	Vlans   *string `json:"vlans"`
	Channel *bool   `json:"channel"`
}

var physical = struct {
	mu    sync.Mutex
	ports map[string]physPort // "switch/port" -> a port that differs from the default
}{ports: map[string]physPort{}}

func defaultPhysPort(sw, port string) physPort {
	return physPort{Switch: sw, Port: port, Mtu: 9216, Vlans: "0-4094"}
}

func physPortOf(sw, port string) physPort {
	physical.mu.Lock()
	defer physical.mu.Unlock()
	if p, ok := physical.ports[sw+"/"+port]; ok {
		return p
	}
	return defaultPhysPort(sw, port)
}

// parseRanges reads "0-199,201-4094" (VLAN IDs 0-4094) into sorted, merged ranges.
func parseRanges(s string) ([]types.NumericRange, error) {
	var out []types.NumericRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi := part, part
		if i := strings.Index(part, "-"); i > 0 {
			lo, hi = part[:i], part[i+1:]
		}
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || a < 0 || b > 4094 || a > b {
			return nil, fmt.Errorf("bad VLAN range %q (VLAN IDs 0-4094, e.g. 0-199,201-4094)", part)
		}
		out = append(out, types.NumericRange{Start: int32(a), End: int32(b)})
	}
	return mergeRanges(out), nil
}

func mergeRanges(in []types.NumericRange) []types.NumericRange {
	r := append([]types.NumericRange(nil), in...)
	sort.Slice(r, func(i, j int) bool { return r[i].Start < r[j].Start })
	var out []types.NumericRange
	for _, x := range r {
		if n := len(out); n > 0 && x.Start <= out[n-1].End+1 {
			if x.End > out[n-1].End {
				out[n-1].End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// splitRanges: the parts of want inside allowed, and the parts outside.
func splitRanges(want, allowed []types.NumericRange) (in, out []types.NumericRange) {
	has := func(v int32) bool {
		for _, a := range allowed {
			if v >= a.Start && v <= a.End {
				return true
			}
		}
		return false
	}
	for _, w := range want {
		for v := w.Start; v <= w.End; v++ {
			if has(v) {
				in = append(in, types.NumericRange{Start: v, End: v})
			} else {
				out = append(out, types.NumericRange{Start: v, End: v})
			}
		}
	}
	return mergeRanges(in), mergeRanges(out)
}

func (u physUpdate) apply() error {
	if u.Switch == "" || u.Port == "" {
		return fmt.Errorf("switch and port are required")
	}
	cabled := false
	for _, hs := range allHostStates() {
		for _, p := range hs.net().Pnic {
			if c := pnicHint(hs.host, p).ConnectedSwitchPort; c != nil && c.DevId == u.Switch && c.PortId == u.Port {
				cabled = true
			}
		}
	}
	if !cabled {
		return fmt.Errorf("no pNIC is cabled to switch %q port %q", u.Switch, u.Port)
	}
	p := physPortOf(u.Switch, u.Port)
	if u.Mtu != nil {
		if *u.Mtu < 576 || *u.Mtu > 9216 {
			return fmt.Errorf("mtu %d out of range 576-9216", *u.Mtu)
		}
		p.Mtu = *u.Mtu
	}
	if u.Vlans != nil {
		r, err := parseRanges(*u.Vlans)
		if err != nil {
			return err
		}
		p.Vlans = formatRanges(r)
	}
	if u.Channel != nil {
		p.Channel = *u.Channel
	}
	physical.mu.Lock()
	if p == defaultPhysPort(u.Switch, u.Port) {
		delete(physical.ports, u.Switch+"/"+u.Port)
	} else {
		physical.ports[u.Switch+"/"+u.Port] = p
	}
	physical.mu.Unlock()
	refreshAllHealth()
	return nil
}

func formatRanges(r []types.NumericRange) string {
	var parts []string
	for _, x := range r {
		if x.Start == x.End {
			parts = append(parts, strconv.Itoa(int(x.Start)))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", x.Start, x.End))
		}
	}
	return strings.Join(parts, ",")
}

func physView() []physPort {
	physical.mu.Lock()
	defer physical.mu.Unlock()
	out := []physPort{}
	for _, p := range physical.ports {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Switch+"/"+out[i].Port < out[j].Switch+"/"+out[j].Port })
	return out
}

func physicalHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			var u physUpdate
			if !decodeStrict(w, r, &u) {
				return
			}
			if err := u.apply(); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]interface{}{"error": err.Error()})
				return
			}
		case http.MethodDelete:
			physical.mu.Lock()
			physical.ports = map[string]physPort{}
			physical.mu.Unlock()
			refreshAllHealth()
		default:
			writeJSON(w, http.StatusMethodNotAllowed, map[string]interface{}{"error": "method not allowed"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]interface{}{"ports": physView()})
	}
}

// ---------- config ----------

func healthConfig(enable bool, interval int32) types.DVSHealthCheckConfig {
	return types.DVSHealthCheckConfig{Enable: boolp(enable), Interval: interval}
}

// healthCheckDefaults: vCenter 7.0.3 creates every VMware switch with both checks off, 1 minute.
func healthCheckDefaults(cfg *types.VMwareDVSConfigInfo) {
	if len(cfg.HealthCheckConfig) > 0 {
		return
	}
	cfg.HealthCheckConfig = []types.BaseDVSHealthCheckConfig{
		&types.VMwareDVSVlanMtuHealthCheckConfig{VMwareDVSHealthCheckConfig: types.VMwareDVSHealthCheckConfig{DVSHealthCheckConfig: healthConfig(false, 1)}},
		&types.VMwareDVSTeamingHealthCheckConfig{VMwareDVSHealthCheckConfig: types.VMwareDVSHealthCheckConfig{DVSHealthCheckConfig: healthConfig(false, 1)}},
	}
}

func healthKind(c types.BaseDVSHealthCheckConfig) string {
	switch c.(type) {
	case *types.VMwareDVSVlanMtuHealthCheckConfig:
		return "vlanMtu"
	case *types.VMwareDVSTeamingHealthCheckConfig:
		return "teaming"
	}
	return ""
}

func healthEnabled(cfg *types.VMwareDVSConfigInfo, kind string) bool {
	for _, c := range cfg.HealthCheckConfig {
		b := c.GetDVSHealthCheckConfig()
		if healthKind(c) == kind && b.Enable != nil && *b.Enable {
			return true
		}
	}
	return false
}

// UpdateDVSHealthCheckConfig_Task: each config sent replaces the switch's config of its
// class (the others stay); an enabled check needs an interval of at least one minute.
func (a *dvsAlias) UpdateDVSHealthCheckConfigTask(ctx *simulator.Context, req *types.UpdateDVSHealthCheckConfig_Task) soap.HasFault {
	d := a.dvs()
	if d == nil {
		return &methods.UpdateDVSHealthCheckConfig_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTask(ctx, d, "UpdateDVSHealthCheckConfig_Task", func() *taskErr {
		cfg := dvsConfig(d)
		if len(req.HealthCheckConfig) == 0 {
			return badArg("healthCheckConfig", "no health check config given")
		}
		next := append([]types.BaseDVSHealthCheckConfig(nil), cfg.HealthCheckConfig...)
		seen := map[string]bool{}
		for i, c := range req.HealthCheckConfig {
			kind := healthKind(c)
			where := fmt.Sprintf("healthCheckConfig[%d]", i)
			if kind == "" {
				return badArg(where, "unsupported health check config %T", c)
			}
			if seen[kind] {
				return badArg(where, "%s health check config given twice", kind)
			}
			seen[kind] = true
			b := c.GetDVSHealthCheckConfig()
			if b.Enable == nil {
				return badArg(where+".enable", "enable is required")
			}
			if b.Interval < 0 || (*b.Enable && b.Interval < 1) {
				return badArg(where+".interval", "interval %d: an enabled check needs an interval of at least 1 minute", b.Interval)
			}
			replaced := false
			for j := range next {
				if healthKind(next[j]) == kind {
					next[j] = c
					replaced = true
				}
			}
			if !replaced {
				next = append(next, c)
			}
		}
		cfg.HealthCheckConfig = next
		cfg.ConfigVersion = bumpVersion(cfg.ConfigVersion)
		simulator.Map.Update(d, []types.PropertyChange{{Name: "config", Val: d.Config}})
		refreshHealth(d)
		return nil
	})
	return &methods.UpdateDVSHealthCheckConfig_TaskBody{Res: &types.UpdateDVSHealthCheckConfig_TaskResponse{Returnval: ref}}
}

// ---------- results ----------

// uplinkVlans: the VLANs the switch's uplink port group carries (a trunk range, or one id).
func uplinkVlans(d *simulator.DistributedVirtualSwitch) []types.NumericRange {
	all := []types.NumericRange{{Start: 0, End: 4094}}
	upg := uplinkPortgroup(d)
	if upg == nil {
		return all
	}
	s, ok := upg.Config.DefaultPortConfig.(*types.VMwareDVSPortSetting)
	if !ok || s.Vlan == nil {
		return all
	}
	switch v := s.Vlan.(type) {
	case *types.VmwareDistributedVirtualSwitchTrunkVlanSpec:
		if len(v.VlanId) > 0 {
			return mergeRanges(v.VlanId)
		}
	case *types.VmwareDistributedVirtualSwitchVlanIdSpec:
		if v.VlanId != 0 {
			return []types.NumericRange{{Start: v.VlanId, End: v.VlanId}}
		}
	}
	return all
}

func defaultTeaming(cfg *types.VMwareDVSConfigInfo) string {
	if s, ok := cfg.DefaultPortConfig.(*types.VMwareDVSPortSetting); ok && s.UplinkTeamingPolicy != nil && s.UplinkTeamingPolicy.Policy != nil {
		return s.UplinkTeamingPolicy.Policy.Value
	}
	return "loadbalance_srcid"
}

// memberResults: the health check results of one member host.
func memberResults(d *simulator.DistributedVirtualSwitch, cfg *types.VMwareDVSConfigInfo, m types.DistributedVirtualSwitchHostMember) []types.BaseHostMemberHealthCheckResult {
	hs := stateOf(*m.Config.Host)
	pb, _ := m.Config.Backing.(*types.DistributedVirtualSwitchHostMemberPnicBacking)
	if hs == nil || pb == nil {
		return nil
	}
	vlanMtu, teaming := healthEnabled(cfg, "vlanMtu"), healthEnabled(cfg, "teaming")
	if !vlanMtu && !teaming {
		return nil
	}
	pnics := map[string]types.PhysicalNic{}
	for _, p := range hs.net().Pnic {
		pnics[p.Device] = p
	}
	want := uplinkVlans(d)
	var out []types.BaseHostMemberHealthCheckResult
	channels, ports := 0, 0
	for _, s := range pb.PnicSpec {
		p, ok := pnics[s.PnicDevice]
		if !ok || linkDown(p) {
			continue
		}
		cdp := pnicHint(hs.host, p).ConnectedSwitchPort
		if cdp == nil {
			continue
		}
		phys := physPortOf(cdp.DevId, cdp.PortId)
		ports++
		if phys.Channel {
			channels++
		}
		if !vlanMtu {
			continue
		}
		allowed, _ := parseRanges(phys.Vlans)
		trunked, untrunked := splitRanges(want, allowed)
		up := types.HostMemberUplinkHealthCheckResult{UplinkPortKey: s.UplinkPortKey}
		vlan := &types.VMwareDVSVlanHealthCheckResult{HostMemberUplinkHealthCheckResult: up, TrunkedVlan: trunked, UntrunkedVlan: untrunked}
		vlan.Summary = "normal"
		if len(untrunked) > 0 {
			vlan.Summary = "warning"
		}
		mtu := &types.VMwareDVSMtuHealthCheckResult{HostMemberUplinkHealthCheckResult: up, MtuMismatch: phys.Mtu < cfg.MaxMtu}
		if mtu.MtuMismatch {
			mtu.VlanNotSupportSwitchMtu = trunked
			mtu.Summary = "warning"
		} else {
			mtu.VlanSupportSwitchMtu = trunked
			mtu.Summary = "normal"
		}
		out = append(out, vlan, mtu)
	}
	if teaming && ports > 0 {
		ipHash := defaultTeaming(cfg) == "loadbalance_ip"
		status := "nonIphashMatch"
		switch {
		case ipHash && channels == ports:
			status = "iphashMatch"
		case ipHash:
			status = "iphashMismatch"
		case channels > 0:
			status = "nonIphashMismatch"
		}
		t := &types.VMwareDVSTeamingHealthCheckResult{TeamingStatus: status}
		t.Summary = "normal"
		if strings.HasSuffix(status, "Mismatch") {
			t.Summary = "warning"
		}
		out = append(out, t)
	}
	return out
}

// refreshHealth recomputes runtime.hostMemberRuntime (status, and results of the checks
// that are on) and publishes it. The caller holds the switch's lock or owns the switch.
func refreshHealth(d *simulator.DistributedVirtualSwitch) {
	cfg := dvsConfig(d)
	if cfg == nil {
		return
	}
	rt := &types.DVSRuntimeInfo{}
	if d.Runtime != nil {
		rt.ResourceRuntimeInfo = d.Runtime.ResourceRuntimeInfo
	}
	for _, m := range cfg.Host {
		if m.Config.Host == nil {
			continue
		}
		status := m.Status
		if status == "" {
			status = "up"
		}
		rt.HostMemberRuntime = append(rt.HostMemberRuntime, types.HostMemberRuntimeInfo{
			Host: *m.Config.Host, Status: status, HealthCheckResult: memberResults(d, cfg, m),
		})
	}
	d.Runtime = rt
	simulator.Map.Update(d, []types.PropertyChange{{Name: "runtime", Val: rt}})
}

func refreshAllHealth() {
	for _, d := range allDVS() {
		simulator.Map.WithLock(d, func() { refreshHealth(d) })
	}
}

// seedAuditPhysical: the --scenario audit port (see the top of this file).
func seedAuditPhysical() {
	for _, hs := range allHostStates() {
		pos := hostPositions[hs.host.Self.Value]
		if pos.cluster != 0 || pos.index != 2 {
			continue
		}
		for _, p := range hs.net().Pnic {
			if p.Device != "vmnic3" {
				continue
			}
			c := pnicHint(hs.host, p).ConnectedSwitchPort
			p := physPortOf(c.DevId, c.PortId)
			p.Mtu, p.Vlans = 1500, "0-199,201-4094"
			physical.mu.Lock()
			physical.ports[c.DevId+"/"+c.PortId] = p
			physical.mu.Unlock()
		}
		return
	}
}

func init() {
	registerControl("physical", func(lab *Lab) http.HandlerFunc { return physicalHandler() })
	for _, t := range []string{"DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch"} {
		registerOverride(t, func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
			return &dvsAlias{newAliasBase(lab, orig)}
		}, "UpdateDVSHealthCheckConfig_Task")
	}
	// after the switches (20, 21): the physical side is per process, tests start many labs
	registerSetup(22, "health check", func(lab *Lab) error {
		physical.mu.Lock()
		physical.ports = map[string]physPort{}
		physical.mu.Unlock()
		if lab.Opts.Scenario == "audit" || lab.Opts.Scenario == "stig" { // stig includes audit
			seedAuditPhysical()
		}
		for _, d := range allDVS() {
			healthCheckDefaults(dvsConfig(d))
			refreshHealth(d)
		}
		return nil
	})
}
