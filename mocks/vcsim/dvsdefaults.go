package main

// Parts of a VMware distributed switch's config that vCenter 7.0.3 always
// returns, even on a switch nobody configured them on: NetFlow (IPFIX) with no
// collector and the default timeouts. Clients read config.ipfixConfig fields
// without a None check, so a switch without it breaks them.
//
// collectorPort and observationDomainId are 0 on vCenter; govmomi's encoder
// leaves zero-valued optional ints out, which pyVmomi reads as unset (None).

import (
	"github.com/vmware/govmomi/vim25/types"
)

func defaultIpfixConfig() *types.VMwareIpfixConfig {
	return &types.VMwareIpfixConfig{
		ActiveFlowTimeout: 60,
		IdleFlowTimeout:   15,
		SamplingRate:      4096,
		InternalFlowsOnly: false,
	}
}

// vcenterDVSDefaults fills what vCenter sets on every VMware switch.
func vcenterDVSDefaults(cfg *types.VMwareDVSConfigInfo) {
	if cfg.IpfixConfig == nil {
		cfg.IpfixConfig = defaultIpfixConfig()
	}
}
