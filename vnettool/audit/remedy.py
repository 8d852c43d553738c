"""What to set, for every failing finding: the vnettool desired-state snippet that fixes that
object, and the esxcli and PowerCLI commands that do the same by hand, with the object's names.

A manager's report is trusted when each failure says what fixes it, in the words of the tool
the reader already uses. The snippet comes from the fix plan's code (`fixplan.snippet`: the
desired state has one generator); the commands are written here from the same finding and the
same document, so the three say the same thing. Where vSphere has nothing to set (the physical
switch, cabling) or esxcli cannot reach the setting (a distributed switch lives in vCenter;
esxcli talks to one host), the text says so instead of inventing a command.

Command syntax: esxcli per the ESXi 7/8 reference (`esxcli network vswitch standard ...`,
`esxcli system settings advanced set -o /Net/... -i N`, `esxcli network ip interface ...`),
PowerCLI per its cmdlet reference (Set-SecurityPolicy, Set-NicTeamingPolicy,
Set-VDSecurityPolicy, Set-VDVlanConfiguration, Set-VDUplinkTeamingPolicy, Set-VDPortgroup,
Set-AdvancedSetting, Set-VMHostNetworkAdapter, Set-NetworkAdapter); settings no cmdlet covers
go through the object's vSphere API method (`.ExtensionData.ReconfigureDvs(...)`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterable
from typing import Any

from vnettool.audit.fixplan import PLACEHOLDER, snippet
from vnettool.audit.model import AuditConfig, Finding, Remedy
from vnettool.models.inventory import Inventory

VCENTER_ONLY = "vCenter only: esxcli cannot change a distributed switch (use PowerCLI)"
NO_ESXCLI_VM = "no esxcli equivalent: a VM's settings are changed through vCenter (PowerCLI)"

# -- quoting ----------------------------------------------------------------------------------


def sh(text: Any) -> str:
    """A value in an esxcli command line (ESXi's shell)."""
    return shlex.quote(str(text))


def ps(text: Any) -> str:
    """A value in a PowerShell command line: single-quoted, quotes doubled."""
    return "'" + str(text).replace("'", "''") + "'"


def psbool(v: bool) -> str:
    return "$true" if v else "$false"


# -- YAML ---------------------------------------------------------------------------------------
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9 _./-]*$")
_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if PLACEHOLDER.fullmatch(s):
        return s  # a placeholder reads as itself; the document is not applied until filled
    if _PLAIN.match(s) and s.lower() not in _WORDS and not s.endswith(" "):
        return s
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def to_yaml(data: Any, indent: int = 0) -> str:
    """A small block-style YAML writer for the snippets (dicts, lists, scalars): one is made
    per failing finding, so this stays fast where ruamel's round-trip writer is not."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if _flow(v):
                lines.append(f"{pad}{_scalar(k)}: [{', '.join(_scalar(x) for x in v)}]")
            elif isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{_scalar(k)}:")
                lines.append(to_yaml(v, indent + 2))
            else:
                lines.append(f"{pad}{_scalar(k)}: {_empty(v) if _is_empty(v) else _scalar(v)}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 2).splitlines()
                lines.append(f"{pad}- {body[0].lstrip()}")
                lines += body[1:]
            elif isinstance(item, list) and item:
                lines.append(f"{pad}-")
                lines.append(to_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}- {_empty(item) if _is_empty(item) else _scalar(item)}")
    return "\n".join(lines)


def _flow(v: Any) -> bool:
    """A short list of scalars reads best on one line: `hosts: [DC0_C0_H0]`."""
    return (
        isinstance(v, list)
        and bool(v)
        and all(not isinstance(x, (dict, list)) for x in v)
        and sum(len(str(x)) + 2 for x in v) <= 48
    )


def _is_empty(v: Any) -> bool:
    return isinstance(v, (dict, list)) and not v


def _empty(v: Any) -> str:
    return "{}" if isinstance(v, dict) else "[]"


# -- commands ---------------------------------------------------------------------------------
Commands = tuple[str, str]  # esxcli, PowerCLI
_L2_ESX = {
    "promiscuous": "--allow-promiscuous",
    "mac_changes": "--allow-mac-change",
    "forged_transmits": "--allow-forged-transmits",
}
_L2_PS = {
    "promiscuous": "-AllowPromiscuous",
    "mac_changes": "-MacChanges",
    "forged_transmits": "-ForgedTransmits",
}
_TAG = {  # vnettool service name -> esxcli interface tag / Set-VMHostNetworkAdapter switch
    "management": ("Management", "-ManagementTrafficEnabled"),
    "vmotion": ("VMotion", "-VMotionEnabled"),
    "faultToleranceLogging": ("faultToleranceLogging", "-FaultToleranceLoggingEnabled"),
    "vsan": ("VSAN", "-VsanTrafficEnabled"),
    "vSphereReplication": ("vSphereReplication", "-VSphereReplicationEnabled"),
}
_LB_ESX = {
    "loadbalance_srcid": "portid",
    "loadbalance_ip": "iphash",
    "loadbalance_srcmac": "mac",
    "failover_explicit": "explicit",
}
_LB_VD = {
    "loadbalance_srcid": "LoadBalanceSrcId",
    "loadbalance_ip": "LoadBalanceIP",
    "loadbalance_srcmac": "LoadBalanceSrcMac",
    "loadbalance_loadbased": "LoadBalanceLoadBased",
    "failover_explicit": "ExplicitFailover",
}
_API_NOTE = "# no cmdlet sets this: the switch's vSphere API method, through ExtensionData"


def _vss_ps(host: str, sw: str) -> str:
    return f"Get-VirtualSwitch -VMHost {ps(host)} -Standard -Name {ps(sw)}"


def _vpg_ps(host: str, pg: str) -> str:
    return f"Get-VirtualPortGroup -VMHost {ps(host)} -Standard -Name {ps(pg)}"


def _vdpg_ps(sw: str, pg: str) -> str:
    return f"Get-VDPortgroup -VDSwitch {ps(sw)} -Name {ps(pg)}"


def _on(host: str, cmds: Iterable[str]) -> str:
    """esxcli lines, run on that host (its shell, or `esxcli --server`)."""
    return "\n".join([f"# on {host}:", *cmds])


def _security(sec: dict[str, bool], flags: dict[str, str], sep: str) -> str:
    return " ".join(f"{flags[k]}{sep}{str(v).lower()}" for k, v in sec.items() if k in flags)


def _ps_security(sec: dict[str, bool]) -> str:
    return " ".join(f"{_L2_PS[k]} {psbool(v)}" for k, v in sec.items() if k in _L2_PS)


def _standard(data: dict[str, Any], inv: Inventory) -> tuple[list[str], list[str]]:
    """esxcli / PowerCLI lines for the document's standard switches and port groups."""
    esx: list[str] = []
    pcli: list[str] = []
    for s in data.get("standard_switches", []):
        for host in s.get("hosts", []):
            if "security" in s:
                esx.append(_on(host, [
                    "esxcli network vswitch standard policy security set "
                    f"-v {sh(s['name'])} {_security(s['security'], _L2_ESX, '=')}"
                ]))  # fmt: skip
                pcli.append(
                    f"{_vss_ps(host, s['name'])} | Get-SecurityPolicy | Set-SecurityPolicy "
                    f"{_ps_security(s['security'])}"
                )
            if "uplinks" in s:
                e, p = _uplinks(inv, host, s["name"], s["uplinks"])
                esx.append(_on(host, e))
                pcli += p
    for p in data.get("standard_port_groups", []):
        for host in p.get("hosts", []):
            e, c = _std_pg(inv, host, p)
            if e:
                esx.append(_on(host, e))
                pcli += c
    return esx, pcli


def _uplinks(inv: Inventory, host: str, sw: str, want: list[str]) -> tuple[list[str], list[str]]:
    """The switch's uplinks made `want`: pNICs added and removed, then the active order."""
    have = next((s.uplinks for s in inv.switches_of(host) if s.name == sw), [])
    vss = _vss_ps(host, sw)
    esx: list[str] = []
    pcli: list[str] = []
    for n in want:
        if n not in have:
            esx.append(f"esxcli network vswitch standard uplink add -u {_arg(n)} -v {sh(sw)}")
            pcli.append(
                f"{vss} | Add-VirtualSwitchPhysicalNetworkAdapter -VMHostPhysicalNic "
                f"(Get-VMHostNetworkAdapter -VMHost {ps(host)} -Physical -Name {_psarg(n)}) "
                "-Confirm:$false"
            )
    for n in have:
        if n not in want:
            esx.append(f"esxcli network vswitch standard uplink remove -u {sh(n)} -v {sh(sw)}")
            pcli.append(
                f"Get-VMHostNetworkAdapter -VMHost {ps(host)} -Physical -Name {ps(n)} | "
                "Remove-VirtualSwitchPhysicalNetworkAdapter -Confirm:$false"
            )
    if want:
        esx.append(
            f"esxcli network vswitch standard policy failover set -v {sh(sw)} "
            f"--active-uplinks={_arg(','.join(want))}"
        )
    return esx, pcli


def _std_pg(inv: Inventory, host: str, p: dict[str, Any]) -> tuple[list[str], list[str]]:
    """One standard port group on one host: created when missing, then its settings."""
    name = p["name"]
    esx: list[str] = []
    cmds: list[str] = []
    exists = any(x.name == name for x in inv.portgroups_of(host))
    if not exists:
        esx.append(
            f"esxcli network vswitch standard portgroup add -p {sh(name)} -v {sh(p['switch'])}"
        )
    if "vlan" in p:
        esx.append(
            f"esxcli network vswitch standard portgroup set -p {sh(name)} "
            f"--vlan-id {_arg(p['vlan'])}"
        )
        if exists:
            cmds.append(f"Set-VirtualPortGroup -VLanId {_arg(p['vlan'])} -Confirm:$false")
    if "security" in p:
        esx.append(
            "esxcli network vswitch standard portgroup policy security set "
            f"-p {sh(name)} {_security(p['security'], _L2_ESX, '=')}"
        )
        cmds.append(f"Get-SecurityPolicy | Set-SecurityPolicy {_ps_security(p['security'])}")
    if "teaming" in p:
        esx_t, ps_t = _pg_teaming(host, p["teaming"])
        esx.append(
            f"esxcli network vswitch standard portgroup policy failover set -p {sh(name)} {esx_t}"
        )
        cmds.append(f"Get-NicTeamingPolicy | Set-NicTeamingPolicy {ps_t}")
    pcli = [f"{_vpg_ps(host, name)} | {c}" for c in cmds]
    if not exists:
        vlan = f" -VLanId {_arg(p['vlan'])}" if "vlan" in p else ""
        pcli.insert(
            0, f"{_vss_ps(host, p['switch'])} | New-VirtualPortGroup -Name {ps(name)}{vlan}"
        )
    return esx, pcli


def _psarg(v: Any) -> str:
    s = str(v)
    return s if PLACEHOLDER.fullmatch(s) else ps(s)


def _arg(v: Any) -> str:
    s = str(v)
    return s if PLACEHOLDER.fullmatch(s) else sh(s)


def _pg_teaming(host: str, t: dict[str, Any]) -> tuple[str, str]:
    esx: list[str] = []
    pcli: list[str] = []
    if t.get("active"):
        esx.append(f"--active-uplinks={sh(','.join(t['active']))}")
        pcli.append(
            f"-MakeNicActive (Get-VMHostNetworkAdapter -VMHost {ps(host)} -Physical -Name "
            f"{', '.join(ps(n) for n in t['active'])})"
        )
    if t.get("beacon_probing") is False:
        esx.append("--failure-detection=link")
        pcli.append("-NetworkFailoverDetectionPolicy LinkStatus")
    if "policy" in t:
        esx.append(f"--load-balancing={_LB_ESX[t['policy']]}")
    return " ".join(esx), " ".join(pcli)


def _distributed(data: dict[str, Any]) -> list[str]:
    """PowerCLI lines for the document's distributed switches and port groups (vCenter
    settings: esxcli has no equivalent)."""
    out: list[str] = []
    for d in data.get("distributed_switches", []):
        name = d["name"]
        get = f"$dvs = Get-VDSwitch -Name {ps(name)}"
        sec = d.get("default_port", {}).get("security")
        if sec:
            out.append(
                f"Get-VDSwitch -Name {ps(name)} | Get-VDSecurityPolicy | Set-VDSecurityPolicy "
                f"{_ps_security(sec)}"
            )
        if "discovery_operation" in d:
            out.append(
                f"Get-VDSwitch -Name {ps(name)} | Set-VDSwitch -LinkDiscoveryProtocolOperation "
                f"{d['discovery_operation'].capitalize()}"
            )
        if d.get("discovery") == "none":
            out.append(
                f"Get-VDSwitch -Name {ps(name)} | Set-VDSwitch -LinkDiscoveryProtocolOperation "
                "Disabled"
            )
        if d.get("nioc") is True:
            out.append(f"{get}; $dvs.ExtensionData.EnableNetworkResourceManagement($true)")
        if "health_check" in d:
            out.append(
                f"{_API_NOTE}\n{get}; $dvs.ExtensionData.UpdateDVSHealthCheckConfig(@("
                "(New-Object VMware.Vim.VMwareDVSVlanMtuHealthCheckConfig -Property "
                "@{Enable=$false; Interval=1}), (New-Object "
                "VMware.Vim.VMwareDVSTeamingHealthCheckConfig -Property @{Enable=$false; "
                "Interval=1})))"
            )
        if d.get("netflow", {}).get("collector") == "none":
            out.append(
                f"{_API_NOTE}\n{get}; $spec = New-Object VMware.Vim.VMwareDVSConfigSpec; "
                "$spec.ConfigVersion = $dvs.ExtensionData.Config.ConfigVersion; "
                "$spec.IpfixConfig = $dvs.ExtensionData.Config.IpfixConfig; "
                "$spec.IpfixConfig.CollectorIpAddress = ''; "
                "$dvs.ExtensionData.ReconfigureDvs($spec)"
            )
        if "max_mtu" in d:
            out.append(f"Get-VDSwitch -Name {ps(name)} | Set-VDSwitch -Mtu {d['max_mtu']}")
    for p in data.get("distributed_port_groups", []):
        out += _dvpg(p)
    for m in data.get("absent", {}).get("mirrors", []):
        sw, _, session = m.partition("/")
        out.append(
            f"{_API_NOTE}\n$dvs = Get-VDSwitch -Name {ps(sw)}; $s = "
            f"$dvs.ExtensionData.Config.VspanSession | Where-Object Name -eq {ps(session)}; "
            "$spec = New-Object VMware.Vim.VMwareDVSConfigSpec; "
            "$spec.ConfigVersion = $dvs.ExtensionData.Config.ConfigVersion; "
            "$spec.VspanConfigSpec = @(New-Object VMware.Vim.VMwareDVSVspanConfigSpec "
            "-Property @{Operation='remove'; VspanSession=$s}); "
            "$dvs.ExtensionData.ReconfigureDvs($spec)"
        )
    return out


def _dvpg(p: dict[str, Any]) -> list[str]:
    sw, name = p["switch"], p["name"]
    get = _vdpg_ps(sw, name)
    out: list[str] = []
    sec = {k: v for k, v in p.get("security", {}).items() if k in _L2_PS}
    if sec:
        out.append(f"{get} | Get-VDSecurityPolicy | Set-VDSecurityPolicy {_ps_security(sec)}")
    if "vlan" in p:
        out.append(f"{get} | Set-VDVlanConfiguration -VlanId {_arg(p['vlan'])}")
    if "pvlan" in p:
        out.append(f"{get} | Set-VDVlanConfiguration -PrivateVlanId {_arg(p['pvlan'])}")
    if p.get("auto_expand") is True:
        out.append(
            f"{_API_NOTE}\n$pg = {get}; $spec = New-Object VMware.Vim.DVPortgroupConfigSpec "
            "-Property @{ConfigVersion=$pg.ExtensionData.Config.ConfigVersion; AutoExpand=$true}; "
            "$pg.ExtensionData.ReconfigureDVPortgroup($spec)"
        )
    if p.get("binding") == "static":
        out.append(f"{get} | Set-VDPortgroup -PortBinding Static")
    t = p.get("teaming", {})
    if t:
        args = []
        if "active" in t:
            args.append(f"-ActiveUplinkPort {', '.join(ps(n) for n in t['active'])}")
        if t.get("standby") == []:
            args.append("-StandbyUplinkPort @()")
        if "policy" in t:
            args.append(f"-LoadBalancingPolicy {_LB_VD[t['policy']]}")
        out.append(
            f"{get} | Get-VDUplinkTeamingPolicy | Set-VDUplinkTeamingPolicy {' '.join(args)}"
        )
    pol: list[str] = []
    for k, v in p.get("overrides", {}).items():
        if k == "reset_at_disconnect":
            pol.append(f"$spec.Policy.PortConfigResetAtDisconnect = {psbool(v)}")
        else:
            pol.append(f"$spec.Policy.{_OVERRIDE_API[k]} = {psbool(v)}")
    if p.get("security", {}).get("mac_learning") is False:
        out.append(
            f"{_API_NOTE}\n$pg = {get}; $spec = New-Object VMware.Vim.DVPortgroupConfigSpec; "
            "$spec.ConfigVersion = $pg.ExtensionData.Config.ConfigVersion; "
            "$spec.DefaultPortConfig = New-Object VMware.Vim.VMwareDVSPortSetting; "
            "$spec.DefaultPortConfig.MacManagementPolicy = "
            "$pg.ExtensionData.Config.DefaultPortConfig.MacManagementPolicy; "
            "$spec.DefaultPortConfig.MacManagementPolicy.MacLearningPolicy.Enabled = $false; "
            "$pg.ExtensionData.ReconfigureDVPortgroup($spec)"
        )
    if pol:
        out.append(
            f"{_API_NOTE}\n$pg = {get}; $spec = New-Object VMware.Vim.DVPortgroupConfigSpec; "
            "$spec.ConfigVersion = $pg.ExtensionData.Config.ConfigVersion; "
            "$spec.Policy = $pg.ExtensionData.Config.Policy; "
            + "; ".join(pol)
            + "; $pg.ExtensionData.ReconfigureDVPortgroup($spec)"
        )
    if p.get("netflow") is False:
        out.append(
            f"{_API_NOTE}\n$pg = {get}; $spec = New-Object VMware.Vim.DVPortgroupConfigSpec; "
            "$spec.ConfigVersion = $pg.ExtensionData.Config.ConfigVersion; "
            "$spec.DefaultPortConfig = New-Object VMware.Vim.VMwareDVSPortSetting -Property "
            "@{IpfixEnabled=(New-Object VMware.Vim.BoolPolicy -Property @{Value=$false})}; "
            "$pg.ExtensionData.ReconfigureDVPortgroup($spec)"
        )
    return out


_OVERRIDE_API = {
    "shaping": "ShapingOverrideAllowed",
    "vlan": "VlanOverrideAllowed",
    "teaming": "UplinkTeamingOverrideAllowed",
    "security": "SecurityPolicyOverrideAllowed",
    "mac_management": "MacManagementOverrideAllowed",
    "vendor_config": "VendorConfigOverrideAllowed",
    "netflow": "IpfixOverrideAllowed",
    "traffic_filter": "TrafficFilterOverrideAllowed",
    "network_resource_pool": "NetworkResourcePoolOverrideAllowed",
    "live_port_moving": "LivePortMovingAllowed",
    "blocked": "BlockOverrideAllowed",
}
_ADVANCED = {
    "block_guest_bpdu": "Net.BlockGuestBPDU",
    "dvfilter_bind_ip": "Net.DVFilterBindIpAddress",
    "bmc_network": "Net.BMCNetworkEnable",
}


def _hosts_settings(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    esx: list[str] = []
    pcli: list[str] = []
    hs = data.get("host_settings") or {}
    for host in data.get("target", {}).get("hosts", []):
        lines = []
        for key, value in hs.items():
            opt = _ADVANCED[key]
            if isinstance(value, int):
                lines.append(
                    f"esxcli system settings advanced set -o /{opt.replace('.', '/')} -i {value}"
                )
            else:
                lines.append(
                    f"esxcli system settings advanced set -o /{opt.replace('.', '/')} "
                    f"-s {sh(value)}"
                    if value
                    else f"esxcli system settings advanced set -o /{opt.replace('.', '/')} -d"
                )
            pcli.append(
                f"Get-VMHost -Name {ps(host)} | Get-AdvancedSetting -Name {ps(opt)} | "
                f"Set-AdvancedSetting -Value {value if isinstance(value, int) else ps(value)} "
                "-Confirm:$false"
            )
        if lines:
            esx.append(_on(host, lines))
    return esx, pcli


def _vms(data: dict[str, Any], f: Finding) -> list[str]:
    out: list[str] = []
    for v in data.get("vm_settings", []):
        name = _unglob(v["vm"])
        if "migrate_encryption" in v:
            out.append(
                f"$vm = Get-VM -Name {ps(name)}; $spec = New-Object "
                "VMware.Vim.VirtualMachineConfigSpec -Property "
                f"@{{MigrateEncryption={ps(v['migrate_encryption'])}}}; "
                "$vm.ExtensionData.ReconfigVM($spec)"
            )
        if "dvfilters" in v:
            keep = {k.rsplit(".", 1)[0] for k in v["dvfilters"]}
            bad = sorted(
                {
                    item.split("=", 1)[0].rsplit(".", 1)[0]
                    for item in f.actual.split(", ")
                    if "=" in item
                }
                - keep
            )
            out += [
                f"Get-VM -Name {ps(name)} | Get-AdvancedSetting -Name {ps(prefix + '.*')} | "
                "Remove-AdvancedSetting -Confirm:$false"
                for prefix in bad
            ]
    return out


def _unglob(pattern: str) -> str:
    """A glob-escaped name (`[*]`) back to the name."""
    return re.sub(r"\[(.)\]", r"\1", pattern)


def _vmknics(data: dict[str, Any], f: Finding, inv: Inventory) -> Commands:
    esx: list[str] = []
    pcli: list[str] = []
    for spec in data.get("vmkernel_adapters", []):
        host, pg = spec["host"], spec["portgroup"]
        vmk = next((v for v in inv.vmkernel_adapters if v.host == host and v.portgroup == pg), None)
        if vmk is None:  # a new adapter (SEC-22's own vMotion adapter)
            esx.append(_on(host, [
                f"esxcli network ip interface add -i vmkN -p {_arg(pg)}",
                "esxcli network ip interface ipv4 set -i vmkN -t static -I <IP> -N <NETMASK>",
                *(f"esxcli network ip interface tag add -i vmkN -t {_TAG[s][0]}"
                  for s in spec.get("services", []) if s in _TAG),
            ]))  # fmt: skip
            pcli.append(
                f"New-VMHostNetworkAdapter -VMHost {ps(host)} -VirtualSwitch <SWITCH> "
                f"-PortGroup {_arg(pg)} -IP <IP> -SubnetMask <NETMASK>"
                + "".join(f" {_TAG[s][1]} $true" for s in spec.get("services", []) if s in _TAG)
            )
            continue
        dev = vmk.device
        lines: list[str] = []
        args: list[str] = []
        if "mtu" in spec:
            lines.append(f"esxcli network ip interface set -i {dev} -m {spec['mtu']}")
            args.append(f"-Mtu {spec['mtu']}")
        if "services" in spec:
            off = [s for s in vmk.services if s not in spec["services"] and s in _TAG]
            lines += [
                f"esxcli network ip interface tag remove -i {dev} -t {_TAG[s][0]}" for s in off
            ]
            args += [f"{_TAG[s][1]} $false" for s in off]
        if lines:
            esx.append(_on(host, lines))
            pcli.append(
                f"Get-VMHostNetworkAdapter -VMHost {ps(host)} -Name {ps(dev)} | "
                f"Set-VMHostNetworkAdapter {' '.join(args)} -Confirm:$false"
            )
    return "\n".join(esx), "\n".join(pcli)


def _migrations(data: dict[str, Any]) -> str:
    out = []
    for m in data.get("migrations", {}).get("vm_nics", []):
        nic = _unglob(m.get("nic", "*"))
        for vm in m["vms"]:
            out.append(
                f"Get-VM -Name {ps(_unglob(vm))} | Get-NetworkAdapter"
                + ("" if nic == "*" else f" -Name {ps(nic)}")
                + f" | Set-NetworkAdapter -NetworkName {_arg(m['to_portgroup'])} -Confirm:$false"
                "  # a distributed port group: -Portgroup (Get-VDPortgroup -Name ...)"
            )
    return "\n".join(out)


def _pvlans(data: dict[str, Any]) -> list[str]:
    out = [
        f"New-VDSwitchPrivateVlan -VDSwitch {ps(p['switch'])} -PrimaryVlanId {p['primary']} "
        f"-SecondaryVlanId {p['primary']} -PrivateVlanType Promiscuous"
        for p in data.get("pvlans", [])
    ]
    out += [
        f"Get-VDSwitchPrivateVlan -VDSwitch {ps(a['switch'])} -SecondaryVlanId {a['secondary']} "
        "| Remove-VDSwitchPrivateVlan -Confirm:$false"
        for a in data.get("absent", {}).get("pvlans", [])
    ]
    return out


def _absent_pgs(data: dict[str, Any], inv: Inventory) -> Commands:
    esx: list[str] = []
    pcli: list[str] = []
    for name in data.get("absent", {}).get("standard_port_groups", []):
        for p in inv.standard_port_groups:
            if p.name == name:
                esx.append(_on(p.host, [
                    f"esxcli network vswitch standard portgroup remove -p {sh(name)} "
                    f"-v {sh(p.switch)}"
                ]))  # fmt: skip
        pcli.append(
            f"Get-VirtualPortGroup -Standard -Name {ps(name)} | Remove-VirtualPortGroup "
            "-Confirm:$false"
        )
    for name in data.get("absent", {}).get("distributed_port_groups", []):
        pcli.append(f"Get-VDPortgroup -Name {ps(name)} | Remove-VDPortgroup -Confirm:$false")
    return "\n".join(esx), "\n".join(pcli)


def commands(inv: Inventory, f: Finding, data: dict[str, Any]) -> Commands:
    """esxcli and PowerCLI that set what `data` (the finding's snippet) sets."""
    esx, pcli = _standard(data, inv)
    e2, p2 = _hosts_settings(data)
    esx += e2
    pcli += p2
    e3, p3 = _vmknics(data, f, inv)
    e4, p4 = _absent_pgs(data, inv)
    esx += [e for e in (e3, e4) if e]
    vc = [*_distributed(data), *_pvlans(data)]
    pcli += [p for p in (p3, p4, _migrations(data), *_vms(data, f), *vc) if p]
    esx_text = "\n".join(esx)
    if not esx_text:
        if _in_vcenter(data):
            esx_text = VCENTER_ONLY
        elif data.get("vm_settings") or data.get("migrations"):
            esx_text = NO_ESXCLI_VM
    return esx_text, "\n".join(pcli)


def _in_vcenter(data: dict[str, Any]) -> bool:
    """The document changes distributed switch objects, which only vCenter holds."""
    absent = data.get("absent", {})
    return bool(
        data.get("distributed_switches")
        or data.get("distributed_port_groups")
        or data.get("pvlans")
        or absent.get("distributed_port_groups")
        or absent.get("mirrors")
        or absent.get("pvlans")
    )


# -- rules with nothing to set in vSphere's configuration --------------------------------------
def _physical(inv: Inventory, f: Finding) -> Remedy:
    what = {
        "HC-01": f"allow the port groups' VLANs ({f.actual.split(': ', 1)[-1]}) on the "
        f"physical switch port of {f.object.split('/', 1)[-1]}",
        "HC-02": f"set the MTU of the physical switch port of {f.object.split('/', 1)[-1]} to "
        f"at least the distributed switch's ({f.expected.removeprefix('physical MTU >= ')})",
        "HC-18": f"cable {f.object}'s uplinks to two physical switches (verify a stack first)",
    }[f.rule_id]
    check = (
        f"vnettool healthcheck run {sh(f.switch or '')} --for 10m"
        if f.rule_id in ("HC-01", "HC-02")
        else f"vnettool inventory --neighbors  # CDP/LLDP per pNIC of {f.host_or_cluster}"
    )
    return Remedy(
        yaml=f"# nothing to set in vSphere: {what}\n# then check: {check}",
        esxcli=f"none: a physical switch setting ({what})",
        powercli=f"none: a physical switch setting; check again with `{check}`",
        note=what,
        applies=False,
    )


def _rectify(inv: Inventory, f: Finding) -> Remedy:
    host = f.host_or_cluster or ""
    sw = f.switch or ""
    return Remedy(
        yaml="# nothing to set: the host's copy of the switch is out of sync or the host is "
        f"disconnected; reconnect {host}, then rectify it",
        esxcli=_on(
            host, ["esxcli network vswitch dvs vmware list  # the host's view of the switch"]
        ),
        powercli=f"$dvs = Get-VDSwitch -Name {ps(sw)}; $dvs.ExtensionData.RectifyDvsHost("
        f"@((Get-VMHost -Name {ps(host)}).ExtensionData.MoRef))",
        note="reconnect the host, then rectify its switch configuration",
        applies=False,
    )


def _nic_connected(inv: Inventory, f: Finding) -> Remedy:
    vm, _, label = f.object.rpartition("/")
    return Remedy(
        yaml="# vnettool does not manage a VM NIC's connection state: use PowerCLI or vCenter",
        esxcli=NO_ESXCLI_VM,
        powercli=f"Get-VM -Name {ps(vm)} | Get-NetworkAdapter -Name {ps(label)} | "
        "Set-NetworkAdapter -Connected:$true -StartConnected:$true -Confirm:$false",
        note="or remove the NIC if it is not used",
        applies=False,
    )


_SPECIAL: dict[str, Callable[[Inventory, Finding], Remedy]] = {
    "HC-01": _physical,
    "HC-02": _physical,
    "HC-18": _physical,
    "HC-04": _rectify,
    "HC-11": _nic_connected,
}
NEVER_FAIL = ("SEC-23", "HC-16")  # not collected: N/A only, nothing to remedy


def remedy(inv: Inventory, f: Finding, cfg: AuditConfig) -> Remedy | None:
    """What to set for a FAIL or EXCEPTION finding (None for the others)."""
    if f.state not in ("FAIL", "EXCEPTION"):
        return None
    if f.rule_id in _SPECIAL:
        return _SPECIAL[f.rule_id](inv, f)
    data, note = snippet(inv, f, cfg)
    if not data:
        none = f"none: nothing in vSphere's configuration to set ({note})"
        return Remedy(yaml=f"# {note}", esxcli=none, powercli=none, note=note, applies=False)
    text = to_yaml(data)
    esx, pcli = commands(inv, f, data)
    return Remedy(
        yaml=text,
        esxcli=esx,
        powercli=pcli,
        note=note,
        applies=PLACEHOLDER.search(text) is None,
    )


def with_remedies(inv: Inventory, findings: list[Finding], cfg: AuditConfig) -> list[Finding]:
    """The findings, each FAIL / EXCEPTION carrying its remedy (a rule's bug in building one
    leaves that finding without, never stops the audit)."""
    out: list[Finding] = []
    for f in findings:
        try:
            r = remedy(inv, f, cfg)
        except Exception as exc:  # the audit must finish; say what broke
            r = Remedy(yaml=f"# no snippet: {type(exc).__name__}: {exc}", applies=False)
        out.append(f if r is None else f.model_copy(update={"remedy": r}))
    return out
