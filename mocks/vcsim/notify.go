package main

// Change notifications for host networking. Every host network change ends in
// hostState.sync(); like vCenter, the changed HostSystem properties are then
// reported to PropertyCollector filters, so WaitForUpdates(Ex) clients see a
// port group, switch, vmknic or service selection change without re-reading.
// Map.Update only queues the change for each collector (no locks on the host
// are taken), so it is safe to call with the host's state lock held.

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func (hs *hostState) notify() {
	cfg := hs.host.Config
	if cfg == nil || cfg.Network == nil {
		return
	}
	network := cfg.Network
	changes := []types.PropertyChange{{Name: "config.network", Val: network}}
	var netConfig []types.VirtualNicManagerNetConfig
	if cfg.VirtualNicManagerInfo != nil {
		netConfig = cfg.VirtualNicManagerInfo.NetConfig
		changes = append(changes, types.PropertyChange{
			Name: "config.virtualNicManagerInfo.netConfig",
			Val:  netConfig,
		})
	}
	simulator.Map.Update(hs.host, changes)
	// Map.Update also assigns the values back (as copies); keep the shared objects, so the
	// network system's networkInfo and the vNIC manager stay the host's own (one view).
	cfg.Network = network
	if cfg.VirtualNicManagerInfo != nil {
		cfg.VirtualNicManagerInfo.NetConfig = netConfig
	}
}
