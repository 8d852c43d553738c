package main

// Distributed switch backup and restore through the DVSManager, which stock
// vcsim does not have: DVSManagerExportEntity_Task and DVSManagerImportEntity_Task.
//
//   - Export: a DVSSelection gives the switch's EntityBackupConfig, a
//     DVPortgroupSelection one per port group key. configBlob is opaque to
//     clients (vCenter's is a compressed binary); the lab's is the gzipped
//     vim25 XML of the config (VMwareDVSConfigInfo / DVPortgroupConfigInfo),
//     so it restores exactly what was exported. On the wire it is base64
//     (xsd:base64Binary), as vCenter sends it.
//   - Import, importType:
//       applyToEntitySpecified: the switch with the backup's key (uuid) and
//         its port groups (by key; one no longer there is re-created) get the
//         exported settings back; host membership stays as it is now.
//       createEntityWithNewIdentifier: a new switch (new uuid) named as the
//         backup entry's name, in the backup's container (or the original's
//         folder), with the exported settings and port groups (new keys);
//         no hosts (as vCenter: hosts are added afterwards). Port group names
//         are unique in a datacenter: a client importing next to the original
//         renames the port group entries (DuplicateName otherwise). All or
//         nothing: a failure removes the half-made switch.
//       createEntityWithOriginalIdentifier: as above with the original uuid,
//         for a switch that was deleted (AlreadyExists if it still exists).
//     Result: DistributedVirtualSwitchManagerImportResult with the switch and
//     port groups. A blob that does not decode is InvalidArgument (configBlob).
//   - Not restored, by design, on any import: host members, the uplink port
//     group (the switch's own), the switch's product version.

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io/ioutil"
	"strings"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

type labBackup struct {
	XMLName xml.Name                     `xml:"vnettoolLabBackup"`
	Dvs     *types.VMwareDVSConfigInfo   `xml:"dvs,omitempty"`
	Pg      *types.DVPortgroupConfigInfo `xml:"pg,omitempty"`
}

func encodeBlob(b labBackup) ([]byte, error) {
	raw, err := xml.Marshal(b)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	// configBlob is xsd:base64Binary on the wire; govmomi's encoder writes a []byte as it
	// is, so the field holds the base64 text (pyVmomi then decodes it to the gzip bytes)
	return []byte(base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

func decodeBlob(text []byte) (*labBackup, error) {
	blob, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return nil, err
	}
	raw, err := ioutil.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.TypeFunc = types.TypeFunc()
	var b labBackup
	if err := dec.Decode(&b); err != nil {
		return nil, err
	}
	return &b, nil
}

var backupLab *Lab // the lab whose aliases create switches and port groups on import

// mgrTask runs fn as a task of the DVSManager. vcsim already holds the manager's lock for
// the call (it is no alias), so unlike runTaskResult this takes no lock of its own.
func mgrTask(m *dvsManager, name string, fn func() (types.AnyType, *taskErr)) types.ManagedObjectReference {
	var e *taskErr
	task := simulator.CreateTask(m, name, func(t *simulator.Task) (types.AnyType, types.BaseMethodFault) {
		res, err := fn()
		e = err
		if err != nil {
			return nil, err.fault
		}
		return res, nil
	})
	// info.entity is a ManagedEntity; the DVSManager is not one (pyVmomi refuses it there)
	task.Info.Entity, task.Info.EntityName = nil, ""
	ref := task.Run()
	if e != nil && task.Info.Error != nil && e.msg != "" {
		task.Info.Error.LocalizedMessage = e.msg
	}
	return ref
}

func dvsByUUID(u string) *simulator.DistributedVirtualSwitch {
	for _, d := range allDVS() {
		if d.Uuid == u {
			return d
		}
	}
	return nil
}

func portgroupOf(d *simulator.DistributedVirtualSwitch, key string) *simulator.DistributedVirtualPortgroup {
	for _, ref := range d.Portgroup {
		if pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok && pg.Key == key {
			return pg
		}
	}
	return nil
}

func (m *dvsManager) DVSManagerExportEntityTask(ctx *simulator.Context, req *types.DVSManagerExportEntity_Task) soap.HasFault {
	ref := mgrTask(m, "DVSManagerExportEntity_Task", func() (types.AnyType, *taskErr) {
		var out []types.EntityBackupConfig
		for i, sel := range req.SelectionSet {
			switch s := sel.(type) {
			case *types.DVSSelection:
				d := dvsByUUID(s.DvsUuid)
				if d == nil {
					return nil, terr(&types.NotFound{}, "no distributed switch with uuid %s", s.DvsUuid)
				}
				cfg := *dvsConfig(d)
				blob, err := encodeBlob(labBackup{Dvs: &cfg})
				if err != nil {
					return nil, badArg(fmt.Sprintf("selectionSet[%d]", i), "export failed: %v", err)
				}
				out = append(out, types.EntityBackupConfig{EntityType: "distributedVirtualSwitch", ConfigBlob: blob,
					Key: d.Uuid, Name: d.Name, Container: d.Parent, ConfigVersion: cfg.ConfigVersion})
			case *types.DVPortgroupSelection:
				d := dvsByUUID(s.DvsUuid)
				if d == nil {
					return nil, terr(&types.NotFound{}, "no distributed switch with uuid %s", s.DvsUuid)
				}
				for _, k := range s.PortgroupKey {
					pg := portgroupOf(d, k)
					if pg == nil {
						return nil, terr(&types.NotFound{}, "no port group %s on %s", k, d.Name)
					}
					cfg := pg.Config
					blob, err := encodeBlob(labBackup{Pg: &cfg})
					if err != nil {
						return nil, badArg(fmt.Sprintf("selectionSet[%d]", i), "export failed: %v", err)
					}
					out = append(out, types.EntityBackupConfig{EntityType: "distributedVirtualPortgroup", ConfigBlob: blob,
						Key: pg.Key, Name: pg.Name, ConfigVersion: cfg.ConfigVersion})
				}
			default:
				return nil, badArg(fmt.Sprintf("selectionSet[%d]", i), "unsupported selection %T", sel)
			}
		}
		return types.ArrayOfEntityBackupConfig{EntityBackupConfig: out}, nil
	})
	return &methods.DVSManagerExportEntity_TaskBody{Res: &types.DVSManagerExportEntity_TaskResponse{Returnval: ref}}
}

// restoreSwitch lays an exported switch config over d, keeping what is d's own.
func restoreSwitch(ctx *simulator.Context, d *simulator.DistributedVirtualSwitch, saved *types.VMwareDVSConfigInfo, name string) *taskErr {
	var e *taskErr
	simulator.Map.WithLock(d, func() {
		if name != "" && name != d.Name {
			if e = reconfigureDvs(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{Name: name}}); e != nil {
				return
			}
		}
		cur := dvsConfig(d)
		next := *saved
		next.Uuid, next.Name = cur.Uuid, d.Name
		next.Host, next.UplinkPortgroup = cur.Host, cur.UplinkPortgroup
		next.ProductInfo, next.CreateTime = cur.ProductInfo, cur.CreateTime
		next.ConfigVersion = bumpVersion(cur.ConfigVersion)
		*cur = next
		d.Summary.Description = next.Description
		simulator.Map.Update(d, []types.PropertyChange{{Name: "config", Val: d.Config}})
		refreshHealth(d)
	})
	return e
}

// restorePortgroup lays an exported port group config over pg (key and switch stay).
func restorePortgroup(d *simulator.DistributedVirtualSwitch, pg *simulator.DistributedVirtualPortgroup, saved *types.DVPortgroupConfigInfo) {
	simulator.Map.WithLock(pg, func() {
		next := *saved
		next.Key, next.DistributedVirtualSwitch, next.Uplink = pg.Key, pg.Config.DistributedVirtualSwitch, pg.Config.Uplink
		next.ConfigVersion = bumpVersion(pg.Config.ConfigVersion)
		if n := int(next.NumPorts); n > len(pg.PortKeys) {
			pg.PortKeys = append(pg.PortKeys, allocPortKeys(d, n-len(pg.PortKeys))...)
		} else if n >= 0 && n < len(pg.PortKeys) && next.Type != string(types.DistributedVirtualPortgroupPortgroupTypeEphemeral) {
			pg.PortKeys = pg.PortKeys[:n]
		}
		changes := []types.PropertyChange{{Name: "config", Val: next}}
		if next.Name != pg.Name {
			pg.Name = next.Name
			pg.Entity().Name = next.Name
			changes = append(changes, types.PropertyChange{Name: "name", Val: next.Name})
		}
		pg.Config = next
		simulator.Map.Update(pg, changes)
	})
}

// taskOutcome: the result or the fault of a task the lab ran for an import.
func taskOutcome(ref types.ManagedObjectReference) (types.AnyType, *taskErr) {
	task, _ := simulator.Map.Get(ref).(*simulator.Task)
	dropTask(ref)
	if task == nil {
		return nil, badArg("entityBackup", "task %s vanished", ref.Value)
	}
	if task.Info.Error != nil {
		if f, ok := task.Info.Error.Fault.(types.BaseMethodFault); ok {
			return nil, &taskErr{f, task.Info.Error.LocalizedMessage}
		}
		return nil, badArg("entityBackup", "%s", task.Info.Error.LocalizedMessage)
	}
	return task.Info.Result, nil
}

// createSwitch makes a switch for an import through the lab's own CreateDVS_Task (so it
// gets everything a created switch gets), then gives it the original uuid if asked.
func createSwitch(ctx *simulator.Context, folder types.ManagedObjectReference, name string, saved *types.VMwareDVSConfigInfo, keepUUID bool) (*simulator.DistributedVirtualSwitch, *taskErr) {
	spec := types.DVSCreateSpec{ConfigSpec: &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{
		Name: name, UplinkPortPolicy: saved.UplinkPortPolicy}}}
	fa := &folderAlias{newAliasBase(backupLab, folder)}
	body := fa.CreateDVSTask(ctx, &types.CreateDVS_Task{This: folder, Spec: spec}).(*methods.CreateDVS_TaskBody)
	res, e := taskOutcome(body.Res.Returnval)
	if e != nil {
		return nil, e
	}
	d := simulator.Map.Get(res.(types.ManagedObjectReference)).(*simulator.DistributedVirtualSwitch)
	if keepUUID {
		simulator.Map.WithLock(d, func() {
			d.Uuid = saved.Uuid
			dvsConfig(d).Uuid = saved.Uuid
			d.Summary.Uuid = saved.Uuid
		})
	}
	return d, nil
}

// addPortgroups creates port groups through the lab's AddDVPortgroup_Task (its checks and
// port keys), then lays each exported config over its new port group.
func addPortgroups(ctx *simulator.Context, d *simulator.DistributedVirtualSwitch, saved []*types.DVPortgroupConfigInfo) ([]types.ManagedObjectReference, *taskErr) {
	var out []types.ManagedObjectReference
	da := &dvsAlias{newAliasBase(backupLab, d.Self)}
	for _, s := range saved {
		spec := types.DVPortgroupConfigSpec{Name: s.Name, Type: s.Type, NumPorts: s.NumPorts}
		body := da.AddDVPortgroupTask(ctx, &types.AddDVPortgroup_Task{This: d.Self, Spec: []types.DVPortgroupConfigSpec{spec}}).(*methods.AddDVPortgroup_TaskBody)
		if _, e := taskOutcome(body.Res.Returnval); e != nil {
			return nil, e
		}
		var pg *simulator.DistributedVirtualPortgroup
		for _, ref := range d.Portgroup {
			if p, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup); ok && p.Name == s.Name {
				pg = p
			}
		}
		if pg == nil {
			return nil, terr(&types.NotFound{}, "port group %s was not created", s.Name)
		}
		restorePortgroup(d, pg, s)
		out = append(out, pg.Self)
	}
	return out, nil
}

func (m *dvsManager) DVSManagerImportEntityTask(ctx *simulator.Context, req *types.DVSManagerImportEntity_Task) soap.HasFault {
	ref := mgrTask(m, "DVSManagerImportEntity_Task", func() (types.AnyType, *taskErr) {
		var sw *types.EntityBackupConfig
		var swCfg *types.VMwareDVSConfigInfo
		var pgs []*types.EntityBackupConfig
		var pgCfgs []*types.DVPortgroupConfigInfo
		for i := range req.EntityBackup {
			e := &req.EntityBackup[i]
			b, err := decodeBlob(e.ConfigBlob)
			where := fmt.Sprintf("entityBackup[%d].configBlob", i)
			if err != nil {
				return nil, badArg(where, "the configuration blob of %s cannot be read: %v", e.Name, err)
			}
			switch {
			case e.EntityType == "distributedVirtualSwitch" && b.Dvs != nil:
				if sw != nil {
					return nil, badArg(where, "more than one switch in one import")
				}
				sw, swCfg = e, b.Dvs
			case e.EntityType == "distributedVirtualPortgroup" && b.Pg != nil:
				pgs, pgCfgs = append(pgs, e), append(pgCfgs, b.Pg)
			default:
				return nil, badArg(fmt.Sprintf("entityBackup[%d].entityType", i), "entity type %q does not match its blob", e.EntityType)
			}
		}
		if sw == nil {
			return nil, badArg("entityBackup", "no distributed switch in the backup")
		}
		res := types.DistributedVirtualSwitchManagerImportResult{}
		switch req.ImportType {
		case "applyToEntitySpecified":
			d := dvsByUUID(sw.Key)
			if d == nil {
				return nil, terr(&types.NotFound{}, "no distributed switch with uuid %s (import it with createEntityWithOriginalIdentifier)", sw.Key)
			}
			if e := restoreSwitch(ctx, d, swCfg, sw.Name); e != nil {
				return nil, e
			}
			res.DistributedVirtualSwitch = []types.ManagedObjectReference{d.Self}
			var missing []*types.DVPortgroupConfigInfo
			for i, e := range pgs {
				if pg := portgroupOf(d, e.Key); pg != nil {
					saved := *pgCfgs[i]
					saved.Name = e.Name
					restorePortgroup(d, pg, &saved)
					res.DistributedVirtualPortgroup = append(res.DistributedVirtualPortgroup, pg.Self)
				} else {
					missing = append(missing, pgCfgs[i])
				}
			}
			made, e := addPortgroups(ctx, d, missing)
			if e != nil {
				return nil, e
			}
			res.DistributedVirtualPortgroup = append(res.DistributedVirtualPortgroup, made...)
		case "createEntityWithNewIdentifier", "createEntityWithOriginalIdentifier":
			keep := req.ImportType == "createEntityWithOriginalIdentifier"
			if keep && dvsByUUID(sw.Key) != nil {
				return nil, terr(&types.AlreadyExists{Name: sw.Key}, "distributed switch with uuid %s exists (import with applyToEntitySpecified)", sw.Key)
			}
			folder := sw.Container
			if folder == nil || simulator.Map.Get(*folder) == nil {
				return nil, badArg("entityBackup.container", "the backup's folder does not exist; give a container")
			}
			saved := *swCfg
			if !keep {
				saved.Uuid = uuid.New().String()
			}
			d, e := createSwitch(ctx, *folder, sw.Name, &saved, keep)
			if e != nil {
				return nil, e
			}
			// the settings first (PVLAN map, pools), then the port groups that use them
			e = restoreSwitch(ctx, d, &saved, sw.Name)
			var made []types.ManagedObjectReference
			if e == nil {
				for i := range pgCfgs {
					pgCfgs[i].Name = pgs[i].Name // the entry's name (a client may rename)
				}
				made, e = addPortgroups(ctx, d, pgCfgs)
			}
			if e != nil { // all or nothing: the half-made switch goes again
				b := d.DestroyTask(ctx, &types.Destroy_Task{This: d.Self}).(*methods.Destroy_TaskBody)
				dropTask(b.Res.Returnval)
				return nil, e
			}
			res.DistributedVirtualSwitch = []types.ManagedObjectReference{d.Self}
			res.DistributedVirtualPortgroup = made
		default:
			return nil, badArg("importType", "invalid importType %q", req.ImportType)
		}
		return res, nil
	})
	return &methods.DVSManagerImportEntity_TaskBody{Res: &types.DVSManagerImportEntity_TaskResponse{Returnval: ref}}
}

func init() {
	registerSetup(23, "dvs backup", func(lab *Lab) error {
		backupLab = lab
		return nil
	})
}
