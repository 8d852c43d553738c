package main

// DistributedVirtualSwitchManager (DVSManager) and the vSAN part of cluster
// configurations, as vCenter 7.0.3 shows them. Stock vcsim 0.24.2 advertises
// DVSManager in the ServiceContent but registers no object (every call is
// ManagedObjectNotFound), and leaves configurationEx.vsanConfigInfo unset.
//
//   - QueryAvailableDvsSpec: the distributed switch versions this vCenter can
//     create (6.5.0 … 7.0.3, VMware, Inc.); recommended=true leaves out 6.5.0,
//     which 7.0 keeps only for upgrades.
//   - QueryDvsCompatibleHostSpec: the ESXi versions a switch version accepts
//     (this lab's hosts run 7.0.3: every version lists 7.0.3).
//   - every cluster: vSAN disabled, default host config without auto-claim.

import (
	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var dvsVersions = []struct {
	version     string
	recommended bool
}{
	{"6.5.0", false},
	{"6.6.0", true},
	{"7.0.0", true},
	{"7.0.2", true},
	{"7.0.3", true},
}

type dvsManager struct {
	Self types.ManagedObjectReference
}

func (m *dvsManager) Reference() types.ManagedObjectReference { return m.Self }

func productSpec(version string) types.DistributedVirtualSwitchProductSpec {
	return types.DistributedVirtualSwitchProductSpec{
		Name:    "DVS",
		Vendor:  "VMware, Inc.",
		Version: version,
	}
}

func (m *dvsManager) QueryAvailableDvsSpec(req *types.QueryAvailableDvsSpec) soap.HasFault {
	var out []types.DistributedVirtualSwitchProductSpec
	for _, v := range dvsVersions {
		if req.Recommended != nil && *req.Recommended && !v.recommended {
			continue
		}
		out = append(out, productSpec(v.version))
	}
	return &methods.QueryAvailableDvsSpecBody{Res: &types.QueryAvailableDvsSpecResponse{Returnval: out}}
}

// dvsVersionOffered: whether QueryAvailableDvsSpec lists version (what CreateDVS_Task accepts).
func dvsVersionOffered(version string) bool {
	for _, v := range dvsVersions {
		if v.version == version {
			return true
		}
	}
	return false
}

func (m *dvsManager) QueryDvsCompatibleHostSpec(req *types.QueryDvsCompatibleHostSpec) soap.HasFault {
	body := &methods.QueryDvsCompatibleHostSpecBody{}
	if req.SwitchProductSpec == nil || !dvsVersionOffered(req.SwitchProductSpec.Version) {
		body.Fault_ = simulator.Fault("unknown distributed switch version", &types.InvalidArgument{InvalidProperty: "switchProductSpec"})
		return body
	}
	host := types.DistributedVirtualSwitchHostProductSpec{ProductLineId: "embeddedEsx", Version: "7.0.3"}
	body.Res = &types.QueryDvsCompatibleHostSpecResponse{Returnval: []types.DistributedVirtualSwitchHostProductSpec{host}}
	return body
}

func init() {
	registerSetup(5, "dvs manager", func(lab *Lab) error {
		ref := simulator.Map.Get(types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"})
		si, _ := ref.(*simulator.ServiceInstance)
		if si == nil || si.Content.DvSwitchManager == nil {
			return nil
		}
		simulator.Map.Put(&dvsManager{Self: *si.Content.DvSwitchManager})
		return nil
	})
	registerSetup(6, "vsan cluster config", func(lab *Lab) error {
		for _, e := range simulator.Map.All("ClusterComputeResource") {
			cl := e.(*simulator.ClusterComputeResource)
			cfg, _ := cl.ConfigurationEx.(*types.ClusterConfigInfoEx)
			if cfg == nil || cfg.VsanConfigInfo != nil {
				continue
			}
			cfg.VsanConfigInfo = &types.VsanClusterConfigInfo{
				Enabled: boolp(false),
				DefaultConfig: &types.VsanClusterConfigInfoHostDefaultInfo{
					Uuid:             uuid.New().String(),
					AutoClaimStorage: boolp(false),
					ChecksumEnabled:  boolp(true),
				},
			}
		}
		return nil
	})
}
