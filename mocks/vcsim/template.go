package main

// POST /vnettool/template {"name": "fw-template", "from": "DC0_C0_RP0_VM0"}:
// lab scaffolding for appliance tests and demos — clone a VM into a powered-off
// template (in the source's folder, one NIC, a fresh MAC), as an admin would
// import an appliance image. "from" defaults to the first VM of the first
// cluster. Answers {"ok": true, "moref": "vm-NN"}; an existing name is an error.

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	registerControl("template", func(lab *Lab) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			fail := func(code int, msg string) {
				writeJSON(w, code, map[string]interface{}{"ok": false, "error": msg})
			}
			if r.Method != http.MethodPost {
				fail(http.StatusMethodNotAllowed, "POST only")
				return
			}
			var req struct{ Name, From string }
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
				fail(http.StatusBadRequest, `body must be {"name": "...", "from": "VM name (optional)"}`)
				return
			}
			var src *simulator.VirtualMachine
			var all []*simulator.VirtualMachine
			for _, e := range simulator.Map.All("VirtualMachine") {
				vm := e.(*simulator.VirtualMachine)
				if vm.Name == req.Name {
					fail(http.StatusConflict, "a VM named "+req.Name+" exists already")
					return
				}
				if !vm.Config.Template {
					all = append(all, vm)
				}
			}
			sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
			for _, vm := range all {
				if req.From == "" || vm.Name == req.From {
					src = vm
					break
				}
			}
			if src == nil {
				fail(http.StatusNotFound, "no VM named "+req.From)
				return
			}
			ctx := context.Background()
			c, err := vim25.NewClient(ctx, lab.Model.Service)
			if err != nil {
				fail(http.StatusInternalServerError, err.Error())
				return
			}
			folder := object.NewFolder(c, *src.Parent)
			spec := types.VirtualMachineCloneSpec{Template: true}
			task, err := object.NewVirtualMachine(c, src.Self).Clone(ctx, folder, req.Name, spec)
			if err == nil {
				var info *types.TaskInfo
				info, err = task.WaitForResult(ctx, nil)
				if err == nil {
					ref := info.Result.(types.ManagedObjectReference)
					if vm, _ := simulator.Map.Get(ref).(*simulator.VirtualMachine); vm != nil {
						simulator.Map.WithLock(vm, func() { newMACs(vm) })
					}
					writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "moref": ref.Value})
					return
				}
			}
			fail(http.StatusInternalServerError, err.Error())
		}
	})
}
