package main

// esxcli through the API, as ESXi answers it; here `network diag ping`
// (vmkping) and the dispatch of every ExecuteSoap call.
//
// HostSystem.RetrieveManagedMethodExecuter returns the host's
// ReflectManagedMethodExecuter (one per host, "ha-managed-method-executer-<host
// moref>"); its ExecuteSoap runs the method named in the request: the CLI info
// call (esxcli_types.go), the ping below, or a command of esxcli_network.go.
// Anything else gets the esxcli fault vcsim answers for unknown commands.
//
// The ping answer uses ESXi's format: an ArrayOfDataObject with one VMKPing structure (Summary with the misspelt
// "Recieved", PacketLost in percent, round-trip times in microseconds, and a
// Trace per reply). Round-trip, jitter, loss and path MTU come from netem.go.
// Like ESXi, a DF packet larger than the source vmknic's MTU fails with
// "Message too long", and one larger than a smaller MTU further along the
// path (the source's vSwitch MTU / DVS maxMtu, the physical path set with
// netem, the target's switch, the target vmknic's MTU) is silently dropped
// (0 received; netem.go's MTU is the physical network alone). The call takes as long as the real one would
// ((count-1) x interval + the last reply or the wait), scaled by
// netem's time_scale, so concurrency can be measured against it.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	pingMoid   = "ha-cli-handler-network-diag"
	pingMethod = "vim.EsxCLI.network.diag.ping"
	mmeType    = "ReflectManagedMethodExecuter"
	mmePrefix  = "ha-managed-method-executer-"
)

// Wire types (govmomi internal/types.go, which a program outside govmomi
// cannot import).

type retrieveMMERequest struct {
	This types.ManagedObjectReference `xml:"_this"`
}

type RetrieveManagedMethodExecuterResponse struct {
	Returnval *types.ManagedObjectReference `xml:"urn:vim25 returnval"`
}

type retrieveMMEBody struct {
	Res    *RetrieveManagedMethodExecuterResponse `xml:"urn:vim25 RetrieveManagedMethodExecuterResponse,omitempty"`
	Fault_ *soap.Fault                            `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *retrieveMMEBody) Fault() *soap.Fault { return b.Fault_ }

type soapArgument struct {
	Name string `xml:"name"`
	Val  string `xml:"val"`
}

type executeSoapRequest struct {
	This     types.ManagedObjectReference `xml:"_this"`
	Moid     string                       `xml:"moid"`
	Version  string                       `xml:"version"`
	Method   string                       `xml:"method"`
	Argument []soapArgument               `xml:"argument,omitempty"`
}

type soapFault struct {
	FaultMsg    string `xml:"faultMsg"`
	FaultDetail string `xml:"faultDetail,omitempty"`
}

type soapResult struct {
	Response string     `xml:"response,omitempty"`
	Fault    *soapFault `xml:"fault,omitempty"`
}

type ExecuteSoapResponse struct {
	Returnval *soapResult `xml:"urn:vim25 returnval"`
}

type executeSoapBody struct {
	Res    *ExecuteSoapResponse `xml:"urn:vim25 ExecuteSoapResponse,omitempty"`
	Fault_ *soap.Fault          `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *executeSoapBody) Fault() *soap.Fault { return b.Fault_ }

func init() {
	types.Add("RetrieveManagedMethodExecuter", reflect.TypeOf((*retrieveMMERequest)(nil)).Elem())
	types.Add("ExecuteSoap", reflect.TypeOf((*executeSoapRequest)(nil)).Elem())
	registerOverride("HostSystem", func(lab *Lab, orig types.ManagedObjectReference) mo.Reference {
		return &hostEsxcli{aliasBase: newAliasBase(lab, orig)}
	}, "RetrieveManagedMethodExecuter", "RetrieveDynamicTypeManager")
}

// hostEsxcli is the HostSystem alias answering RetrieveManagedMethodExecuter.
type hostEsxcli struct {
	aliasBase
}

func (h *hostEsxcli) RetrieveManagedMethodExecuter(ctx *simulator.Context, req *retrieveMMERequest) soap.HasFault {
	ref := types.ManagedObjectReference{Type: mmeType, Value: mmePrefix + h.Orig.Value}
	if simulator.Map.Get(ref) == nil {
		simulator.Map.Put(&methodExecuter{Self: ref, Host: h.Orig})
	}
	return &retrieveMMEBody{Res: &RetrieveManagedMethodExecuterResponse{Returnval: &ref}}
}

// methodExecuter is a host's ManagedMethodExecuter. It opts out of vcsim's
// per-object lock (Lock/Unlock are no-ops) so pings from one host run
// concurrently, as on ESXi.
type methodExecuter struct {
	Self types.ManagedObjectReference
	Host types.ManagedObjectReference
}

func (m *methodExecuter) Reference() types.ManagedObjectReference { return m.Self }
func (m *methodExecuter) Lock()                                   {}
func (m *methodExecuter) Unlock()                                 {}

func (m *methodExecuter) ExecuteSoap(ctx *simulator.Context, req *executeSoapRequest) soap.HasFault {
	res := &soapResult{}
	switch {
	case req.Moid == cliInfoMoid && req.Method == cliInfoMethod:
		typeName := ""
		for _, a := range req.Argument {
			if a.Name == "typeName" {
				typeName = fragmentText(a.Val)
			}
		}
		if doc, ok := cliInfoXML(typeName); ok {
			res.Response = doc
		} else {
			res.Fault = cliFault(fmt.Sprintf("Unknown type name %q", typeName))
		}
	case req.Moid == pingMoid && req.Method == pingMethod:
		src, ok := hostInfo(m.Host)
		if !ok {
			return &executeSoapBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: m.Host})}
		}
		args, err := parseArguments(req.Argument)
		if err != nil {
			res.Fault = cliFault(err.Error())
		} else {
			out := runPing(src, args, allHosts(), netem)
			sleepScaled(out.Elapsed, netem.scale())
			if out.Err != "" {
				res.Fault = cliFault(out.Err)
			} else {
				res.Response = out.XML
			}
		}
	default:
		_, meth := cliLookup(req.Moid, req.Method)
		run := cliHandlers[req.Method]
		if meth == nil || run == nil {
			res.Fault = cliFault(fmt.Sprintf("Unknown command or namespace: %s (moid %s)", req.Method, req.Moid))
			break
		}
		hs := stateOf(m.Host)
		if hs == nil {
			return &executeSoapBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: m.Host})}
		}
		args, err := parseCLIArgs(meth, req.Argument)
		if err == nil {
			res.Response, err = run(hs, args)
		}
		if err != nil {
			res.Response = ""
			res.Fault = cliFault(err.Error())
		}
	}
	return &executeSoapBody{Res: &ExecuteSoapResponse{Returnval: res}}
}

func sleepScaled(d time.Duration, scale float64) {
	if scale > 0 && d > 0 {
		time.Sleep(time.Duration(float64(d) * scale))
	}
}

// cliFault is the fault ESXi returns for a failed esxcli command.
func cliFault(msg string) *soapFault {
	detail := `<LocalizedMethodFault xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<fault xsi:type="VimEsxCLICLIFault"><errMsg>` + html.EscapeString(msg) + `</errMsg></fault>` +
		`<localizedMessage></localizedMessage></LocalizedMethodFault>`
	return &soapFault{FaultMsg: "A general system error occurred: " + msg, FaultDetail: detail}
}

// vmknic is what the ping needs to know about one VMkernel adapter.
type vmknic struct {
	Device   string
	IP       string
	MTU      int
	Netstack string
	Egress   egress // uplink and NIOC factor (queueing.go)
	// SwitchMTU is the MTU of the switch the adapter is on: the standard vSwitch's mtu,
	// or the DVS's maxMtu (0: unknown, no limit).
	SwitchMTU int
}

// hostView is one host: identity and its VMkernel adapters.
type hostView struct {
	endpoint
	Vnics []vmknic
}

func hostInfo(ref types.ManagedObjectReference) (hostView, bool) {
	obj, ok := simulator.Map.Get(ref).(*simulator.HostSystem)
	if !ok {
		return hostView{}, false
	}
	var hv hostView
	simulator.Map.WithLock(obj, func() {
		hv = hostViewOf(&obj.HostSystem)
	})
	return hv, true
}

func hostViewOf(h *mo.HostSystem) hostView {
	hv := hostView{endpoint: endpoint{Name: h.Name, Moref: h.Self.Value}}
	if h.Config == nil || h.Config.Network == nil {
		return hv
	}
	for _, v := range h.Config.Network.Vnic {
		n := vmknic{Device: v.Device, MTU: int(v.Spec.Mtu), Netstack: v.Spec.NetStackInstanceKey, Egress: vmkEgress(h, v), SwitchMTU: vmkSwitchMTU(h, v)}
		if v.Spec.Ip != nil {
			n.IP = v.Spec.Ip.IpAddress
		}
		if n.MTU == 0 {
			n.MTU = 1500
		}
		if n.Netstack == "" {
			n.Netstack = "defaultTcpipStack"
		}
		hv.Vnics = append(hv.Vnics, n)
	}
	return hv
}

// vmkSwitchMTU is the MTU of the switch carrying the adapter's frames: the standard
// vSwitch of its port group (ESXi's default 1500) or its DVS's maxMtu (1500 when unset).
func vmkSwitchMTU(h *mo.HostSystem, v types.HostVirtualNic) int {
	if c := v.Spec.DistributedVirtualPort; c != nil {
		for _, d := range allDVS() {
			if d.Uuid != c.SwitchUuid {
				continue
			}
			if vc := dvsConfig(d); vc != nil && vc.MaxMtu > 0 {
				return int(vc.MaxMtu)
			}
			return 1500
		}
		return 0
	}
	ni := h.Config.Network
	for _, pg := range ni.Portgroup {
		if pg.Spec.Name != v.Portgroup {
			continue
		}
		for _, sw := range ni.Vswitch {
			if sw.Name == pg.Spec.VswitchName {
				if sw.Mtu > 0 {
					return int(sw.Mtu)
				}
				return 1500
			}
		}
	}
	return 0
}

// pathMTU is the largest frame that gets from out to the target adapter: the
// source's switch, the physical path (netem), the target's switch and the
// target adapter itself (which drops a frame larger than its MTU).
func pathMTU(out, dst vmknic, physical int) int {
	m := physical
	for _, x := range []int{out.SwitchMTU, dst.SwitchMTU, dst.MTU} {
		if x > 0 && x < m {
			m = x
		}
	}
	return m
}

func allHosts() []hostView {
	var out []hostView
	for _, obj := range simulator.Map.All("HostSystem") {
		if h, ok := obj.(*simulator.HostSystem); ok {
			simulator.Map.WithLock(h, func() {
				out = append(out, hostViewOf(&h.HostSystem))
			})
		}
	}
	return out
}

// pingArgs are the decoded ExecuteSoap arguments of the ping.
type pingArgs struct {
	Host      string
	Count     int
	Interval  time.Duration
	Wait      time.Duration
	Size      int
	DF        bool
	Interface string
	Netstack  string
}

// fragmentText returns the character data of an argument fragment such as
// "<host>10.0.0.2</host>" (a repeated element gives the texts joined by ",").
func fragmentText(val string) string {
	dec := xml.NewDecoder(strings.NewReader("<a>" + val + "</a>"))
	var parts []string
	var cur bytes.Buffer
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			cur.Reset()
		case xml.CharData:
			if depth >= 2 {
				cur.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				parts = append(parts, strings.TrimSpace(cur.String()))
			}
			depth--
		}
	}
	if len(parts) == 0 {
		return strings.TrimSpace(val)
	}
	return strings.Join(parts, ",")
}

func seconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid number of seconds: %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func parseArguments(in []soapArgument) (pingArgs, error) {
	a := pingArgs{Count: 3, Interval: time.Second, Wait: time.Second, Size: 56}
	for _, arg := range in {
		v := fragmentText(arg.Val)
		var err error
		switch arg.Name {
		case "host":
			a.Host = v
		case "count":
			a.Count, err = strconv.Atoi(v)
			if err == nil && (a.Count < 1 || a.Count > 10000) {
				err = fmt.Errorf("count out of range")
			}
		case "interval":
			a.Interval, err = seconds(v)
		case "wait":
			a.Wait, err = seconds(v)
		case "size":
			a.Size, err = strconv.Atoi(v)
			if err == nil && (a.Size < 0 || a.Size > 65507) {
				err = fmt.Errorf("size out of range")
			}
		case "df":
			a.DF = v == "true" || v == "1"
		case "interface":
			a.Interface = v
		case "netstack":
			a.Netstack = v
		case "ipv4", "ipv6", "debug", "ttl", "nexthop":
		default:
			err = fmt.Errorf("Invalid option %s", arg.Name)
		}
		if err != nil {
			return a, fmt.Errorf("Invalid value for %s: %v", arg.Name, err)
		}
	}
	if a.Host == "" {
		return a, fmt.Errorf("Missing required parameter -H|--host")
	}
	return a, nil
}

// pingOutcome is what one ping call produces: the response or a CLI error,
// and how long the real command would have run.
type pingOutcome struct {
	XML     string
	Err     string
	Elapsed time.Duration
	Sent    int
	Recv    int
}

func findTarget(target string, hosts []hostView) (hostView, vmknic, bool) {
	for _, h := range hosts {
		for _, v := range h.Vnics {
			if v.IP != "" && v.IP == target {
				return h, v, true
			}
		}
	}
	for _, h := range hosts {
		if h.Name == target && len(h.Vnics) > 0 {
			return h, h.Vnics[0], true
		}
	}
	return hostView{}, vmknic{}, false
}

// runPing emulates vmkping from src with the given arguments.
func runPing(src hostView, a pingArgs, hosts []hostView, n *netemState) pingOutcome {
	var out vmknic
	switch {
	case a.Interface != "":
		found := false
		for _, v := range src.Vnics {
			if v.Device == a.Interface {
				out, found = v, true
			}
		}
		if !found {
			return pingOutcome{Err: fmt.Sprintf("Unable to find vmknic for interface %s", a.Interface)}
		}
		if a.Netstack != "" && a.Netstack != out.Netstack {
			return pingOutcome{Err: fmt.Sprintf("Interface %s is not on netstack %s", a.Interface, a.Netstack)}
		}
	case len(src.Vnics) > 0:
		out = src.Vnics[0]
	default:
		return pingOutcome{Err: "No vmknic available to send from"}
	}
	frame := a.Size + 28
	if a.DF && frame > out.MTU {
		return pingOutcome{Err: "sendto() failed (Message too long)"}
	}
	dst, dstNic, known := findTarget(a.Host, hosts)
	var path linkProfile
	if known {
		path = n.path(src.endpoint, dst.endpoint)
		path.RTTms += n.congestionMs(src.endpoint, out.Egress) + n.congestionMs(dst.endpoint, dstNic.Egress)
		path.MTU = pathMTU(out, dstNic, path.MTU)
	}
	var b strings.Builder
	var rtts []float64
	recv := 0
	for seq := 0; seq < a.Count; seq++ {
		if !known || (a.DF && frame > path.MTU) {
			continue
		}
		lost, rtt := n.draw(path)
		if lost {
			continue
		}
		recv++
		rtts = append(rtts, rtt)
		fmt.Fprintf(&b, "<Trace><Detail></Detail><Dup>false</Dup><Host>%s</Host><ICMPSeq>%d</ICMPSeq>"+
			"<ReceivedBytes>%d</ReceivedBytes><RoundtripTime>%d</RoundtripTime><TTL>64</TTL></Trace>",
			html.EscapeString(a.Host), seq, a.Size+8, int64(rtt))
	}
	minR, avgR, maxR := 0.0, 0.0, 0.0
	for i, r := range rtts {
		if i == 0 || r < minR {
			minR = r
		}
		if r > maxR {
			maxR = r
		}
		avgR += r
	}
	if len(rtts) > 0 {
		avgR /= float64(len(rtts))
	}
	lostPct := 100 * (a.Count - recv) / a.Count
	summary := fmt.Sprintf("<Summary><Duplicated>0</Duplicated><HostAddr>%s</HostAddr>"+
		"<PacketLost>%d</PacketLost><Recieved>%d</Recieved><RoundtripAvg>%d</RoundtripAvg>"+
		"<RoundtripMax>%d</RoundtripMax><RoundtripMin>%d</RoundtripMin><Transmitted>%d</Transmitted></Summary>",
		html.EscapeString(a.Host), lostPct, recv, int64(avgR), int64(maxR), int64(minR), a.Count)
	doc := `<obj xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
		`xmlns="urn:vim25" versionId="5.0" xsi:type="ArrayOfDataObject">` +
		`<DataObject xsi:type="VimEsxCLInetworkdiagpingVMKPing">` + summary + b.String() + `</DataObject></obj>`
	elapsed := time.Duration(a.Count-1) * a.Interval
	if recv == a.Count && len(rtts) > 0 {
		elapsed += time.Duration(rtts[len(rtts)-1] * float64(time.Microsecond))
	} else {
		elapsed += a.Wait
	}
	return pingOutcome{XML: doc, Elapsed: elapsed, Sent: a.Count, Recv: recv}
}
