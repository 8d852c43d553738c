package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func exportDVS(t *testing.T, c *govmomi.Client, d *object.DistributedVirtualSwitch, cfg *types.VMwareDVSConfigInfo, pgKeys []string) []types.EntityBackupConfig {
	t.Helper()
	ctx := context.Background()
	mgr := *c.ServiceContent.DvSwitchManager
	res, err := methods.DVSManagerExportEntity_Task(ctx, c.Client, &types.DVSManagerExportEntity_Task{This: mgr, SelectionSet: []types.BaseSelectionSet{
		&types.DVSSelection{DvsUuid: cfg.Uuid}, &types.DVPortgroupSelection{DvsUuid: cfg.Uuid, PortgroupKey: pgKeys}}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := object.NewTask(c.Client, res.Returnval).WaitForResult(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return info.Result.(types.ArrayOfEntityBackupConfig).EntityBackupConfig
}

func importDVS(t *testing.T, c *govmomi.Client, backup []types.EntityBackupConfig, kind string) (*types.DistributedVirtualSwitchManagerImportResult, error) {
	t.Helper()
	ctx := context.Background()
	res, err := methods.DVSManagerImportEntity_Task(ctx, c.Client, &types.DVSManagerImportEntity_Task{This: *c.ServiceContent.DvSwitchManager, EntityBackup: backup, ImportType: kind})
	if err != nil {
		return nil, err
	}
	info, err := object.NewTask(c.Client, res.Returnval).WaitForResult(ctx, nil)
	if err != nil {
		return nil, err
	}
	r := info.Result.(types.DistributedVirtualSwitchManagerImportResult)
	return &r, nil
}

func TestExportImportRoundTrip(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	d, cfg := labDVS(t, c)
	var pgKeys []string
	for _, ref := range dvsObj(t, d).Portgroup {
		var pg mo.DistributedVirtualPortgroup
		if err := object.NewCommon(c.Client, ref).Properties(ctx, ref, []string{"config"}, &pg); err != nil {
			t.Fatal(err)
		}
		if pg.Config.Uplink == nil || !*pg.Config.Uplink {
			pgKeys = append(pgKeys, pg.Config.Key)
		}
	}
	if err := reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: cfg.ConfigVersion, Description: "before"}, MaxMtu: 9000,
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("add", 100, 100, "promiscuous")}}); err != nil {
		t.Fatal(err)
	}
	backup := exportDVS(t, c, d, dvsCfg(t, d), pgKeys)
	if len(backup) != 1+len(pgKeys) || backup[0].EntityType != "distributedVirtualSwitch" || len(backup[0].ConfigBlob) == 0 {
		t.Fatalf("backup: %d entries", len(backup))
	}
	// change the switch, then restore it in place
	if err := reconfigure(ctx, d, &types.VMwareDVSConfigSpec{DVSConfigSpec: types.DVSConfigSpec{ConfigVersion: dvsCfg(t, d).ConfigVersion, Description: "after"}, MaxMtu: 1600,
		PvlanConfigSpec: []types.VMwareDVSPvlanConfigSpec{pvlanSpec("remove", 100, 100, "promiscuous")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := importDVS(t, c, backup, "applyToEntitySpecified"); err != nil {
		t.Fatal(err)
	}
	got := dvsCfg(t, d)
	if got.MaxMtu != 9000 || got.Description != "before" || len(got.PvlanConfig) != 1 || len(got.Host) != 2 {
		t.Fatalf("restored in place: mtu %d desc %q pvlans %d hosts %d", got.MaxMtu, got.Description, len(got.PvlanConfig), len(got.Host))
	}
	// as a new switch: new uuid, same settings and port groups, no hosts
	copyB := append([]types.EntityBackupConfig(nil), backup...)
	copyB[0].Name = "DVS0-copy"
	if _, err := importDVS(t, c, copyB, "createEntityWithNewIdentifier"); err == nil {
		t.Fatal("port groups named like the original's imported into the same datacenter")
	}
	if n := len(allDVS()); n != 1 {
		t.Fatalf("a failed import left %d switches", n)
	}
	for i := 1; i < len(copyB); i++ {
		copyB[i].Name = "DVS0-copy-" + copyB[i].Name
	}
	r, err := importDVS(t, c, copyB, "createEntityWithNewIdentifier")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.DistributedVirtualSwitch) != 1 || len(r.DistributedVirtualPortgroup) != len(pgKeys) {
		t.Fatalf("import result: %+v", r)
	}
	nd := object.NewDistributedVirtualSwitch(c.Client, r.DistributedVirtualSwitch[0])
	ncfg := dvsCfg(t, nd)
	if ncfg.Name != "DVS0-copy" || ncfg.Uuid == got.Uuid || ncfg.MaxMtu != 9000 || len(ncfg.PvlanConfig) != 1 || len(ncfg.Host) != 0 {
		t.Fatalf("new switch: %+v", ncfg)
	}
	if _, err := importDVS(t, c, backup, "createEntityWithOriginalIdentifier"); err == nil {
		t.Fatal("original identifier imported while the switch exists")
	}
	bad := append([]types.EntityBackupConfig(nil), backup...)
	bad[0].ConfigBlob = []byte("not a blob")
	if _, err := importDVS(t, c, bad, "applyToEntitySpecified"); err == nil {
		t.Fatal("a corrupt blob was imported")
	}
}

func dvsObj(t *testing.T, d *object.DistributedVirtualSwitch) mo.DistributedVirtualSwitch {
	t.Helper()
	var m mo.DistributedVirtualSwitch
	if err := d.Properties(context.Background(), d.Reference(), []string{"portgroup"}, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
