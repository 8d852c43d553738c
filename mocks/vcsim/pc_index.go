package main

// Indexed property paths, as vCenter's PropertyCollector accepts them: `setting["Net.X"]`
// names the element of an array of keyed data objects whose key is Net.X (vcsim 0.24.2
// only knows plain paths). The lab reads the array and returns the element under the
// indexed name; a key not present is no error and returns nothing, like vCenter.

import (
	"reflect"
	"regexp"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// retrieveIndexed is vcsim's retrieval with indexed paths answered.
func (pc *labPC) retrieveIndexed(ctx *simulator.Context, r *types.RetrievePropertiesEx) *methods.RetrievePropertiesExBody {
	if !hasIndexed(r.SpecSet) {
		return pc.PropertyCollector.RetrievePropertiesEx(ctx, r).(*methods.RetrievePropertiesExBody)
	}
	rr := *r
	var reqs []indexReq
	var plain map[string]bool
	rr.SpecSet, reqs, plain = rewriteIndexed(r.SpecSet)
	body := pc.PropertyCollector.RetrievePropertiesEx(ctx, &rr).(*methods.RetrievePropertiesExBody)
	if body.Fault_ == nil && body.Res != nil && body.Res.Returnval != nil {
		body.Res.Returnval.Objects = answerIndexed(body.Res.Returnval.Objects, reqs, plain)
	}
	return body
}

var indexedPath = regexp.MustCompile(`^(.+)\["([^"]*)"\]$`)

type indexReq struct{ base, key, path string }

// rewriteIndexed replaces indexed paths by their array property; `plain` holds the paths
// asked for themselves (kept in the answer).
func rewriteIndexed(specs []types.PropertyFilterSpec) ([]types.PropertyFilterSpec, []indexReq, map[string]bool) {
	var reqs []indexReq
	plain := map[string]bool{}
	out := make([]types.PropertyFilterSpec, len(specs))
	for i, fs := range specs {
		out[i] = fs
		out[i].PropSet = make([]types.PropertySpec, len(fs.PropSet))
		for j, ps := range fs.PropSet {
			np := ps
			np.PathSet = nil
			seen := map[string]bool{}
			for _, p := range ps.PathSet {
				if m := indexedPath.FindStringSubmatch(p); m != nil {
					reqs = append(reqs, indexReq{m[1], m[2], p})
					p = m[1]
				} else {
					plain[p] = true
				}
				if !seen[p] {
					seen[p] = true
					np.PathSet = append(np.PathSet, p)
				}
			}
			out[i].PropSet[j] = np
		}
	}
	return out, reqs, plain
}

func hasIndexed(specs []types.PropertyFilterSpec) bool {
	for _, fs := range specs {
		for _, ps := range fs.PropSet {
			for _, p := range ps.PathSet {
				if indexedPath.MatchString(p) {
					return true
				}
			}
		}
	}
	return false
}

// keyedElement: the element of `array` (a slice, or an ArrayOf wrapper) whose Key is key.
func keyedElement(array interface{}, key string) (interface{}, bool) {
	rv := reflect.ValueOf(array)
	for rv.Kind() == reflect.Ptr || rv.Kind() == reflect.Interface {
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Struct && rv.NumField() == 1 {
		rv = rv.Field(0)
	}
	if rv.Kind() != reflect.Slice {
		return nil, false
	}
	for i := 0; i < rv.Len(); i++ {
		item := rv.Index(i)
		for item.Kind() == reflect.Interface || item.Kind() == reflect.Ptr {
			item = item.Elem()
		}
		if item.Kind() != reflect.Struct {
			continue
		}
		k := item.FieldByName("Key")
		if k.IsValid() && k.Kind() == reflect.String && k.String() == key {
			return item.Interface(), true
		}
	}
	return nil, false
}

// answerIndexed turns the array properties read for indexed paths into their elements.
func answerIndexed(objs []types.ObjectContent, reqs []indexReq, plain map[string]bool) []types.ObjectContent {
	for i := range objs {
		var ps []types.DynamicProperty
		for _, p := range objs[i].PropSet {
			asked := plain[p.Name]
			for _, r := range reqs {
				if r.base != p.Name {
					continue
				}
				if el, ok := keyedElement(p.Val, r.key); ok {
					ps = append(ps, types.DynamicProperty{Name: r.path, Val: el})
				}
			}
			if asked || !isIndexBase(p.Name, reqs) {
				ps = append(ps, p)
			}
		}
		objs[i].PropSet = ps
	}
	return objs
}

func isIndexBase(name string, reqs []indexReq) bool {
	for _, r := range reqs {
		if r.base == name {
			return true
		}
	}
	return false
}
