package main

// Every standard port group of a host is linked to its datacenter's Network
// of the same name, as vCenter does (host.network, network.host). The lab
// builds the hosts' default port groups directly, and stock vcsim only ever
// created "VM Network": "Management Network" and "vMotion" had no Network,
// so a client reading a port group's network found none.

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/simulator"
)

func init() {
	registerSetup(11, "host port group networks", func(lab *Lab) error {
		hostStatesMu.Lock()
		all := make([]*hostState, 0, len(hostStates))
		for _, hs := range hostStates {
			all = append(all, hs)
		}
		hostStatesMu.Unlock()
		for _, hs := range all {
			if err := linkPortgroupNetworks(hs); err != nil {
				return err
			}
		}
		return nil
	})
}

// linkPortgroupNetworks attaches every port group of the host to its Network.
// The caller must not hold the host's registry lock.
func linkPortgroupNetworks(hs *hostState) error {
	ctx := &simulator.Context{Context: context.Background(), Map: simulator.Map}
	for _, pg := range hs.net().Portgroup {
		if hs.hasNetwork(pg.Spec.Name) {
			continue
		}
		if f := hs.attachNetwork(ctx, hs.ns, pg.Spec.Name); f != nil {
			return fmt.Errorf("%s: network %s: %s", hs.host.Name, pg.Spec.Name, f.String)
		}
	}
	return nil
}
