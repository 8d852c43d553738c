package main

// Realistic hosts for the lab topology (setup step): 6 pNICs (-pnics), vSwitch0 with
// Management Network (vmk0), VM Network and vMotion (vmk1), service
// selection, LLDP/CDP neighbours; unique VM MACs.

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func hashRef(s string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return int(h.Sum32() & 0x3fff)
}

// vmkMAC: VMware OUI, 00:50:56:4x:xx:xx (host ordinal, adapter index).
func vmkMAC(host, idx int) string {
	v := 0x400000 | (host&0x3fff)<<6 | (idx & 0x3f)
	return fmt.Sprintf("00:50:56:%02x:%02x:%02x", v>>16&0xff, v>>8&0xff, v&0xff)
}

// labMAC is kept for generated vmknic MACs at runtime.
func labMAC(_ int, host, idx int) string { return vmkMAC(host, idx) }

// pnicMAC: Intel OUI 3c:fd:fe, host ordinal, NIC index.
func pnicMAC(host, idx int) string {
	return fmt.Sprintf("3c:fd:fe:%02x:%02x:%02x", host>>8&0xff, host&0xff, idx&0xff)
}

// hostIPs returns management and vMotion addresses for cluster c, host h.
func hostIPs(c, h int) (string, string) {
	if h < 254 {
		return fmt.Sprintf("10.0.%d.%d", c%256, h+1), fmt.Sprintf("10.1.%d.%d", c%256, h+1)
	}
	return fmt.Sprintf("10.%d.%d.%d", 100+h/254, c%256, h%254+1), fmt.Sprintf("10.%d.%d.%d", 200+h/254, c%256, h%254+1)
}

type hostPos struct {
	cluster, index, ordinal int
	tor                     string
}

var hostPositions = map[string]hostPos{}

func pnicHint(h *simulator.HostSystem, p types.PhysicalNic) types.PhysicalNicHintInfo {
	pos := hostPositions[h.Self.Value]
	n, _ := strconv.Atoi(strings.TrimPrefix(p.Device, "vmnic"))
	sw := fmt.Sprintf("%s-%c", pos.tor, 'a'+rune(n%2))
	port := fmt.Sprintf("Ethernet1/%d", pos.index+1+(n/2)*64)
	return types.PhysicalNicHintInfo{
		Device: p.Device,
		ConnectedSwitchPort: &types.PhysicalNicCdpInfo{
			CdpVersion: 2, Timeout: 60, Ttl: 180, Samples: 1,
			DevId: sw, PortId: port, HardwarePlatform: "N9K-C93180YC-EX",
			SoftwareVersion: "Cisco Nexus Operating System (NX-OS) Software 9.3(8)",
			FullDuplex:      boolp(true), Mtu: 9216, SystemName: sw,
		},
		LldpInfo: &types.LinkLayerDiscoveryProtocolInfo{
			ChassisId: sw, PortId: port, TimeToLive: 120,
			Parameter: []types.KeyAnyValue{{Key: "System Name", Value: sw}},
		},
	}
}

// hostPnics is the number of pNICs each host gets (Options.Pnics), set by the
// hosts set-up step; hosts added later get as many.
var hostPnics = 6

// pnicBus: one dual-port card per PCI bus (0x3b, 0x5b, … then 0x16, 0x17, …).
func pnicBus(card int) int {
	if card < 6 {
		return 0x3b + card*0x20
	}
	return 0x10 + card
}

func buildPnics(ordinal int) []types.PhysicalNic {
	var out []types.PhysicalNic
	for i := 0; i < hostPnics; i++ {
		driver := "ixgben"
		if i >= 2 {
			driver = "i40en"
		}
		out = append(out, types.PhysicalNic{
			Key:       keyPnic + fmt.Sprintf("vmnic%d", i),
			Device:    fmt.Sprintf("vmnic%d", i),
			Pci:       fmt.Sprintf("0000:%02x:00.%d", pnicBus(i/2), i%2),
			Driver:    driver,
			LinkSpeed: &types.PhysicalNicLinkInfo{SpeedMb: 10000, Duplex: true},
			ValidLinkSpecification: []types.PhysicalNicLinkInfo{
				{SpeedMb: 1000, Duplex: true}, {SpeedMb: 10000, Duplex: true},
			},
			Spec: types.PhysicalNicSpec{
				Ip:        &types.HostIpConfig{},
				LinkSpeed: &types.PhysicalNicLinkInfo{SpeedMb: 10000, Duplex: true},
			},
			WakeOnLanSupported:           true,
			Mac:                          pnicMAC(ordinal, i),
			VmDirectPathGen2Supported:    boolp(false),
			ResourcePoolSchedulerAllowed: boolp(true),
			AutoNegotiateSupported:       boolp(true),
		})
	}
	return out
}

func vmkSpec(pg, ip, mac string) types.HostVirtualNicSpec {
	return types.HostVirtualNicSpec{
		Ip:                  &types.HostIpConfig{IpAddress: ip, SubnetMask: "255.255.255.0"},
		Mac:                 mac,
		Portgroup:           pg,
		Mtu:                 1500,
		TsoEnabled:          boolp(true),
		NetStackInstanceKey: "defaultTcpipStack",
	}
}

// setupHost rebuilds one host's network and wraps its network system.
func setupHost(host *simulator.HostSystem, pos hostPos) *hostState {
	hs := &hostState{host: host}
	mgmt, vmot := hostIPs(pos.cluster, pos.index)
	ni := &types.HostNetworkInfo{
		Pnic: buildPnics(pos.ordinal),
		Vswitch: []types.HostVirtualSwitch{{
			Name: "vSwitch0",
			Spec: types.HostVirtualSwitchSpec{
				NumPorts: 128,
				Mtu:      1500,
				Bridge: &types.HostVirtualSwitchBondBridge{
					NicDevice: []string{"vmnic0", "vmnic1"},
					Beacon:    &types.HostVirtualSwitchBeaconConfig{Interval: 1},
					LinkDiscoveryProtocolConfig: &types.LinkDiscoveryProtocolConfig{
						Protocol: "cdp", Operation: "listen",
					},
				},
				Policy: defaultSwitchPolicy([]string{"vmnic0", "vmnic1"}, nil),
			},
		}},
		Portgroup: []types.HostPortGroup{
			{Spec: types.HostPortGroupSpec{Name: "Management Network", VswitchName: "vSwitch0", Policy: emptyPortgroupPolicy()}},
			{Spec: types.HostPortGroupSpec{Name: "VM Network", VswitchName: "vSwitch0", Policy: emptyPortgroupPolicy()}},
			{Spec: types.HostPortGroupSpec{Name: "vMotion", VswitchName: "vSwitch0", Policy: emptyPortgroupPolicy()}},
		},
		DnsConfig: &types.HostDnsConfig{
			HostName: host.Name, DomainName: "lab.local", Address: []string{"10.0.255.53"},
			SearchDomain: []string{"lab.local"}, VirtualNicDevice: "",
		},
		IpRouteConfig:     &types.HostIpRouteConfig{DefaultGateway: fmt.Sprintf("10.0.%d.254", pos.cluster%256), GatewayDevice: "vmk0"},
		AtBootIpV6Enabled: boolp(false),
		IpV6Enabled:       boolp(false),
	}
	host.Config.Network = ni
	hs.port = 2
	ni.Vnic = []types.HostVirtualNic{
		{Device: "vmk0", Key: keyVnic + "vmk0", Portgroup: "Management Network", Port: "key-vim.host.PortGroup.Port-33554433",
			Spec: vmkSpec("Management Network", mgmt, vmkMAC(pos.ordinal, 0))},
		{Device: "vmk1", Key: keyVnic + "vmk1", Portgroup: "vMotion", Port: "key-vim.host.PortGroup.Port-33554434",
			Spec: vmkSpec("vMotion", vmot, vmkMAC(pos.ordinal, 1))},
	}
	host.Summary.ManagementServerIp = "10.0.255.10"
	setupHostPci(host)     // hostpci.go
	setupHostOptions(host) // hostoptions.go

	ns, _ := simulator.Map.Get(*host.ConfigManager.NetworkSystem).(*simulator.HostNetworkSystem)
	w := &hostNetSys{hs: hs}
	if ns != nil {
		w.HostNetworkSystem = *ns
	} else {
		w.Self = *host.ConfigManager.NetworkSystem
	}
	w.Host = &host.HostSystem
	w.NetworkInfo = ni
	w.Capabilities = &types.HostNetCapabilities{
		CanSetPhysicalNicLinkSpeed: true, SupportsNicTeaming: true, NicTeamingPolicy: []string{"loadbalance_ip", "loadbalance_srcmac", "loadbalance_srcid", "failover_explicit"},
		SupportsVlan: true, UsesServiceConsoleNic: false, SupportsNetworkHints: true, MaxPortGroupsPerVswitch: 512,
		VswitchConfigSupported: true, VnicConfigSupported: true, IpRouteConfigSupported: true, DnsConfigSupported: true,
		DhcpOnVnicSupported: true, IpV6Supported: boolp(true),
	}
	w.DnsConfig = ni.DnsConfig
	w.IpRouteConfig = ni.IpRouteConfig
	hs.ns = w
	simulator.Map.Put(w)

	hs.vnm = newVnicManager(hs)
	ref := simulator.Map.Put(hs.vnm).Reference()
	host.ConfigManager.VirtualNicManager = &ref
	hs.vnm.netConfig("management").SelectedVnic = []string{selectedKey("management", "vmk0")}
	hs.vnm.netConfig("vmotion").SelectedVnic = []string{selectedKey("vmotion", "vmk1")}
	hs.sync()

	hostStatesMu.Lock()
	hostStates[host.Self.Value] = hs
	hostStatesMu.Unlock()
	hostPositions[host.Self.Value] = pos
	return hs
}

func init() {
	registerSetup(10, "hosts", func(lab *Lab) error {
		hostStatesMu.Lock()
		hostStates = map[string]*hostState{}
		hostStatesMu.Unlock()
		hostPositions = map[string]hostPos{}
		hostPnics = lab.Opts.Pnics
		if hostPnics == 0 {
			hostPnics = DefaultOptions().Pnics
		}

		var clusters []*simulator.ClusterComputeResource
		for _, e := range simulator.Map.All("ClusterComputeResource") {
			clusters = append(clusters, e.(*simulator.ClusterComputeResource))
		}
		sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name < clusters[j].Name })
		ordinal := 0
		for ci, c := range clusters {
			hosts := append([]types.ManagedObjectReference(nil), c.Host...)
			names := map[types.ManagedObjectReference]string{}
			for _, ref := range hosts {
				names[ref] = simulator.Map.Get(ref).(*simulator.HostSystem).Name
			}
			sort.Slice(hosts, func(i, j int) bool { return hostNameLess(names[hosts[i]], names[hosts[j]]) })
			for hi, ref := range hosts {
				h := simulator.Map.Get(ref).(*simulator.HostSystem)
				setupHost(h, hostPos{cluster: ci, index: hi, ordinal: ordinal, tor: "tor-" + strings.ToLower(c.Name)})
				ordinal++
			}
		}
		// standalone hosts (none in the default topology)
		for _, e := range simulator.Map.All("HostSystem") {
			h := e.(*simulator.HostSystem)
			if stateOf(h.Self) == nil {
				setupHost(h, hostPos{cluster: 255, index: ordinal % 254, ordinal: ordinal, tor: "tor-standalone"})
				ordinal++
			}
		}
		return nil
	})

	registerSetup(30, "vm macs", func(lab *Lab) error {
		n := 0
		vms := simulator.Map.All("VirtualMachine")
		sort.Slice(vms, func(i, j int) bool { return vms[i].Reference().Value < vms[j].Reference().Value })
		for _, e := range vms {
			vm := e.(*simulator.VirtualMachine)
			if vm.Config == nil {
				continue
			}
			for i, d := range vm.Config.Hardware.Device {
				nic, ok := d.(types.BaseVirtualEthernetCard)
				if !ok {
					continue
				}
				cp := copyDevice(d)
				card := cp.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
				old := nic.GetVirtualEthernetCard().MacAddress
				v := 0x800000 | (n & 0x3fffff) // vCenter range 00:50:56:80:00:00-bf:ff:ff
				card.MacAddress = fmt.Sprintf("00:50:56:%02x:%02x:%02x", v>>16&0xff, v>>8&0xff, v&0xff)
				card.AddressType = string(types.VirtualEthernetCardMacTypeAssigned)
				n++
				vm.Config.Hardware.Device[i] = cp
				for j := range vm.Guest.Net {
					if vm.Guest.Net[j].MacAddress == old || vm.Guest.Net[j].DeviceConfigId == card.Key {
						vm.Guest.Net[j].MacAddress = card.MacAddress
					}
				}
			}
		}
		return nil
	})
}

func hostNameLess(a, b string) bool {
	ia := strings.LastIndex(a, "_H")
	ib := strings.LastIndex(b, "_H")
	if ia >= 0 && ib >= 0 && a[:ia] == b[:ib] {
		na, e1 := strconv.Atoi(a[ia+2:])
		nb, e2 := strconv.Atoi(b[ib+2:])
		if e1 == nil && e2 == nil {
			return na < nb
		}
	}
	return a < b
}
