package main

// What generic cluster reports read of a cluster, as vCenter 7.0.3 answers it:
//
//   - GetResourceUsage (vSphere 6.0+; stock vcsim 0.24.2 answers
//     MethodNotFound): CPU, memory and storage capacity and use. Capacity is
//     the sum over the connected hosts (CPU: cores x MHz, memory: physical
//     memory), use their quick stats; storage the cluster's datastores.
//   - summary: stock vcsim adds one core's MHz per host to totalCpu /
//     effectiveCpu and leaves usageSummary zero; vCenter aggregates all cores
//     and fills the usage summary (capacity, demand, VM counts).
//   - configurationEx.dasConfig: vCenter returns the full HA defaults of a
//     cluster with HA off (monitoring modes, admission control policy,
//     default VM settings with VM tools monitoring); drsConfig has its
//     behaviour and migration threshold. The deprecated configuration
//     property mirrors both (stock left it empty).

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	registerSetup(40, "cluster summary", func(lab *Lab) error {
		for _, e := range simulator.Map.All("ClusterComputeResource") {
			cl := e.(*simulator.ClusterComputeResource)
			clusterDefaults(cl)
			refreshClusterSummary(cl)
		}
		return nil
	})
	registerOverride("ClusterComputeResource", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &clusterAlias{aliasBase: newAliasBase(lab, orig)}
	}, "GetResourceUsage")
}

func clusterUsage(cl *simulator.ClusterComputeResource) *types.ClusterResourceUsageSummary {
	out := &types.ClusterResourceUsageSummary{}
	for _, ref := range cl.Host {
		h, _ := simulator.Map.Get(ref).(*simulator.HostSystem)
		if h == nil || h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected {
			continue
		}
		if hw := h.Summary.Hardware; hw != nil {
			out.CpuCapacityMHz += hw.CpuMhz * int32(hw.NumCpuCores)
			out.MemCapacityMB += int32(hw.MemorySize >> 20)
		}
		out.CpuUsedMHz += h.Summary.QuickStats.OverallCpuUsage
		out.MemUsedMB += h.Summary.QuickStats.OverallMemoryUsage
	}
	for _, ref := range cl.Datastore {
		ds, _ := simulator.Map.Get(ref).(*simulator.Datastore)
		if ds == nil {
			continue
		}
		out.StorageCapacityMB += ds.Summary.Capacity >> 20
		out.StorageUsedMB += (ds.Summary.Capacity - ds.Summary.FreeSpace) >> 20
	}
	return out
}

func clusterVMs(cl *simulator.ClusterComputeResource) (total, off int32) {
	for _, ref := range cl.Host {
		h, _ := simulator.Map.Get(ref).(*simulator.HostSystem)
		if h == nil {
			continue
		}
		for _, vref := range h.Vm {
			vm, _ := simulator.Map.Get(vref).(*simulator.VirtualMachine)
			if vm == nil {
				continue
			}
			total++
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
				off++
			}
		}
	}
	return total, off
}

// refreshClusterSummary recomputes the aggregate fields of summary the way
// vCenter does (after set-up and whenever hosts join or leave).
func refreshClusterSummary(cl *simulator.ClusterComputeResource) {
	s, _ := cl.Summary.(*types.ClusterComputeResourceSummary)
	if s == nil {
		return
	}
	u := clusterUsage(cl)
	var cores, threads int32
	var mem int64
	hosts := int32(0)
	for _, ref := range cl.Host {
		if h, _ := simulator.Map.Get(ref).(*simulator.HostSystem); h != nil && h.Summary.Hardware != nil {
			cores += int32(h.Summary.Hardware.NumCpuCores)
			threads += int32(h.Summary.Hardware.NumCpuThreads)
			mem += h.Summary.Hardware.MemorySize
			hosts++
		}
	}
	s.TotalCpu, s.EffectiveCpu = u.CpuCapacityMHz, u.CpuCapacityMHz
	s.TotalMemory, s.EffectiveMemory = mem, mem
	s.NumCpuCores, s.NumCpuThreads = int16(cores), int16(threads)
	s.NumHosts, s.NumEffectiveHosts = hosts, hosts
	total, off := clusterVMs(cl)
	s.UsageSummary = &types.ClusterUsageSummary{
		TotalCpuCapacityMhz: u.CpuCapacityMHz,
		TotalMemCapacityMB:  u.MemCapacityMB,
		CpuDemandMhz:        u.CpuUsedMHz,
		MemDemandMB:         u.MemUsedMB,
		CpuEntitledMhz:      u.CpuUsedMHz,
		MemEntitledMB:       u.MemUsedMB,
		StatsGenNumber:      1,
		PoweredOffVmCount:   off,
		TotalVmCount:        total,
	}
}

// clusterDefaults gives a cluster vCenter's HA and DRS configuration for a
// cluster with HA off and DRS on (what the lab's clusters are).
func clusterDefaults(cl *simulator.ClusterComputeResource) {
	cfg, _ := cl.ConfigurationEx.(*types.ClusterConfigInfoEx)
	if cfg == nil {
		return
	}
	das := &cfg.DasConfig
	if das.Enabled == nil {
		das.Enabled = boolp(false)
	}
	if das.VmMonitoring == "" {
		das.VmMonitoring = string(types.ClusterDasConfigInfoVmMonitoringStateVmMonitoringDisabled)
	}
	if das.HostMonitoring == "" {
		das.HostMonitoring = string(types.ClusterDasConfigInfoServiceStateEnabled)
	}
	if das.VmComponentProtecting == "" {
		das.VmComponentProtecting = string(types.ClusterDasConfigInfoServiceStateDisabled)
	}
	if das.FailoverLevel == 0 {
		das.FailoverLevel = 1
	}
	if das.AdmissionControlPolicy == nil {
		das.AdmissionControlPolicy = &types.ClusterFailoverResourcesAdmissionControlPolicy{
			CpuFailoverResourcesPercent: 50, MemoryFailoverResourcesPercent: 50,
			FailoverLevel: 1, AutoComputePercentages: boolp(true),
		}
	}
	if das.AdmissionControlEnabled == nil {
		das.AdmissionControlEnabled = boolp(true)
	}
	if das.DefaultVmSettings == nil {
		das.DefaultVmSettings = &types.ClusterDasVmSettings{
			RestartPriority:        string(types.ClusterDasVmSettingsRestartPriorityMedium),
			RestartPriorityTimeout: 600,
			IsolationResponse:      string(types.ClusterDasVmSettingsIsolationResponseNone),
			VmToolsMonitoringSettings: &types.ClusterVmToolsMonitoringSettings{
				Enabled: boolp(false), VmMonitoring: string(types.ClusterDasConfigInfoVmMonitoringStateVmMonitoringDisabled),
				ClusterSettings: boolp(true), FailureInterval: 30, MinUpTime: 120, MaxFailures: 3, MaxFailureWindow: 3600,
			},
		}
	}
	if das.HBDatastoreCandidatePolicy == "" {
		das.HBDatastoreCandidatePolicy = string(types.ClusterDasConfigInfoHBDatastoreCandidateAllFeasibleDsWithUserPreference)
	}
	drs := &cfg.DrsConfig
	if drs.EnableVmBehaviorOverrides == nil {
		drs.EnableVmBehaviorOverrides = boolp(true)
	}
	if drs.DefaultVmBehavior == "" {
		drs.DefaultVmBehavior = types.DrsBehaviorFullyAutomated
	}
	if drs.VmotionRate == 0 {
		drs.VmotionRate = 3
	}
	cl.Configuration.DasConfig = cfg.DasConfig
	cl.Configuration.DrsConfig = cfg.DrsConfig
}

func (a *clusterAlias) GetResourceUsage(ctx *simulator.Context, req *types.GetResourceUsage) soap.HasFault {
	cl, _ := simulator.Map.Get(a.Orig).(*simulator.ClusterComputeResource)
	if cl == nil {
		return &methods.GetResourceUsageBody{Fault_: notFound(a.Orig)}
	}
	var usage *types.ClusterResourceUsageSummary
	withOrig(ctx, cl, func() { usage = clusterUsage(cl) })
	return &methods.GetResourceUsageBody{Res: &types.GetResourceUsageResponse{Returnval: *usage}}
}
