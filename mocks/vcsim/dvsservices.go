package main

// Distributed switch services that stock vcsim stores blindly or not at all:
//
//   - NetFlow (config.ipfixConfig): stock copies any ipfixConfig it is sent.
//     vCenter checks the ranges of the API reference (active flow timeout
//     60-3600 s, idle 10-600 s, sampling rate 0-16384, collector port
//     0-65535, a collector address that parses as IPv4/IPv6), and a port
//     group (or the switch default port config) cannot turn ipfixEnabled on
//     while the switch has no collector.
//   - Port mirroring (config.vspanSession, ReconfigureDvs vspanConfigSpec):
//     stock ignores vspanConfigSpec. Sessions are added (the server assigns the
//     key), edited and removed by key; names are unique on the switch; sources
//     and destinations must be DV ports / uplinks of the switch; the session type
//     decides what a source and a destination may be.

import (
	"fmt"
	"net"
	"strconv"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func badArg(prop, format string, args ...interface{}) *taskErr {
	return terr(&types.InvalidArgument{InvalidProperty: prop}, format, args...)
}

func validateIpfix(c *types.VMwareIpfixConfig) *taskErr {
	if c.ActiveFlowTimeout < 60 || c.ActiveFlowTimeout > 3600 {
		return badArg("ipfixConfig.activeFlowTimeout", "activeFlowTimeout %d out of range 60-3600", c.ActiveFlowTimeout)
	}
	if c.IdleFlowTimeout < 10 || c.IdleFlowTimeout > 600 {
		return badArg("ipfixConfig.idleFlowTimeout", "idleFlowTimeout %d out of range 10-600", c.IdleFlowTimeout)
	}
	if c.SamplingRate < 0 || c.SamplingRate > 16384 {
		return badArg("ipfixConfig.samplingRate", "samplingRate %d out of range 0-16384", c.SamplingRate)
	}
	if c.CollectorPort < 0 || c.CollectorPort > 65535 {
		return badArg("ipfixConfig.collectorPort", "collectorPort %d out of range 0-65535", c.CollectorPort)
	}
	if c.ObservationDomainId < 0 || c.ObservationDomainId > 4294967295 {
		return badArg("ipfixConfig.observationDomainId", "observationDomainId %d out of range", c.ObservationDomainId)
	}
	if c.CollectorIpAddress != "" && net.ParseIP(c.CollectorIpAddress) == nil {
		return badArg("ipfixConfig.collectorIpAddress", "invalid collector address %q", c.CollectorIpAddress)
	}
	return nil
}

func hasCollector(cfg *types.VMwareDVSConfigInfo) bool {
	return cfg.IpfixConfig != nil && cfg.IpfixConfig.CollectorIpAddress != ""
}

// ipfixOn is whether a port setting turns NetFlow on.
func ipfixOn(s types.BaseDVPortSetting) bool {
	ps, ok := s.(*types.VMwareDVSPortSetting)
	return ok && ps.IpfixEnabled != nil && ps.IpfixEnabled.Value != nil && *ps.IpfixEnabled.Value
}

func ipfixNeedsCollector(cfg *types.VMwareDVSConfigInfo, s types.BaseDVPortSetting, where string) *taskErr {
	if ipfixOn(s) && !hasCollector(cfg) {
		return badArg(where+".ipfixEnabled", "NetFlow cannot be enabled: the switch has no NetFlow collector (set ipfixConfig.collectorIpAddress first)")
	}
	return nil
}

// ---------- port mirroring ----------

var vspanTypes = map[string]bool{
	"mixedDestMirror": true, "dvPortMirror": true, "remoteMirrorSource": true,
	"remoteMirrorDest": true, "encapsulatedRemoteMirrorSource": true,
}

func vspanPortKeys(p *types.VMwareVspanPort) []string {
	if p == nil {
		return nil
	}
	return p.PortKey
}

func validateVspan(d *simulator.DistributedVirtualSwitch, s *types.VMwareVspanSession) *taskErr {
	if s.Name == "" {
		return badArg("vspanConfigSpec.vspanSession.name", "a mirroring session needs a name")
	}
	if s.SessionType == "" {
		s.SessionType = "mixedDestMirror"
	}
	if !vspanTypes[s.SessionType] {
		return badArg("vspanConfigSpec.vspanSession.sessionType", "invalid session type %q", s.SessionType)
	}
	if s.MirroredPacketLength != 0 && (s.MirroredPacketLength < 60 || s.MirroredPacketLength > 9000) {
		return badArg("vspanConfigSpec.vspanSession.mirroredPacketLength", "mirroredPacketLength %d out of range 60-9000", s.MirroredPacketLength)
	}
	if s.SamplingRate < 0 || s.SamplingRate > 65535 {
		return badArg("vspanConfigSpec.vspanSession.samplingRate", "samplingRate %d out of range 1-65535", s.SamplingRate)
	}
	if s.EncapsulationVlanId < 0 || s.EncapsulationVlanId > 4094 {
		return badArg("vspanConfigSpec.vspanSession.encapsulationVlanId", "encapsulationVlanId %d out of range 1-4094", s.EncapsulationVlanId)
	}
	switch s.EncapType {
	case "", "gre", "erspan2", "erspan3":
	default:
		return badArg("vspanConfigSpec.vspanSession.encapType", "invalid encapType %q", s.EncapType)
	}
	ports := map[string]bool{}
	for _, p := range switchPorts(d) {
		ports[p.Key] = true
	}
	for _, side := range []struct {
		name string
		p    *types.VMwareVspanPort
	}{{"sourcePortTransmitted", s.SourcePortTransmitted}, {"sourcePortReceived", s.SourcePortReceived}, {"destinationPort", s.DestinationPort}} {
		for _, k := range vspanPortKeys(side.p) {
			if !ports[k] {
				return terr(&types.NotFound{}, "mirroring session %s: %s port %s does not exist on %s", s.Name, side.name, k, d.Name)
			}
		}
		if side.p == nil {
			continue
		}
		names := map[string]bool{}
		for _, u := range uplinkNames(dvsConfig(d)) {
			names[u] = true
		}
		for _, u := range side.p.UplinkPortName {
			if !names[u] {
				return terr(&types.NotFound{}, "mirroring session %s: %s uplink %s does not exist on %s", s.Name, side.name, u, d.Name)
			}
		}
		for _, ip := range side.p.IpAddress {
			if net.ParseIP(ip) == nil {
				return badArg("vspanConfigSpec.vspanSession."+side.name+".ipAddress", "invalid address %q", ip)
			}
		}
		for _, v := range side.p.Vlans {
			if v < 1 || v > 4094 {
				return badArg("vspanConfigSpec.vspanSession."+side.name+".vlans", "VLAN %d out of range 1-4094", v)
			}
		}
	}
	dst := s.DestinationPort
	if dst == nil {
		dst = &types.VMwareVspanPort{}
	}
	switch s.SessionType {
	case "dvPortMirror":
		if len(dst.UplinkPortName) > 0 || len(dst.IpAddress) > 0 {
			return badArg("vspanConfigSpec.vspanSession.destinationPort", "a distributed port mirroring session mirrors to DV ports only")
		}
	case "remoteMirrorSource":
		if len(dst.PortKey) > 0 || len(dst.IpAddress) > 0 {
			return badArg("vspanConfigSpec.vspanSession.destinationPort", "a remote mirroring source session mirrors to uplinks only")
		}
	case "remoteMirrorDest":
		if len(vspanPortKeys(s.SourcePortTransmitted))+len(vspanPortKeys(s.SourcePortReceived)) > 0 {
			return badArg("vspanConfigSpec.vspanSession.sourcePortReceived", "a remote mirroring destination session takes VLANs as its source")
		}
	case "encapsulatedRemoteMirrorSource":
		if len(dst.IpAddress) == 0 || len(dst.PortKey) > 0 || len(dst.UplinkPortName) > 0 {
			return badArg("vspanConfigSpec.vspanSession.destinationPort.ipAddress", "an encapsulated remote mirroring session mirrors to IP addresses only")
		}
	}
	return nil
}

func nextVspanKey(cur []types.VMwareVspanSession) string {
	n := 0
	for _, s := range cur {
		var k int
		if _, err := fmt.Sscanf(s.Key, "vspanSession-%d", &k); err == nil && k > n {
			n = k
		}
	}
	return "vspanSession-" + strconv.Itoa(n+1)
}

func applyVspan(d *simulator.DistributedVirtualSwitch, cur []types.VMwareVspanSession, specs []types.VMwareDVSVspanConfigSpec) ([]types.VMwareVspanSession, *taskErr) {
	out := append([]types.VMwareVspanSession(nil), cur...)
	find := func(key string) int {
		for i, s := range out {
			if s.Key == key {
				return i
			}
		}
		return -1
	}
	named := func(name string, except int) bool {
		for i, s := range out {
			if s.Name == name && i != except {
				return true
			}
		}
		return false
	}
	for _, spec := range specs {
		s := spec.VspanSession
		switch spec.Operation {
		case "add":
			if e := validateVspan(d, &s); e != nil {
				return nil, e
			}
			if named(s.Name, -1) {
				return nil, terr(&types.DuplicateName{Name: s.Name}, "a mirroring session named %s already exists", s.Name)
			}
			s.Key = nextVspanKey(out)
			out = append(out, s)
		case "edit":
			i := find(s.Key)
			if i < 0 {
				return nil, terr(&types.NotFound{}, "mirroring session %q not found", s.Key)
			}
			if s.Name == "" {
				s.Name = out[i].Name
			}
			if e := validateVspan(d, &s); e != nil {
				return nil, e
			}
			if named(s.Name, i) {
				return nil, terr(&types.DuplicateName{Name: s.Name}, "a mirroring session named %s already exists", s.Name)
			}
			out[i] = s
		case "remove":
			i := find(s.Key)
			if i < 0 {
				return nil, terr(&types.NotFound{}, "mirroring session %q not found", s.Key)
			}
			out = append(out[:i], out[i+1:]...)
		default:
			return nil, badArg("vspanConfigSpec.operation", "invalid operation %q", spec.Operation)
		}
	}
	return out, nil
}
