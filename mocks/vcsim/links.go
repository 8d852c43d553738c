package main

// Physical link state of the lab's pNICs, so impact predictions can be checked
// against what vCenter shows after a failure.
//
// On ESXi a pNIC whose link is down has no linkSpeed in
// config.network.pnic (PhysicalNic.linkSpeed is "unset if the link is down")
// and QueryNetworkHint returns no CDP or LLDP data for it (no frames arrive).
// The teaming configuration is not changed: the port groups keep naming the
// vmnic; vSphere fails traffic over by itself.
//
//   GET    /vnettool/links              the pNICs whose link is down
//   POST   /vnettool/links              {"host":"DC0_C0_H0","pnic":"vmnic0","up":false}
//                                       {"switch":"tor-dc0_c0-a","port":"Ethernet1/1","up":false}
//                                       a switch (optionally one port) takes down every
//                                       pNIC whose CDP neighbour it is
//   DELETE /vnettool/links              every link up again
//
// Hosts are named by inventory name or moref value.

import (
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/vmware/govmomi/vim25/types"
)

type linkUpdate struct {
	Host   string `json:"host"`
	Pnic   string `json:"pnic"`
	Switch string `json:"switch"`
	Port   string `json:"port"`
	Up     *bool  `json:"up"`
}

type downLink struct {
	Host  string `json:"host"`
	Pnic  string `json:"pnic"`
	speed *types.PhysicalNicLinkInfo
}

// links remembers the speed of each downed pNIC, to give it back on link up.
var links = struct {
	mu   sync.Mutex
	down map[string]*downLink // "moref/device"
}{down: map[string]*downLink{}}

func allHostStates() []*hostState {
	hostStatesMu.Lock()
	defer hostStatesMu.Unlock()
	out := make([]*hostState, 0, len(hostStates))
	for _, hs := range hostStates {
		out = append(out, hs)
	}
	sort.Slice(out, func(i, j int) bool { return hostNameLess(out[i].host.Name, out[j].host.Name) })
	return out
}

// targets lists (host, device) pairs an update names; an error names what exists.
func (u linkUpdate) targets() (map[*hostState][]string, error) {
	out := map[*hostState][]string{}
	switch {
	case u.Switch != "" && u.Host == "" && u.Pnic == "":
		for _, hs := range allHostStates() {
			for _, p := range hs.net().Pnic {
				hint := pnicHint(hs.host, p)
				cdp := hint.ConnectedSwitchPort
				if cdp != nil && cdp.DevId == u.Switch && (u.Port == "" || cdp.PortId == u.Port) {
					out[hs] = append(out[hs], p.Device)
				}
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no pNIC is cabled to switch %q port %q", u.Switch, u.Port)
		}
	case u.Host != "" && u.Pnic != "" && u.Switch == "" && u.Port == "":
		for _, hs := range allHostStates() {
			if hs.host.Name != u.Host && hs.host.Self.Value != u.Host {
				continue
			}
			if !hs.hasPnic(u.Pnic) {
				return nil, fmt.Errorf("host %s has no pNIC %s", u.Host, u.Pnic)
			}
			out[hs] = []string{u.Pnic}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no host %s", u.Host)
		}
	default:
		return nil, fmt.Errorf("give host and pnic, or switch (and port)")
	}
	return out, nil
}

// setLink takes one pNIC's link down or up; the caller holds hs.mu.
func setLink(hs *hostState, device string, up bool) {
	key := hs.host.Self.Value + "/" + device
	ni := hs.net()
	for i := range ni.Pnic {
		p := &ni.Pnic[i]
		if p.Device != device {
			continue
		}
		d, isDown := links.down[key]
		switch {
		case !up && !isDown:
			links.down[key] = &downLink{Host: hs.host.Name, Pnic: device, speed: p.LinkSpeed}
			p.LinkSpeed = nil
		case up && isDown:
			p.LinkSpeed = d.speed
			delete(links.down, key)
		}
	}
}

func (u linkUpdate) apply() error {
	if u.Up == nil {
		return fmt.Errorf("up (true or false) is required")
	}
	targets, err := u.targets()
	if err != nil {
		return err
	}
	links.mu.Lock()
	defer links.mu.Unlock()
	for hs, devices := range targets {
		hs.mu.Lock()
		for _, d := range devices {
			setLink(hs, d, *u.Up)
		}
		hs.sync()
		hs.mu.Unlock()
	}
	return nil
}

func allLinksUp() {
	for _, hs := range allHostStates() {
		links.mu.Lock()
		hs.mu.Lock()
		for _, p := range hs.net().Pnic {
			setLink(hs, p.Device, true)
		}
		hs.sync()
		hs.mu.Unlock()
		links.mu.Unlock()
	}
}

// linkDown reports whether a pNIC's link is down (QueryNetworkHint then sees no neighbour).
func linkDown(p types.PhysicalNic) bool { return p.LinkSpeed == nil }

func downView() []downLink {
	links.mu.Lock()
	defer links.mu.Unlock()
	out := []downLink{}
	for _, d := range links.down {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return hostNameLess(out[i].Host, out[j].Host)
		}
		return out[i].Pnic < out[j].Pnic
	})
	return out
}

func linksHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			var u linkUpdate
			if !decodeStrict(w, r, &u) {
				return
			}
			if err := u.apply(); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]interface{}{"error": err.Error()})
				return
			}
			refreshAllHealth() // a link down has no health check result (healthcheck.go)
		case http.MethodDelete:
			allLinksUp()
			refreshAllHealth()
		default:
			writeJSON(w, http.StatusMethodNotAllowed, map[string]interface{}{"error": "method not allowed"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]interface{}{"down": downView()})
	}
}

func init() {
	registerControl("links", func(lab *Lab) http.HandlerFunc { return linksHandler() })
	// a new lab starts with every link up (the state is per process, tests start many labs)
	registerSetup(11, "links", func(lab *Lab) error {
		links.mu.Lock()
		links.down = map[string]*downLink{}
		links.mu.Unlock()
		return nil
	})
}
