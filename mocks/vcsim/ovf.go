package main

// OVF import as vCenter does it, where stock vcsim 0.24.2 differs in ways an
// appliance import depends on:
//
//   - OvfManager.CreateImportSpec puts the OVF properties (ProductSection) into
//     the import spec's vAppConfig, with the propertyMapping values (stock:
//     the mapping pairs as extraConfig, the OVF's properties dropped), and
//     temporary negative NIC keys (stock: random positive ones); the VM's NICs
//     get keys 4000.., "Network adapter N" labels and vCenter MACs, as
//     vCenter's VM creation gives them.
//   - ResourcePool.ImportVApp answers a lease in state "initializing" that
//     turns "ready" a moment later, with `info` unset until then (stock: ready
//     at once), refuses a host outside the pool's cluster, keeps the VM's
//     vAppConfig, binds DV ports and fresh MACs like a clone.
//   - The NFC upload (PUT/POST to the lease's device URL) stores the bytes in
//     the VM's datastore file (stock throws them away); a disk POSTed as a
//     stream-optimized VMDK must start with the sparse magic "KDMV" (an
//     ESXi host refuses anything else, HTTP 400); only the lease's own files.
//   - HttpNfcLeaseAbort destroys the half-imported VM (stock leaves it);
//     HttpNfcLeaseComplete before every disk was uploaded fails with
//     InvalidState; a call on a lease that ended is ManagedObjectNotFound.
//
// GET /vnettool/nfc lists the leases of this lab: VM, state, bytes received
// per file, the progress percentages reported (tests check the client's
// upload and its progress reports with it).

import (
	"bytes"
	"io"
	"io/ioutil"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const leaseReadyAfter = 150 * time.Millisecond

type nfcFile struct {
	Path     string `json:"path"` // datastore file
	Disk     bool   `json:"disk"`
	Received int64  `json:"received"`
	Method   string `json:"method,omitempty"`
}

type nfcRecord struct {
	Lease    string              `json:"lease"`
	VM       string              `json:"vm"`
	VMName   string              `json:"vm_name"`
	State    string              `json:"state"` // initializing, ready, done, aborted
	Progress []int32             `json:"progress"`
	Files    map[string]*nfcFile `json:"files"` // by the device URL's file name
}

var nfc = struct {
	sync.Mutex
	leases map[string]*nfcRecord // by lease moref value
	order  []string
}{leases: map[string]*nfcRecord{}}

func init() {
	registerOverride("OvfManager", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &ovfAlias{aliasBase: newAliasBase(lab, orig)}
	}, "CreateImportSpec")
	registerOverride("ResourcePool", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &poolAlias{aliasBase: newAliasBase(lab, orig)}
	}, "ImportVApp")
	registerOverride("HttpNfcLease", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &leaseAlias{aliasBase: newAliasBase(lab, orig)}
	}, "HttpNfcLeaseComplete", "HttpNfcLeaseAbort", "HttpNfcLeaseProgress")
	registerControl("nfc", func(lab *Lab) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			nfc.Lock()
			defer nfc.Unlock()
			out := make([]*nfcRecord, 0, len(nfc.order))
			for _, id := range nfc.order {
				out = append(out, nfc.leases[id])
			}
			writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "leases": out})
		}
	})
}

// -- CreateImportSpec -------------------------------------------------------------

type ovfAlias struct {
	aliasBase
}

func ovfPropertyID(p ovf.ProductSection, prop ovf.Property) string {
	parts := []string{}
	if p.Class != nil && *p.Class != "" {
		parts = append(parts, *p.Class)
	}
	parts = append(parts, prop.Key)
	if p.Instance != nil && *p.Instance != "" {
		parts = append(parts, *p.Instance)
	}
	return strings.Join(parts, ".")
}

func (a *ovfAlias) CreateImportSpec(ctx *simulator.Context, req *types.CreateImportSpec) soap.HasFault {
	m, _ := a.origObject(ctx).(*simulator.OvfManager)
	if m == nil {
		return &methods.CreateImportSpecBody{Fault_: notFound(a.Orig)}
	}
	var res soap.HasFault
	withOrig(ctx, m, func() { res = m.CreateImportSpec(ctx, req) })
	body, ok := res.(*methods.CreateImportSpecBody)
	if !ok || body.Res == nil {
		return res
	}
	spec, ok := body.Res.Returnval.ImportSpec.(*types.VirtualMachineImportSpec)
	if !ok {
		return res
	}
	// vCenter's import spec carries temporary (negative) device keys; VM creation gives
	// the NICs 4000.. (stock: random positive keys)
	for i, ch := range spec.ConfigSpec.DeviceChange {
		if nic, ok := ch.GetVirtualDeviceConfigSpec().Device.(types.BaseVirtualEthernetCard); ok {
			nic.GetVirtualEthernetCard().Key = -200 - int32(i)
		}
	}
	env, err := ovf.Unmarshal(strings.NewReader(req.OvfDescriptor))
	if err != nil || env.VirtualSystem == nil {
		return res
	}
	values := map[string]string{}
	for _, kv := range req.Cisp.PropertyMapping {
		values[kv.Key] = kv.Value
	}
	// the mapping pairs stock put into extraConfig: vCenter keeps them as vApp properties
	var extra []types.BaseOptionValue
	for _, o := range spec.ConfigSpec.ExtraConfig {
		if _, mapped := values[o.GetOptionValue().Key]; !mapped {
			extra = append(extra, o)
		}
	}
	spec.ConfigSpec.ExtraConfig = extra
	var props []types.VAppPropertySpec
	key := int32(0)
	for _, p := range env.VirtualSystem.Product {
		for _, prop := range p.Property {
			id := ovfPropertyID(p, prop)
			info := &types.VAppPropertyInfo{
				Key:              key,
				Id:               id,
				Type:             prop.Type,
				UserConfigurable: prop.UserConfigurable,
			}
			if p.Class != nil {
				info.ClassId = *p.Class
			}
			if p.Instance != nil {
				info.InstanceId = *p.Instance
			}
			if prop.Password != nil && *prop.Password {
				info.Type = "password"
			}
			if prop.Default != nil {
				info.DefaultValue = *prop.Default
			}
			if prop.Label != nil {
				info.Label = *prop.Label
			}
			if v, ok := values[id]; ok {
				info.Value = v
			}
			key++
			props = append(props, types.VAppPropertySpec{
				ArrayUpdateSpec: types.ArrayUpdateSpec{Operation: types.ArrayUpdateOperationAdd},
				Info:            info,
			})
		}
	}
	if len(props) > 0 {
		spec.ConfigSpec.VAppConfig = &types.VmConfigSpec{
			Property:                props,
			OvfEnvironmentTransport: []string{"com.vmware.guestInfo"},
		}
	}
	return res
}

// -- ImportVApp -------------------------------------------------------------------

type poolAlias struct {
	aliasBase
}

// poolOwner is the compute resource owning a resource pool.
func poolOwner(p *simulator.ResourcePool) types.ManagedObjectReference {
	return p.Owner
}

func (a *poolAlias) ImportVApp(ctx *simulator.Context, req *types.ImportVApp) soap.HasFault {
	p, _ := simulator.Map.Get(a.Orig).(*simulator.ResourcePool)
	if p == nil {
		return &methods.ImportVAppBody{Fault_: notFound(a.Orig)}
	}
	spec, ok := req.Spec.(*types.VirtualMachineImportSpec)
	if !ok {
		return &methods.ImportVAppBody{Fault_: simulator.Fault("only a VirtualMachineImportSpec is supported", &types.InvalidArgument{InvalidProperty: "spec"})}
	}
	if req.Host != nil {
		host, _ := simulator.Map.Get(*req.Host).(*simulator.HostSystem)
		if host == nil {
			return &methods.ImportVAppBody{Fault_: notFound(*req.Host)}
		}
		if host.Parent == nil || *host.Parent != poolOwner(p) {
			return &methods.ImportVAppBody{Fault_: simulator.Fault("the host is not in the resource pool's cluster", &types.InvalidArgument{InvalidProperty: "host"})}
		}
	}
	// vCenter's VM creation gives new NICs keys from 4000, labels and MACs
	dummy := &simulator.VirtualMachine{}
	dummy.Config = &types.VirtualMachineConfigInfo{}
	prepareNICs(dummy, &spec.ConfigSpec)
	var res soap.HasFault
	withOrig(ctx, p, func() { res = p.ImportVApp(ctx, req) })
	body, ok := res.(*methods.ImportVAppBody)
	if !ok || body.Res == nil {
		return res
	}
	ref := body.Res.Returnval
	lease, _ := ctx.Session.Get(ref).(*simulator.HttpNfcLease)
	if lease == nil || lease.Info == nil {
		return res
	}
	vm, _ := simulator.Map.Get(lease.Info.Entity).(*simulator.VirtualMachine)
	if vm == nil {
		return res
	}
	dropTasksResulting(vm.Self) // stock's inner CreateVM task (events.go)
	withOrig(ctx, vm, func() {
		labelNICs(vm)
		bindVMPorts(vm, newPortBinder(nil))
		if c := spec.ConfigSpec.VAppConfig; c != nil {
			if vs := c.GetVmConfigSpec(); vs != nil {
				info := &types.VmConfigInfo{OvfEnvironmentTransport: vs.OvfEnvironmentTransport}
				for _, ps := range vs.Property {
					if ps.Info != nil {
						info.Property = append(info.Property, *ps.Info)
					}
				}
				vm.Config.VAppConfig = info
			}
		}
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "config.hardware.device", Val: vm.Config.Hardware.Device},
			{Name: "network", Val: nicNetworks(vm)},
		})
	})
	rec := &nfcRecord{Lease: ref.Value, VM: vm.Self.Value, VMName: vm.Name, State: "initializing", Files: map[string]*nfcFile{}}
	for _, d := range vm.Config.Hardware.Device {
		info, ok := d.GetVirtualDevice().Backing.(types.BaseVirtualDeviceFileBackingInfo)
		if !ok {
			continue
		}
		var file object.DatastorePath
		file.FromString(info.GetVirtualDeviceFileBackingInfo().FileName)
		_, disk := d.(*types.VirtualDisk)
		rec.Files[path.Base(file.Path)] = &nfcFile{Path: datastoreFile(file), Disk: disk}
	}
	// initializing, info unset, until the host has set up its side of the lease
	saved := lease.Info
	lease.Info = nil
	lease.State = types.HttpNfcLeaseStateInitializing
	nfc.Lock()
	nfc.leases[ref.Value] = rec
	nfc.order = append(nfc.order, ref.Value)
	nfc.Unlock()
	time.AfterFunc(leaseReadyAfter, func() {
		simulator.Map.WithLock(lease, func() {
			if lease.State == types.HttpNfcLeaseStateInitializing {
				lease.Info = saved
				lease.State = types.HttpNfcLeaseStateReady
			}
		})
		nfc.Lock()
		if rec.State == "initializing" {
			rec.State = "ready"
		}
		nfc.Unlock()
	})
	return res
}

// datastoreFile is the local file of a datastore path ("[LocalDS_0] vm/disk-0.vmdk").
func datastoreFile(p object.DatastorePath) string {
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		if ds.Name == p.Datastore {
			return filepath.Join(ds.Info.GetDatastoreInfo().Url, p.Path)
		}
	}
	return ""
}

// -- the NFC upload -----------------------------------------------------------------

// serveNFC handles uploads to /nfc/<lease>/<file>; GETs go to stock.
func serveNFC(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		next.ServeHTTP(w, r)
		return
	}
	p := strings.Split(strings.TrimPrefix(r.URL.Path, "/nfc/"), "/")
	if len(p) != 2 {
		http.NotFound(w, r)
		return
	}
	nfc.Lock()
	rec := nfc.leases[p[0]]
	var f *nfcFile
	if rec != nil {
		f = rec.Files[p[1]]
	}
	state := ""
	if rec != nil {
		state = rec.State
	}
	nfc.Unlock()
	if f == nil || f.Path == "" {
		http.NotFound(w, r)
		return
	}
	if state != "ready" {
		http.Error(w, "lease is "+state, http.StatusConflict)
		return
	}
	body := io.Reader(r.Body)
	if f.Disk && r.Method == http.MethodPost {
		head := make([]byte, 4)
		n, _ := io.ReadFull(r.Body, head)
		if n < 4 || !bytes.Equal(head, []byte("KDMV")) {
			http.Error(w, "not a stream-optimized VMDK (no KDMV magic)", http.StatusBadRequest)
			return
		}
		body = io.MultiReader(bytes.NewReader(head), r.Body)
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	tmp, err := ioutil.TempFile(filepath.Dir(f.Path), ".nfc-")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n, err := io.Copy(tmp, body)
	_ = tmp.Close()
	if err != nil {
		_ = os.Remove(tmp.Name())
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		_ = os.Remove(tmp.Name())
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	nfc.Lock()
	f.Received, f.Method = n, r.Method
	nfc.Unlock()
	w.WriteHeader(http.StatusOK)
}

// -- lease methods ------------------------------------------------------------------

type leaseAlias struct {
	aliasBase
}

func (a *leaseAlias) record() *nfcRecord {
	nfc.Lock()
	defer nfc.Unlock()
	return nfc.leases[a.Orig.Value]
}

func (a *leaseAlias) lease(ctx *simulator.Context) *simulator.HttpNfcLease {
	l, _ := a.origObject(ctx).(*simulator.HttpNfcLease)
	return l
}

func (a *leaseAlias) HttpNfcLeaseProgress(ctx *simulator.Context, req *types.HttpNfcLeaseProgress) soap.HasFault {
	l := a.lease(ctx)
	if l == nil {
		return &methods.HttpNfcLeaseProgressBody{Fault_: notFound(a.Orig)}
	}
	if rec := a.record(); rec != nil {
		nfc.Lock()
		rec.Progress = append(rec.Progress, req.Percent)
		nfc.Unlock()
	}
	var res soap.HasFault
	withOrig(ctx, l, func() { res = l.HttpNfcLeaseProgress(ctx, req) })
	return res
}

func (a *leaseAlias) HttpNfcLeaseComplete(ctx *simulator.Context, req *types.HttpNfcLeaseComplete) soap.HasFault {
	l := a.lease(ctx)
	if l == nil {
		return &methods.HttpNfcLeaseCompleteBody{Fault_: notFound(a.Orig)}
	}
	if l.State != types.HttpNfcLeaseStateReady {
		return &methods.HttpNfcLeaseCompleteBody{Fault_: simulator.Fault("lease is "+string(l.State), &types.InvalidState{})}
	}
	if rec := a.record(); rec != nil {
		nfc.Lock()
		var missing []string
		for name, f := range rec.Files {
			if f.Disk && f.Received == 0 {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			rec.State = "done"
		}
		nfc.Unlock()
		if len(missing) > 0 {
			return &methods.HttpNfcLeaseCompleteBody{Fault_: simulator.Fault("disk not uploaded: "+strings.Join(missing, ", "), &types.InvalidState{})}
		}
	}
	var res soap.HasFault
	withOrig(ctx, l, func() {
		l.State = types.HttpNfcLeaseStateDone
		res = l.HttpNfcLeaseComplete(ctx, req)
	})
	return res
}

func (a *leaseAlias) HttpNfcLeaseAbort(ctx *simulator.Context, req *types.HttpNfcLeaseAbort) soap.HasFault {
	l := a.lease(ctx)
	if l == nil {
		return &methods.HttpNfcLeaseAbortBody{Fault_: notFound(a.Orig)}
	}
	rec := a.record()
	var res soap.HasFault
	withOrig(ctx, l, func() {
		l.State = types.HttpNfcLeaseStateError
		res = l.HttpNfcLeaseAbort(ctx, req)
	})
	if rec != nil {
		nfc.Lock()
		rec.State = "aborted"
		nfc.Unlock()
		ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: rec.VM}
		if vm, _ := simulator.Map.Get(ref).(*simulator.VirtualMachine); vm != nil {
			withOrig(ctx, vm, func() {
				dropTaskOf(vm.DestroyTask(ctx, &types.Destroy_Task{This: vm.Self}))
			})
		}
	}
	return res
}
