package main

// WaitForUpdatesEx computed incrementally, as vCenter's PropertyCollector does: a modified
// object already reported by a filter is matched against the filter's property specs on its
// own; the filter is re-collected (to find objects that came into its scope) at most once per
// answer, and only when a created object, or a modified one it has not reported, is of a type
// the filter asks for. Stock vcsim 0.24 re-collects every filter once per queued update, so
// 100 VM renames at 1,000 hosts / 10,000 VMs cost 100 full collections (minutes) and a task
// object created by a call costs one; here they cost 100 single-object matches.
//
// The collector registers itself (not its embedded stock collector) as the registry's
// handler, so the queue is this file's; version "" reports every filter's objects afresh, and
// a filter created after the first wait is reported at the next wait, as on vCenter.

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type moref = types.ManagedObjectReference

// waitState is a collector's update queue and what each of its filters has reported.
type waitState struct {
	mu      sync.Mutex
	updates []types.ObjectUpdate
	cancel  context.CancelFunc
	refs    map[moref]map[moref]struct{} // filter -> objects reported to the client
	recolls int                          // filter re-collections (tests: stays small)
}

func (pc *labPC) queue(u types.ObjectUpdate) {
	pc.ws.mu.Lock()
	pc.ws.updates = append(pc.ws.updates, u)
	pc.ws.mu.Unlock()
}

// PutObject, UpdateObject and RemoveObject: the registry's create/update/delete callbacks.
func (pc *labPC) PutObject(o mo.Reference) {
	pc.queue(types.ObjectUpdate{Obj: o.Reference(), Kind: types.ObjectUpdateKindEnter})
}

func (pc *labPC) UpdateObject(o mo.Reference, changes []types.PropertyChange) {
	pc.queue(types.ObjectUpdate{Obj: o.Reference(), Kind: types.ObjectUpdateKindModify, ChangeSet: changes})
}

func (pc *labPC) RemoveObject(ref moref) {
	pc.queue(types.ObjectUpdate{Obj: ref, Kind: types.ObjectUpdateKindLeave})
}

func (pc *labPC) CancelWaitForUpdates(r *types.CancelWaitForUpdates) soap.HasFault {
	pc.ws.mu.Lock()
	if pc.ws.cancel != nil {
		pc.ws.cancel()
	}
	pc.ws.mu.Unlock()
	return &methods.CancelWaitForUpdatesBody{Res: new(types.CancelWaitForUpdatesResponse)}
}

func (pc *labPC) DestroyPropertyCollector(ctx *simulator.Context, c *types.DestroyPropertyCollector) soap.HasFault {
	pc.CancelWaitForUpdates(&types.CancelWaitForUpdates{This: c.This})
	ctx.Map.RemoveHandler(pc)
	return pc.PropertyCollector.DestroyPropertyCollector(ctx, c)
}

// WaitForUpdates (deprecated, still used by some clients) answers as WaitForUpdatesEx.
func (pc *labPC) WaitForUpdates(ctx *simulator.Context, r *types.WaitForUpdates) soap.HasFault {
	res := pc.WaitForUpdatesEx(ctx, &types.WaitForUpdatesEx{This: r.This, Version: r.Version}).(*methods.WaitForUpdatesExBody)
	body := &methods.WaitForUpdatesBody{}
	switch {
	case res.Fault_ != nil:
		body.Fault_ = res.Fault_
	case res.Res != nil && res.Res.Returnval != nil:
		body.Res = &types.WaitForUpdatesResponse{Returnval: *res.Res.Returnval}
	default:
		body.Res = &types.WaitForUpdatesResponse{Returnval: types.UpdateSet{Version: r.Version}}
	}
	return body
}

// waitForUpdates is stock vcsim's wait loop (250 ms ticks to let updates accumulate,
// maxWaitSeconds, cancellation) with the incremental computation of applyUpdates.
func (pc *labPC) waitForUpdates(ctx *simulator.Context, r *types.WaitForUpdatesEx) *methods.WaitForUpdatesExBody {
	wait, cancel := context.WithCancel(context.Background())
	oneUpdate := false
	if r.Options != nil && r.Options.MaxWaitSeconds != nil {
		max := *r.Options.MaxWaitSeconds
		oneUpdate = max == 0 // one update calculation, then answer
		if max > 0 {
			wait, cancel = context.WithTimeout(context.Background(), time.Second*time.Duration(max))
		}
	}
	defer cancel()
	pc.ws.mu.Lock()
	pc.ws.cancel = cancel
	if r.Version == "" || pc.ws.refs == nil {
		pc.ws.refs = map[moref]map[moref]struct{}{} // everything is reported afresh
	}
	pc.ws.mu.Unlock()

	set := &types.UpdateSet{Version: r.Version}
	body := &methods.WaitForUpdatesExBody{Res: &types.WaitForUpdatesExResponse{Returnval: set}}
	fail := func(fault *soap.Fault) *methods.WaitForUpdatesExBody {
		return &methods.WaitForUpdatesExBody{Fault_: fault}
	}
	if r.Version == "" {
		ctx.Map.AddHandler(pc) // listen for create, update, delete of managed objects
		pc.ws.mu.Lock()
		pc.ws.updates = nil // the state below includes them
		pc.ws.mu.Unlock()
	}
	// filters not reported yet (all of them for version ""): their objects now
	if fault := pc.applyUpdates(ctx, set, nil); fault != nil {
		return fail(fault)
	}
	if r.Version == "" {
		set.Version = "-" // the next request with a version waits in the loop below
		return body
	}
	if len(set.FilterSet) != 0 {
		return body
	}
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-wait.Done():
			if wait.Err() == context.Canceled {
				return fail(simulator.Fault("", new(types.RequestCanceled)))
			}
			body.Res.Returnval = nil // maxWaitSeconds exceeded
			return body
		case <-ticker.C:
			pc.ws.mu.Lock()
			updates := pc.ws.updates
			pc.ws.updates = nil
			pc.ws.mu.Unlock()
			if len(updates) != 0 {
				if fault := pc.applyUpdates(ctx, set, updates); fault != nil {
					return fail(fault)
				}
				if len(set.FilterSet) != 0 {
					return body
				}
			}
			if oneUpdate {
				body.Res.Returnval = nil
				return body
			}
		}
	}
}

// applyUpdates adds to set, filter by filter, what updates change in it; a filter never
// reported is reported whole (its objects enter).
func (pc *labPC) applyUpdates(ctx *simulator.Context, set *types.UpdateSet, updates []types.ObjectUpdate) *soap.Fault {
	for _, f := range pc.Filter {
		filter, ok := ctx.Session.Get(f).(*simulator.PropertyFilter)
		if !ok {
			continue
		}
		pc.ws.mu.Lock()
		refs, known := pc.ws.refs[f]
		if !known {
			refs = map[moref]struct{}{}
			pc.ws.refs[f] = refs
		}
		pc.ws.mu.Unlock()
		fu := types.PropertyFilterUpdate{Filter: f}
		entered := map[moref]bool{}
		if !known || mayEnter(ctx, &filter.Spec, refs, updates) {
			objs, fault := pc.collectFilter(ctx, filter)
			if fault != nil {
				return fault
			}
			for _, o := range objs {
				if _, ok := refs[o.Obj]; ok {
					continue
				}
				refs[o.Obj] = struct{}{}
				entered[o.Obj] = true
				ou := types.ObjectUpdate{Obj: o.Obj, Kind: types.ObjectUpdateKindEnter}
				for _, p := range o.PropSet {
					ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Op: types.PropertyChangeOpAssign, Name: p.Name, Val: p.Val})
				}
				fu.ObjectSet = append(fu.ObjectSet, ou)
			}
		}
		for _, u := range updates {
			switch u.Kind {
			case types.ObjectUpdateKindModify:
				if _, ok := refs[u.Obj]; ok && !entered[u.Obj] {
					if u = pc.matchChanges(ctx, &filter.Spec, u); len(u.ChangeSet) != 0 {
						fu.ObjectSet = append(fu.ObjectSet, u)
					}
				}
			case types.ObjectUpdateKindLeave:
				if _, ok := refs[u.Obj]; ok {
					delete(refs, u.Obj)
					fu.ObjectSet = append(fu.ObjectSet, u)
				}
			}
		}
		if len(fu.ObjectSet) != 0 {
			set.FilterSet = append(set.FilterSet, fu)
		}
	}
	return nil
}

// collectFilter is the filter's spec retrieved now (indexed paths answered, unset omitted).
func (pc *labPC) collectFilter(ctx *simulator.Context, filter *simulator.PropertyFilter) ([]types.ObjectContent, *soap.Fault) {
	pc.ws.mu.Lock()
	pc.ws.recolls++
	pc.ws.mu.Unlock()
	body := pc.retrieveIndexed(ctx, &types.RetrievePropertiesEx{SpecSet: []types.PropertyFilterSpec{filter.Spec}})
	if body.Fault_ != nil {
		return nil, body.Fault_
	}
	if body.Res == nil || body.Res.Returnval == nil {
		return nil, nil
	}
	return cleanObjects(body.Res.Returnval.Objects), nil
}

// mayEnter: whether an update may bring an object into the filter's scope — a created
// object, or a modified one not reported yet (moved under the filter's container), of a type
// the filter asks for. Anything else cannot change which objects the filter reports.
func mayEnter(ctx *simulator.Context, spec *types.PropertyFilterSpec, refs map[moref]struct{}, updates []types.ObjectUpdate) bool {
	for _, u := range updates {
		switch u.Kind {
		case types.ObjectUpdateKindEnter:
		case types.ObjectUpdateKindModify:
			if _, ok := refs[u.Obj]; ok {
				continue
			}
		default:
			continue
		}
		for i := range spec.PropSet {
			if typeMatches(ctx, spec.PropSet[i].Type, u.Obj) {
				return true
			}
		}
	}
	return false
}

// typeMatches: the property spec's type is the object's type or one it extends
// (ManagedEntity, ComputeResource...), as vcsim's PropertyFilter.matches decides.
func typeMatches(ctx *simulator.Context, specType string, ref moref) bool {
	if specType == ref.Type {
		return true
	}
	obj := ctx.Map.Get(ref)
	if obj == nil {
		return false
	}
	kind := reflect.TypeOf(obj)
	for kind.Kind() == reflect.Ptr {
		kind = kind.Elem()
	}
	if kind.Kind() != reflect.Struct {
		return false
	}
	field, ok := kind.FieldByName(specType)
	return ok && field.Anonymous
}

// matchChanges keeps the changes the filter asks for, as vcsim's PropertyFilter.apply: a
// change to an asked path as it is; a change below an asked path as that path with its
// current value (once per path).
func (pc *labPC) matchChanges(ctx *simulator.Context, spec *types.PropertyFilterSpec, u types.ObjectUpdate) types.ObjectUpdate {
	parents := map[string]bool{}
	changes := u.ChangeSet
	u.ChangeSet = nil
	for _, c := range changes {
		p, ok := pc.matchChange(ctx, spec, u.Obj, c)
		if !ok {
			continue
		}
		if p.Name != c.Name {
			if parents[p.Name] {
				continue
			}
			parents[p.Name] = true
		}
		u.ChangeSet = append(u.ChangeSet, p)
	}
	return u
}

func (pc *labPC) matchChange(ctx *simulator.Context, spec *types.PropertyFilterSpec, ref moref, c types.PropertyChange) (types.PropertyChange, bool) {
	for _, ps := range spec.PropSet {
		if !typeMatches(ctx, ps.Type, ref) {
			continue
		}
		if ps.All != nil && *ps.All {
			return c, true
		}
		for _, name := range ps.PathSet {
			if name == c.Name {
				return c, true
			}
			if strings.HasPrefix(c.Name, name) {
				c.Name, c.Val = name, pc.currentValue(ctx, ref, name)
				return c, true
			}
		}
	}
	return c, false
}

// currentValue is one property of one object as RetrievePropertiesEx reads it (nil if unset).
func (pc *labPC) currentValue(ctx *simulator.Context, ref moref, path string) types.AnyType {
	body := pc.PropertyCollector.RetrievePropertiesEx(ctx, &types.RetrievePropertiesEx{
		SpecSet: []types.PropertyFilterSpec{{
			PropSet:   []types.PropertySpec{{Type: ref.Type, PathSet: []string{path}}},
			ObjectSet: []types.ObjectSpec{{Obj: ref}},
		}},
	}).(*methods.RetrievePropertiesExBody)
	if body.Res == nil || body.Res.Returnval == nil {
		return nil
	}
	for _, o := range body.Res.Returnval.Objects {
		for _, p := range o.PropSet {
			if p.Name == path {
				return p.Val
			}
		}
	}
	return nil
}
