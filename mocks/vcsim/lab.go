package main

import (
	"crypto/tls"
	"fmt"
	"io/ioutil"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/vpx"
	"github.com/vmware/govmomi/vim25/types"
)

// Options is the lab topology and server configuration.
type Options struct {
	DC, Cluster, Host, VM, DVS, PG int
	Listen                         string
	TLS                            bool
	Scenario                       string
	// DataDir holds the simulated datastores (VM files); "" = /dev/shm when
	// writable (VM creation is filesystem-bound), else the system temp dir.
	DataDir  string
	User     string // when set, only this user/password may log in (vCenter rejects others)
	Password string
	// Pnics per host: vmnic0/1 carry vSwitch0, vmnic2/3 the first DVS, the
	// rest are free (real hosts usually have spare uplinks).
	Pnics int
}

func dataDir(o Options) string {
	if o.DataDir != "" {
		return o.DataDir
	}
	if f, err := ioutil.TempFile("/dev/shm", ".vcsim-probe-"); err == nil {
		f.Close()
		os.Remove(f.Name())
		return "/dev/shm"
	}
	return ""
}

// DefaultOptions matches the binary's flag defaults.
func DefaultOptions() Options {
	return Options{DC: 1, Cluster: 2, Host: 4, VM: 8, DVS: 1, PG: 2, Pnics: 6, Listen: "127.0.0.1:0", TLS: true}
}

// Lab is one running simulator. Only one Lab may run per process
// (vcsim keeps its inventory in the global simulator.Map).
type Lab struct {
	Opts   Options
	Model  *simulator.Model
	Server *simulator.Server
	URL    *url.URL // https://host:port/sdk without credentials

	Timings []string // start-up phases, for the log

	aliasMu  sync.Mutex
	sessions *sessionTracker
	pages    *pageStore
}

// apiVersion advertised by the lab (pyVmomi then reads/sends 6.7+ fields).
const (
	apiVersion     = "7.0.3.0"
	productVersion = "7.0.3"
	productBuild   = "20395099"
)

// StartLab creates the inventory, applies the setup steps and starts the server.
func StartLab(o Options) (*Lab, error) {
	if o.Pnics != 0 && (o.Pnics < 2 || o.Pnics > 32) {
		return nil, fmt.Errorf("pnics must be 2..32, got %d", o.Pnics)
	}
	lab := &Lab{Opts: o, sessions: newSessionTracker(), pages: newPageStore()}

	m := simulator.VPX()
	m.ServiceContent = vpx.ServiceContent
	about := m.ServiceContent.About
	about.ApiVersion = apiVersion
	about.Version = productVersion
	about.Build = productBuild
	about.FullName = fmt.Sprintf("VMware vCenter Server %s build-%s (vnettool lab)", productVersion, productBuild)
	// Every vCenter has its own instance UUID; vcsim's NewServiceInstance means to set one
	// but assigns it to a copy, so every simulator would answer the same constant.
	about.InstanceUuid = uuid.New().String()
	m.ServiceContent.About = about
	m.Datacenter = o.DC
	m.Cluster = o.Cluster
	m.ClusterHost = o.Host
	m.Host = 0
	m.Machine = o.VM
	m.Portgroup = 0
	if o.DVS > 0 {
		m.Portgroup = o.PG // the model creates DVS0 with PG port groups per DC
	}
	lab.Model = m

	t0 := time.Now()
	if dir := dataDir(o); dir != "" {
		// vcsim creates its datastore directories with ioutil.TempDir("", ...)
		old, had := os.LookupEnv("TMPDIR")
		os.Setenv("TMPDIR", dir)
		if had {
			defer os.Setenv("TMPDIR", old)
		} else {
			defer os.Unsetenv("TMPDIR")
		}
	}
	if err := m.Create(); err != nil {
		return nil, fmt.Errorf("create model: %w", err)
	}
	lab.Timings = append(lab.Timings, fmt.Sprintf("model %.2fs", time.Since(t0).Seconds()))
	for _, step := range setups {
		t1 := time.Now()
		if err := step.fn(lab); err != nil {
			m.Remove()
			return nil, fmt.Errorf("setup %s: %w", step.name, err)
		}
		lab.Timings = append(lab.Timings, fmt.Sprintf("%s %.2fs", step.name, time.Since(t1).Seconds()))
	}

	if o.TLS {
		cert, err := labCertificate()
		if err != nil {
			m.Remove()
			return nil, fmt.Errorf("lab certificate: %w", err)
		}
		m.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	listen := o.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	m.Service.Listen = &url.URL{Host: listen}
	if o.User != "" {
		m.Service.Listen.User = url.UserPassword(o.User, o.Password)
	}
	s := m.Service.NewServer()
	// Put the router in front of vcsim's handler before any client knows the port.
	s.Server.Config.Handler = newRouter(lab, s.Server.Config.Handler)
	lab.Server = s
	u := *s.URL
	u.User = nil
	lab.URL = &u
	return lab, nil
}

// ControlURL is the base of the control endpoints.
func (l *Lab) ControlURL() string {
	u := *l.URL
	u.Path = "/vnettool/"
	return u.String()
}

// Close stops the server and removes the model's temporary directories.
func (l *Lab) Close() {
	if l.Server != nil {
		l.Server.Close()
	}
	l.Model.Remove()
}

// dvsOf returns all distributed switches.
func allDVS() []*simulator.DistributedVirtualSwitch {
	var out []*simulator.DistributedVirtualSwitch
	for _, e := range simulator.Map.All("DistributedVirtualSwitch") {
		if d, ok := e.(*simulator.DistributedVirtualSwitch); ok {
			out = append(out, d)
		}
	}
	return out
}

var _ = types.ManagedObjectReference{}
