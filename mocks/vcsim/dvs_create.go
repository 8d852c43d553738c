package main

// CreateDVS_Task and AddDVPortgroup_Task honouring their specs like vCenter:
// a new switch gets the full default config (fixupDVS), its uplink port
// group, and every other field of the VMwareDVSConfigSpec (maxMtu, LDP,
// PVLAN map, hosts with pNIC backing, default port config, ...) applied with
// the same validation as ReconfigureDvs_Task; a new DV port group starts from
// its switch's default port config with the spec's settings merged over it,
// configVersion "1", validated VLAN spec and binding type.

import (
	"fmt"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	// pyVmomi sends UpdateDVSLacpGroupConfig_Task with _this type
	// VmwareDistributedVirtualSwitch (the method exists only there) while vcsim
	// registers switches as DistributedVirtualSwitch: pre-register the alias so
	// the router finds it.
	registerSetup(21, "vmware dvs aliases", func(lab *Lab) error {
		for _, d := range allDVS() {
			vmwareAlias(lab, d)
		}
		return nil
	})
	registerOverride("Folder", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &folderAlias{newAliasBase(lab, orig)}
	}, "CreateDVS_Task")
}

type folderAlias struct {
	aliasBase
}

func vmwareAlias(lab *Lab, d *simulator.DistributedVirtualSwitch) {
	ref := types.ManagedObjectReference{Type: "VmwareDistributedVirtualSwitch", Value: d.Self.Value}
	if simulator.Map.Get(types.ManagedObjectReference{Type: aliasPrefix + ref.Type, Value: ref.Value}) == nil {
		simulator.Map.Put(&dvsAlias{newAliasBase(lab, ref)})
	}
}

// runTaskResult is runTask with a task result.
func runTaskResult(ctx *simulator.Context, obj mo.Reference, name string, fn func() (types.AnyType, *taskErr)) types.ManagedObjectReference {
	var e *taskErr
	task := simulator.CreateTask(obj, name, func(t *simulator.Task) (types.AnyType, types.BaseMethodFault) {
		var res types.AnyType
		withOrig(ctx, obj, func() { res, e = fn() })
		if e != nil {
			return nil, e.fault
		}
		return res, nil
	})
	ref := task.Run()
	if e != nil && task.Info.Error != nil && e.msg != "" {
		task.Info.Error.LocalizedMessage = e.msg
	}
	return ref
}

func (a *folderAlias) CreateDVSTask(ctx *simulator.Context, req *types.CreateDVS_Task) soap.HasFault {
	f, _ := simulator.Map.Get(a.Orig).(*simulator.Folder)
	if f == nil {
		return &methods.CreateDVS_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTaskResult(ctx, f, "createDVS", func() (types.AnyType, *taskErr) {
		if req.Spec.ConfigSpec == nil {
			return nil, terr(&types.InvalidArgument{InvalidProperty: "spec.configSpec"}, "configSpec is required")
		}
		base := req.Spec.ConfigSpec.GetDVSConfigSpec()
		if base.Name == "" {
			return nil, terr(&types.InvalidArgument{InvalidProperty: "spec.configSpec.name"}, "a switch needs a name")
		}
		if other := simulator.Map.FindByName(base.Name, f.ChildEntity); other != nil {
			return nil, terr(&types.DuplicateName{Name: base.Name, Object: other.Reference()}, "name %s already in use", base.Name)
		}
		// vCenter creates only the versions QueryAvailableDvsSpec offers (7.0.3: not 5.0.0)
		if p := req.Spec.ProductInfo; p != nil && p.Version != "" && !dvsVersionOffered(p.Version) {
			return nil, terr(&types.InvalidArgument{InvalidProperty: "spec.productInfo.version"}, "distributed switch version %s is not supported", p.Version)
		}
		stock := &types.CreateDVS_Task{This: f.Self, Spec: types.DVSCreateSpec{
			ConfigSpec: &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{
				Name: base.Name, Description: base.Description, UplinkPortPolicy: base.UplinkPortPolicy}},
			ProductInfo: req.Spec.ProductInfo,
		}}
		body := f.CreateDVSTask(ctx, stock).(*methods.CreateDVS_TaskBody)
		task, _ := simulator.Map.Get(body.Res.Returnval).(*simulator.Task)
		dropTask(body.Res.Returnval) // one task per call (events.go)
		if task == nil || task.Info.Error != nil {
			return nil, terr(&types.InvalidArgument{InvalidProperty: "spec"}, "switch creation failed")
		}
		dref := task.Info.Result.(types.ManagedObjectReference)
		dropTasksOn(dref) // the uplink port group's inner AddDVPortgroup task
		d := simulator.Map.Get(dref).(*simulator.DistributedVirtualSwitch)
		version := ""
		if req.Spec.ProductInfo != nil {
			version = req.Spec.ProductInfo.Version
		}
		var e *taskErr
		simulator.Map.WithLock(d, func() {
			fixupDVS(d)
			if version != "" {
				dvsConfig(d).ProductInfo.Version = version
				d.Summary.ProductInfo.Version = version
			}
			// everything else of the spec, with ReconfigureDvs_Task's validation
			rest := req.Spec.ConfigSpec
			rb := rest.GetDVSConfigSpec()
			saved := *rb
			rb.Name, rb.ConfigVersion = "", ""
			e = reconfigureDvs(ctx, d, rest)
			*rb = saved
			if e == nil {
				dvsConfig(d).ConfigVersion = "1"
			}
		})
		if e != nil {
			b := d.DestroyTask(ctx, &types.Destroy_Task{This: d.Self}).(*methods.Destroy_TaskBody)
			dropTask(b.Res.Returnval)
			return nil, e
		}
		vmwareAlias(a.lab, d)
		created := &types.DvsCreatedEvent{DvsEvent: dvsEvent(d, fmt.Sprintf("A vSphere Distributed Switch %s was created in %s.", d.Name, dcName(d))),
			Parent: types.FolderEventArgument{Folder: f.Self, EntityEventArgument: types.EntityEventArgument{Name: f.Name}}}
		postEvents(ctxUser(ctx), append([]types.BaseEvent{created}, memberEvents(d, base)...)...)
		return dref, nil
	})
	return &methods.CreateDVS_TaskBody{Res: &types.CreateDVS_TaskResponse{Returnval: ref}}
}

func (a *dvsAlias) AddDVPortgroupTask(ctx *simulator.Context, req *types.AddDVPortgroup_Task) soap.HasFault {
	d := a.dvs()
	if d == nil {
		return &methods.AddDVPortgroup_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: a.Orig})}
	}
	ref := runTask(ctx, d, "addDVPortgroup", func() *taskErr {
		cfg := dvsConfig(d)
		specs := append([]types.DVPortgroupConfigSpec(nil), req.Spec...)
		for i := range specs {
			s := &specs[i]
			if s.Name == "" {
				return terr(&types.InvalidArgument{InvalidProperty: "spec.name"}, "a port group needs a name")
			}
			switch s.Type {
			case "":
				s.Type = string(types.DistributedVirtualPortgroupPortgroupTypeEarlyBinding)
			case "earlyBinding", "lateBinding", "ephemeral":
			default:
				return terr(&types.InvalidArgument{InvalidProperty: "type"}, "invalid port group type %q", s.Type)
			}
			if s.NumPorts < 0 {
				return terr(&types.InvalidArgument{InvalidProperty: "numPorts"}, "numPorts must not be negative")
			}
			if ps, ok := s.DefaultPortConfig.(*types.VMwareDVSPortSetting); ok && ps.Vlan != nil {
				if e := validateVlanSpec(d, ps.Vlan); e != nil {
					return e
				}
			}
			if e := validateTeaming(d, s.DefaultPortConfig); e != nil {
				return e
			}
			if e := ipfixNeedsCollector(cfg, s.DefaultPortConfig, "defaultPortConfig"); e != nil {
				return e
			}
			if e := validatePoolKey(d, s.VmVnicNetworkResourcePoolKey); e != nil { // nioc_pools.go
				return e
			}
			if s.DefaultPortConfig == nil {
				s.DefaultPortConfig = &types.VMwareDVSPortSetting{} // not stock's partial default
			}
			setting, filters, e := takeFilterPolicy(d, nil, s.DefaultPortConfig) // trafficfilter.go
			if e != nil {
				return e
			}
			s.DefaultPortConfig = setting
			setFilterPolicy(s.DefaultPortConfig, filters)
			s.ConfigVersion = ""
		}
		before := map[types.ManagedObjectReference]bool{}
		for _, r := range d.Portgroup {
			before[r] = true
		}
		body := d.AddDVPortgroupTask(ctx, &types.AddDVPortgroup_Task{This: d.Self, Spec: specs}).(*methods.AddDVPortgroup_TaskBody)
		task, _ := simulator.Map.Get(body.Res.Returnval).(*simulator.Task)
		dropTask(body.Res.Returnval) // one task per call (events.go)
		if task != nil && task.Info.Error != nil {
			if f, ok := task.Info.Error.Fault.(types.BaseMethodFault); ok {
				return &taskErr{f, task.Info.Error.LocalizedMessage}
			}
			return terr(&types.InvalidArgument{InvalidProperty: "spec"}, "port group creation failed")
		}
		for _, r := range d.Portgroup {
			if before[r] {
				continue
			}
			pg, ok := simulator.Map.Get(r).(*simulator.DistributedVirtualPortgroup)
			if !ok {
				continue
			}
			if pg.Config.AutoExpand == nil {
				pg.Config.AutoExpand = boolp(pg.Config.NumPorts == 0)
			}
			pg.Config.ConfigVersion = "1"
			pg.PortKeys = nil // stock numbers every port group's ports from 0
			fixupPortgroup(d, pg, cfg)
			simulator.Map.Update(pg, []types.PropertyChange{{Name: "config", Val: pg.Config}})
			postEvents(ctxUser(ctx), &types.DVPortgroupCreatedEvent{DVPortgroupEvent: pgEvent(pg, d,
				fmt.Sprintf("Distributed virtual port group %s in %s was added to switch %s.", pg.Name, dcName(d), d.Name))})
		}
		return nil
	})
	return &methods.AddDVPortgroup_TaskBody{Res: &types.AddDVPortgroup_TaskResponse{Returnval: ref}}
}

// validateTeaming checks a port setting's failover order like vCenter: every
// name is an uplink or a LAG of the switch; a LAG in the active list must be
// the only active entry (LAG and standalone uplinks both active, or two LAGs,
// are refused).
func validateTeaming(d *simulator.DistributedVirtualSwitch, s types.BaseDVPortSetting) *taskErr {
	ps, ok := s.(*types.VMwareDVSPortSetting)
	if !ok || ps.UplinkTeamingPolicy == nil || ps.UplinkTeamingPolicy.UplinkPortOrder == nil {
		return nil
	}
	cfg := dvsConfig(d)
	known := map[string]string{}
	for _, n := range uplinkNames(cfg) {
		known[n] = "uplink"
	}
	for _, l := range cfg.LacpGroupConfig {
		known[l.Name] = "lag"
	}
	order := ps.UplinkTeamingPolicy.UplinkPortOrder
	lags := 0
	for _, n := range append(append([]string(nil), order.ActiveUplinkPort...), order.StandbyUplinkPort...) {
		switch known[n] {
		case "":
			return terr(&types.InvalidArgument{InvalidProperty: "defaultPortConfig.uplinkTeamingPolicy.uplinkPortOrder"},
				"%s is neither an uplink nor a LAG of %s", n, d.Name)
		case "lag":
			lags++
		}
	}
	for _, n := range order.ActiveUplinkPort {
		if known[n] == "lag" && len(order.ActiveUplinkPort) > 1 {
			return terr(&types.InvalidArgument{InvalidProperty: "defaultPortConfig.uplinkTeamingPolicy.uplinkPortOrder"},
				"LAG %s must be the only active uplink", n)
		}
	}
	if lags > 1 {
		return terr(&types.InvalidArgument{InvalidProperty: "defaultPortConfig.uplinkTeamingPolicy.uplinkPortOrder"},
			"only one LAG may be in the failover order")
	}
	return nil
}

// lagInUse names a port group whose failover order names the LAG, or "".
func lagInUse(d *simulator.DistributedVirtualSwitch, name string) string {
	for _, ref := range d.Portgroup {
		pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
		if !ok {
			continue
		}
		if ps, ok := pg.Config.DefaultPortConfig.(*types.VMwareDVSPortSetting); ok && ps.UplinkTeamingPolicy != nil && ps.UplinkTeamingPolicy.UplinkPortOrder != nil {
			o := ps.UplinkTeamingPolicy.UplinkPortOrder
			if contains(o.ActiveUplinkPort, name) || contains(o.StandbyUplinkPort, name) {
				return pg.Name
			}
		}
	}
	return ""
}
