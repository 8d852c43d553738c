package main

// Traffic filtering and marking (defaultPortConfig.filterPolicy of a DV port
// group or an uplink port group), which stock vcsim merges blindly into the
// port setting: a DvsFilterPolicy's filterConfig array replaced field by
// field, no keys, no validation.
//
// vCenter, as the API reference describes it:
//   - filterConfig holds either DvsFilterConfig / DvsTrafficFilterConfig
//     objects (the port group's own filters are replaced by them) or
//     DvsFilterConfigSpec / DvsTrafficFilterConfigSpec objects (add without a
//     key, edit / remove by key), never both kinds in one array;
//   - inherited: true gives the port group the switch's filters again;
//   - the server assigns the keys of filters, rulesets, rules and qualifiers;
//   - a rule has at most one IP, one MAC and one system traffic qualifier;
//     DSCP 0-63, CoS 0-7, addresses, ports, protocol, VLAN and the system
//     traffic class are checked, and a bad one is an InvalidArgument naming
//     the property (nothing is changed).

import (
	"fmt"
	"net"
	"reflect"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

const trafficAgent = "dvfilter-generic-vmware"

// govmomi 0.24.2's BaseDvsNetworkRuleQualifier demands GetDvsIpNetworkRuleQualifier,
// which only the IP qualifier has, so a rule with a MAC or system traffic qualifier
// could not even be decoded (govmomi#2196). These types carry the same name and
// fields (the name is what goes on the wire as xsi:type) and add the method.
type DvsMacNetworkRuleQualifier struct {
	types.DvsMacNetworkRuleQualifier
}

func (*DvsMacNetworkRuleQualifier) GetDvsIpNetworkRuleQualifier() *types.DvsIpNetworkRuleQualifier {
	return nil
}

type DvsSystemTrafficNetworkRuleQualifier struct {
	types.DvsSystemTrafficNetworkRuleQualifier
}

func (*DvsSystemTrafficNetworkRuleQualifier) GetDvsIpNetworkRuleQualifier() *types.DvsIpNetworkRuleQualifier {
	return nil
}

func init() {
	types.Add("DvsMacNetworkRuleQualifier", reflect.TypeOf((*DvsMacNetworkRuleQualifier)(nil)).Elem())
	types.Add("DvsSystemTrafficNetworkRuleQualifier", reflect.TypeOf((*DvsSystemTrafficNetworkRuleQualifier)(nil)).Elem())
}

// DistributedVirtualSwitchHostInfrastructureTrafficClass values of 7.0.3.
var systemTraffic = map[string]bool{
	"management": true, "faultTolerance": true, "vmotion": true, "virtualMachine": true,
	"iSCSI": true, "nfs": true, "hbr": true, "vsan": true, "vdp": true, "backupNfc": true,
	"nvmetcp": true,
}

var filterKeySeq int

func nextFilterKey(prefix string) string {
	filterKeySeq++
	return fmt.Sprintf("%s-%d", prefix, filterKeySeq)
}

// z32 reads an optional int that may hold the explicit-zero sentinel (zeroints.go).
func z32(v int32) int32 {
	if v == zeroInt32 {
		return 0
	}
	return v
}

func exprVal(e *types.IntExpression) (int32, bool) {
	if e == nil {
		return 0, false
	}
	return z32(e.Value), true
}

var reMac = regexp.MustCompile(`^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$`)

func checkIp(a types.BaseIpAddress, where string) *taskErr {
	switch x := a.(type) {
	case nil:
	case *types.SingleIp:
		if net.ParseIP(x.Address) == nil {
			return badArg(where+".address", "invalid IP address %q", x.Address)
		}
	case *types.IpRange:
		ip := net.ParseIP(x.AddressPrefix)
		if ip == nil {
			return badArg(where+".addressPrefix", "invalid IP address %q", x.AddressPrefix)
		}
		max := int32(128)
		if ip.To4() != nil {
			max = 32
		}
		if n := z32(x.PrefixLength); n < 0 || n > max {
			return badArg(where+".prefixLength", "prefix length %d out of range 0-%d", n, max)
		}
	default:
		return badArg(where, "unsupported address type %T", a)
	}
	return nil
}

func checkMac(a types.BaseMacAddress, where string) *taskErr {
	switch x := a.(type) {
	case nil:
	case *types.SingleMac:
		if !reMac.MatchString(x.Address) {
			return badArg(where+".address", "invalid MAC address %q", x.Address)
		}
	case *types.MacRange:
		if !reMac.MatchString(x.Address) {
			return badArg(where+".address", "invalid MAC address %q", x.Address)
		}
		if !reMac.MatchString(x.Mask) {
			return badArg(where+".mask", "invalid MAC mask %q", x.Mask)
		}
	default:
		return badArg(where, "unsupported MAC address type %T", a)
	}
	return nil
}

func checkPort(p types.BaseDvsIpPort, where string) *taskErr {
	switch x := p.(type) {
	case nil:
	case *types.DvsSingleIpPort:
		if x.PortNumber < 0 || x.PortNumber > 65535 {
			return badArg(where+".portNumber", "port %d out of range 0-65535", x.PortNumber)
		}
	case *types.DvsIpPortRange:
		if x.StartPortNumber < 0 || x.EndPortNumber > 65535 || x.StartPortNumber > x.EndPortNumber {
			return badArg(where, "port range %d-%d is not within 0-65535 in order", x.StartPortNumber, x.EndPortNumber)
		}
	default:
		return badArg(where, "unsupported port type %T", p)
	}
	return nil
}

func checkRange(e *types.IntExpression, lo, hi int32, where, what string) *taskErr {
	if v, ok := exprVal(e); ok && (v < lo || v > hi) {
		return badArg(where, "%s %d out of range %d-%d", what, v, lo, hi)
	}
	return nil
}

func validateRule(r *types.DvsTrafficRule, where string) *taskErr {
	switch r.Direction {
	case "", "incomingPackets", "outgoingPackets", "both":
	default:
		return badArg(where+".direction", "invalid direction %q", r.Direction)
	}
	seen := map[string]bool{}
	for i, q := range r.Qualifier {
		qw := fmt.Sprintf("%s.qualifier[%d]", where, i)
		kind := strings.TrimPrefix(strings.TrimPrefix(fmt.Sprintf("%T", q), "*types."), "*main.")
		if seen[kind] {
			return badArg(qw, "a rule has at most one qualifier of each kind (%s given twice)", kind)
		}
		seen[kind] = true
		switch x := q.(type) {
		case *types.DvsIpNetworkRuleQualifier:
			for _, e := range []*taskErr{
				checkIp(x.SourceAddress, qw+".sourceAddress"),
				checkIp(x.DestinationAddress, qw+".destinationAddress"),
				checkPort(x.SourceIpPort, qw+".sourceIpPort"),
				checkPort(x.DestinationIpPort, qw+".destinationIpPort"),
				checkRange(x.Protocol, 0, 255, qw+".protocol", "protocol"),
				checkRange(x.TcpFlags, 0, 255, qw+".tcpFlags", "TCP flags"),
			} {
				if e != nil {
					return e
				}
			}
		case *DvsMacNetworkRuleQualifier:
			for _, e := range []*taskErr{
				checkMac(x.SourceAddress, qw+".sourceAddress"),
				checkMac(x.DestinationAddress, qw+".destinationAddress"),
				checkRange(x.Protocol, 0, 65535, qw+".protocol", "EtherType"),
				checkRange(x.VlanId, 0, 4094, qw+".vlanId", "VLAN"),
			} {
				if e != nil {
					return e
				}
			}
		case *DvsSystemTrafficNetworkRuleQualifier:
			if x.TypeOfSystemTraffic == nil || !systemTraffic[x.TypeOfSystemTraffic.Value] {
				v := ""
				if x.TypeOfSystemTraffic != nil {
					v = x.TypeOfSystemTraffic.Value
				}
				return badArg(qw+".typeOfSystemTraffic", "unknown system traffic type %q", v)
			}
		default:
			return badArg(qw, "unsupported qualifier %s", kind)
		}
	}
	switch a := r.Action.(type) {
	case nil:
		return badArg(where+".action", "a traffic rule needs an action")
	case *types.DvsUpdateTagNetworkRuleAction:
		if v := z32(a.DscpTag); v < 0 || v > 63 {
			return badArg(where+".action.dscpTag", "DSCP tag %d out of range 0-63", v)
		}
		if v := z32(a.QosTag); v < 0 || v > 7 {
			return badArg(where+".action.qosTag", "CoS (QoS) tag %d out of range 0-7", v)
		}
	}
	return nil
}

// keyed validates a traffic filter's ruleset and gives everything without a key one.
func keyed(c *types.DvsTrafficFilterConfig, where string) *taskErr {
	if c.AgentName == "" {
		c.AgentName = trafficAgent
	}
	if c.Key == "" {
		c.Key = nextFilterKey("filter")
	}
	rs := c.TrafficRuleset
	if rs == nil {
		return nil
	}
	cp := *rs
	cp.Rules = append([]types.DvsTrafficRule(nil), rs.Rules...)
	if cp.Key == "" {
		cp.Key = nextFilterKey("ruleset")
	}
	for i := range cp.Rules {
		r := &cp.Rules[i]
		if e := validateRule(r, fmt.Sprintf("%s.trafficRuleset.rules[%d]", where, i)); e != nil {
			return e
		}
		if r.Key == "" {
			r.Key = nextFilterKey("rule")
		}
		if r.Direction == "" {
			r.Direction = "both"
		}
		for _, q := range r.Qualifier {
			if b := q.GetDvsNetworkRuleQualifier(); b.Key == "" {
				b.Key = nextFilterKey("qualifier")
			}
		}
	}
	c.TrafficRuleset = &cp
	return nil
}

// ownFilter checks one filter of an array and returns it as a config the port keeps.
func ownFilter(f types.BaseDvsFilterConfig, where string) (types.BaseDvsFilterConfig, *taskErr) {
	switch x := f.(type) {
	case *types.DvsTrafficFilterConfig:
		c := *x
		c.Inherited = false
		return &c, keyed(&c, where)
	case *types.DvsTrafficFilterConfigSpec:
		c := x.DvsTrafficFilterConfig
		c.Inherited = false
		return &c, keyed(&c, where)
	}
	return nil, badArg(where, "unsupported filter config %T", f)
}

func isSpec(f types.BaseDvsFilterConfig) (string, bool) {
	switch x := f.(type) {
	case *types.DvsTrafficFilterConfigSpec:
		return x.Operation, true
	}
	return "", false
}

// inheritedFrom is the parent's filters as a port that inherits them reads them.
func inheritedFrom(parent *types.DvsFilterPolicy) *types.DvsFilterPolicy {
	out := &types.DvsFilterPolicy{InheritablePolicy: types.InheritablePolicy{Inherited: true}}
	if parent == nil {
		return out
	}
	for _, f := range parent.FilterConfig {
		switch x := f.(type) {
		case *types.DvsTrafficFilterConfig:
			c := *x
			c.Inherited = true
			out.FilterConfig = append(out.FilterConfig, &c)
		}
	}
	return out
}

// applyFilterPolicy is the port's filter policy after `in` was sent (cur: what it has).
func applyFilterPolicy(cur, in, parent *types.DvsFilterPolicy) (*types.DvsFilterPolicy, *taskErr) {
	const where = "defaultPortConfig.filterPolicy.filterConfig"
	if in.Inherited {
		return inheritedFrom(parent), nil
	}
	specs, configs := 0, 0
	for _, f := range in.FilterConfig {
		if _, ok := isSpec(f); ok {
			specs++
		} else {
			configs++
		}
	}
	if specs > 0 && configs > 0 {
		return nil, badArg(where, "filterConfig mixes FilterConfig and FilterConfigSpec objects")
	}
	out := &types.DvsFilterPolicy{}
	if specs == 0 {
		for i, f := range in.FilterConfig {
			if f.GetDvsFilterConfig().Inherited {
				continue // ignored, as the API reference says
			}
			c, e := ownFilter(f, fmt.Sprintf("%s[%d]", where, i))
			if e != nil {
				return nil, e
			}
			out.FilterConfig = append(out.FilterConfig, c)
		}
		return out, nil
	}
	if cur != nil && !cur.Inherited {
		out.FilterConfig = append(out.FilterConfig, cur.FilterConfig...)
	}
	find := func(key string) int {
		for i, f := range out.FilterConfig {
			if f.GetDvsFilterConfig().Key == key {
				return i
			}
		}
		return -1
	}
	for i, f := range in.FilterConfig {
		op, _ := isSpec(f)
		w := fmt.Sprintf("%s[%d]", where, i)
		key := f.GetDvsFilterConfig().Key
		switch op {
		case "add":
			if key != "" {
				return nil, badArg(w+".key", "an added filter takes no key (the server assigns it)")
			}
			c, e := ownFilter(f, w)
			if e != nil {
				return nil, e
			}
			out.FilterConfig = append(out.FilterConfig, c)
		case "edit":
			j := find(key)
			if j < 0 {
				return nil, terr(&types.NotFound{}, "filter %q not found on the port group", key)
			}
			c, e := ownFilter(f, w)
			if e != nil {
				return nil, e
			}
			out.FilterConfig[j] = c
		case "remove":
			j := find(key)
			if j < 0 {
				return nil, terr(&types.NotFound{}, "filter %q not found on the port group", key)
			}
			out.FilterConfig = append(out.FilterConfig[:j], out.FilterConfig[j+1:]...)
		default:
			return nil, badArg(w+".operation", "invalid operation %q", op)
		}
	}
	return out, nil
}

func filterPolicyOf(s types.BaseDVPortSetting) *types.DvsFilterPolicy {
	if s == nil {
		return nil
	}
	return s.GetDVPortSetting().FilterPolicy
}

// takeFilterPolicy computes the port group's filter policy from a spec's port setting
// and returns the setting without it (merged the ordinary way) and the policy to set.
func takeFilterPolicy(d *simulator.DistributedVirtualSwitch, cur, spec types.BaseDVPortSetting) (types.BaseDVPortSetting, *types.DvsFilterPolicy, *taskErr) {
	s, ok := spec.(*types.VMwareDVSPortSetting)
	if !ok || s.FilterPolicy == nil {
		return spec, nil, nil
	}
	var parent *types.DvsFilterPolicy
	if d != nil {
		parent = filterPolicyOf(dvsConfig(d).DefaultPortConfig)
	}
	fp, e := applyFilterPolicy(filterPolicyOf(cur), s.FilterPolicy, parent)
	if e != nil {
		return nil, nil, e
	}
	cp := *s
	cp.FilterPolicy = nil
	return &cp, fp, nil
}

func setFilterPolicy(s types.BaseDVPortSetting, fp *types.DvsFilterPolicy) {
	if fp != nil && s != nil {
		s.GetDVPortSetting().FilterPolicy = fp
	}
}
