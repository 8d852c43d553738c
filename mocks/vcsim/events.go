package main

// Tasks and events like vCenter. Stock vcsim (and the lab's first overrides,
// which call stock methods inside their own tasks) left one task per nested
// call (a DVS create showed two CreateDVS and three AddDVPortgroup tasks),
// task targets named by moref, "vcsim" as every initiator, and posted no
// event for switch, port group, host network or vMotion changes. Here:
//   - a call creates one task: the inner tasks of stock methods an override
//     calls are dropped (dropTask);
//   - every task of a call names its target (info.entityName) and the
//     logged-in user as initiator (info.reason), and a TaskEvent is posted;
//   - DvsCreatedEvent, DvsReconfiguredEvent, DvsHostJoinedEvent /
//     DvsHostLeftEvent, DvsDestroyedEvent, DVPortgroupCreatedEvent /
//     ReconfiguredEvent / RenamedEvent / DestroyedEvent and VmMigratedEvent are
//     posted by the calls that make those changes; a host network call
//     (HostNetworkSystem, HostVirtualNicManager) posts a TaskEvent naming the
//     host. EventManager.QueryEvents and EventHistoryCollectors (stock) return them.

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"text/template"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	// Stock's captured event formats include a few with a lost brace
	// ("{{.SourceHost.Name}, ..." in VmMigratedEvent and DrsVmMigratedEvent):
	// posting such an event panicked in the EventManager. Repair them once.
	registerSetup(1, "event formats", func(lab *Lab) error {
		em := simulator.Map.EventManager()
		if em == nil {
			return nil
		}
		for i := range em.Description.EventInfo {
			info := &em.Description.EventInfo[i]
			if _, err := template.New(info.Key).Parse(info.FullFormat); err == nil {
				continue
			}
			info.FullFormat = reLostBrace.ReplaceAllString(info.FullFormat, "{{$1}}$2")
			if _, err := template.New(info.Key).Parse(info.FullFormat); err != nil {
				info.FullFormat = ""
			}
		}
		return nil
	})
}

var reLostBrace = regexp.MustCompile(`\{\{(\.[A-Za-z.]+)\}([^}])`)

// postEvents posts events as user through the stock EventManager (which
// keys, timestamps and hands them to the collectors).
func postEvents(user string, evs ...types.BaseEvent) {
	em := simulator.Map.EventManager()
	if em == nil || len(evs) == 0 {
		return
	}
	ctx := &simulator.Context{Context: context.Background(), Map: simulator.Map,
		Session: &simulator.Session{UserSession: types.UserSession{UserName: user}}}
	simulator.Map.WithLock(em, func() {
		for _, ev := range evs {
			em.PostEvent(ctx, &types.PostEvent{EventToPost: ev})
		}
	})
}

func ctxUser(ctx *simulator.Context) string {
	if ctx != nil && ctx.Session != nil {
		return ctx.Session.UserName
	}
	return ""
}

func dcArg(e mo.Entity) *types.DatacenterEventArgument {
	dc := entityDatacenter(e)
	if dc == nil {
		return nil
	}
	return &types.DatacenterEventArgument{Datacenter: dc.Self, EntityEventArgument: types.EntityEventArgument{Name: dc.Name}}
}

func dvsArg(d *simulator.DistributedVirtualSwitch) *types.DvsEventArgument {
	return &types.DvsEventArgument{Dvs: d.Self, EntityEventArgument: types.EntityEventArgument{Name: d.Name}}
}

func hostArg(ref types.ManagedObjectReference) *types.HostEventArgument {
	name := ref.Value
	if h, ok := simulator.Map.Get(ref).(*simulator.HostSystem); ok {
		name = h.Name
	}
	return &types.HostEventArgument{Host: ref, EntityEventArgument: types.EntityEventArgument{Name: name}}
}

// dvsEvent is the common part of a switch event.
func dvsEvent(d *simulator.DistributedVirtualSwitch, msg string) types.DvsEvent {
	return types.DvsEvent{Event: types.Event{Datacenter: dcArg(d), Dvs: dvsArg(d), FullFormattedMessage: msg}}
}

// pgEvent is the common part of a DV port group event.
func pgEvent(pg *simulator.DistributedVirtualPortgroup, d *simulator.DistributedVirtualSwitch, msg string) types.DVPortgroupEvent {
	ev := types.Event{Datacenter: dcArg(pg), FullFormattedMessage: msg,
		Net: &types.NetworkEventArgument{Network: pg.Self, EntityEventArgument: types.EntityEventArgument{Name: pg.Name}}}
	if d != nil {
		ev.Dvs = dvsArg(d)
	}
	return types.DVPortgroupEvent{Event: ev}
}

// memberEvents are the host joined / left events of a switch config spec.
func memberEvents(d *simulator.DistributedVirtualSwitch, spec *types.DVSConfigSpec) []types.BaseEvent {
	var out []types.BaseEvent
	for _, m := range spec.Host {
		h := hostArg(m.Host)
		switch types.ConfigSpecOperation(m.Operation) {
		case types.ConfigSpecOperationAdd:
			out = append(out, &types.DvsHostJoinedEvent{DvsEvent: dvsEvent(d, fmt.Sprintf("The host %s joined the vSphere Distributed Switch %s", h.Name, d.Name)), HostJoined: *h})
		case types.ConfigSpecOperationRemove:
			out = append(out, &types.DvsHostLeftEvent{DvsEvent: dvsEvent(d, fmt.Sprintf("The host %s left the vSphere Distributed Switch %s", h.Name, d.Name)), HostLeft: *h})
		}
	}
	return out
}

// onSuccess wraps a task body: when it succeeds, the events are posted as
// the caller's user.
func onSuccess(ctx *simulator.Context, fn func() *taskErr, events func() []types.BaseEvent) func() *taskErr {
	return func() *taskErr {
		if e := fn(); e != nil {
			return e
		}
		postEvents(ctxUser(ctx), events()...)
		return nil
	}
}

// ---------- one task per call ----------

func taskManager() *simulator.TaskManager {
	si, _ := simulator.Map.Get(types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}).(*simulator.ServiceInstance)
	if si == nil || si.Content.TaskManager == nil {
		return nil
	}
	tm, _ := simulator.Map.Get(*si.Content.TaskManager).(*simulator.TaskManager)
	return tm
}

// dropTask removes a task an override's inner stock call created: the call
// that wraps it has a task of its own.
func dropTask(ref types.ManagedObjectReference) {
	if tm := taskManager(); tm != nil {
		tm.Lock()
		recent := append([]types.ManagedObjectReference(nil), tm.RecentTask...)
		simulator.RemoveReference(&recent, ref)
		simulator.Map.Update(tm, []types.PropertyChange{{Name: "recentTask", Val: recent}})
		tm.Unlock()
	}
	simulator.Map.Remove(ref)
}

// dropTasksOn drops the tasks whose target is entity (a new object only the
// caller's inner calls can have targeted).
func dropTasksOn(entity types.ManagedObjectReference) {
	tm := taskManager()
	if tm == nil {
		return
	}
	tm.Lock()
	recent := append([]types.ManagedObjectReference(nil), tm.RecentTask...)
	tm.Unlock()
	for _, ref := range recent {
		if t, ok := simulator.Map.Get(ref).(*simulator.Task); ok && t.Info.Entity != nil && *t.Info.Entity == entity {
			dropTask(ref)
		}
	}
}

// ---------- after each SOAP call ----------

var reTaskRef = regexp.MustCompile(`<returnval type="Task">(task-\d+)</returnval>`)

// hostNetMethods are the host network calls vCenter records as tasks on the host.
var hostNetMethods = map[string]string{
	"AddVirtualSwitch": "addVirtualSwitch", "UpdateVirtualSwitch": "updateVirtualSwitch", "RemoveVirtualSwitch": "removeVirtualSwitch",
	"AddPortGroup": "addPortGroup", "UpdatePortGroup": "updatePortGroup", "RemovePortGroup": "removePortGroup",
	"AddVirtualNic": "addVirtualNic", "UpdateVirtualNic": "updateVirtualNic", "RemoveVirtualNic": "removeVirtualNic",
	"UpdateNetworkConfig": "updateNetworkConfig", "SelectVnicForNicType": "selectVnic", "DeselectVnicForNicType": "deselectVnic",
}

// entityName is the name of a managed entity ("" when it is not one).
func entityName(ref types.ManagedObjectReference) string {
	if e, ok := simulator.Map.Get(ref).(mo.Entity); ok {
		return e.Entity().Name
	}
	return ""
}

// taskEvent is the TaskEvent of a task, with the target as its entity argument.
func taskEvent(info types.TaskInfo) *types.TaskEvent {
	ev := types.Event{FullFormattedMessage: "Task: " + info.DescriptionId}
	if info.Entity != nil {
		if e, ok := simulator.Map.Get(*info.Entity).(mo.Entity); ok {
			ev.Datacenter = dcArg(e)
		}
		arg := types.EntityEventArgument{Name: info.EntityName}
		switch info.Entity.Type {
		case "HostSystem":
			ev.Host = &types.HostEventArgument{Host: *info.Entity, EntityEventArgument: arg}
		case "VirtualMachine":
			ev.Vm = &types.VmEventArgument{Vm: *info.Entity, EntityEventArgument: arg}
		case "DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch":
			if d, ok := simulator.Map.Get(*info.Entity).(*simulator.DistributedVirtualSwitch); ok {
				ev.Dvs = dvsArg(d)
			}
		case "DistributedVirtualPortgroup", "Network":
			ev.Net = &types.NetworkEventArgument{Network: *info.Entity, EntityEventArgument: arg}
		case "ClusterComputeResource", "ComputeResource":
			ev.ComputeResource = &types.ComputeResourceEventArgument{ComputeResource: *info.Entity, EntityEventArgument: arg}
		}
	}
	return &types.TaskEvent{Event: ev, Info: info}
}

// wantsResponse: the calls whose answer afterCall reads (a task's moref).
func wantsResponse(body []byte) bool {
	m := reMethod.FindSubmatch(body)
	return m != nil && strings.HasSuffix(string(m[1]), "_Task")
}

// afterCall completes what the call's handlers cannot know: the task's
// initiator and target name, and the TaskEvent.
func afterCall(user string, body []byte, status int, resp []byte) {
	m := reMethod.FindSubmatch(body)
	if m == nil || status != 200 {
		return
	}
	method := string(m[1])
	if strings.HasSuffix(method, "_Task") {
		tm := reTaskRef.FindSubmatch(resp)
		if tm == nil {
			return
		}
		if t, ok := simulator.Map.Get(types.ManagedObjectReference{Type: "Task", Value: string(tm[1])}).(*simulator.Task); ok {
			finishTask(t, user)
		}
		return
	}
	id, ok := hostNetMethods[method]
	if !ok {
		return
	}
	th := reThis.FindSubmatch(body)
	if th == nil {
		return
	}
	host := hostOfManager(strings.TrimSpace(string(th[2])))
	if host == nil {
		return
	}
	// vCenter runs a host's synchronous network calls as tasks on the host
	t := simulator.CreateTask(host, id, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) { return nil, nil })
	t.Info.DescriptionId = "HostNetworkSystem." + id
	t.Run()
	finishTask(t, user)
}

// finishTask names the task's target and initiator and posts its TaskEvent.
func finishTask(t *simulator.Task, user string) {
	var info types.TaskInfo
	simulator.Map.WithLock(t, func() {
		if t.Info.Entity != nil {
			if n := entityName(*t.Info.Entity); n != "" {
				t.Info.EntityName = n
			}
		}
		t.Info.Reason = &types.TaskReasonUser{UserName: user}
		simulator.Map.Update(t, []types.PropertyChange{{Name: "info.entityName", Val: t.Info.EntityName}, {Name: "info.reason", Val: t.Info.Reason}})
		info = t.Info
	})
	postEvents(user, taskEvent(info))
}

// hostOfManager is the host whose network system or virtual NIC manager has this moref value.
func hostOfManager(value string) *simulator.HostSystem {
	hostStatesMu.Lock()
	defer hostStatesMu.Unlock()
	for _, hs := range hostStates {
		cm := hs.host.ConfigManager
		if cm.NetworkSystem != nil && cm.NetworkSystem.Value == value || cm.VirtualNicManager != nil && cm.VirtualNicManager.Value == value {
			return hs.host
		}
	}
	return nil
}

func dcName(e mo.Entity) string {
	if dc := entityDatacenter(e); dc != nil {
		return dc.Name
	}
	return ""
}

// dvsOf is the switch of a DV port group (nil when it is gone).
func dvsOf(pg *simulator.DistributedVirtualPortgroup) *simulator.DistributedVirtualSwitch {
	if pg.Config.DistributedVirtualSwitch == nil {
		return nil
	}
	d, _ := simulator.Map.Get(*pg.Config.DistributedVirtualSwitch).(*simulator.DistributedVirtualSwitch)
	return d
}

// dropTaskOf drops the task a stock *_Task method answered with.
func dropTaskOf(res interface{}) {
	v := reflect.ValueOf(res)
	if v.Kind() != reflect.Ptr || v.IsNil() {
		return
	}
	r := v.Elem().FieldByName("Res")
	if !r.IsValid() || r.IsNil() {
		return
	}
	if ref, ok := r.Elem().FieldByName("Returnval").Interface().(types.ManagedObjectReference); ok && ref.Type == "Task" {
		dropTask(ref)
	}
}

// dropTasksResulting drops the tasks whose result is ref (stock CloneVM_Task's
// inner CreateVM_Task, whose result is the clone).
func dropTasksResulting(ref types.ManagedObjectReference) {
	tm := taskManager()
	if tm == nil {
		return
	}
	tm.Lock()
	recent := append([]types.ManagedObjectReference(nil), tm.RecentTask...)
	tm.Unlock()
	for _, t := range recent {
		if task, ok := simulator.Map.Get(t).(*simulator.Task); ok && task.Info.Result == ref && task.Info.DescriptionId == "Folder.createVm" {
			dropTask(t)
		}
	}
}

// migratedEvent is vCenter's VmMigratedEvent for a vMotion from host src.
func migratedEvent(vm *simulator.VirtualMachine, src types.ManagedObjectReference) *types.VmMigratedEvent {
	ev := types.Event{Datacenter: dcArg(vm), Vm: &types.VmEventArgument{Vm: vm.Self, EntityEventArgument: types.EntityEventArgument{Name: vm.Name}}}
	var dst string
	if vm.Runtime.Host != nil {
		ev.Host = hostArg(*vm.Runtime.Host)
		dst = ev.Host.Name
		if h, ok := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem); ok && h.Parent != nil {
			ev.ComputeResource = &types.ComputeResourceEventArgument{ComputeResource: *h.Parent, EntityEventArgument: types.EntityEventArgument{Name: entityName(*h.Parent)}}
		}
	}
	if len(vm.Datastore) > 0 {
		ds := vm.Datastore[0]
		ev.Ds = &types.DatastoreEventArgument{Datastore: ds, EntityEventArgument: types.EntityEventArgument{Name: entityName(ds)}}
	}
	from := hostArg(src)
	ev.FullFormattedMessage = fmt.Sprintf("Migration of virtual machine %s from %s to %s completed", vm.Name, from.Name, dst)
	return &types.VmMigratedEvent{VmEvent: types.VmEvent{Event: ev}, SourceHost: *from, SourceDatacenter: dcArg(vm), SourceDatastore: ev.Ds}
}
