package main

// HostNetworkSystem.networkConfig: ESXi answers it with the host's whole
// network configuration as a HostNetworkConfig (the shape UpdateNetworkConfig
// takes), and clients such as inventory modules read pNIC use and the
// switches from it rather than from networkInfo. Stock vcsim leaves it unset.
// It is rebuilt from networkInfo on every hostState.sync(), so the two never
// disagree; changeOperation stays unset (a read describes, it changes nothing).

import (
	"github.com/vmware/govmomi/vim25/types"
)

func networkConfigOf(ni *types.HostNetworkInfo) *types.HostNetworkConfig {
	out := &types.HostNetworkConfig{
		IpV6Enabled: ni.IpV6Enabled,
	}
	for _, sw := range ni.Vswitch {
		spec := sw.Spec
		out.Vswitch = append(out.Vswitch, types.HostVirtualSwitchConfig{Name: sw.Name, Spec: &spec})
	}
	for _, ps := range ni.ProxySwitch {
		spec := ps.Spec
		out.ProxySwitch = append(out.ProxySwitch, types.HostProxySwitchConfig{Uuid: ps.DvsUuid, Spec: &spec})
	}
	for _, pg := range ni.Portgroup {
		spec := pg.Spec
		out.Portgroup = append(out.Portgroup, types.HostPortGroupConfig{Spec: &spec})
	}
	for _, p := range ni.Pnic {
		out.Pnic = append(out.Pnic, types.PhysicalNicConfig{Device: p.Device, Spec: p.Spec})
	}
	for _, v := range ni.Vnic {
		spec := v.Spec
		out.Vnic = append(out.Vnic, types.HostVirtualNicConfig{Device: v.Device, Portgroup: v.Portgroup, Spec: &spec})
	}
	if ni.DnsConfig != nil {
		out.DnsConfig = ni.DnsConfig
	}
	if ni.IpRouteConfig != nil {
		out.IpRouteConfig = ni.IpRouteConfig
	}
	return out
}
