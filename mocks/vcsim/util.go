package main

import (
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
