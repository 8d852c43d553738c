package main

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func testHosts() []hostView {
	return []hostView{
		{endpoint: endpoint{Name: "h0", Moref: "host-1"}, Vnics: []vmknic{
			{Device: "vmk0", IP: "10.0.0.1", MTU: 1500, Netstack: "defaultTcpipStack"},
			{Device: "vmk1", IP: "10.1.0.1", MTU: 9000, Netstack: "defaultTcpipStack"},
		}},
		{endpoint: endpoint{Name: "h1", Moref: "host-2"}, Vnics: []vmknic{
			{Device: "vmk0", IP: "10.0.0.2", MTU: 1500, Netstack: "defaultTcpipStack"},
			{Device: "vmk1", IP: "10.1.0.2", MTU: 9000, Netstack: "defaultTcpipStack"},
		}},
	}
}

// decoded is the part of ESXi's ping XML the tests look at.
type decoded struct {
	Summary struct {
		Transmitted  int
		Recieved     int
		PacketLost   int
		RoundtripAvg int
		RoundtripMin int
		RoundtripMax int
	} `xml:"DataObject>Summary"`
	Trace []struct {
		RoundtripTime int
		ICMPSeq       int
	} `xml:"DataObject>Trace"`
}

func decode(t *testing.T, s string) decoded {
	t.Helper()
	var d decoded
	if err := xml.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
	return d
}

func args(kv ...string) pingArgs {
	var in []soapArgument
	for i := 0; i < len(kv); i += 2 {
		in = append(in, soapArgument{Name: kv[i], Val: "<" + kv[i] + ">" + kv[i+1] + "</" + kv[i] + ">"})
	}
	a, err := parseArguments(in)
	if err != nil {
		panic(err)
	}
	return a
}

func TestParseArguments(t *testing.T) {
	a := args("host", "10.1.0.2", "count", "5", "interval", "0.2", "size", "8972", "df", "true", "interface", "vmk1", "netstack", "defaultTcpipStack", "wait", "0.5")
	if a.Host != "10.1.0.2" || a.Count != 5 || a.Interval != 200*time.Millisecond || a.Size != 8972 || !a.DF || a.Interface != "vmk1" || a.Wait != 500*time.Millisecond {
		t.Fatalf("%+v", a)
	}
	if _, err := parseArguments([]soapArgument{{Name: "count", Val: "<count>3</count>"}}); err == nil {
		t.Fatal("missing host accepted")
	}
	if _, err := parseArguments([]soapArgument{{Name: "host", Val: "<host>x</host>"}, {Name: "count", Val: "<count>abc</count>"}}); err == nil {
		t.Fatal("bad count accepted")
	}
	if got := fragmentText("<host>a&amp;b</host>"); got != "a&b" {
		t.Fatalf("fragment %q", got)
	}
}

func TestRunPingHealthyAndSlow(t *testing.T) {
	n := newNetem()
	hosts := testHosts()
	out := runPing(hosts[0], args("host", "10.1.0.2", "count", "3", "interface", "vmk1", "interval", "0.2"), hosts, n)
	if out.Err != "" {
		t.Fatal(out.Err)
	}
	d := decode(t, out.XML)
	if d.Summary.Transmitted != 3 || d.Summary.Recieved != 3 || d.Summary.PacketLost != 0 || d.Summary.RoundtripAvg != 200 || len(d.Trace) != 3 {
		t.Fatalf("%+v", d)
	}
	if !strings.Contains(out.XML, `xsi:type="ArrayOfDataObject"`) {
		t.Fatal("not an ArrayOfDataObject")
	}
	if out.Elapsed < 400*time.Millisecond || out.Elapsed > 410*time.Millisecond {
		t.Fatalf("elapsed %v", out.Elapsed)
	}
	_ = n.set(netemUpdate{Host: "h1", RTTms: fp(25)})
	d = decode(t, runPing(hosts[0], args("host", "10.1.0.2", "interface", "vmk1"), hosts, n).XML)
	if d.Summary.RoundtripAvg != 25000 || d.Summary.RoundtripMax != 25000 {
		t.Fatalf("slow host %+v", d.Summary)
	}
	// by moref too, and another pair stays healthy
	_ = n.set(netemUpdate{Host: "host-1", Peer: "h1", RTTms: fp(1)})
	d = decode(t, runPing(hosts[0], args("host", "10.1.0.2"), hosts, n).XML)
	if d.Summary.RoundtripAvg != 1000 {
		t.Fatalf("pair override %+v", d.Summary)
	}
}

func TestRunPingLossAndUnknownTarget(t *testing.T) {
	n := newNetem()
	hosts := testHosts()
	_ = n.set(netemUpdate{Host: "h1", LossPct: fp(100)})
	out := runPing(hosts[0], args("host", "10.1.0.2", "count", "4", "wait", "2", "interval", "0.2"), hosts, n)
	d := decode(t, out.XML)
	if d.Summary.Recieved != 0 || d.Summary.PacketLost != 100 || d.Summary.RoundtripAvg != 0 || len(d.Trace) != 0 {
		t.Fatalf("%+v", d)
	}
	if out.Elapsed != 2600*time.Millisecond {
		t.Fatalf("elapsed %v", out.Elapsed)
	}
	d = decode(t, runPing(hosts[0], args("host", "192.0.2.1"), hosts, n).XML)
	if d.Summary.Recieved != 0 || d.Summary.PacketLost != 100 {
		t.Fatalf("unknown target %+v", d)
	}
}

func TestRunPingMTU(t *testing.T) {
	n := newNetem()
	hosts := testHosts()
	// jumbo with DF over vmk1 (MTU 9000) on a healthy path: fine
	d := decode(t, runPing(hosts[0], args("host", "10.1.0.2", "interface", "vmk1", "size", "8972", "df", "true"), hosts, n).XML)
	if d.Summary.Recieved != 3 {
		t.Fatalf("jumbo %+v", d.Summary)
	}
	// one byte more than the source vmknic's MTU: ESXi's "Message too long"
	out := runPing(hosts[0], args("host", "10.1.0.2", "interface", "vmk1", "size", "8973", "df", "true"), hosts, n)
	if !strings.Contains(out.Err, "Message too long") {
		t.Fatalf("oversize %+v", out)
	}
	// source vmk0 has MTU 1500
	out = runPing(hosts[0], args("host", "10.0.0.2", "interface", "vmk0", "size", "1473", "df", "true"), hosts, n)
	if !strings.Contains(out.Err, "Message too long") {
		t.Fatalf("vmk0 oversize %+v", out)
	}
	// a 1500 path MTU further along: DF jumbo frames are silently dropped
	_ = n.set(netemUpdate{Host: "h1", MTU: ip(1500)})
	d = decode(t, runPing(hosts[0], args("host", "10.1.0.2", "interface", "vmk1", "size", "8972", "df", "true"), hosts, n).XML)
	if d.Summary.Recieved != 0 || d.Summary.PacketLost != 100 {
		t.Fatalf("path MTU %+v", d.Summary)
	}
	// without DF they are fragmented and get through; 1472 with DF fits
	d = decode(t, runPing(hosts[0], args("host", "10.1.0.2", "interface", "vmk1", "size", "8972"), hosts, n).XML)
	if d.Summary.Recieved != 3 {
		t.Fatalf("fragmented %+v", d.Summary)
	}
	d = decode(t, runPing(hosts[0], args("host", "10.1.0.2", "interface", "vmk1", "size", "1472", "df", "true"), hosts, n).XML)
	if d.Summary.Recieved != 3 {
		t.Fatalf("1472 DF %+v", d.Summary)
	}
	if out := runPing(hosts[0], args("host", "10.1.0.2", "interface", "vmk9"), hosts, n); !strings.Contains(out.Err, "vmk9") {
		t.Fatalf("unknown interface %+v", out)
	}
}

func TestRunPingSwitchAndTargetMTU(t *testing.T) {
	n := newNetem()
	jumbo := args("host", "10.1.0.2", "interface", "vmk1", "size", "8972", "df", "true")
	std := args("host", "10.1.0.2", "interface", "vmk1", "size", "1472", "df", "true")
	cases := []struct {
		name                 string
		srcSwitch, dstSwitch int
		dstVmk               int
		jumboGets            int
	}{
		{"all 9000", 9000, 9000, 9000, 3},
		{"source vSwitch 1500", 1500, 9000, 9000, 0},
		{"target DVS maxMtu 1500", 9000, 1500, 9000, 0},
		{"target vmknic 1500", 9000, 9000, 1500, 0},
		{"switch unknown", 0, 0, 9000, 3},
	}
	for _, c := range cases {
		hosts := testHosts()
		hosts[0].Vnics[1].SwitchMTU = c.srcSwitch
		hosts[1].Vnics[1].SwitchMTU = c.dstSwitch
		hosts[1].Vnics[1].MTU = c.dstVmk
		d := decode(t, runPing(hosts[0], jumbo, hosts, n).XML)
		if d.Summary.Recieved != c.jumboGets {
			t.Fatalf("%s: jumbo %+v", c.name, d.Summary)
		}
		if d := decode(t, runPing(hosts[0], std, hosts, n).XML); d.Summary.Recieved != 3 {
			t.Fatalf("%s: 1500 %+v", c.name, d.Summary)
		}
	}
}

// Over the wire: RetrieveManagedMethodExecuter on a HostSystem, then ExecuteSoap.

type retrieveMMECall struct {
	Req    *retrieveMMERequest                    `xml:"urn:vim25 RetrieveManagedMethodExecuter,omitempty"`
	Res    *RetrieveManagedMethodExecuterResponse `xml:"urn:vim25 RetrieveManagedMethodExecuterResponse,omitempty"`
	Fault_ *soap.Fault                            `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *retrieveMMECall) Fault() *soap.Fault { return b.Fault_ }

type executeSoapCall struct {
	Req    *executeSoapRequest  `xml:"urn:vim25 ExecuteSoap,omitempty"`
	Res    *ExecuteSoapResponse `xml:"urn:vim25 ExecuteSoapResponse,omitempty"`
	Fault_ *soap.Fault          `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *executeSoapCall) Fault() *soap.Fault { return b.Fault_ }

func TestEsxcliPingOverSoap(t *testing.T) {
	_, c := startTestLab(t, nil)
	ctx := context.Background()
	hosts := allHosts()
	if len(hosts) < 2 {
		t.Fatalf("need 2 hosts, have %d", len(hosts))
	}
	scale := 0.0
	_ = netem.set(netemUpdate{TimeScale: &scale})
	defer netem.reset("", "", "")
	src, dst := hosts[0], hosts[1]
	_ = netem.set(netemUpdate{Host: dst.Name, RTTms: fp(12)})

	mme := retrieveMMECall{Req: &retrieveMMERequest{This: types.ManagedObjectReference{Type: "HostSystem", Value: src.Moref}}}
	if err := c.Client.RoundTrip(ctx, &mme, &mme); err != nil {
		t.Fatal(err)
	}
	if mme.Res == nil || mme.Res.Returnval == nil {
		t.Fatalf("no executer in the answer: %+v", mme)
	}
	ref := *mme.Res.Returnval
	if ref.Type != mmeType || ref.Value != mmePrefix+src.Moref {
		t.Fatalf("executer %+v", ref)
	}
	// by name: ESXi resolves names too, and the lab's IPs need not be unique
	target := dst.Name
	call := executeSoapCall{Req: &executeSoapRequest{
		This: ref, Moid: pingMoid, Version: "urn:vim25/5.0", Method: pingMethod,
		Argument: []soapArgument{{Name: "host", Val: "<host>" + target + "</host>"}, {Name: "count", Val: "<count>2</count>"}},
	}}
	if err := c.Client.RoundTrip(ctx, &call, &call); err != nil {
		t.Fatal(err)
	}
	if call.Res.Returnval.Fault != nil {
		t.Fatalf("fault %+v", call.Res.Returnval.Fault)
	}
	d := decode(t, call.Res.Returnval.Response)
	if d.Summary.Transmitted != 2 || d.Summary.Recieved != 2 {
		t.Fatalf("summary %+v", d.Summary)
	}
	if d.Summary.RoundtripAvg != 12000 {
		t.Fatalf("rtt %d µs for target %s", d.Summary.RoundtripAvg, target)
	}
	// an unknown esxcli command is an esxcli fault, not a SOAP fault
	call = executeSoapCall{Req: &executeSoapRequest{This: ref, Moid: "ha-cli-handler-system-x", Method: "vim.EsxCLI.system.x.get"}}
	if err := c.Client.RoundTrip(ctx, &call, &call); err != nil {
		t.Fatal(err)
	}
	if call.Res.Returnval.Fault == nil || !strings.Contains(call.Res.Returnval.Fault.FaultDetail, "VimEsxCLICLIFault") {
		t.Fatalf("want esxcli fault, got %+v", call.Res.Returnval)
	}
}
