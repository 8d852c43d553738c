package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func vmSecurityProps(t *testing.T, vm *object.VirtualMachine) mo.VirtualMachine {
	t.Helper()
	var m mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"config.migrateEncryption", "config.extraConfig"}, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func extraValues(m mo.VirtualMachine, key string) []interface{} {
	var out []interface{}
	for _, o := range m.Config.ExtraConfig {
		if ov := o.GetOptionValue(); ov.Key == key {
			out = append(out, ov.Value)
		}
	}
	return out
}

func reconfigureVM(t *testing.T, vm *object.VirtualMachine, spec types.VirtualMachineConfigSpec) error {
	t.Helper()
	ctx := context.Background()
	task, err := vm.Reconfigure(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	return task.Wait(ctx)
}

// vMotion encryption reads vCenter's default and takes the three modes only; extraConfig
// entries merge by key and an empty value removes one (the STIG's dvFilter keys).
func TestVMMigrateEncryptionAndExtraConfigMerge(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	vms, err := find.NewFinder(c.Client).VirtualMachineList(ctx, "*")
	if err != nil || len(vms) == 0 {
		t.Fatal(err)
	}
	vm := vms[0]
	if got := vmSecurityProps(t, vm).Config.MigrateEncryption; got != "opportunistic" {
		t.Fatalf("default migrateEncryption %q, want opportunistic", got)
	}
	err = reconfigureVM(t, vm, types.VirtualMachineConfigSpec{MigrateEncryption: "sometimes"})
	expectFault(t, err, "InvalidArgument")
	if err := reconfigureVM(t, vm, types.VirtualMachineConfigSpec{MigrateEncryption: "disabled"}); err != nil {
		t.Fatal(err)
	}
	if got := vmSecurityProps(t, vm).Config.MigrateEncryption; got != "disabled" {
		t.Fatalf("migrateEncryption %q after reconfigure, want disabled", got)
	}

	key := "ethernet0.filter0.name"
	set := func(v string) error {
		return reconfigureVM(t, vm, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: key, Value: v},
		}})
	}
	for _, v := range []string{"dvfilter-a", "dvfilter-b"} {
		if err := set(v); err != nil {
			t.Fatal(err)
		}
	}
	m := vmSecurityProps(t, vm)
	if got := extraValues(m, key); len(got) != 1 || got[0] != "dvfilter-b" {
		t.Fatalf("%s after two sets: %v, want [dvfilter-b]", key, got)
	}
	if got := extraValues(m, "govcsim"); len(got) != 1 {
		t.Fatalf("other extraConfig entries lost: %v", m.Config.ExtraConfig)
	}
	if err := set(""); err != nil {
		t.Fatal(err)
	}
	if got := extraValues(vmSecurityProps(t, vm), key); len(got) != 0 {
		t.Fatalf("%s still there after an empty value: %v", key, got)
	}
}
