"""Host advanced settings the hardening guides read (SEC-19, 20, 27): the guest BPDU filter,
the dvFilter API bind address and the BMC virtual NIC.

They come from each host's OptionManager in the inventory pass (`Host.advanced`); a host
whose value was not read (disconnected, or an older release without the option) is UNKNOWN,
never a pass.
"""

from __future__ import annotations

from collections.abc import Iterator

from vnettool.audit.model import AuditConfig, Finding, State
from vnettool.audit.rules.base import finding, rule
from vnettool.models.inventory import Host, Inventory


def _host_path(h: Host) -> str:
    return "/".join(p for p in (h.datacenter, h.cluster, h.name) if p)


def _on_host(
    rid: str, state: State, h: Host, key: str, actual: object, expected: str, **kw: str
) -> Finding:
    return finding(
        rid,
        state,
        "Host",
        _host_path(h),
        object_id=h.moref,
        where=h.cluster or h.name,
        prop=f"configManager.advancedOption {key}",
        actual=actual,
        expected=expected,
        **kw,
    )


def _unread(h: Host, key: str) -> str:
    why = "the host is not connected" if h.connection_state != "connected" else "not returned"
    return f"{key} was not read ({why}); not judged"


@rule(
    "SEC-19",
    "Guest BPDU filter enabled",
    "medium",
    "Host",
    "HostSystem.configManager.advancedOption setting Net.BlockGuestBPDU",
    "FAIL unless Net.BlockGuestBPDU is 1",
    "SCG 8 esxi-8.network-bpdu; DISA ESXi 8 STIG V-258770; VMware KB 2047822",
    "Set Net.BlockGuestBPDU to 1 (vnettool: host_settings: {Net.BlockGuestBPDU: 1}); keep "
    "forged transmits Reject on port groups of bridging VMs.",
)
def bpdu_filter_on(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    key = "Net.BlockGuestBPDU"
    for h in inv.hosts:
        v = h.advanced.get(key)
        if v is None:
            yield _on_host("SEC-19", "UNKNOWN", h, key, v, "1", detail=_unread(h, key))
        else:
            yield _on_host("SEC-19", "PASS" if v == 1 else "FAIL", h, key, v, "1")


@rule(
    "SEC-20",
    "dvFilter API bound only to an authorised appliance",
    "medium",
    "Host",
    "HostSystem.configManager.advancedOption setting Net.DVFilterBindIpAddress; "
    "config dvfilter_appliances",
    "FAIL if set to an address not in dvfilter_appliances",
    "SCG 8 esxi-8.network-dvfilter; DISA ESXi 8 STIG V-258774",
    "Clear Net.DVFilterBindIpAddress, or list the security appliance's IP in the audit "
    "config's dvfilter_appliances.",
)
def dvfilter_bind_authorised(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    key = "Net.DVFilterBindIpAddress"
    allowed = set(cfg.dvfilter_appliances)
    ours = own_appliance_ips(inv)
    for h in inv.hosts:
        v = h.advanced.get(key)
        if v is None:
            yield _on_host("SEC-20", "UNKNOWN", h, key, v, "empty", detail=_unread(h, key))
            continue
        mine = ours.get(h.cluster or h.name, {})
        ok = v == "" or str(v) in allowed or str(v) in mine
        names = sorted(allowed | set(mine))
        expected = "empty" + (f" or one of {', '.join(names)}" if names else "")
        detail = (
            f"{v} is vnettool appliance {mine[str(v)]} (authorised automatically)"
            if str(v) in mine
            else ""
        )
        yield _on_host(
            "SEC-20", "PASS" if ok else "FAIL", h, key, v or "empty", expected, detail=detail
        )


def own_appliance_ips(inv: Inventory) -> dict[str, dict[str, str]]:
    """The guest IPs of vnettool's own appliance VMs (tagged `vnettool.appliance` when
    deployed), by cluster (by host where there is none): an appliance a vnettool playbook
    put on a host is the security product a host's dvFilter bind address may name, so the
    site need not list it in `dvfilter_appliances`. Only within the appliance's cluster: the
    dvFilter agent talks to the appliance next to it."""
    out: dict[str, dict[str, str]] = {}
    for vm in inv.vms:
        if vm.appliance and vm.guest_ip and not vm.template:
            out.setdefault(vm.cluster or vm.host or "", {})[vm.guest_ip] = vm.name
    return out


@rule(
    "SEC-27",
    "BMC virtual NIC disabled",
    "low",
    "Host",
    "HostSystem.configManager.advancedOption setting Net.BMCNetworkEnable",
    "FAIL unless Net.BMCNetworkEnable is 0",
    "DISA ESXi 8 STIG V-265977",
    "Set Net.BMCNetworkEnable to 0 (vnettool: host_settings: {Net.BMCNetworkEnable: 0}) "
    "unless the host's out-of-band management needs the in-band path.",
)
def bmc_nic_off(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    key = "Net.BMCNetworkEnable"
    for h in inv.hosts:
        v = h.advanced.get(key)
        if v is None:
            yield _on_host("SEC-27", "UNKNOWN", h, key, v, "0", detail=_unread(h, key))
        else:
            yield _on_host("SEC-27", "PASS" if v == 0 else "FAIL", h, key, v, "0")
