package main

// HostVirtualNicManager of each host (configManager.virtualNicManager):
// service selection of VMkernel adapters. The selection lives in the host's
// config.virtualNicManagerInfo.netConfig (also exposed as the manager's
// info); candidates are recomputed from the host's vmknics on every change.

import (
	"fmt"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// nicTypes: every HostVirtualNicManagerNicType of ESXi 7.0.3, in the order the
// host lists them. Each answers QueryNetConfig, with or without a vmknic.
var nicTypes = []string{
	"management", "vmotion", "vSphereProvisioning", "faultToleranceLogging",
	"vsan", "vSphereReplication", "vSphereReplicationNFC", "vsanWitness",
	"vSphereBackupNFC", "ptp", "nvmeTcp", "nvmeRdma",
}

// singleSelect: types for which ESXi allows one vmknic only (selecting another
// replaces it).
var singleSelect = map[string]bool{"ptp": true}

type vnicManager struct {
	mo.HostVirtualNicManager
	hs *hostState
}

func newVnicManager(hs *hostState) *vnicManager {
	m := &vnicManager{hs: hs}
	m.Self = types.ManagedObjectReference{Type: "HostVirtualNicManager", Value: "virtualNicManager-" + hs.host.Self.Value}
	info := &types.HostVirtualNicManagerInfo{}
	for _, t := range nicTypes {
		info.NetConfig = append(info.NetConfig, types.VirtualNicManagerNetConfig{NicType: t, MultiSelectAllowed: !singleSelect[t]})
	}
	hs.host.Config.VirtualNicManagerInfo = info
	return m
}

func selectedKey(nicType, device string) string { return nicType + "." + keyVnic + device }

func (m *vnicManager) netConfig(nicType string) *types.VirtualNicManagerNetConfig {
	info := m.hs.host.Config.VirtualNicManagerInfo
	for i := range info.NetConfig {
		if info.NetConfig[i].NicType == nicType {
			return &info.NetConfig[i]
		}
	}
	return nil
}

// syncLocked refreshes candidates and drops selections of removed vmknics.
// ESXi keys a candidate like its selection ("vmotion.key-vim.host.VirtualNic-vmk1"),
// so a client matches candidateVnic[].key against selectedVnic directly.
func (m *vnicManager) syncLocked() {
	info := m.hs.host.Config.VirtualNicManagerInfo
	vnics := m.hs.net().Vnic
	for i := range info.NetConfig {
		nc := &info.NetConfig[i]
		nc.CandidateVnic = make([]types.HostVirtualNic, len(vnics))
		for j, v := range vnics {
			v.Key = selectedKey(nc.NicType, v.Device)
			nc.CandidateVnic[j] = v
		}
		var keep []string
		for _, k := range nc.SelectedVnic {
			dev := strings.TrimPrefix(k, nc.NicType+"."+keyVnic)
			if _, v := m.hs.vnic(dev); v != nil {
				keep = append(keep, k)
			}
		}
		nc.SelectedVnic = keep
	}
	m.Info = *info
}

func (m *vnicManager) check(nicType, device string) *soap.Fault {
	if m.netConfig(nicType) == nil {
		return fInvalidArg("nicType", fmt.Sprintf("invalid nicType %q", nicType))
	}
	if device != "" {
		if _, v := m.hs.vnic(device); v == nil {
			return fNotFound("virtual NIC " + device + " not found")
		}
	}
	return nil
}

func (m *vnicManager) SelectVnicForNicType(req *types.SelectVnicForNicType) soap.HasFault {
	m.hs.mu.Lock()
	defer m.hs.mu.Unlock()
	body := &methods.SelectVnicForNicTypeBody{}
	if f := m.check(req.NicType, req.Device); f != nil {
		body.Fault_ = f
		return body
	}
	nc := m.netConfig(req.NicType)
	k := selectedKey(req.NicType, req.Device)
	if !nc.MultiSelectAllowed {
		nc.SelectedVnic = nil
	}
	if !contains(nc.SelectedVnic, k) {
		nc.SelectedVnic = append(nc.SelectedVnic, k)
	}
	m.hs.sync()
	body.Res = &types.SelectVnicForNicTypeResponse{}
	return body
}

func (m *vnicManager) DeselectVnicForNicType(req *types.DeselectVnicForNicType) soap.HasFault {
	m.hs.mu.Lock()
	defer m.hs.mu.Unlock()
	body := &methods.DeselectVnicForNicTypeBody{}
	if f := m.check(req.NicType, req.Device); f != nil {
		body.Fault_ = f
		return body
	}
	nc := m.netConfig(req.NicType)
	k := selectedKey(req.NicType, req.Device)
	var keep []string
	for _, s := range nc.SelectedVnic {
		if s != k {
			keep = append(keep, s)
		}
	}
	nc.SelectedVnic = keep
	m.hs.sync()
	body.Res = &types.DeselectVnicForNicTypeResponse{}
	return body
}

func (m *vnicManager) QueryNetConfig(req *types.QueryNetConfig) soap.HasFault {
	m.hs.mu.Lock()
	defer m.hs.mu.Unlock()
	body := &methods.QueryNetConfigBody{}
	if f := m.check(req.NicType, ""); f != nil {
		body.Fault_ = f
		return body
	}
	nc := *m.netConfig(req.NicType)
	body.Res = &types.QueryNetConfigResponse{Returnval: &nc}
	return body
}

var _ = simulator.Map
