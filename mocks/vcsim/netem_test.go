package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func fp(v float64) *float64 { return &v }
func ip(v int) *int         { return &v }

func TestNetemDefaultsAreHealthy(t *testing.T) {
	n := newNetem()
	p := n.path(endpoint{Name: "a"}, endpoint{Name: "b"})
	if p.RTTms != defaultRTTms || p.LossPct != 0 || p.MTU != defaultMTU || p.JitterMs != 0 {
		t.Fatalf("default path %+v", p)
	}
}

func TestNetemHostPairAndReset(t *testing.T) {
	n := newNetem()
	if err := n.set(netemUpdate{Host: "a", RTTms: fp(12), LossPct: fp(50), MTU: ip(1500)}); err != nil {
		t.Fatal(err)
	}
	if err := n.set(netemUpdate{Host: "b", LossPct: fp(50)}); err != nil {
		t.Fatal(err)
	}
	p := n.path(endpoint{Name: "b"}, endpoint{Name: "a"})
	if p.RTTms != 12 || p.MTU != 1500 || p.LossPct != 75 {
		t.Fatalf("combined path %+v", p)
	}
	// by moref as well as by name
	if q := n.path(endpoint{Name: "x", Moref: "a"}, endpoint{Name: "c"}); q.RTTms != 12 {
		t.Fatalf("moref lookup %+v", q)
	}
	// a pair setting overrides both hosts, in either direction
	if err := n.set(netemUpdate{Host: "a", Peer: "b", RTTms: fp(3)}); err != nil {
		t.Fatal(err)
	}
	p = n.path(endpoint{Name: "b"}, endpoint{Name: "a"})
	if p.RTTms != 3 || p.MTU != 1500 {
		t.Fatalf("pair path %+v", p)
	}
	if q := n.path(endpoint{Name: "a"}, endpoint{Name: "c"}); q.RTTms != 12 {
		t.Fatalf("pair leaked to other peer %+v", q)
	}
	n.reset("a", "b", "")
	if p = n.path(endpoint{Name: "a"}, endpoint{Name: "b"}); p.RTTms != 12 {
		t.Fatalf("after pair reset %+v", p)
	}
	n.reset("a", "", "")
	if p = n.path(endpoint{Name: "a"}, endpoint{Name: "c"}); p.RTTms != defaultRTTms || p.MTU != defaultMTU {
		t.Fatalf("after host reset %+v", p)
	}
	n.reset("", "", "")
	if len(n.view().Hosts) != 0 {
		t.Fatal("reset all kept hosts")
	}
}

func TestNetemValidation(t *testing.T) {
	n := newNetem()
	for _, u := range []netemUpdate{
		{Host: "a", RTTms: fp(-1)},
		{Host: "a", LossPct: fp(101)},
		{Host: "a", MTU: ip(100)},
		{Host: "a", JitterMs: fp(-2)},
		{RTTms: fp(1)},
		{TimeScale: fp(-1)},
	} {
		if err := n.set(u); err == nil {
			t.Errorf("accepted %+v", u)
		}
	}
}

func TestNetemDrawLossAndJitter(t *testing.T) {
	n := newNetem()
	all := linkProfile{RTTms: 10, LossPct: 100, MTU: 1500}
	for i := 0; i < 50; i++ {
		if lost, _ := n.draw(all); !lost {
			t.Fatal("100 % loss delivered a packet")
		}
	}
	j := linkProfile{RTTms: 10, JitterMs: 2, MTU: 1500}
	lo, hi := 1e9, 0.0
	for i := 0; i < 500; i++ {
		lost, rtt := n.draw(j)
		if lost {
			t.Fatal("lost without loss")
		}
		if rtt < lo {
			lo = rtt
		}
		if rtt > hi {
			hi = rtt
		}
	}
	if lo < 8000 || hi > 12000 || hi-lo < 1000 {
		t.Fatalf("jitter range %v..%v µs", lo, hi)
	}
}

func TestNetemHandler(t *testing.T) {
	n := newNetem()
	srv := httptest.NewServer(netemHandler(n))
	defer srv.Close()
	body := `{"host":"DC0_C0_H1","rtt_ms":25,"jitter_ms":1,"loss_pct":5,"mtu":1500}`
	res, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var v netemView
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := v.Hosts["DC0_C0_H1"]; got.RTTms != 25 || got.MTU != 1500 || got.LossPct != 5 {
		t.Fatalf("view %+v", v)
	}
	res, _ = http.Post(srv.URL, "application/json", bytes.NewReader([]byte(`{"host":"x","rtt":1}`)))
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown field accepted: %d", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"?host=DC0_C0_H1", nil)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	v = netemView{}
	_ = json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if len(v.Hosts) != 0 {
		t.Fatalf("delete kept %+v", v.Hosts)
	}
}

// A setting for a host the lab does not have would never apply to any ping: refused (404),
// naming the host and some that exist, for a host and for a peer, and nothing is changed.
func TestNetemRefusesUnknownHosts(t *testing.T) {
	n := newNetem()
	n.known = func(name string) error {
		if name == "h0" || name == "h1" {
			return nil
		}
		return fmt.Errorf("%w %s in the lab (hosts: h0, h1)", errNoHost, name)
	}
	srv := httptest.NewServer(netemHandler(n))
	defer srv.Close()
	for _, body := range []string{
		`{"host":"nosuch","rtt_ms":5}`,
		`{"host":"h0","peer":"nosuch","rtt_ms":5}`,
	} {
		res, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || !strings.Contains(string(msg), "no host nosuch in the lab (hosts: h0, h1)") {
			t.Fatalf("%s: %d %s", body, res.StatusCode, msg)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"?host=nosuch", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("reset of an unknown host: %d", res.StatusCode)
	}
	if v := n.view(); len(v.Hosts) != 0 || len(v.Pairs) != 0 {
		t.Fatalf("changed: %+v", v)
	}
	if err := n.set(netemUpdate{Host: "h0", Peer: "h1", RTTms: fp(3)}); err != nil {
		t.Fatal(err)
	}
}
