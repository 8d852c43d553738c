package main

// esxcli network commands over ExecuteSoap, acting on the lab's own host
// state (hostnet.go), so what esxcli does is what HostNetworkSystem shows and
// the other way round:
//
//   network ip interface list        the host's vmknics (config.network.vnic)
//   network ip interface add         hostState.addVnic, the AddVirtualNic path
//   network ip interface ipv4 get    their IPv4 settings
//   network ip interface ipv4 set    hostState.updateVnic, the UpdateVirtualNic path
//   network nic list                 the host's pNICs (config.network.pnic)
//
// Arguments are checked against the catalogue (esxcli_types.go) first:
// an unknown parameter, a missing required one or a value of the wrong type
// is refused with an esxcli fault naming the parameter, and nothing changes.
// API faults of the host path come back as esxcli faults with their message.

import (
	"fmt"
	"html"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var esc = html.EscapeString

// cliArgs are the decoded arguments of one command: parameter name -> values.
type cliArgs map[string][]string

func (a cliArgs) get(name string) string {
	if v := a[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (a cliArgs) has(name string) bool { return len(a[name]) > 0 }

// fragmentValues returns each element's text of an argument fragment such as
// "<mtu>9000</mtu>" (a repeated parameter gives several elements).
func fragmentValues(val string) []string {
	t := fragmentText(val)
	if t == "" {
		return []string{""}
	}
	return strings.Split(t, ",")
}

func flagOf(p cliParam) string {
	if p.Short != "" {
		return "-" + p.Short + "|--" + p.Display
	}
	return "--" + p.Display
}

// parseCLIArgs checks the ExecuteSoap arguments of method m against its parameters.
func parseCLIArgs(m *cliMethod, in []soapArgument) (cliArgs, error) {
	params := map[string]cliParam{}
	for _, p := range m.Params {
		params[p.Name] = p
	}
	out := cliArgs{}
	for _, arg := range in {
		p, ok := params[arg.Name]
		if !ok {
			return nil, fmt.Errorf("Invalid option %s", arg.Name)
		}
		for _, v := range fragmentValues(arg.Val) {
			switch p.Type {
			case "long":
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					return nil, fmt.Errorf("Invalid data constraint for parameter '%s': %q is not an integer", p.Display, v)
				}
			case "boolean":
				if _, ok := parseBool(v); !ok {
					return nil, fmt.Errorf("Invalid data constraint for parameter '%s': %q is not a boolean", p.Display, v)
				}
			}
			out[p.Name] = append(out[p.Name], v)
		}
	}
	for _, p := range m.Params {
		if p.Required && !out.has(p.Name) {
			return nil, fmt.Errorf("Missing required parameter %s", flagOf(p))
		}
	}
	return out, nil
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true, true
	case "false", "0", "no", "off":
		return false, true
	}
	return false, false
}

// cliHandlers run one command on the host (its state lock not held).
var cliHandlers = map[string]func(hs *hostState, a cliArgs) (string, error){
	"vim.EsxCLI.network.ip.interface.list":     ipInterfaceList,
	"vim.EsxCLI.network.ip.interface.add":      ipInterfaceAdd,
	"vim.EsxCLI.network.ip.interface.ipv4.get": ipv4Get,
	"vim.EsxCLI.network.ip.interface.ipv4.set": ipv4Set,
	"vim.EsxCLI.network.nic.list":              nicList,
}

// ---------- answers ----------

// record is one DataObject: values by field name, written in the order of
// the data type's fields.
type record map[string]string

func arrayAnswer(wsdl string, s *cliStruct, recs []record) string {
	var b strings.Builder
	b.WriteString(xmlHead("ArrayOfDataObject"))
	for _, r := range recs {
		b.WriteString(`<DataObject xsi:type="` + wsdl + `">`)
		for _, f := range s.Fields {
			if v, ok := r[f.Name]; ok {
				b.WriteString("<" + f.Name + ">" + esc(v) + "</" + f.Name + ">")
			}
		}
		b.WriteString("</DataObject>")
	}
	b.WriteString("</obj>")
	return b.String()
}

func booleanAnswer(v bool) string {
	return xmlHead("xsd:boolean") + boolText(v) + "</obj>"
}

// faultText turns an API fault of the host path into the esxcli message.
func faultText(f *soap.Fault) string {
	if f == nil {
		return ""
	}
	return f.String
}

// ---------- network ip interface ----------

var rePortNum = regexp.MustCompile(`(\d+)$`)

// portID is the vmknic's numeric port ID as esxcli shows it.
func portID(v types.HostVirtualNic, dvIndex int) string {
	if c := v.Spec.DistributedVirtualPort; c != nil {
		n, _ := strconv.Atoi(c.PortKey)
		return strconv.Itoa(67108864 + dvIndex*4096 + n)
	}
	if m := rePortNum.FindString(v.Port); m != "" {
		return m
	}
	return "0"
}

func netstackOf(v types.HostVirtualNic) string {
	if v.Spec.NetStackInstanceKey == "" {
		return "defaultTcpipStack"
	}
	return v.Spec.NetStackInstanceKey
}

// vnicRecords lists the host's vmknics (caller holds hs.mu).
func (hs *hostState) vnicRecords(netstack string) []record {
	ni := hs.net()
	var out []record
	for _, v := range ni.Vnic {
		if netstack != "" && netstackOf(v) != netstack {
			continue
		}
		mtu := v.Spec.Mtu
		if mtu == 0 {
			mtu = 1500
		}
		r := record{
			"Name": v.Device, "MACAddress": v.Spec.Mac, "Enabled": "true",
			"NetstackInstance": netstackOf(v), "VDSName": "N/A", "VDSUUID": "N/A", "VDSPort": "N/A",
			"VDSConnection": "-1", "OpaqueNetworkID": "N/A", "OpaqueNetworkType": "N/A", "ExternalID": "N/A",
			"MTU": strconv.Itoa(int(mtu)), "TSOMSS": "65535", "RXDispQueueSize": "2",
		}
		if c := v.Spec.DistributedVirtualPort; c != nil {
			idx := 0
			for i, ps := range ni.ProxySwitch {
				if ps.DvsUuid == c.SwitchUuid {
					idx = i
					r["VDSName"] = ps.DvsName
				}
			}
			r["Portset"] = fmt.Sprintf("DvsPortset-%d", idx)
			r["Portgroup"] = "N/A"
			r["VDSUUID"] = c.SwitchUuid
			r["VDSPort"] = c.PortKey
			r["VDSConnection"] = strconv.Itoa(int(c.ConnectionCookie))
			r["PortID"] = portID(v, idx)
		} else {
			r["Portgroup"] = v.Portgroup
			r["Portset"] = ""
			if _, pg := hs.portgroup(v.Portgroup); pg != nil {
				r["Portset"] = pg.Spec.VswitchName
			}
			r["PortID"] = portID(v, 0)
		}
		out = append(out, r)
	}
	return out
}

func ipInterfaceList(hs *hostState, a cliArgs) (string, error) {
	ns, m := cliLookup("ha-cli-handler-network-ip-interface", "vim.EsxCLI.network.ip.interface.list")
	hs.mu.Lock()
	recs := hs.vnicRecords(a.get("netstack"))
	hs.mu.Unlock()
	return arrayAnswer(wsdlName(m.structName(ns)), m.Struct, recs), nil
}

var reVmk = regexp.MustCompile(`^vmk([0-9]|[1-9][0-9])$`)

func ipInterfaceAdd(hs *hostState, a cliArgs) (string, error) {
	spec := types.HostVirtualNicSpec{Mac: a.get("macaddress"), NetStackInstanceKey: a.get("netstack")}
	name := a.get("interfacename")
	if name != "" && !reVmk.MatchString(name) {
		return "", fmt.Errorf("Invalid interface name %s: the name must be in the form vmkX, where X is a number 0-99", name)
	}
	if a.has("mtu") {
		mtu, _ := strconv.Atoi(a.get("mtu"))
		if mtu == 0 {
			return "", fmt.Errorf("Invalid MTU 0: must be between 1280 and 9000")
		}
		spec.Mtu = int32(mtu)
	}
	pg := a.get("portgroupname")
	dvs, port := a.get("dvsname"), a.get("dvportid")
	switch {
	case pg != "" && (dvs != "" || port != ""):
		return "", fmt.Errorf("Only one of --portgroup-name or --dvs-name and --dvport-id can be given")
	case (dvs == "") != (port == ""):
		return "", fmt.Errorf("--dvs-name and --dvport-id must be given together")
	case pg == "" && dvs == "":
		return "", fmt.Errorf("Missing required parameter -p|--portgroup-name (or --dvs-name and --dvport-id)")
	case dvs != "":
		c, err := dvPortConnection(hs, dvs, port)
		if err != nil {
			return "", err
		}
		spec.DistributedVirtualPort = c
	}
	// An esxcli vmknic starts without IPv4 settings (type none), unlike
	// AddVirtualNic, whose spec always carries one; ipv4 set gives it one.
	spec.Ip = &types.HostIpConfig{Dhcp: true}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	dev, f := hs.addVnic(pg, spec, name)
	if f != nil {
		return "", fmt.Errorf("Unable to add VMkernel interface: %s", faultText(f))
	}
	_, v := hs.vnic(dev)
	v.Spec.Ip = &types.HostIpConfig{}
	hs.sync()
	return booleanAnswer(true), nil
}

// dvPortConnection is the connection to port `port` of the distributed switch
// named dvs (the host must be a member; the port must exist on it).
func dvPortConnection(hs *hostState, dvs, port string) (*types.DistributedVirtualSwitchPortConnection, error) {
	for _, d := range allDVS() {
		if d.Name != dvs {
			continue
		}
		if simulator.FindReference(d.Summary.HostMember, hs.host.Self) == nil {
			return nil, fmt.Errorf("Host %s is not a member of DVS %s", hs.host.Name, dvs)
		}
		for _, p := range switchPorts(d) {
			if p.Key != port {
				continue
			}
			if p.Connectee != nil {
				return nil, fmt.Errorf("DVPort %s of DVS %s is already in use", port, dvs)
			}
			return &types.DistributedVirtualSwitchPortConnection{SwitchUuid: d.Uuid, PortgroupKey: p.PortgroupKey, PortKey: port}, nil
		}
		return nil, fmt.Errorf("DVPort %s not found on DVS %s", port, dvs)
	}
	return nil, fmt.Errorf("DVS %s not found on host %s", dvs, hs.host.Name)
}

// ---------- network ip interface ipv4 ----------

func broadcast(ip, mask string) string {
	a, m := net.ParseIP(ip).To4(), net.ParseIP(mask).To4()
	if a == nil || m == nil {
		return ""
	}
	out := make(net.IP, 4)
	for i := range out {
		out[i] = a[i] | ^m[i]
	}
	return out.String()
}

func gatewayOf(v types.HostVirtualNic) string {
	if v.Spec.IpRouteSpec != nil {
		if cfg, ok := v.Spec.IpRouteSpec.IpRouteConfig.(*types.HostIpRouteConfig); ok && cfg.DefaultGateway != "" {
			return cfg.DefaultGateway
		}
	}
	return "0.0.0.0"
}

func ipv4Get(hs *hostState, a cliArgs) (string, error) {
	ns, m := cliLookup("ha-cli-handler-network-ip-interface-ipv4", "vim.EsxCLI.network.ip.interface.ipv4.get")
	name, netstack := a.get("interfacename"), a.get("netstack")
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if name != "" {
		if _, v := hs.vnic(name); v == nil {
			return "", fmt.Errorf("Unable to find vmknic %s", name)
		}
	}
	var recs []record
	for _, v := range hs.net().Vnic {
		if (name != "" && v.Device != name) || (netstack != "" && netstackOf(v) != netstack) {
			continue
		}
		r := record{"Name": v.Device, "IPv4Address": "", "IPv4Netmask": "", "IPv4Broadcast": "",
			"AddressType": "NONE", "Gateway": gatewayOf(v), "DHCPDNS": "false"}
		if ip := v.Spec.Ip; ip != nil {
			r["IPv4Address"], r["IPv4Netmask"] = ip.IpAddress, ip.SubnetMask
			r["IPv4Broadcast"] = broadcast(ip.IpAddress, ip.SubnetMask)
			switch {
			case ip.Dhcp:
				r["AddressType"] = "DHCP"
			case ip.IpAddress != "":
				r["AddressType"] = "STATIC"
			}
		}
		recs = append(recs, r)
	}
	sort.SliceStable(recs, func(i, j int) bool { return vmkNum(recs[i]["Name"]) < vmkNum(recs[j]["Name"]) })
	return arrayAnswer(wsdlName(m.structName(ns)), m.Struct, recs), nil
}

func vmkNum(dev string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(dev, "vmk"))
	return n
}

func ipv4Set(hs *hostState, a cliArgs) (string, error) {
	name, kind := a.get("interfacename"), strings.ToLower(a.get("type"))
	spec := types.HostVirtualNicSpec{}
	switch kind {
	case "static":
		if !a.has("ipv4") || !a.has("netmask") {
			return "", fmt.Errorf("Static IPv4 type requires both --ipv4 and --netmask")
		}
		spec.Ip = &types.HostIpConfig{IpAddress: a.get("ipv4"), SubnetMask: a.get("netmask")}
	case "dhcp":
		if a.has("ipv4") || a.has("netmask") {
			return "", fmt.Errorf("--ipv4 and --netmask are only valid with --type static")
		}
		spec.Ip = &types.HostIpConfig{Dhcp: true}
	case "none":
		if a.has("ipv4") || a.has("netmask") || a.has("gateway") {
			return "", fmt.Errorf("--ipv4, --netmask and --gateway are only valid with --type static")
		}
	default:
		return "", fmt.Errorf("Invalid data constraint for parameter 'type': %q is not one of dhcp, none, static", a.get("type"))
	}
	if a.has("gateway") {
		if kind != "static" {
			return "", fmt.Errorf("--gateway is only valid with --type static")
		}
		spec.IpRouteSpec = &types.HostVirtualNicIpRouteSpec{IpRouteConfig: &types.HostIpRouteConfig{DefaultGateway: a.get("gateway")}}
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	_, v := hs.vnic(name)
	if v == nil {
		return "", fmt.Errorf("Unable to find vmknic %s", name)
	}
	if kind == "none" {
		v.Spec.Ip = &types.HostIpConfig{}
		v.Spec.IpRouteSpec = nil
		hs.sync()
		return booleanAnswer(true), nil
	}
	if f := hs.updateVnic(name, spec); f != nil {
		return "", fmt.Errorf("Unable to set IPv4 settings of %s: %s", name, faultText(f))
	}
	return booleanAnswer(true), nil
}

// ---------- network nic ----------

// pnicMTU is the MTU of the switch a pNIC is an uplink of (1500 when free).
func (hs *hostState) pnicMTU(p types.PhysicalNic) int32 {
	ni := hs.net()
	for _, sw := range ni.Vswitch {
		for _, k := range sw.Pnic {
			if k == p.Key {
				return sw.Mtu
			}
		}
	}
	for _, ps := range ni.ProxySwitch {
		for _, k := range ps.Pnic {
			if k == p.Key && ps.Mtu > 0 {
				return ps.Mtu
			}
		}
	}
	return 1500
}

func nicList(hs *hostState, _ cliArgs) (string, error) {
	ns, m := cliLookup("ha-cli-handler-network-nic", "vim.EsxCLI.network.nic.list")
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var recs []record
	for _, p := range hs.net().Pnic {
		pci := pnicPciDevice(p)
		r := record{"Name": p.Device, "PCIDevice": p.Pci, "Driver": p.Driver, "AdminStatus": "Up",
			"LinkStatus": "Down", "Speed": "0", "Duplex": "Half", "MACAddress": p.Mac,
			"MTU": strconv.Itoa(int(hs.pnicMTU(p))), "Description": pci.VendorName + " " + pci.DeviceName}
		if !linkDown(p) {
			r["LinkStatus"] = "Up"
			r["Speed"] = strconv.Itoa(int(p.LinkSpeed.SpeedMb))
			if p.LinkSpeed.Duplex {
				r["Duplex"] = "Full"
			}
		}
		recs = append(recs, r)
	}
	return arrayAnswer(wsdlName(m.structName(ns)), m.Struct, recs), nil
}
