package main

// esxcli type discovery, as a generic esxcli client (govc host.esxcli,
// PowerCLI Get-EsxCli, pyVmomi's old DynamicTypeManagerHelper) does it before
// it runs a command:
//
//   - HostSystem.RetrieveDynamicTypeManager returns the host's
//     InternalDynamicTypeManager (vmodl.reflect.DynamicTypeManager);
//   - DynamicTypeMgrQueryTypeInfo(filterSpec DynamicTypeMgrTypeFilterSpec
//     {typeSubstr}) returns the managed types (one per esxcli namespace, one
//     method per command, parameters with their types and "optional"
//     annotations) and the data types of the answers;
//   - DynamicTypeMgrQueryMoInstances(filterSpec DynamicTypeMgrMoFilterSpec
//     {id, typeSubstr}) returns the handler instances (id
//     ha-cli-handler-<namespace with dashes>, moType vim.EsxCLI.<namespace>);
//   - ExecuteSoap(moid ha-dynamic-type-manager-local-cli-cliinfo, method
//     vim.CLIInfo.FetchCLIInfo, typeName vim.EsxCLI.<namespace>) returns the
//     CLI view of a namespace: display names, help, the -x/--long aliases each
//     parameter is given on the command line, and formatting hints.
//
// All four answers are generated from one catalogue (esxcliCatalog below), so
// type info, CLI info and the handlers (esxcli_network.go) cannot disagree.
// The catalogue holds only the namespaces the lab serves: network diag ping,
// network ip interface list/add, network ip interface ipv4 get/set and
// network nic list. Names follow ESXi's own type dumps (govmomi's
// simulator/esx fixtures for the shapes and naming rules; ESXi 7.0 esxcli
// help for parameters and fields).

import (
	"reflect"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	dtmType       = "InternalDynamicTypeManager"
	dtmPrefix     = "ha-dynamic-type-manager-"
	cliInfoMoid   = "ha-dynamic-type-manager-local-cli-cliinfo"
	cliInfoMethod = "vim.CLIInfo.FetchCLIInfo"
	cliVersion    = "vim.version.version5"
	cliHandler    = "ha-cli-handler-"
	cliPrefix     = "vim.EsxCLI."
)

// ---------- catalogue ----------

// cliParam is one parameter of an esxcli command.
type cliParam struct {
	Name     string // the API name (no dashes): "interfacename"
	Display  string // the CLI name: "interface-name"
	Short    string // the one-letter alias: "i" ("" when there is none)
	Type     string // string, long, boolean
	Help     string
	Required bool
	Flag     bool // a switch that takes no value on the command line
}

// cliField is one field of an answer's data type.
type cliField struct {
	Name    string // XML element: "MACAddress"
	Display string // column title: "MAC Address"
	Type    string
}

// cliStruct is an answer's data type: Name is the short name
// ("NetworkInterface"); the full name is vim.EsxCLI.<ns>.<method>.<Name>.
type cliStruct struct {
	Name   string
	Fields []cliField
}

// cliMethod is one command.
type cliMethod struct {
	Name    string
	Help    string
	Params  []cliParam
	Returns string     // "boolean", or "" when Struct is set
	Struct  *cliStruct // the answer's data type
	List    bool       // the answer is a list of Struct
	Table   bool       // formatter hint "table" (else "simple")
}

// cliNamespace is one esxcli namespace ("network.ip.interface").
type cliNamespace struct {
	Name    string
	Help    string
	Methods []cliMethod
}

var netstackParam = cliParam{Name: "netstack", Display: "netstack", Short: "N", Type: "string",
	Help: "The network stack instance; if unspecified, use the default netstack instance"}

var networkInterfaceStruct = &cliStruct{Name: "NetworkInterface", Fields: []cliField{
	{"Name", "Name", "string"}, {"MACAddress", "MAC Address", "string"}, {"Enabled", "Enabled", "boolean"},
	{"Portset", "Portset", "string"}, {"Portgroup", "Portgroup", "string"},
	{"NetstackInstance", "Netstack Instance", "string"}, {"VDSName", "VDS Name", "string"},
	{"VDSUUID", "VDS UUID", "string"}, {"VDSPort", "VDS Port", "string"},
	{"VDSConnection", "VDS Connection", "long"}, {"OpaqueNetworkID", "Opaque Network ID", "string"},
	{"OpaqueNetworkType", "Opaque Network Type", "string"}, {"ExternalID", "External ID", "string"},
	{"MTU", "MTU", "long"}, {"TSOMSS", "TSO MSS", "long"}, {"RXDispQueueSize", "RXDispQueue Size", "long"},
	{"PortID", "Port ID", "long"},
}}

var ipv4InterfaceStruct = &cliStruct{Name: "IPv4Interface", Fields: []cliField{
	{"Name", "Name", "string"}, {"IPv4Address", "IPv4 Address", "string"},
	{"IPv4Netmask", "IPv4 Netmask", "string"}, {"IPv4Broadcast", "IPv4 Broadcast", "string"},
	{"AddressType", "Address Type", "string"}, {"Gateway", "Gateway", "string"},
	{"DHCPDNS", "DHCP DNS", "boolean"},
}}

var nicStruct = &cliStruct{Name: "Nic", Fields: []cliField{
	{"Name", "Name", "string"}, {"PCIDevice", "PCI Device", "string"}, {"Driver", "Driver", "string"},
	{"AdminStatus", "Admin Status", "string"}, {"LinkStatus", "Link Status", "string"},
	{"Speed", "Speed", "long"}, {"Duplex", "Duplex", "string"}, {"MACAddress", "MAC Address", "string"},
	{"MTU", "MTU", "long"}, {"Description", "Description", "string"},
}}

var vmkPingStruct = &cliStruct{Name: "VMKPing", Fields: []cliField{
	{"Summary", "Summary", cliPrefix + "network.diag.ping.Summary"},
	{"Trace", "Trace", cliPrefix + "network.diag.ping.Trace[]"},
}}

// pingParts are the data types nested in the ping answer.
var pingParts = []struct {
	Name   string
	Fields []cliField
}{
	{"Summary", []cliField{{"Duplicated", "", "long"}, {"HostAddr", "", "string"}, {"PacketLost", "", "long"},
		{"Recieved", "", "long"}, {"RoundtripAvg", "", "long"}, {"RoundtripMax", "", "long"},
		{"RoundtripMin", "", "long"}, {"Transmitted", "", "long"}}},
	{"Trace", []cliField{{"Detail", "", "string"}, {"Dup", "", "boolean"}, {"Host", "", "string"},
		{"ICMPSeq", "", "long"}, {"ReceivedBytes", "", "long"}, {"RoundtripTime", "", "long"}, {"TTL", "", "long"}}},
}

var esxcliCatalog = []cliNamespace{
	{Name: "network.diag", Help: "Operations pertaining to network diagnostics", Methods: []cliMethod{{
		Name: "ping", Help: "Send ICMP echo requests to network hosts.", Struct: vmkPingStruct,
		Params: []cliParam{
			{Name: "count", Display: "count", Short: "c", Type: "long", Help: "Specify the number of packets to send."},
			{Name: "debug", Display: "debug", Short: "D", Type: "boolean", Flag: true, Help: "VMKPing debug mode."},
			{Name: "df", Display: "df", Short: "d", Type: "boolean", Flag: true, Help: "Set DF bit on IPv4 packets."},
			{Name: "host", Display: "host", Short: "H", Type: "string", Help: "Specify the host to send packets to. This parameter is required when not executing ping in debug mode (-D)"},
			{Name: "interface", Display: "interface", Short: "I", Type: "string", Help: "Specify the outgoing interface."},
			{Name: "interval", Display: "interval", Short: "i", Type: "string", Help: "Set the interval for sending packets in seconds."},
			{Name: "ipv4", Display: "ipv4", Short: "4", Type: "boolean", Flag: true, Help: "Ping with ICMPv4 echo requests."},
			{Name: "ipv6", Display: "ipv6", Short: "6", Type: "boolean", Flag: true, Help: "Ping with ICMPv6 echo requests."},
			{Name: "netstack", Display: "netstack", Short: "N", Type: "string", Help: "Specify the TCP/IP netstack which the interface resides on"},
			{Name: "nexthop", Display: "nexthop", Short: "n", Type: "string", Help: "Override the system's default route selection, in dotted quad notation. (IPv4 only. Requires interface option)"},
			{Name: "size", Display: "size", Short: "s", Type: "long", Help: "Set the payload size of the packets to send."},
			{Name: "ttl", Display: "ttl", Short: "t", Type: "long", Help: "Set IPv4 Time To Live or IPv6 Hop Limit"},
			{Name: "wait", Display: "wait", Short: "W", Type: "string", Help: "Set the timeout to wait if no responses are received in seconds."},
		}}}},
	{Name: "network.ip.interface", Help: "Operations having to do with the creation, management and deletion of VMkernel network interfaces (vmknic).", Methods: []cliMethod{
		{Name: "add", Help: "Add a new VMkernel network interface.", Returns: "boolean", Params: []cliParam{
			{Name: "dvportid", Display: "dvport-id", Short: "v", Type: "string", Help: "The DVPort ID of the connection point. This requires --dvs-name to be given in the same command"},
			{Name: "dvsname", Display: "dvs-name", Short: "s", Type: "string", Help: "The DVS name of the connection point. This requires --dvport-id to be given in the same command"},
			{Name: "interfacename", Display: "interface-name", Short: "i", Type: "string", Help: "The name of the VMkernel network interface to create. This name must be in the form vmkX, where X is a number 0-99"},
			{Name: "macaddress", Display: "mac-address", Short: "M", Type: "string", Help: "Set the MAC address for the newly created VMkernel network interface."},
			{Name: "mtu", Display: "mtu", Short: "m", Type: "long", Help: "Set the MTU setting for a given VMkernel network interface on creation"},
			{Name: "netstack", Display: "netstack", Short: "N", Type: "string", Help: "The network stack instance; if unspecified, use the default netstack instance"},
			{Name: "portgroupname", Display: "portgroup-name", Short: "p", Type: "string", Help: "The name of the port group to add this VMkernel network interface to. This option is required unless --dvs-name and --dvport-id are given."},
		}},
		{Name: "list", Help: "This command will list the VMkernel network interfaces currently known to the system.",
			Struct: networkInterfaceStruct, List: true, Params: []cliParam{netstackParam}},
	}},
	{Name: "network.ip.interface.ipv4", Help: "Commands to get and set IPv4 settings for vmknic.", Methods: []cliMethod{
		{Name: "get", Help: "Get IPv4 settings for VMkernel network interfaces.", Struct: ipv4InterfaceStruct, List: true, Table: true, Params: []cliParam{
			{Name: "interfacename", Display: "interface-name", Short: "i", Type: "string", Help: "The name of the VMkernel network interface to limit the output of this command to."},
			netstackParam,
		}},
		{Name: "set", Help: "Configure IPv4 setting for a given VMkernel network interface.", Returns: "boolean", Params: []cliParam{
			{Name: "gateway", Display: "gateway", Short: "g", Type: "string", Help: "The static IPv4 default gateway for this interface."},
			{Name: "interfacename", Display: "interface-name", Short: "i", Type: "string", Required: true, Help: "The name of the VMkernel network interface to set IPv4 settings for. This name must be an interface listed in the interface list command."},
			{Name: "ipv4", Display: "ipv4", Short: "I", Type: "string", Help: "The static IPv4 address for this interface."},
			{Name: "netmask", Display: "netmask", Short: "N", Type: "string", Help: "The static IPv4 netmask for this interface."},
			{Name: "peerdns", Display: "peer-dns", Short: "P", Type: "boolean", Help: "A boolean value to indicate if the system should use the DNS settings published via DHCP for this interface."},
			{Name: "type", Display: "type", Short: "t", Type: "string", Required: true, Help: "IPv4 Address type :\n    dhcp: Use DHCP to aquire IPv4 setting for this interface.\n    none: Remove IPv4 settings form this interface.\n    static: Set Static IPv4 information for this interface. Requires --ipv4 and --netmask options."},
		}},
	}},
	{Name: "network.nic", Help: "Operations having to do with the configuration of Network Interface Card and getting and updating the NIC settings.", Methods: []cliMethod{
		{Name: "list", Help: "This command will list the Physical NICs currently installed and loaded on the system.", Struct: nicStruct, List: true, Table: true},
	}},
}

func cliNamespaceOf(name string) *cliNamespace {
	for i := range esxcliCatalog {
		if esxcliCatalog[i].Name == name {
			return &esxcliCatalog[i]
		}
	}
	return nil
}

// cliLookup finds the command behind an ExecuteSoap moid and method.
func cliLookup(moid, method string) (*cliNamespace, *cliMethod) {
	full := strings.TrimPrefix(method, cliPrefix)
	dot := strings.LastIndex(full, ".")
	if !strings.HasPrefix(method, cliPrefix) || dot < 0 {
		return nil, nil
	}
	ns := cliNamespaceOf(full[:dot])
	if ns == nil || moid != cliHandler+strings.ReplaceAll(ns.Name, ".", "-") {
		return nil, nil
	}
	for i := range ns.Methods {
		if ns.Methods[i].Name == full[dot+1:] {
			return ns, &ns.Methods[i]
		}
	}
	return ns, nil
}

// wsdlName is ESXi's WSDL name of a dynamic type: "vim.EsxCLI.network.nic"
// -> "VimEsxCLInetworknic".
func wsdlName(name string) string {
	return "VimEsxCLI" + strings.ReplaceAll(strings.TrimPrefix(name, cliPrefix), ".", "")
}

func (m *cliMethod) structName(ns *cliNamespace) string {
	return cliPrefix + ns.Name + "." + m.Name + "." + m.Struct.Name
}

func (m *cliMethod) returnType(ns *cliNamespace) string {
	if m.Struct == nil {
		return m.Returns
	}
	if m.List {
		return m.structName(ns) + "[]"
	}
	return m.structName(ns)
}

// ---------- wire types (govmomi internal/types.go, not importable here) ----------

type dtmAnnotation struct {
	types.DynamicData
	Name      string   `xml:"name"`
	Parameter []string `xml:"parameter,omitempty"`
}

type dtmParamTypeInfo struct {
	types.DynamicData
	Name       string          `xml:"name"`
	Version    string          `xml:"version"`
	Type       string          `xml:"type"`
	PrivId     string          `xml:"privId,omitempty"`
	Annotation []dtmAnnotation `xml:"annotation,omitempty"`
}

type dtmPropertyTypeInfo struct {
	types.DynamicData
	Name        string          `xml:"name"`
	Version     string          `xml:"version"`
	Type        string          `xml:"type"`
	PrivId      string          `xml:"privId,omitempty"`
	MsgIdFormat string          `xml:"msgIdFormat,omitempty"`
	Annotation  []dtmAnnotation `xml:"annotation,omitempty"`
}

type dtmMethodTypeInfo struct {
	types.DynamicData
	Name           string             `xml:"name"`
	WsdlName       string             `xml:"wsdlName"`
	Version        string             `xml:"version"`
	ParamTypeInfo  []dtmParamTypeInfo `xml:"paramTypeInfo,omitempty"`
	ReturnTypeInfo *dtmParamTypeInfo  `xml:"returnTypeInfo,omitempty"`
	Fault          []string           `xml:"fault,omitempty"`
	PrivId         string             `xml:"privId,omitempty"`
	Annotation     []dtmAnnotation    `xml:"annotation,omitempty"`
}

type dtmManagedTypeInfo struct {
	types.DynamicData
	Name       string                `xml:"name"`
	WsdlName   string                `xml:"wsdlName"`
	Version    string                `xml:"version"`
	Base       []string              `xml:"base,omitempty"`
	Property   []dtmPropertyTypeInfo `xml:"property,omitempty"`
	Method     []dtmMethodTypeInfo   `xml:"method,omitempty"`
	Annotation []dtmAnnotation       `xml:"annotation,omitempty"`
}

type dtmDataTypeInfo struct {
	types.DynamicData
	Name       string                `xml:"name"`
	WsdlName   string                `xml:"wsdlName"`
	Version    string                `xml:"version"`
	Base       []string              `xml:"base,omitempty"`
	Property   []dtmPropertyTypeInfo `xml:"property,omitempty"`
	Annotation []dtmAnnotation       `xml:"annotation,omitempty"`
}

type dtmEnumTypeInfo struct {
	types.DynamicData
	Name       string          `xml:"name"`
	WsdlName   string          `xml:"wsdlName"`
	Version    string          `xml:"version"`
	Value      []string        `xml:"value,omitempty"`
	Annotation []dtmAnnotation `xml:"annotation,omitempty"`
}

// dtmAllTypeInfo is DynamicTypeMgrAllTypeInfo.
type dtmAllTypeInfo struct {
	types.DynamicData
	ManagedTypeInfo []dtmManagedTypeInfo `xml:"managedTypeInfo,omitempty"`
	EnumTypeInfo    []dtmEnumTypeInfo    `xml:"enumTypeInfo,omitempty"`
	DataTypeInfo    []dtmDataTypeInfo    `xml:"dataTypeInfo,omitempty"`
}

// DynamicTypeMgrFilterSpec and its two kinds (the request carries one by xsi:type).
type DynamicTypeMgrFilterSpec struct {
	types.DynamicData
}

func (b *DynamicTypeMgrFilterSpec) GetDynamicTypeMgrFilterSpec() *DynamicTypeMgrFilterSpec { return b }

type baseDTMFilterSpec interface {
	GetDynamicTypeMgrFilterSpec() *DynamicTypeMgrFilterSpec
}

type DynamicTypeMgrTypeFilterSpec struct {
	DynamicTypeMgrFilterSpec
	TypeSubstr string `xml:"typeSubstr,omitempty"`
}

type DynamicTypeMgrMoFilterSpec struct {
	DynamicTypeMgrFilterSpec
	Id         string `xml:"id,omitempty"`
	TypeSubstr string `xml:"typeSubstr,omitempty"`
}

type dtmMoInstance struct {
	types.DynamicData
	Id     string `xml:"id"`
	MoType string `xml:"moType"`
}

type retrieveDTMRequest struct {
	This types.ManagedObjectReference `xml:"_this"`
}

type RetrieveDynamicTypeManagerResponse struct {
	Returnval *types.ManagedObjectReference `xml:"urn:vim25 returnval"`
}

type retrieveDTMBody struct {
	Res    *RetrieveDynamicTypeManagerResponse `xml:"urn:vim25 RetrieveDynamicTypeManagerResponse,omitempty"`
	Fault_ *soap.Fault                         `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *retrieveDTMBody) Fault() *soap.Fault { return b.Fault_ }

type queryTypeInfoRequest struct {
	This       types.ManagedObjectReference `xml:"_this"`
	FilterSpec baseDTMFilterSpec            `xml:"filterSpec,omitempty,typeattr"`
}

type DynamicTypeMgrQueryTypeInfoResponse struct {
	Returnval dtmAllTypeInfo `xml:"urn:vim25 returnval"`
}

type queryTypeInfoBody struct {
	Res    *DynamicTypeMgrQueryTypeInfoResponse `xml:"urn:vim25 DynamicTypeMgrQueryTypeInfoResponse,omitempty"`
	Fault_ *soap.Fault                          `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *queryTypeInfoBody) Fault() *soap.Fault { return b.Fault_ }

type queryMoInstancesRequest struct {
	This       types.ManagedObjectReference `xml:"_this"`
	FilterSpec baseDTMFilterSpec            `xml:"filterSpec,omitempty,typeattr"`
}

type DynamicTypeMgrQueryMoInstancesResponse struct {
	Returnval []dtmMoInstance `xml:"urn:vim25 returnval"`
}

type queryMoInstancesBody struct {
	Res    *DynamicTypeMgrQueryMoInstancesResponse `xml:"urn:vim25 DynamicTypeMgrQueryMoInstancesResponse,omitempty"`
	Fault_ *soap.Fault                             `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *queryMoInstancesBody) Fault() *soap.Fault { return b.Fault_ }

func init() {
	types.Add("RetrieveDynamicTypeManager", reflect.TypeOf((*retrieveDTMRequest)(nil)).Elem())
	types.Add("DynamicTypeMgrQueryTypeInfo", reflect.TypeOf((*queryTypeInfoRequest)(nil)).Elem())
	types.Add("DynamicTypeMgrQueryMoInstances", reflect.TypeOf((*queryMoInstancesRequest)(nil)).Elem())
	types.Add("DynamicTypeMgrFilterSpec", reflect.TypeOf((*DynamicTypeMgrFilterSpec)(nil)).Elem())
	types.Add("DynamicTypeMgrTypeFilterSpec", reflect.TypeOf((*DynamicTypeMgrTypeFilterSpec)(nil)).Elem())
	types.Add("DynamicTypeMgrMoFilterSpec", reflect.TypeOf((*DynamicTypeMgrMoFilterSpec)(nil)).Elem())
}

// ---------- the host's dynamic type manager ----------

func (h *hostEsxcli) RetrieveDynamicTypeManager(ctx *simulator.Context, req *retrieveDTMRequest) soap.HasFault {
	ref := types.ManagedObjectReference{Type: dtmType, Value: dtmPrefix + h.Orig.Value}
	if simulator.Map.Get(ref) == nil {
		simulator.Map.Put(&dynamicTypeManager{Self: ref, Host: h.Orig})
	}
	return &retrieveDTMBody{Res: &RetrieveDynamicTypeManagerResponse{Returnval: &ref}}
}

// dynamicTypeManager is a host's InternalDynamicTypeManager. Its answers are
// read-only views of the catalogue, so it takes no lock.
type dynamicTypeManager struct {
	Self types.ManagedObjectReference
	Host types.ManagedObjectReference
}

func (d *dynamicTypeManager) Reference() types.ManagedObjectReference { return d.Self }
func (d *dynamicTypeManager) Lock()                                   {}
func (d *dynamicTypeManager) Unlock()                                 {}

func (d *dynamicTypeManager) DynamicTypeMgrQueryTypeInfo(ctx *simulator.Context, req *queryTypeInfoRequest) soap.HasFault {
	substr := ""
	if spec, ok := req.FilterSpec.(*DynamicTypeMgrTypeFilterSpec); ok {
		substr = spec.TypeSubstr
	}
	return &queryTypeInfoBody{Res: &DynamicTypeMgrQueryTypeInfoResponse{Returnval: typeInfo(substr)}}
}

func (d *dynamicTypeManager) DynamicTypeMgrQueryMoInstances(ctx *simulator.Context, req *queryMoInstancesRequest) soap.HasFault {
	var id, substr string
	if spec, ok := req.FilterSpec.(*DynamicTypeMgrMoFilterSpec); ok {
		id, substr = spec.Id, spec.TypeSubstr
	}
	return &queryMoInstancesBody{Res: &DynamicTypeMgrQueryMoInstancesResponse{Returnval: moInstances(id, substr)}}
}

// moInstances lists the handler objects (one per namespace, plus the CLI
// info object), filtered like ESXi: id exactly, typeSubstr as a substring.
func moInstances(id, substr string) []dtmMoInstance {
	all := []dtmMoInstance{{Id: cliInfoMoid, MoType: "vim.CLIInfo"}}
	for _, ns := range esxcliCatalog {
		all = append(all, dtmMoInstance{Id: cliHandler + strings.ReplaceAll(ns.Name, ".", "-"), MoType: cliPrefix + ns.Name})
	}
	var out []dtmMoInstance
	for _, mi := range all {
		if (id == "" || mi.Id == id) && strings.Contains(mi.MoType, substr) {
			out = append(out, mi)
		}
	}
	return out
}

var optional = []dtmAnnotation{{Name: "optional"}}

func propType(f cliField) dtmPropertyTypeInfo {
	return dtmPropertyTypeInfo{Name: f.Name, Version: cliVersion, Type: f.Type}
}

// typeInfo is DynamicTypeMgrAllTypeInfo for the types whose name contains substr.
func typeInfo(substr string) dtmAllTypeInfo {
	var all dtmAllTypeInfo
	addData := func(name string, fields []cliField) {
		if !strings.Contains(name, substr) {
			return
		}
		dt := dtmDataTypeInfo{Name: name, WsdlName: wsdlName(name), Version: cliVersion, Base: []string{"vmodl.DynamicData"}}
		for _, f := range fields {
			dt.Property = append(dt.Property, propType(f))
		}
		all.DataTypeInfo = append(all.DataTypeInfo, dt)
	}
	for _, ns := range esxcliCatalog {
		name := cliPrefix + ns.Name
		mt := dtmManagedTypeInfo{Name: name, WsdlName: wsdlName(name), Version: cliVersion, Base: []string{"vmodl.ManagedObject"}}
		for i := range ns.Methods {
			m := &ns.Methods[i]
			mi := dtmMethodTypeInfo{Name: m.Name, WsdlName: wsdlName(name + "." + m.Name), Version: cliVersion,
				Fault: []string{"vim.EsxCLI.CLIFault"}}
			for _, p := range m.Params {
				pt := dtmParamTypeInfo{Name: p.Name, Version: cliVersion, Type: p.Type}
				if !p.Required {
					pt.Annotation = optional
				}
				mi.ParamTypeInfo = append(mi.ParamTypeInfo, pt)
			}
			ret := &dtmParamTypeInfo{Name: "result", Version: cliVersion, Type: m.returnType(&ns)}
			if m.List {
				ret.Annotation = optional
			}
			mi.ReturnTypeInfo = ret
			mt.Method = append(mt.Method, mi)
			if m.Struct != nil {
				addData(m.structName(&ns), m.Struct.Fields)
			}
		}
		if strings.Contains(name, substr) {
			all.ManagedTypeInfo = append(all.ManagedTypeInfo, mt)
		}
	}
	for _, part := range pingParts {
		addData(cliPrefix+"network.diag.ping."+part.Name, part.Fields)
	}
	return all
}

// ---------- CLI info (vim.CLIInfo.FetchCLIInfo) ----------

// cliInfoXML is the FetchCLIInfo answer for namespace typeName
// ("vim.EsxCLI.network.nic"), in ESXi's format: a VimCLIInfo with one method
// element per command, each parameter with its aliases ("-i",
// "--interface-name"), and the formatter/fields hints govc formats tables by.
func cliInfoXML(typeName string) (string, bool) {
	ns := cliNamespaceOf(strings.TrimPrefix(typeName, cliPrefix))
	if ns == nil || !strings.HasPrefix(typeName, cliPrefix) {
		return "", false
	}
	var b strings.Builder
	b.WriteString(xmlHead("VimCLIInfo"))
	last := ns.Name[strings.LastIndex(ns.Name, ".")+1:]
	writeItem(&b, ns.Name, last, ns.Help)
	for i := range ns.Methods {
		m := &ns.Methods[i]
		b.WriteString("<method>")
		writeItem(&b, m.Name, m.Name, m.Help)
		for _, p := range m.Params {
			b.WriteString("<param>")
			writeItem(&b, p.Name, p.Display, p.Help)
			if p.Short != "" {
				b.WriteString("<aliases>-" + esc(p.Short) + "</aliases>")
			}
			b.WriteString("<aliases>--" + esc(p.Display) + "</aliases>")
			b.WriteString("<flag>" + boolText(p.Flag) + "</flag></param>")
		}
		if m.Struct != nil && m.Table {
			var cols []string
			for _, f := range m.Struct.Fields {
				cols = append(cols, f.Display)
			}
			b.WriteString("<hints><key>fields:" + esc(m.Struct.Name) + "</key><value>" + esc(strings.Join(cols, ",")) + "</value></hints>")
		}
		formatter := ""
		if m.Table {
			formatter = "table"
		} else if m.Struct != nil {
			formatter = "simple"
		}
		b.WriteString("<hints><key>formatter</key><value>" + formatter + "</value></hints>")
		b.WriteString("</method>")
	}
	b.WriteString("</obj>")
	return b.String(), true
}

func writeItem(b *strings.Builder, name, display, help string) {
	b.WriteString("<name>" + esc(name) + "</name><displayName>" + esc(display) + "</displayName><help>" + esc(help) + "</help>")
}

func boolText(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

// xmlHead opens ESXi's answer document with root type xsiType.
func xmlHead(xsiType string) string {
	return `<obj xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
		`xmlns="urn:vim25" versionId="5.0" xsi:type="` + xsiType + `">`
}
