package main

// VM settings the hardening guides read, served as vCenter 7.0.3 does:
//
//   - config.migrateEncryption (VirtualMachineConfigInfo, API 6.7+): every VM
//     reads "opportunistic" (vCenter's default; stock vcsim leaves it unset);
//     ReconfigVM_Task / CloneVM_Task set it, and a value other than disabled /
//     opportunistic / required fails the task with InvalidArgument
//     (configSpec.migrateEncryption), changing nothing.
//   - config.extraConfig: ReconfigVM_Task merges the spec's entries by key like
//     vCenter — a key already there takes the new value, a key with an empty
//     value is removed, a new key is added — and notifies "config.extraConfig"
//     (stock appended every entry, so a key set twice was listed twice and an
//     entry could never be removed). The dvFilter settings of the STIG
//     (ethernetX.filterN.name / onFailure / paramN) are plain extraConfig keys.

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

const defaultMigrateEncryption = string(types.VirtualMachineConfigSpecEncryptedVMotionModesOpportunistic)

func init() {
	registerSetup(33, "vm migrate encryption", func(lab *Lab) error {
		for _, e := range simulator.Map.All("VirtualMachine") {
			vm := e.(*simulator.VirtualMachine)
			if vm.Config != nil && vm.Config.MigrateEncryption == "" {
				vm.Config.MigrateEncryption = defaultMigrateEncryption
			}
		}
		return nil
	})
}

func validMigrateEncryption(v string) bool {
	switch types.VirtualMachineConfigSpecEncryptedVMotionModes(v) {
	case types.VirtualMachineConfigSpecEncryptedVMotionModesDisabled,
		types.VirtualMachineConfigSpecEncryptedVMotionModesOpportunistic,
		types.VirtualMachineConfigSpecEncryptedVMotionModesRequired:
		return true
	}
	return false
}

// checkVMSecuritySpec is the fault of a spec vCenter refuses (nil: acceptable).
func checkVMSecuritySpec(spec *types.VirtualMachineConfigSpec) *taskErr {
	if v := spec.MigrateEncryption; v != "" && !validMigrateEncryption(v) {
		return badArg("configSpec.migrateEncryption", "migrateEncryption %q: use disabled, opportunistic or required", v)
	}
	return nil
}

// takeExtraConfig removes from spec the plain extraConfig entries (stock keeps the
// "SET." guest aliases) and returns them, for mergeExtraConfig after stock's reconfigure.
func takeExtraConfig(spec *types.VirtualMachineConfigSpec) []types.BaseOptionValue {
	var plain, keep []types.BaseOptionValue
	for _, c := range spec.ExtraConfig {
		key := c.GetOptionValue().Key
		if extraConfigAliased(key) {
			keep = append(keep, c)
		} else {
			plain = append(plain, c)
		}
	}
	spec.ExtraConfig = keep
	return plain
}

func extraConfigAliased(key string) bool {
	return key == "ip0" || len(key) > 4 && key[:4] == "SET."
}

func emptyOptionValue(v types.AnyType) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && s == ""
}

// mergeExtraConfig applies entries to the VM's extraConfig by key and notifies the change.
func mergeExtraConfig(vm *simulator.VirtualMachine, entries []types.BaseOptionValue) {
	if len(entries) == 0 {
		return
	}
	cur := vm.Config.ExtraConfig
	for _, e := range entries {
		ov := e.GetOptionValue()
		at := -1
		for i, c := range cur {
			if c.GetOptionValue().Key == ov.Key {
				at = i
				break
			}
		}
		switch {
		case emptyOptionValue(ov.Value) && at >= 0:
			cur = append(cur[:at:at], cur[at+1:]...)
		case emptyOptionValue(ov.Value):
		case at >= 0:
			cur[at] = &types.OptionValue{Key: ov.Key, Value: ov.Value}
		default:
			cur = append(cur, &types.OptionValue{Key: ov.Key, Value: ov.Value})
		}
	}
	simulator.Map.Update(vm, []types.PropertyChange{{Name: "config.extraConfig", Val: cur}})
	vm.Config.ExtraConfig = cur
}

// setMigrateEncryption stores a (validated) mode and notifies the change.
func setMigrateEncryption(vm *simulator.VirtualMachine, v string) {
	if v == "" || vm.Config.MigrateEncryption == v {
		return
	}
	simulator.Map.Update(vm, []types.PropertyChange{{Name: "config.migrateEncryption", Val: v}})
	vm.Config.MigrateEncryption = v
}
