package main

import (
	"github.com/vmware/govmomi/vim25/types"
	"reflect"
	"strconv"
)

// isNilValue reports a typed nil pointer/slice/map/interface.
func isNilValue(v interface{}) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Ptr, reflect.Interface, reflect.Map, reflect.Slice:
		return rv.IsNil()
	}
	return false
}

// bumpVersion increments a configVersion string ("" counts as 0).
func bumpVersion(v string) string {
	n, _ := strconv.Atoi(v)
	return strconv.Itoa(n + 1)
}

// copyDevice returns a shallow copy of a virtual device (vcsim's model
// shares one NIC device value between VMs).
func copyDevice(d types.BaseVirtualDevice) types.BaseVirtualDevice {
	rv := reflect.ValueOf(d)
	if rv.Kind() != reflect.Ptr {
		return d
	}
	cp := reflect.New(rv.Elem().Type())
	cp.Elem().Set(rv.Elem())
	return cp.Interface().(types.BaseVirtualDevice)
}

func typeName(v interface{}) string { return reflect.TypeOf(v).String() }
