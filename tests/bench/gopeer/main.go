// Command gopeer is the Go peer of vnettool's inventory read in bench_inventory.py: the same
// properties (a JSON spec written by the benchmark from collector.PROPERTIES and
// fastxml.GROUPS), through the same container views, pages and parallel groups, read by
// govmomi's property collector methods and decoded by govmomi into its typed objects (what a
// Go tool built on govmomi pays). It prints one JSON line: seconds, client CPU seconds, objects
// per type, requests, peak RSS. Built by the benchmark in GOPATH mode against Debian's
// govmomi (like mocks/vcsim); not part of any test.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type spec struct {
	Groups     [][]string          `json:"groups"`
	Properties map[string][]string `json:"properties"`
	Page       int32               `json:"page"`
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSSMB is this process's own high-water mark (VmHWM; getrusage's maxrss would carry the
// forking Python parent's across exec).
func peakRSSMB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	var kb float64
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			_, _ = fmt.Sscanf(strings.TrimPrefix(line, "VmHWM:"), "%g", &kb)
		}
	}
	return kb / 1024
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gopeer:", err)
	os.Exit(1)
}

func main() {
	server := flag.String("url", "", "https://host:port/sdk")
	user := flag.String("user", "", "user name (the password is read from GOPEER_PASSWORD)")
	specPath := flag.String("spec", "", "JSON spec: groups, properties, page")
	flag.Parse()
	var sp spec
	raw, err := os.ReadFile(*specPath)
	if err != nil {
		fail(err)
	}
	if err := json.Unmarshal(raw, &sp); err != nil {
		fail(err)
	}
	u, err := soap.ParseURL(*server)
	if err != nil {
		fail(err)
	}
	u.User = url.UserPassword(*user, os.Getenv("GOPEER_PASSWORD"))
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		fail(err)
	}
	defer func() { _ = c.Logout(ctx) }()

	t0, cpu0 := time.Now(), cpuSeconds()
	m := view.NewManager(c.Client)
	views := make([]*view.ContainerView, len(sp.Groups))
	for i, g := range sp.Groups {
		if views[i], err = m.CreateContainerView(ctx, c.ServiceContent.RootFolder, g, true); err != nil {
			fail(err)
		}
	}
	var (
		mu       sync.Mutex
		counts   = map[string]int{}
		requests int
		wg       sync.WaitGroup
		errs     = make([]error, len(sp.Groups))
	)
	for i, g := range sp.Groups {
		wg.Add(1)
		go func(i int, group []string) {
			defer wg.Done()
			fs := types.PropertyFilterSpec{
				ObjectSet: []types.ObjectSpec{{
					Obj: views[i].Reference(), Skip: types.NewBool(true),
					SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}},
				}},
			}
			for _, t := range group {
				fs.PropSet = append(fs.PropSet, types.PropertySpec{Type: t, PathSet: sp.Properties[t]})
			}
			pc := c.ServiceContent.PropertyCollector
			res, err := methods.RetrievePropertiesEx(ctx, c.Client, &types.RetrievePropertiesEx{
				This: pc, SpecSet: []types.PropertyFilterSpec{fs}, Options: types.RetrieveOptions{MaxObjects: sp.Page},
			})
			n := map[string]int{}
			reqs := 1
			for err == nil && res.Returnval != nil {
				for _, o := range res.Returnval.Objects {
					n[o.Obj.Type]++
				}
				if res.Returnval.Token == "" {
					break
				}
				var next *types.ContinueRetrievePropertiesExResponse
				next, err = methods.ContinueRetrievePropertiesEx(ctx, c.Client, &types.ContinueRetrievePropertiesEx{This: pc, Token: res.Returnval.Token})
				reqs++
				if err == nil {
					res.Returnval = &next.Returnval
				}
			}
			errs[i] = err
			mu.Lock()
			for k, v := range n {
				counts[k] += v
			}
			requests += reqs
			mu.Unlock()
		}(i, g)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fail(err)
		}
	}
	for _, v := range views {
		_ = v.Destroy(ctx)
	}
	seconds, cpu := time.Since(t0).Seconds(), cpuSeconds()-cpu0
	out, _ := json.Marshal(map[string]interface{}{
		"seconds": seconds, "cpu_s": cpu, "objects": counts, "requests": requests,
		"peak_rss_mb": peakRSSMB(),
	})
	fmt.Println(string(out))
}
