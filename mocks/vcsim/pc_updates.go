package main

// WaitForUpdatesEx with options.maxObjectUpdates like vCenter: at most that many
// object updates per answer, `truncated` set and a version that fetches the rest
// at once (stock vcsim ignores the option and sends everything). Applies to the
// singleton and to per-session collectors (both are labPC).

import (
	"strconv"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type heldUpdates struct {
	version string // what the client is told once the rest is delivered
	filters []types.PropertyFilterUpdate
}

var (
	heldMu sync.Mutex
	held   = map[string]*heldUpdates{} // collector + "/" + version token -> the rest
	heldN  int
)

// cutUpdates keeps the first max object updates in set and returns the rest.
func cutUpdates(set *types.UpdateSet, max int) []types.PropertyFilterUpdate {
	var keep, rest []types.PropertyFilterUpdate
	n := 0
	for _, fu := range set.FilterSet {
		room := max - n
		switch {
		case room <= 0:
			rest = append(rest, fu)
		case len(fu.ObjectSet) <= room:
			keep = append(keep, fu)
			n += len(fu.ObjectSet)
		default:
			head, tail := fu, fu
			head.ObjectSet = fu.ObjectSet[:room]
			tail.ObjectSet = fu.ObjectSet[room:]
			keep = append(keep, head)
			rest = append(rest, tail)
			n = max
		}
	}
	set.FilterSet = keep
	return rest
}

// answer returns set cut to max, holding the rest under a new version token.
func (pc *labPC) answer(set *types.UpdateSet, final string, max int) {
	rest := cutUpdates(set, max)
	if len(rest) == 0 {
		set.Version = final
		set.Truncated = nil
		return
	}
	heldMu.Lock()
	heldN++
	token := final + ".t" + strconv.Itoa(heldN)
	held[pc.Self.Value+"/"+token] = &heldUpdates{version: final, filters: rest}
	heldMu.Unlock()
	set.Version = token
	set.Truncated = boolp(true)
}

func (pc *labPC) WaitForUpdatesEx(ctx *simulator.Context, r *types.WaitForUpdatesEx) soap.HasFault {
	max := 0
	if r.Options != nil && r.Options.MaxObjectUpdates > 0 {
		max = int(r.Options.MaxObjectUpdates)
	}
	heldMu.Lock()
	h := held[pc.Self.Value+"/"+r.Version]
	delete(held, pc.Self.Value+"/"+r.Version)
	heldMu.Unlock()
	if h != nil {
		set := &types.UpdateSet{FilterSet: h.filters}
		if max == 0 {
			set.Version = h.version
		} else {
			pc.answer(set, h.version, max)
		}
		return &methods.WaitForUpdatesExBody{Res: &types.WaitForUpdatesExResponse{Returnval: set}}
	}
	body := pc.waitForUpdates(ctx, r)
	if max == 0 || body.Res == nil || body.Res.Returnval == nil {
		return body
	}
	pc.answer(body.Res.Returnval, body.Res.Returnval.Version, max)
	return body
}

// CreatePropertyCollector makes per-session collectors labPC too (stock creates a
// plain PropertyCollector), so paging, unset-property cleaning and update
// truncation behave the same on every collector, as on vCenter.
func (pc *labPC) CreatePropertyCollector(ctx *simulator.Context, c *types.CreatePropertyCollector) soap.HasFault {
	cpc := &labPC{}
	cpc.Self.Type = "PropertyCollector"
	ref := ctx.Session.Put(cpc).Reference()
	return &methods.CreatePropertyCollectorBody{Res: &types.CreatePropertyCollectorResponse{Returnval: ref}}
}
