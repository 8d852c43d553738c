// Command vcsim is the vnettool lab: govmomi's vcsim extended for network
// fidelity (see mocks/README.md).
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type stateFile struct {
	URL      string         `json:"url"`
	PID      int            `json:"pid"`
	Started  string         `json:"started"`
	Topology map[string]int `json:"topology"`
	Control  string         `json:"control"`
	Scenario string         `json:"scenario,omitempty"`
}

var knownScenarios = map[string]bool{"": true, "audit": true, "stig": true} // audit: seeded by the client (vnettool lab start)

func main() {
	o := DefaultOptions()
	flag.IntVar(&o.DC, "dc", o.DC, "datacenters")
	flag.IntVar(&o.Cluster, "cluster", o.Cluster, "clusters per datacenter")
	flag.IntVar(&o.Host, "host", o.Host, "hosts per cluster")
	flag.IntVar(&o.VM, "vm", o.VM, "VMs per cluster")
	flag.IntVar(&o.DVS, "dvs", o.DVS, "distributed switches per datacenter")
	flag.IntVar(&o.PG, "pg", o.PG, "DV port groups per DVS (excluding the uplink port group)")
	flag.IntVar(&o.Pnics, "pnics", o.Pnics, "physical NICs per host (2-32; vmnic0/1 on vSwitch0, vmnic2/3 on the first DVS, the rest free)")
	flag.StringVar(&o.Listen, "listen", o.Listen, "listen address (port 0 = free port)")
	flag.BoolVar(&o.TLS, "tls", o.TLS, "serve HTTPS with a self-signed certificate")
	state := flag.String("state", "", "JSON state file written once the server answers")
	flag.StringVar(&o.Scenario, "scenario", "", "seeded audit scenario (reserved)")
	flag.StringVar(&o.User, "username", "", "only this user may log in (default: any non-empty user)")
	flag.StringVar(&o.Password, "password", "", "password for -username (default: $VCSIM_PASSWORD)")
	flag.StringVar(&o.DataDir, "datadir", "", "directory for the simulated datastores (default /dev/shm if writable, else $TMPDIR)")
	flag.Parse()
	if o.Password == "" {
		// The client passes the password here, not as -password: every user of the machine
		// can read a process's argument list, only its owner its environment.
		o.Password = os.Getenv("VCSIM_PASSWORD")
	}

	if !knownScenarios[o.Scenario] {
		log.Printf("warning: unknown scenario %q ignored", o.Scenario)
	}

	t0 := time.Now()
	lab, err := StartLab(o)
	if err != nil {
		log.Fatalf("vcsim: %v", err)
	}
	if err := waitHealthy(lab, 10*time.Second); err != nil {
		lab.Close()
		log.Fatalf("vcsim: %v", err)
	}
	fmt.Printf("URL=%s\n", lab.URL.String())
	log.Printf("vcsim: ready in %.2fs (dc=%d cluster=%d host=%d vm=%d dvs=%d pg=%d pnics=%d)",
		time.Since(t0).Seconds(), o.DC, o.Cluster, o.Host, o.VM, o.DVS, o.PG, o.Pnics)
	log.Printf("vcsim: phases: %s", strings.Join(lab.Timings, ", "))

	if *state != "" {
		st := stateFile{
			URL:     lab.URL.String(),
			PID:     os.Getpid(),
			Started: time.Now().UTC().Format(time.RFC3339),
			Topology: map[string]int{
				"dc": o.DC, "cluster": o.Cluster, "host": o.Host, "vm": o.VM, "dvs": o.DVS, "pg": o.PG, "pnics": o.Pnics,
			},
			Control:  lab.ControlURL(),
			Scenario: o.Scenario,
		}
		if err := writeAtomic(*state, st); err != nil {
			lab.Close()
			log.Fatalf("vcsim: state file: %v", err)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	lab.Close()
	if *state != "" {
		_ = os.Remove(*state)
	}
	os.Exit(0)
}

func waitHealthy(lab *Lab, timeout time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // #nosec: own self-signed server
	}}
	deadline := time.Now().Add(timeout)
	for {
		res, err := c.Get(lab.ControlURL() + "health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server does not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeAtomic(path string, v interface{}) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := ioutil.TempFile(filepath.Dir(path), ".vcsim-state-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
