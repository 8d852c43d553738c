package main

// Network emulation for the esxcli ping of the lab (see esxcli.go).
//
// Every host has a link profile: round-trip time, jitter, loss and path MTU.
// Healthy defaults (0.2 ms, no jitter, no loss, MTU 9000). A ping between two
// hosts uses the per-pair profile when one is set (either direction), else
// combines the two hosts' profiles: the larger RTT and jitter, the smaller
// MTU, and the losses of both links (1-(1-a)(1-b)). Settable at runtime:
//
//   GET    /vnettool/netem                 current settings (JSON)
//   POST   /vnettool/netem                 {"host":"DC0_C0_H0","peer":"",
//                                           "rtt_ms":12,"jitter_ms":1,
//                                           "loss_pct":5,"mtu":1500}
//                                          unset fields keep their value;
//                                          {"time_scale":0} stops sleeping
//   DELETE /vnettool/netem[?host=H&peer=P] reset one host/pair, or all
//   {"host":H,"uplink":"vmnic2","rtt_ms":40} congests one uplink (queueing.go);
//   DELETE ?host=H&uplink=U resets it
//
// Hosts are named by inventory name or moref value.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	defaultRTTms = 0.2
	defaultMTU   = 9000
)

// linkProfile is one host's (or one pair's) emulated network.
type linkProfile struct {
	RTTms    float64 `json:"rtt_ms"`
	JitterMs float64 `json:"jitter_ms"`
	LossPct  float64 `json:"loss_pct"`
	MTU      int     `json:"mtu"`
}

func healthyProfile() linkProfile {
	return linkProfile{RTTms: defaultRTTms, MTU: defaultMTU}
}

// netemUpdate is the JSON body of POST /vnettool/netem; nil fields are kept.
type netemUpdate struct {
	Host      string   `json:"host"`
	Peer      string   `json:"peer"`
	Uplink    string   `json:"uplink"`
	RTTms     *float64 `json:"rtt_ms"`
	JitterMs  *float64 `json:"jitter_ms"`
	LossPct   *float64 `json:"loss_pct"`
	MTU       *int     `json:"mtu"`
	TimeScale *float64 `json:"time_scale"`
}

type netemState struct {
	// known, when set, tells whether a host name (or moref) is in the lab: a setting for a
	// host that does not exist would never apply to any ping and only hide a typo.
	known     func(name string) error
	mu        sync.Mutex
	hosts     map[string]linkProfile
	pairs     map[[2]string]linkProfile
	uplinks   map[[2]string]linkProfile // (host, pnic): congestion, see queueing.go
	timeScale float64
	rng       *rand.Rand
}

func newNetem() *netemState {
	return &netemState{
		hosts:     map[string]linkProfile{},
		pairs:     map[[2]string]linkProfile{},
		uplinks:   map[[2]string]linkProfile{},
		timeScale: 1,
		rng:       rand.New(rand.NewSource(time.Now().UnixNano())),
	}
}

// netem is the lab-wide emulation state.
var netem = newNetem()

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

func (u netemUpdate) apply(p linkProfile) (linkProfile, error) {
	if u.RTTms != nil {
		if *u.RTTms < 0 {
			return p, fmt.Errorf("rtt_ms must be >= 0")
		}
		p.RTTms = *u.RTTms
	}
	if u.JitterMs != nil {
		if *u.JitterMs < 0 {
			return p, fmt.Errorf("jitter_ms must be >= 0")
		}
		p.JitterMs = *u.JitterMs
	}
	if u.LossPct != nil {
		if *u.LossPct < 0 || *u.LossPct > 100 {
			return p, fmt.Errorf("loss_pct must be within 0..100")
		}
		p.LossPct = *u.LossPct
	}
	if u.MTU != nil {
		if *u.MTU < 576 || *u.MTU > 9216 {
			return p, fmt.Errorf("mtu must be within 576..9216")
		}
		p.MTU = *u.MTU
	}
	return p, nil
}

// check refuses names that are not lab hosts, before anything is changed.
func (n *netemState) check(names ...string) error {
	if n.known == nil {
		return nil
	}
	for _, name := range names {
		if name == "" {
			continue
		}
		if err := n.known(name); err != nil {
			return err
		}
	}
	return nil
}

// set applies an update to a host, a pair, or only the time scale.
func (n *netemState) set(u netemUpdate) error {
	if err := n.check(u.Host, u.Peer); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if u.TimeScale != nil {
		if *u.TimeScale < 0 {
			return fmt.Errorf("time_scale must be >= 0")
		}
		n.timeScale = *u.TimeScale
	}
	if u.Host == "" {
		if u.Peer != "" || u.Uplink != "" || u.RTTms != nil || u.JitterMs != nil || u.LossPct != nil || u.MTU != nil {
			return fmt.Errorf("host is required")
		}
		return nil
	}
	if u.Uplink != "" {
		return n.setUplink(u)
	}
	if u.Peer != "" {
		k := pairKey(u.Host, u.Peer)
		cur, ok := n.pairs[k]
		if !ok {
			cur = n.combinedLocked(u.Host, u.Peer)
		}
		p, err := u.apply(cur)
		if err != nil {
			return err
		}
		n.pairs[k] = p
		return nil
	}
	cur, ok := n.hosts[u.Host]
	if !ok {
		cur = healthyProfile()
	}
	p, err := u.apply(cur)
	if err != nil {
		return err
	}
	n.hosts[u.Host] = p
	return nil
}

func (n *netemState) reset(host, peer, uplink string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case host == "":
		n.hosts = map[string]linkProfile{}
		n.pairs = map[[2]string]linkProfile{}
		n.uplinks = map[[2]string]linkProfile{}
		n.timeScale = 1
	case uplink != "":
		delete(n.uplinks, [2]string{host, uplink})
	case peer != "":
		delete(n.pairs, pairKey(host, peer))
	default:
		delete(n.hosts, host)
		for k := range n.uplinks {
			if k[0] == host {
				delete(n.uplinks, k)
			}
		}
		for k := range n.pairs {
			if k[0] == host || k[1] == host {
				delete(n.pairs, k)
			}
		}
	}
}

func (n *netemState) hostLocked(names ...string) linkProfile {
	for _, name := range names {
		if p, ok := n.hosts[name]; ok {
			return p
		}
	}
	return healthyProfile()
}

func (n *netemState) combinedLocked(src, dst string) linkProfile {
	return combine(n.hostLocked(src), n.hostLocked(dst))
}

// combine is the path over two hosts' links: the worse RTT, jitter and MTU,
// and the loss of both links.
func combine(a, b linkProfile) linkProfile {
	p := linkProfile{
		RTTms:    maxf(a.RTTms, b.RTTms),
		JitterMs: maxf(a.JitterMs, b.JitterMs),
		LossPct:  100 * (1 - (1-a.LossPct/100)*(1-b.LossPct/100)),
		MTU:      a.MTU,
	}
	if b.MTU < p.MTU {
		p.MTU = b.MTU
	}
	return p
}

// endpoint names one side of a ping: every alias the user may have used.
type endpoint struct {
	Name  string
	Moref string
}

// path is the profile between two endpoints: the pair setting, else combined.
func (n *netemState) path(src, dst endpoint) linkProfile {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range []string{src.Name, src.Moref} {
		for _, b := range []string{dst.Name, dst.Moref} {
			if p, ok := n.pairs[pairKey(a, b)]; ok {
				return p
			}
		}
	}
	return combine(n.hostLocked(src.Name, src.Moref), n.hostLocked(dst.Name, dst.Moref))
}

func (n *netemState) scale() float64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.timeScale
}

// draw returns one packet's fate: lost, or its round-trip time in µs.
func (n *netemState) draw(p linkProfile) (lost bool, rttUs float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p.LossPct > 0 && n.rng.Float64()*100 < p.LossPct {
		return true, 0
	}
	rtt := p.RTTms
	if p.JitterMs > 0 {
		rtt += (n.rng.Float64()*2 - 1) * p.JitterMs
	}
	if rtt < 0.01 {
		rtt = 0.01
	}
	return false, rtt * 1000
}

type netemView struct {
	Defaults  linkProfile            `json:"defaults"`
	TimeScale float64                `json:"time_scale"`
	Hosts     map[string]linkProfile `json:"hosts"`
	Pairs     []pairView             `json:"pairs"`
	Uplinks   []uplinkView           `json:"uplinks"`
}

type uplinkView struct {
	Host   string  `json:"host"`
	Uplink string  `json:"uplink"`
	RTTms  float64 `json:"rtt_ms"`
}

type pairView struct {
	Host string `json:"host"`
	Peer string `json:"peer"`
	linkProfile
}

func (n *netemState) view() netemView {
	n.mu.Lock()
	defer n.mu.Unlock()
	v := netemView{Defaults: healthyProfile(), TimeScale: n.timeScale, Hosts: map[string]linkProfile{}}
	for h, p := range n.hosts {
		v.Hosts[h] = p
	}
	for k, p := range n.pairs {
		v.Pairs = append(v.Pairs, pairView{k[0], k[1], p})
	}
	for k, p := range n.uplinks {
		v.Uplinks = append(v.Uplinks, uplinkView{k[0], k[1], p.RTTms})
	}
	sort.Slice(v.Uplinks, func(i, j int) bool {
		return v.Uplinks[i].Host+"/"+v.Uplinks[i].Uplink < v.Uplinks[j].Host+"/"+v.Uplinks[j].Uplink
	})
	sort.Slice(v.Pairs, func(i, j int) bool {
		return v.Pairs[i].Host+"/"+v.Pairs[i].Peer < v.Pairs[j].Host+"/"+v.Pairs[j].Peer
	})
	return v
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// netemHandler serves /vnettool/netem.
func netemHandler(n *netemState) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost, http.MethodPut:
			var u netemUpdate
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&u); err != nil {
				http.Error(w, `{"error":"bad JSON: `+strings.ReplaceAll(err.Error(), `"`, `'`)+`"}`, http.StatusBadRequest)
				return
			}
			if err := n.set(u); err != nil {
				code := http.StatusBadRequest
				if errors.Is(err, errNoHost) {
					code = http.StatusNotFound
				}
				http.Error(w, `{"error":"`+strings.ReplaceAll(err.Error(), `"`, `'`)+`"}`, code)
				return
			}
		case http.MethodDelete:
			q := r.URL.Query()
			host, peer := q.Get("host"), q.Get("peer")
			if err := n.check(host, peer); err != nil {
				http.Error(w, `{"error":"`+err.Error()+`"}`, http.StatusNotFound)
				return
			}
			n.reset(host, peer, q.Get("uplink"))
		default:
			http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
			return
		}
		_ = json.NewEncoder(w).Encode(n.view())
	}
}

var errNoHost = errors.New("no host")

// labHost accepts a lab host's name or moref; the error lists a few that exist.
func labHost(name string) error {
	var names []string
	for _, hs := range allHostStates() {
		if hs.host.Name == name || hs.host.Self.Value == name {
			return nil
		}
		names = append(names, hs.host.Name)
	}
	more := ""
	if len(names) > 4 {
		more = fmt.Sprintf(", … (%d hosts)", len(names))
		names = names[:4]
	}
	return fmt.Errorf("%w %s in the lab (hosts: %s%s)", errNoHost, name, strings.Join(names, ", "), more)
}

func init() {
	netem.known = labHost
	registerControl("netem", func(lab *Lab) http.HandlerFunc { return netemHandler(netem) })
}
