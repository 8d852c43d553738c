package main

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestTypeInfoCoversEveryCatalogueCommandAndFilters(t *testing.T) {
	all := typeInfo("")
	if len(all.ManagedTypeInfo) != len(esxcliCatalog) {
		t.Fatalf("managed types %d, namespaces %d", len(all.ManagedTypeInfo), len(esxcliCatalog))
	}
	methods := map[string]dtmMethodTypeInfo{}
	for _, mt := range all.ManagedTypeInfo {
		if mt.WsdlName != wsdlName(mt.Name) || mt.Base[0] != "vmodl.ManagedObject" {
			t.Fatalf("%+v", mt)
		}
		for _, m := range mt.Method {
			methods[mt.Name+"."+m.Name] = m
		}
	}
	for name := range cliHandlers {
		if _, ok := methods[name]; !ok {
			t.Fatalf("handler %s has no type info", name)
		}
	}
	if _, ok := methods["vim.EsxCLI.network.diag.ping"]; !ok {
		t.Fatal("ping has no type info")
	}
	set := methods["vim.EsxCLI.network.ip.interface.ipv4.set"]
	if set.WsdlName != "VimEsxCLInetworkipinterfaceipv4set" || set.ReturnTypeInfo.Type != "boolean" {
		t.Fatalf("%+v", set)
	}
	var required []string
	for _, p := range set.ParamTypeInfo {
		if len(p.Annotation) == 0 {
			required = append(required, p.Name)
		}
	}
	if strings.Join(required, ",") != "interfacename,type" {
		t.Fatalf("required %v", required)
	}
	data := map[string]dtmDataTypeInfo{}
	for _, d := range all.DataTypeInfo {
		data[d.Name] = d
	}
	for _, want := range []string{
		"vim.EsxCLI.network.ip.interface.list.NetworkInterface",
		"vim.EsxCLI.network.ip.interface.ipv4.get.IPv4Interface",
		"vim.EsxCLI.network.nic.list.Nic",
		"vim.EsxCLI.network.diag.ping.VMKPing",
		"vim.EsxCLI.network.diag.ping.Summary",
	} {
		if _, ok := data[want]; !ok {
			t.Fatalf("no data type %s", want)
		}
	}
	if got := data["vim.EsxCLI.network.nic.list.Nic"].WsdlName; got != "VimEsxCLInetworkniclistNic" {
		t.Fatal(got)
	}

	nic := typeInfo("vim.EsxCLI.network.nic")
	if len(nic.ManagedTypeInfo) != 1 || len(nic.DataTypeInfo) != 1 || nic.ManagedTypeInfo[0].Name != "vim.EsxCLI.network.nic" {
		t.Fatalf("%+v", nic)
	}
	if none := typeInfo("vim.EsxCLI.storage"); len(none.ManagedTypeInfo)+len(none.DataTypeInfo) != 0 {
		t.Fatalf("%+v", none)
	}
}

func TestMoInstancesFilterByIdAndType(t *testing.T) {
	if got := moInstances("", ""); len(got) != len(esxcliCatalog)+1 {
		t.Fatalf("%v", got)
	}
	got := moInstances("ha-cli-handler-network-nic", "")
	if len(got) != 1 || got[0].MoType != "vim.EsxCLI.network.nic" {
		t.Fatalf("%v", got)
	}
	if got := moInstances("", "network.ip.interface"); len(got) != 2 {
		t.Fatalf("%v", got)
	}
}

// cliInfo mirrors govc's CommandInfo (govc/host/esxcli/command.go).
type cliInfo struct {
	Name   string `xml:"name"`
	Method []struct {
		Name  string `xml:"name"`
		Param []struct {
			Name    string   `xml:"name"`
			Aliases []string `xml:"aliases"`
			Flag    bool     `xml:"flag"`
		} `xml:"param"`
		Hints []struct {
			Key   string `xml:"key"`
			Value string `xml:"value"`
		} `xml:"hints"`
	} `xml:"method"`
}

func TestCLIInfoAsGovcDecodesIt(t *testing.T) {
	doc, ok := cliInfoXML("vim.EsxCLI.network.nic")
	if !ok {
		t.Fatal("network.nic unknown")
	}
	var info cliInfo
	if err := xml.Unmarshal([]byte(doc), &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != "network.nic" || len(info.Method) != 1 || info.Method[0].Name != "list" {
		t.Fatalf("%+v", info)
	}
	hints := map[string]string{}
	for _, h := range info.Method[0].Hints {
		hints[h.Key] = h.Value
	}
	if hints["formatter"] != "table" || !strings.HasPrefix(hints["fields:Nic"], "Name,PCI Device,Driver,Admin Status") {
		t.Fatalf("%v", hints)
	}
	doc, _ = cliInfoXML("vim.EsxCLI.network.diag")
	info = cliInfo{}
	if err := xml.Unmarshal([]byte(doc), &info); err != nil {
		t.Fatal(err)
	}
	for _, p := range info.Method[0].Param {
		if p.Name == "df" && (!p.Flag || strings.Join(p.Aliases, " ") != "-d --df") {
			t.Fatalf("%+v", p)
		}
	}
	for _, bad := range []string{"vim.EsxCLI.storage.core", "network.nic", ""} {
		if _, ok := cliInfoXML(bad); ok {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestCLILookupNeedsTheMatchingMoid(t *testing.T) {
	if _, m := cliLookup("ha-cli-handler-network-ip-interface-ipv4", "vim.EsxCLI.network.ip.interface.ipv4.set"); m == nil || m.Name != "set" {
		t.Fatal("ipv4 set not found")
	}
	if _, m := cliLookup("ha-cli-handler-network-ip", "vim.EsxCLI.network.ip.interface.ipv4.set"); m != nil {
		t.Fatal("wrong moid accepted")
	}
	if _, m := cliLookup("ha-cli-handler-network-nic", "vim.EsxCLI.network.nic.down"); m != nil {
		t.Fatal("unserved command accepted")
	}
}

func arg(name, val string) soapArgument {
	return soapArgument{Name: name, Val: "<" + name + ">" + val + "</" + name + ">"}
}

func TestParseCLIArgsChecksNamesTypesAndRequired(t *testing.T) {
	_, set := cliLookup("ha-cli-handler-network-ip-interface-ipv4", "vim.EsxCLI.network.ip.interface.ipv4.set")
	a, err := parseCLIArgs(set, []soapArgument{arg("interfacename", "vmk1"), arg("type", "static"), arg("peerdns", "false")})
	if err != nil || a.get("interfacename") != "vmk1" || a.get("type") != "static" {
		t.Fatalf("%v %v", a, err)
	}
	for _, c := range []struct {
		args []soapArgument
		want string
	}{
		{[]soapArgument{arg("type", "dhcp")}, "Missing required parameter -i|--interface-name"},
		{[]soapArgument{arg("interfacename", "vmk1"), arg("type", "dhcp"), arg("colour", "red")}, "Invalid option colour"},
		{[]soapArgument{arg("interfacename", "vmk1"), arg("type", "dhcp"), arg("peerdns", "maybe")}, "'peer-dns'"},
	} {
		if _, err := parseCLIArgs(set, c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%v: %v", c.args, err)
		}
	}
	_, add := cliLookup("ha-cli-handler-network-ip-interface", "vim.EsxCLI.network.ip.interface.add")
	if _, err := parseCLIArgs(add, []soapArgument{arg("mtu", "9k")}); err == nil || !strings.Contains(err.Error(), "'mtu'") {
		t.Fatal(err)
	}
}

func TestAnswersUseESXiEnvelopes(t *testing.T) {
	doc := arrayAnswer("VimEsxCLInetworkniclistNic", nicStruct, []record{{"Name": "vmnic0", "MTU": "9000", "Description": "a<b"}})
	want := `xsi:type="ArrayOfDataObject"><DataObject xsi:type="VimEsxCLInetworkniclistNic"><Name>vmnic0</Name><MTU>9000</MTU><Description>a&lt;b</Description></DataObject></obj>`
	if !strings.HasSuffix(doc, want) {
		t.Fatal(doc)
	}
	if b := booleanAnswer(true); !strings.HasSuffix(b, `xsi:type="xsd:boolean">true</obj>`) {
		t.Fatal(b)
	}
	if got := broadcast("10.1.2.3", "255.255.254.0"); got != "10.1.3.255" {
		t.Fatal(got)
	}
}
