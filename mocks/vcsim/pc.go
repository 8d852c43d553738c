package main

// PropertyCollector: paging like vCenter (RetrievePropertiesEx honours
// options.maxObjects and returns a token; ContinueRetrievePropertiesEx and
// CancelRetrievePropertiesEx are implemented) and unset properties are
// omitted instead of being sent as empty values.

import (
	"reflect"
	"strconv"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type pageStore struct {
	mu    sync.Mutex
	next  int
	pages map[string]*pendingResult
}

type pendingResult struct {
	objects []types.ObjectContent
	size    int
}

func newPageStore() *pageStore { return &pageStore{pages: map[string]*pendingResult{}} }

// page cuts objects to size and stores the remainder under a new token.
func (p *pageStore) page(objects []types.ObjectContent, size int) *types.RetrieveResult {
	res := &types.RetrieveResult{}
	if size <= 0 || len(objects) <= size {
		res.Objects = objects
		return res
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	token := strconv.Itoa(p.next)
	p.pages[token] = &pendingResult{objects: objects[size:], size: size}
	res.Objects = objects[:size]
	res.Token = token
	return res
}

func (p *pageStore) cont(token string) (*types.RetrieveResult, bool) {
	p.mu.Lock()
	pr, ok := p.pages[token]
	delete(p.pages, token)
	p.mu.Unlock()
	if !ok {
		return nil, false
	}
	return p.page(pr.objects, pr.size), true
}

func (p *pageStore) cancel(token string) {
	p.mu.Lock()
	delete(p.pages, token)
	p.mu.Unlock()
}

// labPC replaces the PropertyCollector singleton (vcsim supports a wrapped
// PropertyCollector type); per-session instances are labPC too (pc_updates.go).
type labPC struct {
	simulator.PropertyCollector
	ws waitState // updates queued for WaitForUpdatesEx (pc_wait.go)
}

// currentLab serves the per-session collectors, which vcsim creates zeroed.
var currentLab *Lab

func init() {
	registerSetup(0, "property collector", func(lab *Lab) error {
		currentLab = lab
		ref := simulator.Map.Get(lab.Model.ServiceContent.PropertyCollector)
		pc := &labPC{}
		pc.Self = ref.Reference()
		simulator.Map.Put(pc)
		return nil
	})
}

func cleanObjects(objs []types.ObjectContent) []types.ObjectContent {
	for i := range objs {
		ps := objs[i].PropSet[:0]
		for _, p := range objs[i].PropSet {
			if p.Val != nil && !isNilValue(p.Val) {
				ps = append(ps, p)
			}
		}
		objs[i].PropSet = ps
	}
	return objs
}

func (pc *labPC) RetrievePropertiesEx(ctx *simulator.Context, r *types.RetrievePropertiesEx) soap.HasFault {
	// vCenter refuses an empty specSet and a negative page size; stock vcsim answered nothing
	if len(r.SpecSet) == 0 {
		return &methods.RetrievePropertiesExBody{Fault_: simulator.Fault("specSet is empty", &types.InvalidArgument{InvalidProperty: "specSet"})}
	}
	if r.Options.MaxObjects < 0 {
		return &methods.RetrievePropertiesExBody{Fault_: simulator.Fault("maxObjects must not be negative", &types.InvalidArgument{InvalidProperty: "options.maxObjects"})}
	}
	body := pc.retrieveIndexed(ctx, r)
	if body.Fault_ != nil || body.Res == nil || body.Res.Returnval == nil {
		return body
	}
	objs := cleanObjects(body.Res.Returnval.Objects)
	if len(objs) == 0 {
		body.Res.Returnval = nil
		return body
	}
	body.Res.Returnval = currentLab.pages.page(objs, int(r.Options.MaxObjects))
	return body
}

func (pc *labPC) RetrieveProperties(ctx *simulator.Context, r *types.RetrieveProperties) soap.HasFault {
	body := pc.retrieveIndexed(ctx, &types.RetrievePropertiesEx{This: r.This, SpecSet: r.SpecSet})
	if body.Fault_ != nil {
		return &methods.RetrievePropertiesBody{Fault_: body.Fault_}
	}
	res := &methods.RetrievePropertiesBody{Res: &types.RetrievePropertiesResponse{}}
	if body.Res.Returnval != nil {
		res.Res.Returnval = cleanObjects(body.Res.Returnval.Objects)
	}
	return res
}

func (pc *labPC) ContinueRetrievePropertiesEx(ctx *simulator.Context, r *types.ContinueRetrievePropertiesEx) soap.HasFault {
	res, ok := currentLab.pages.cont(r.Token)
	if !ok {
		return &methods.ContinueRetrievePropertiesExBody{Fault_: simulator.Fault("invalid token "+r.Token,
			&types.InvalidArgument{InvalidProperty: "token"})}
	}
	return &methods.ContinueRetrievePropertiesExBody{Res: &types.ContinueRetrievePropertiesExResponse{Returnval: *res}}
}

func (pc *labPC) CancelRetrievePropertiesEx(ctx *simulator.Context, r *types.CancelRetrievePropertiesEx) soap.HasFault {
	currentLab.pages.cancel(r.Token)
	return &methods.CancelRetrievePropertiesExBody{Res: &types.CancelRetrievePropertiesExResponse{}}
}

// FetchResponse mirrors vcsim's internal type (the name is used as XML element).
type FetchResponse struct {
	Returnval types.AnyType `xml:"returnval,omitempty,typeattr"`
}

type fetchBody struct {
	Res    *FetchResponse `xml:"FetchResponse,omitempty"`
	Fault_ *soap.Fault    `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *fetchBody) Fault() *soap.Fault { return b.Fault_ }

// Fetch (single property read used by pyVmomi 8+): an unset property is
// returned empty instead of crashing the handler. The request type lives in
// a govmomi internal package, hence interface{} and reflection.
func (pc *labPC) Fetch(ctx *simulator.Context, req interface{}) soap.HasFault {
	rv := reflect.ValueOf(req).Elem()
	this := rv.FieldByName("This").Interface().(types.ManagedObjectReference)
	prop := rv.FieldByName("Prop").String()
	if simulator.Map.Get(this) == nil {
		switch this.Type {
		case "ManagedEntity":
			for _, e := range simulator.Map.All("") {
				if e.Reference().Value == this.Value {
					this = e.Reference()
					break
				}
			}
		case "ComputeResource":
			this.Type = "Cluster" + this.Type
		}
	}
	res := pc.PropertyCollector.RetrievePropertiesEx(ctx, &types.RetrievePropertiesEx{
		SpecSet: []types.PropertyFilterSpec{{
			PropSet:   []types.PropertySpec{{Type: this.Type, PathSet: []string{prop}}},
			ObjectSet: []types.ObjectSpec{{Obj: this}},
		}}}).(*methods.RetrievePropertiesExBody)
	if res.Fault_ != nil {
		return &fetchBody{Fault_: res.Fault_}
	}
	if res.Res == nil || res.Res.Returnval == nil || len(res.Res.Returnval.Objects) == 0 {
		return &fetchBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: this})}
	}
	obj := cleanObjects(res.Res.Returnval.Objects)[0]
	if len(obj.PropSet) == 0 {
		if len(obj.MissingSet) > 0 {
			f := obj.MissingSet[0].Fault
			return &fetchBody{Fault_: simulator.Fault(f.LocalizedMessage, f.Fault)}
		}
		return &fetchBody{Res: &FetchResponse{}}
	}
	return &fetchBody{Res: &FetchResponse{Returnval: obj.PropSet[0].Val}}
}
