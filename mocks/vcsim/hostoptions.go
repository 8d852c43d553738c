package main

// Host advanced settings (HostSystem.configManager.advancedOption). Stock vcsim gives
// every host one shared one-option list, so an update on one host changed them all. Each
// lab host gets its own OptionManager holding the network options the hardening guides
// read, typed as ESXi 7.0.3 types them (long / string), and UpdateOptions behaves like
// ESXi's: an unknown key is InvalidName, a value of another type (e.g. xsd:int for a
// long option, the usual client mistake) is InvalidArgument, and a call with one bad
// change applies none of them.

import (
	"reflect"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type hostOptions struct {
	simulator.OptionManager
}

// hostOptionDefaults: ESXi 7.0.3 defaults of the options the lab serves.
func hostOptionDefaults() []types.BaseOptionValue {
	return []types.BaseOptionValue{
		&types.OptionValue{Key: "Config.HostAgent.log.level", Value: "info"},
		&types.OptionValue{Key: "Net.BMCNetworkEnable", Value: int64(1)},
		&types.OptionValue{Key: "Net.BlockGuestBPDU", Value: int64(1)},
		&types.OptionValue{Key: "Net.DVFilterBindIpAddress", Value: ""},
	}
}

func setupHostOptions(host *simulator.HostSystem) {
	w := &hostOptions{}
	if host.ConfigManager.AdvancedOption != nil {
		w.Self = *host.ConfigManager.AdvancedOption
	} else {
		w.Self = types.ManagedObjectReference{Type: "OptionManager"}
	}
	w.Setting = hostOptionDefaults()
	ref := simulator.Map.Put(w).Reference()
	host.ConfigManager.AdvancedOption = &ref
}

func (m *hostOptions) find(key string) *types.OptionValue {
	for _, opt := range m.Setting {
		if o := opt.GetOptionValue(); o.Key == key {
			return o
		}
	}
	return nil
}

func (m *hostOptions) UpdateOptions(req *types.UpdateOptions) soap.HasFault {
	body := new(methods.UpdateOptionsBody)
	for _, change := range req.ChangedValue {
		c := change.GetOptionValue()
		opt := m.find(c.Key)
		if opt == nil {
			body.Fault_ = simulator.Fault("", &types.InvalidName{Name: c.Key})
			return body
		}
		if reflect.TypeOf(opt.Value) != reflect.TypeOf(c.Value) {
			body.Fault_ = simulator.Fault("A specified parameter was not correct: "+c.Key,
				&types.InvalidArgument{InvalidProperty: c.Key})
			return body
		}
	}
	for _, change := range req.ChangedValue {
		c := change.GetOptionValue()
		m.find(c.Key).Value = c.Value
	}
	body.Res = new(types.UpdateOptionsResponse)
	return body
}
