"""Every audit rule, one pass/fail pair each: a small clean snapshot where the rule passes, and the
same snapshot with exactly one deliberate problem where it fails once, on the right object, with
evidence that states the problem. Rules whose data vnettool does not collect must say N/A.

The table (ROWS) is the test: rule id, how to break the snapshot, the object the failure must name
and a piece of the evidence (`actual`) that must show the bad value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.rules import RULES
from vnettool.audit.runner import audit
from vnettool.models.inventory import (
    Cluster,
    Datacenter,
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    DvsHostMember,
    HealthCheckConfig,
    HealthCheckResult,
    Host,
    Inventory,
    LacpGroup,
    LinkNeighbor,
    MirrorSession,
    NetflowConfig,
    PhysicalNic,
    PvlanEntry,
    StandardPortGroup,
    StandardSwitch,
    VirtualMachine,
    VmkernelAdapter,
    VmNic,
)
from vnettool.models.policy import NetworkPolicy, SecurityPolicy, TeamingPolicy, VlanSpec

# the site inputs are set so SEC-10/11 judge everything (without them: UNKNOWN, tested below)
CFG = AuditConfig(reserved_vlans=[3999], native_vlans=[1])
# a hardened host's advanced settings (as collected from its OptionManager)
HARDENED = {"Net.BlockGuestBPDU": 1, "Net.DVFilterBindIpAddress": "", "Net.BMCNetworkEnable": 0}
HOSTS = ("esx1", "esx2")
# standard port groups on every host: name -> (VLAN, effective teaming)
SPGS: dict[str, tuple[int, TeamingPolicy]] = {
    "Management": (10, TeamingPolicy()),
    "vMotion": (20, TeamingPolicy()),
    "web": (30, TeamingPolicy()),
    "iphash": (31, TeamingPolicy(policy="loadbalance_ip", check_beacon=False)),
    "beacon": (32, TeamingPolicy(check_beacon=True)),
}
PVLAN = 100


def clean() -> Inventory:
    """Two hosts in one cluster, a 3-uplink vSwitch0 with infrastructure and VM port groups, one
    DVS with a LAG, a PVLAN map and two VM port groups, and one VM using every VM network."""
    switch_of = {"vmnic0": "swA", "vmnic1": "swB", "vmnic2": "swA"}

    def pnic(h: str, dev: str) -> PhysicalNic:
        sid = switch_of.get(dev)
        nb = [LinkNeighbor(protocol="lldp", switch_id=sid, port_id=f"{h}-{dev}")] if sid else []
        return PhysicalNic(host=h, device=dev, link_up=True, speed_mb=10000, neighbors=nb)

    dv_common: dict[str, Any] = {"dvs": "DVS", "dvs_uuid": "u1", "binding": "earlyBinding"}
    dv_setting = {"security": SecurityPolicy(mac_learning=False)}
    return Inventory(
        vcenter="vc.example",
        datacenters=[Datacenter(moref="dc-1", name="DC")],
        clusters=[Cluster(moref="c-1", name="C1", datacenter="DC")],
        hosts=[
            Host(
                moref=f"host-{i}",
                name=h,
                datacenter="DC",
                cluster="C1",
                pnics=[pnic(h, f"vmnic{n}") for n in range(4)],
                advanced=HARDENED,
            )
            for i, h in enumerate(HOSTS)
        ],
        standard_switches=[
            StandardSwitch(host=h, name="vSwitch0", mtu=9000, uplinks=["vmnic0", "vmnic1", "vmnic2"])
            for h in HOSTS
        ],
        standard_port_groups=[
            StandardPortGroup(
                host=h,
                name=name,
                switch="vSwitch0",
                vlan_id=vlan,
                effective=NetworkPolicy(teaming=team),
            )
            for h in HOSTS
            for name, (vlan, team) in SPGS.items()
        ],
        distributed_switches=[
            DistributedSwitch(
                moref="dvs-1",
                name="DVS",
                uuid="u1",
                datacenter="DC",
                max_mtu=9000,
                ldp_protocol="lldp",
                ldp_operation="listen",
                nioc_enabled=True,
                pvlans=[
                    PvlanEntry(dvs="DVS", primary_id=PVLAN, secondary_id=PVLAN, type="promiscuous"),
                    PvlanEntry(dvs="DVS", primary_id=PVLAN, secondary_id=101, type="isolated"),
                    PvlanEntry(dvs="DVS", primary_id=PVLAN, secondary_id=102, type="community"),
                ],
                lags=[LacpGroup(dvs="DVS", name="lag1", uplink_count=2)],
                hosts=[
                    DvsHostMember(host=h, pnics={"vmnic3": "uplink1"}, status="up") for h in HOSTS
                ],
            )
        ],
        distributed_port_groups=[
            DistributedPortGroup(moref="pg-up", key="pg-up", name="DVS-Uplinks", uplink=True, **dv_common),
            DistributedPortGroup(
                moref="pg-1",
                key="pg-1",
                name="dv-web",
                auto_expand=True,
                override_allowed={
                    "blockOverrideAllowed": True,
                    "vlanOverrideAllowed": False,
                    "portConfigResetAtDisconnect": True,
                },
                setting=DvPortSetting(
                    vlan=VlanSpec(kind="vlan", vlan_id=40),
                    teaming=TeamingPolicy(active_uplinks=["lag1"], standby_uplinks=[]),
                    **dv_setting,
                ),
                **dv_common,
            ),
            DistributedPortGroup(
                moref="pg-2",
                key="pg-2",
                name="dv-pvlan",
                auto_expand=True,
                override_allowed={"portConfigResetAtDisconnect": True},
                setting=DvPortSetting(vlan=VlanSpec(kind="pvlan", pvlan_id=101), **dv_setting),
                **dv_common,
            ),
        ],
        vmkernel_adapters=[
            vmk
            for h in HOSTS
            for vmk in (
                VmkernelAdapter(host=h, device="vmk0", portgroup="Management", mtu=1500, services=["management"]),
                VmkernelAdapter(host=h, device="vmk1", portgroup="vMotion", mtu=9000, services=["vmotion"]),
            )
        ],
        vms=[
            VirtualMachine(
                moref="vm-1",
                name="vm1",
                host="esx1",
                cluster="C1",
                power_state="poweredOn",
                migrate_encryption="opportunistic",
                nics=[
                    VmNic(key=4000 + i, label=f"nic{i}", connected=True, start_connected=True, network=net,
                          dvs_uuid="u1" if key else None, dv_portgroup_key=key)
                    for i, (net, key) in enumerate(
                        [("web", None), ("iphash", None), ("beacon", None), ("dv-web", "pg-1"), ("dv-pvlan", "pg-2")]
                    )
                ],
            )
        ],
    )  # fmt: skip


# -- how to break it: small pure edits of one object -------------------------------------------
Edit = Callable[[Inventory], Inventory]


def _replace(
    inv: Inventory, coll: str, match: Callable[[Any], bool], fn: Callable[[Any], Any]
) -> Inventory:
    items = getattr(inv, coll)
    hit = [i for i, x in enumerate(items) if match(x)]
    assert len(hit) == 1, f"{coll}: {len(hit)} objects match the edit"  # an edit touches one object
    new = [fn(x) if i == hit[0] else x for i, x in enumerate(items)]
    return inv.model_copy(update={coll: new})


def spg(name: str, host: str = "esx1", **upd: Any) -> Edit:
    """Change one standard port group's fields."""
    return lambda inv: _replace(
        inv,
        "standard_port_groups",
        lambda p: (p.host, p.name) == (host, name),
        lambda p: p.model_copy(update=upd),
    )


def spg_team(name: str, host: str = "esx1", **team: Any) -> Edit:
    """Change one standard port group's effective teaming."""

    def fn(p: StandardPortGroup) -> StandardPortGroup:
        t = p.effective.teaming.model_copy(update=team)
        return p.model_copy(update={"effective": p.effective.model_copy(update={"teaming": t})})

    return lambda inv: _replace(
        inv, "standard_port_groups", lambda p: (p.host, p.name) == (host, name), fn
    )


def spg_security(name: str, field: str, host: str = "esx1") -> Edit:
    """Turn one layer-2 security option on in a standard port group's effective policy."""

    def fn(p: StandardPortGroup) -> StandardPortGroup:
        s = p.effective.security.model_copy(update={field: True})
        return p.model_copy(update={"effective": p.effective.model_copy(update={"security": s})})

    return lambda inv: _replace(
        inv, "standard_port_groups", lambda p: (p.host, p.name) == (host, name), fn
    )


def host_option(host: str, key: str, value: int | str) -> Edit:
    def fn(h: Host) -> Host:
        return h.model_copy(update={"advanced": {**h.advanced, key: value}})

    return lambda inv: _replace(inv, "hosts", lambda h: h.name == host, fn)


def dvpg(name: str, **upd: Any) -> Edit:
    return lambda inv: _replace(
        inv, "distributed_port_groups", lambda p: p.name == name, lambda p: p.model_copy(update=upd)
    )


def dvpg_setting(name: str, **upd: Any) -> Edit:
    def fn(p: DistributedPortGroup) -> DistributedPortGroup:
        return p.model_copy(update={"setting": p.setting.model_copy(update=upd)})

    return lambda inv: _replace(inv, "distributed_port_groups", lambda p: p.name == name, fn)


def dvpg_security(name: str, field: str) -> Edit:
    def fn(p: DistributedPortGroup) -> DistributedPortGroup:
        s = p.setting.security.model_copy(update={field: True})
        return p.model_copy(update={"setting": p.setting.model_copy(update={"security": s})})

    return lambda inv: _replace(inv, "distributed_port_groups", lambda p: p.name == name, fn)


def dvs(**upd: Any) -> Edit:
    return lambda inv: _replace(
        inv, "distributed_switches", lambda d: True, lambda d: d.model_copy(update=upd)
    )


def dvs_member(host: str, status: str) -> Edit:
    def fn(d: DistributedSwitch) -> DistributedSwitch:
        members = [
            m.model_copy(update={"status": status}) if m.host == host else m for m in d.hosts
        ]
        return d.model_copy(update={"hosts": members})

    return lambda inv: _replace(inv, "distributed_switches", lambda d: True, fn)


def pvlan_entry(**upd: Any) -> Edit:
    """Add one entry to the DVS's PVLAN map."""

    def fn(d: DistributedSwitch) -> DistributedSwitch:
        return d.model_copy(update={"pvlans": [*d.pvlans, PvlanEntry(dvs="DVS", **upd)]})

    return lambda inv: _replace(inv, "distributed_switches", lambda d: True, fn)


def vmk(device: str, host: str = "esx1", **upd: Any) -> Edit:
    return lambda inv: _replace(
        inv,
        "vmkernel_adapters",
        lambda v: (v.host, v.device) == (host, device),
        lambda v: v.model_copy(update=upd),
    )


def add_vmk(**fields: Any) -> Edit:
    def fn(inv: Inventory) -> Inventory:
        v = VmkernelAdapter(**fields)
        return inv.model_copy(update={"vmkernel_adapters": [*inv.vmkernel_adapters, v]})

    return fn


def both(*edits: Edit) -> Edit:
    """Edits that together make one problem (e.g. a condition plus the fault)."""

    def fn(inv: Inventory) -> Inventory:
        for e in edits:
            inv = e(inv)
        return inv

    return fn


# a vSAN vmk on the DVS (DV port group dv-web), for rules about switches that carry vmk traffic
DV_VMK = add_vmk(
    host="esx1", device="vmk2", dvs_uuid="u1", dv_portgroup_key="pg-1", mtu=9000, services=["vsan"]
)


def pnic(device: str, host: str = "esx1", **upd: Any) -> Edit:
    def fn(h: Host) -> Host:
        return h.model_copy(
            update={
                "pnics": [p.model_copy(update=upd) if p.device == device else p for p in h.pnics]
            }
        )

    return lambda inv: _replace(inv, "hosts", lambda h: h.name == host, fn)


def vm_nic(label: str, **upd: Any) -> Edit:
    def fn(vm: VirtualMachine) -> VirtualMachine:
        return vm.model_copy(
            update={"nics": [n.model_copy(update=upd) if n.label == label else n for n in vm.nics]}
        )

    return lambda inv: _replace(inv, "vms", lambda v: v.name == "vm1", fn)


def vm(**upd: Any) -> Edit:
    return lambda inv: _replace(
        inv, "vms", lambda v: v.name == "vm1", lambda v: v.model_copy(update=upd)
    )


def add_spg(name: str, vlan: int, host: str = "esx1") -> Edit:
    def fn(inv: Inventory) -> Inventory:
        pg = StandardPortGroup(host=host, name=name, switch="vSwitch0", vlan_id=vlan)
        return inv.model_copy(update={"standard_port_groups": [*inv.standard_port_groups, pg]})

    return fn


def drop_spg(name: str, host: str) -> Edit:
    def fn(inv: Inventory) -> Inventory:
        keep = [p for p in inv.standard_port_groups if (p.host, p.name) != (host, name)]
        assert len(keep) == len(inv.standard_port_groups) - 1
        return inv.model_copy(update={"standard_port_groups": keep})

    return fn


HC_ON = HealthCheckConfig(vlan_mtu=True, vlan_mtu_interval=1, teaming=True, teaming_interval=1)


def health(
    untrunked: list[tuple[int, int]] | None = None, mtu_bad: bool = False, teaming: str = ""
) -> Edit:
    """The health check on, with good results for both hosts' uplink1 and one bad on esx1."""

    def results(host: str) -> list[HealthCheckResult]:
        mine = host == "esx1"
        up = {"host": host, "uplink": "uplink1", "uplink_port_key": "0", "pnic": "vmnic2"}
        return [
            HealthCheckResult(check="vlan", trunked_vlans=[(0, 4094)],
                              untrunked_vlans=(untrunked or []) if mine else [], **up),
            HealthCheckResult(check="mtu", mtu_mismatch=mine and mtu_bad,
                              vlans_mtu_not_ok=[(0, 4094)] if mine and mtu_bad else [], **up),
            HealthCheckResult(host=host, check="teaming",
                              teaming_status=teaming if mine and teaming else "nonIphashMatch"),
        ]  # fmt: skip

    return dvs(health_check=HC_ON, health=results("esx1") + results("esx2"))


# -- the table ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    rid: str
    what: str  # the deliberate problem, in words (the test id)
    edit: Edit
    obj: str  # substring of the failing finding's object
    actual: str  # substring of its evidence
    severity: str | None = None  # when the finding's severity differs from the rule's
    xfail: str = ""  # a suspected rule bug: the catalogue says FAIL, the check does not


row = Row
WEB1 = "DC/C1/esx1/vSwitch0/web"
ROWS = [
    row("SEC-01", "promiscuous-pg", spg_security("web", "allow_promiscuous"), WEB1, "True"),
    row("SEC-02", "mac-changes-pg", spg_security("web", "mac_changes"), WEB1, "True"),
    row("SEC-03", "forged-transmits-pg", spg_security("web", "forged_transmits"), WEB1, "True"),
    row("SEC-04", "promiscuous-dvpg", dvpg_security("dv-web", "allow_promiscuous"), "DC/DVS/dv-web", "True"),
    row("SEC-05", "mac-changes-dvpg", dvpg_security("dv-web", "mac_changes"), "DC/DVS/dv-web", "True"),
    row("SEC-06", "forged-transmits-dvpg", dvpg_security("dv-web", "forged_transmits"), "DC/DVS/dv-web", "True"),
    row("SEC-07", "mac-learning", dvpg_security("dv-web", "mac_learning"), "DC/DVS/dv-web", "True"),
    row("SEC-08", "vlan-4095", spg("web", vlan_id=4095), WEB1, "4095"),
    row("SEC-09", "trunk", dvpg_setting("dv-web", vlan=VlanSpec(kind="trunk", ranges=[(100, 200)])), "DC/DVS/dv-web", "100-200"),
    row("SEC-10", "native-vlan-1", spg("web", vlan_id=1), WEB1, "1"),
    row("SEC-10", "native-vlan-1-dvpg", dvpg_setting("dv-web", vlan=VlanSpec(kind="vlan", vlan_id=1)), "DC/DVS/dv-web", "1"),
    row("SEC-11", "reserved-vlan", spg("web", vlan_id=3999), WEB1, "3999"),
    row(
        "SEC-11",
        "reserved-vlan-in-trunk",
        dvpg_setting("dv-web", vlan=VlanSpec(kind="trunk", ranges=[(3990, 4000)])),
        "DC/DVS/dv-web",
        "3990-4000",
    ),
    row("SEC-12", "vlan-0", spg("web", vlan_id=0), WEB1, "0"),
    row("SEC-12", "untagged-dvpg", dvpg_setting("dv-web", vlan=VlanSpec(kind="none")), "DC/DVS/dv-web", "none"),
    row("SEC-14", "no-reset-at-disconnect", dvpg("dv-web", override_allowed={"portConfigResetAtDisconnect": False}), "DC/DVS/dv-web", "False"),
    row("SEC-19", "bpdu-filter-off", host_option("esx2", "Net.BlockGuestBPDU", 0), "DC/C1/esx2", "0"),
    row("SEC-20", "dvfilter-bound", host_option("esx1", "Net.DVFilterBindIpAddress", "10.9.9.9"), "DC/C1/esx1", "10.9.9.9"),
    row("SEC-27", "bmc-nic-on", host_option("esx1", "Net.BMCNetworkEnable", 1), "DC/C1/esx1", "1"),
    row("SEC-13", "vlan-override", dvpg("dv-web", override_allowed={"vlanOverrideAllowed": True}), "DC/DVS/dv-web", "vlanOverrideAllowed"),
    row("SEC-15", "unlisted-collector", dvs(netflow=NetflowConfig(collector_ip="192.0.2.9", collector_port=2055)), "DVS", "192.0.2.9:2055"),
    row("SEC-15", "exporting-without-collector", dvpg_setting("dv-web", netflow=True), "DVS", "exporting dv-web"),
    row("SEC-16", "unlisted-session", dvs(mirrors=[MirrorSession(dvs="DVS", name="tap", type="encapsulatedRemoteMirrorSource", enabled=True, sources_received=["1"], destination_ips=["198.51.100.7"])]), "DVS/tap", "198.51.100.7"),
    row("SEC-18", "health-check-on", dvs(health_check=HC_ON), "DVS", "VLAN/MTU, teaming on"),
    row("HC-01", "used-vlan-not-trunked", health(untrunked=[(40, 40), (300, 310)]), "DVS/esx1/uplink1", "not trunked: 40"),
    row("HC-02", "mtu-mismatch", health(mtu_bad=True), "DVS/esx1/uplink1 (vmnic2)", "mismatch"),
    row("HC-03", "iphash-without-port-channel", health(teaming="iphashMismatch"), "DVS/esx1", "iphashMismatch"),
    row("SEC-17", "lldp-both", dvs(ldp_operation="both"), "DVS", "lldp both"),
    row("SEC-21", "mgmt-vmk-with-vmotion", vmk("vmk0", services=["management", "vmotion"]), "esx1/vmk0", "vmotion"),
    row("SEC-21", "vm-on-mgmt-pg", vm_nic("nic0", network="Management"), "esx1/vmk0", "VM NICs on Management", severity="critical"),
    row(
        "SEC-21",
        "vm-pg-on-mgmt-vlan",
        spg("web", vlan_id=10),
        "esx1/vmk0",
        "10",
        xfail="audit-rules.md SEC-21: FAIL if the management VLAN equals a VM port group's VLAN on the "
        "same switch; the check only looks at the vmk's services and VM NICs on its own port group",
    ),
    row("SEC-22", "vmotion-vmk-with-mgmt", vmk("vmk1", services=["vmotion", "management"]), "esx1/vmk1", "management"),
    row(
        "SEC-22",
        "vmotion-on-mgmt-vlan",
        spg("vMotion", vlan_id=10),
        "esx1/vmk1",
        "10",
        xfail="audit-rules.md SEC-22: FAIL if the vMotion vmk shares its VLAN with management or a VM "
        "port group; the check only FAILs when one vmk carries both services",
    ),
    row("SEC-24", "vm-on-vmotion-pg", vm_nic("nic0", network="vMotion"), "vm1/nic0", "vMotion"),
    row(
        "SEC-24",
        "vm-on-dvpg-with-vmk",
        DV_VMK,
        "vm1/nic3",
        "dv-web",
    ),
    row("SEC-25", "nioc-off", both(DV_VMK, dvs(nioc_enabled=False)), "DVS", "False"),
    row("SEC-26", "static-no-autoexpand", dvpg("dv-web", auto_expand=False), "DC/DVS/dv-web", "False"),
    row("HC-04", "proxy-switch-down", dvs_member("esx2", "down"), "DVS/esx2", "down"),
    row("HC-05", "vmk-mtu-above-switch", vmk("vmk1", mtu=9216), "esx1/vmk1", "9216"),
    row("HC-06", "pg-missing-on-host", drop_spg("web", "esx2"), "C1/esx2", "'web' missing"),
    row("HC-07", "same-name-other-vlan", spg("web", host="esx2", vlan_id=33), "C1/web", "VLAN 33: esx2"),
    row("HC-08", "one-active-uplink", spg_team("web", active_uplinks=["vmnic0"], standby_uplinks=[]), WEB1, "vmnic0"),
    row("HC-08", "mgmt-one-uplink", spg_team("Management", active_uplinks=["vmnic0"]), "esx1/vSwitch0/Management", "vmnic0", severity="high"),
    row("HC-09", "uplink-down", pnic("vmnic2", link_up=False), "esx1/vmnic2", "down"),
    row("HC-10", "orphan-spg", add_spg("old", 50), "old", "no VM NIC, no vmk"),
    row("HC-10", "orphan-dvpg", vm_nic("nic3", network=None, dvs_uuid=None, dv_portgroup_key=None), "DC/DVS/dv-web", "no VM NIC, no vmk"),
    row("HC-11", "nic-disconnected", vm_nic("nic0", connected=False), "vm1/nic0", "False"),
    row("HC-11", "nic-not-start-connected", vm_nic("nic0", start_connected=False), "vm1/nic0", "False", severity="low"),
    row("HC-12", "pvlan-id-not-in-map", dvpg_setting("dv-pvlan", vlan=VlanSpec(kind="pvlan", pvlan_id=105)), "DC/DVS/dv-pvlan", "105"),
    row("HC-12", "no-promiscuous-primary", pvlan_entry(primary_id=200, secondary_id=201, type="isolated"), "DVS/200/201", "no promiscuous primary"),
    row("HC-12", "two-isolated", pvlan_entry(primary_id=PVLAN, secondary_id=103, type="isolated"), "DVS/100", "2 isolated secondaries"),
    row("HC-12", "pvlan-id-as-plain-vlan", dvpg_setting("dv-web", vlan=VlanSpec(kind="vlan", vlan_id=102)), "DVS/102", "also a plain VLAN"),
    row(
        "HC-12",
        "pvlan-id-as-vss-vlan",
        spg("web", vlan_id=102),
        "102",
        "also a plain VLAN",
        xfail="audit-rules.md HC-12 (e): a PVLAN id used as a plain VLAN on standard port groups of member "
        "hosts FAILs; the check only compares with DV port groups of the same switch",
    ),
    row("HC-13", "lag-plus-uplink", dvpg_setting("dv-web", teaming=TeamingPolicy(active_uplinks=["lag1", "uplink1"])), "DC/DVS/dv-web", "active ['lag1', 'uplink1']"),
    row("HC-14", "iphash-with-standby", spg_team("iphash", active_uplinks=["vmnic0", "vmnic1"], standby_uplinks=["vmnic2"]), "esx1/vSwitch0/iphash", "standby ['vmnic2']"),
    row("HC-14", "iphash-with-beacon", spg_team("iphash", check_beacon=True), "esx1/vSwitch0/iphash", "beacon True"),
    row("HC-15", "beacon-two-uplinks", spg_team("beacon", active_uplinks=["vmnic0", "vmnic1"]), "esx1/vSwitch0/beacon", "2 uplinks"),
    row("HC-17", "ephemeral", dvpg("dv-web", binding="ephemeral"), "DC/DVS/dv-web", "ephemeral"),
    row("HC-18", "all-uplinks-one-switch", pnic("vmnic1", neighbors=[LinkNeighbor(protocol="lldp", switch_id="swA")]), "esx1/vSwitch0", "vmnic1: swA"),
    row("SEC-28", "vm-dvfilter", vm(extra_config={"ethernet0.filter0.name": "sniff", "ethernet0.filter0.onFailure": "failOpen"}), "C1/vm1", "ethernet0.filter0.name=sniff"),
    row("SEC-29", "vmotion-unencrypted", vm(migrate_encryption="disabled"), "C1/vm1", "disabled"),
    row("HC-19", "vmotion-mtu-differs", vmk("vmk1", host="esx2", mtu=1500), "C1/vmotion", "1500: 1 vmk"),
]  # fmt: skip

NOT_COLLECTED = ["SEC-23", "HC-16"]  # fmt: skip
# rules that only ever report problems (no PASS finding on a clean snapshot), and the health
# check results, N/A while the check is off (as on a clean switch)
FAIL_ONLY = {"SEC-24", "HC-06", "HC-01", "HC-02", "HC-03"}

CLEAN = clean()
FINDINGS = audit(CLEAN, CFG)


def of(findings: list[Finding], rid: str, state: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rid and f.state == state]


def test_every_rule_is_in_the_table_or_not_collected() -> None:
    tabled = {r.rid for r in ROWS} | set(NOT_COLLECTED)
    assert tabled == {r.id for r in RULES}
    assert not set(NOT_COLLECTED) & {r.rid for r in ROWS}


def test_the_clean_snapshot_fails_nothing() -> None:
    bad = [
        (f.rule_id, f.object, f.state, f.actual) for f in FINDINGS if f.state in ("FAIL", "UNKNOWN")
    ]
    assert bad == []
    judged = {f.rule_id for f in FINDINGS if f.state == "PASS"}
    assert judged == {r.id for r in RULES} - set(NOT_COLLECTED) - FAIL_ONLY


def params(rows: list[Row], *, with_xfail: bool) -> list[Any]:
    out = []
    for r in rows:
        marks = [pytest.mark.xfail(strict=True, reason=r.xfail)] if r.xfail and with_xfail else []
        out.append(pytest.param(r, id=f"{r.rid}-{r.what}", marks=marks))
    return out


@pytest.mark.parametrize("r", params(ROWS, with_xfail=False))
def test_rule_passes_on_the_clean_snapshot(r: Row) -> None:
    assert not of(FINDINGS, r.rid, "FAIL")
    if r.rid not in FAIL_ONLY:
        assert of(FINDINGS, r.rid, "PASS"), f"{r.rid} judged nothing on the clean snapshot"


@pytest.mark.parametrize("r", params(ROWS, with_xfail=True))
def test_rule_fails_once_on_the_broken_snapshot(r: Row) -> None:
    fails = of(audit(r.edit(CLEAN), CFG), r.rid, "FAIL")
    assert len(fails) == 1, [(f.object, f.actual) for f in fails]
    f = fails[0]
    assert r.obj in f.object
    assert r.actual in f.actual and f.actual != f.expected
    rule = next(x for x in RULES if x.id == r.rid)
    assert f.severity == (r.severity or rule.severity)
    assert f.remediation == rule.remediation


@pytest.mark.parametrize("rid", NOT_COLLECTED)
def test_rule_without_collected_data_reports_not_applicable(rid: str) -> None:
    got = [f for f in FINDINGS if f.rule_id == rid]
    assert [(f.state, f.object) for f in got] == [("N/A", "DVS")]
    assert "not part of vnettool's inventory yet" in got[0].detail


@pytest.mark.parametrize("rid,key", [("SEC-10", "native_vlans"), ("SEC-11", "reserved_vlans")])
def test_a_rule_missing_its_site_input_is_unknown_and_names_the_key(rid: str, key: str) -> None:
    got = [f for f in audit(CLEAN) if f.rule_id == rid and f.state != "FAIL"]
    assert [(f.state, f.object) for f in got] == [("UNKNOWN", "vc.example")]
    assert key in got[0].expected and key in got[0].property_path


def test_without_native_vlans_vlan_1_still_fails() -> None:
    broken = spg("web", vlan_id=1)(CLEAN)
    got = [(f.state, f.object) for f in audit(broken) if f.rule_id == "SEC-10"]
    assert ("FAIL", "DC/C1/esx1/vSwitch0/web") in got and ("UNKNOWN", "vc.example") in got


def test_host_settings_not_read_are_unknown_not_pass() -> None:
    inv = CLEAN.model_copy(
        update={"hosts": [h.model_copy(update={"advanced": {}}) for h in CLEAN.hosts]}
    )
    got = {
        (f.rule_id, f.state) for f in audit(inv, CFG) if f.rule_id in ("SEC-19", "SEC-20", "SEC-27")
    }
    assert got == {("SEC-19", "UNKNOWN"), ("SEC-20", "UNKNOWN"), ("SEC-27", "UNKNOWN")}


def test_dvfilter_bound_to_a_listed_appliance_passes() -> None:
    inv = host_option("esx1", "Net.DVFilterBindIpAddress", "10.9.9.9")(CLEAN)
    cfg = CFG.model_copy(update={"dvfilter_appliances": ["10.9.9.9"]})
    assert not [f for f in audit(inv, cfg) if f.rule_id == "SEC-20" and f.state != "PASS"]


def test_nioc_off_on_a_switch_without_vmk_traffic_is_not_a_failure() -> None:
    got = [f for f in audit(dvs(nioc_enabled=False)(CLEAN), CFG) if f.rule_id == "SEC-25"]
    assert [(f.object, f.state) for f in got] == [("DVS", "PASS")]


def test_uplink_switch_rule_is_not_applicable_without_neighbour_data() -> None:
    got = [f for f in audit(pnic("vmnic2", neighbors=[])(CLEAN), CFG) if f.rule_id == "HC-18"]
    assert {(f.object, f.state) for f in got} == {
        ("esx1/vSwitch0", "N/A"),
        ("esx2/vSwitch0", "PASS"),
    }


def test_sec28_passes_a_filter_the_site_lists_and_keeps_failing_the_others() -> None:
    hooks = {"ethernet0.filter0.name": "vendor-agent", "ethernet1.filter3.name": "sniff"}
    inv = vm(extra_config=hooks | {"vnettool.appliance": "fw"})(CLEAN)
    listed = AuditConfig(dvfilter_names=["vendor-agent"])
    [f] = [f for f in audit(inv, listed) if f.rule_id == "SEC-28"]
    assert (f.state, f.actual) == ("FAIL", "ethernet1.filter3.name=sniff")
    both = AuditConfig(dvfilter_names=["vendor-agent", "sniff"])
    assert [f.state for f in audit(inv, both) if f.rule_id == "SEC-28"] == ["PASS"]


def test_sec29_unread_mode_is_unknown_never_a_pass() -> None:
    [f] = [f for f in audit(vm(migrate_encryption=None)(CLEAN), CFG) if f.rule_id == "SEC-29"]
    assert f.state == "UNKNOWN" and "not read" in f.detail


def _appliance(host: str, cluster: str, ip: str) -> Edit:
    def fn(inv: Inventory) -> Inventory:
        fw = VirtualMachine(
            moref="vm-fw", name=f"fw-{host}", host=host, cluster=cluster, guest_ip=ip,
            migrate_encryption="opportunistic", extra_config={"vnettool.appliance": "fw"},
        )  # fmt: skip
        return inv.model_copy(update={"vms": [*inv.vms, fw]})

    return fn


def test_sec20_vnettool_appliance_ip_is_authorised_automatically_in_its_cluster() -> None:
    bound = host_option("esx1", "Net.DVFilterBindIpAddress", "10.9.9.9")
    ours = both(bound, _appliance("esx2", "C1", "10.9.9.9"))(CLEAN)
    [f] = [f for f in audit(ours, CFG) if f.rule_id == "SEC-20" and "esx1" in f.object]
    assert f.state == "PASS" and "vnettool appliance fw-esx2" in f.detail
    # an appliance of another cluster, or an untagged VM with that IP, authorises nothing
    elsewhere = both(bound, _appliance("esx9", "C2", "10.9.9.9"))(CLEAN)
    [f] = [f for f in audit(elsewhere, CFG) if f.rule_id == "SEC-20" and "esx1" in f.object]
    assert f.state == "FAIL"
    untagged = both(bound, vm(guest_ip="10.9.9.9"))(CLEAN)
    [f] = [f for f in audit(untagged, CFG) if f.rule_id == "SEC-20" and "esx1" in f.object]
    assert f.state == "FAIL"


@pytest.mark.parametrize("rid", ["HC-01", "HC-02", "HC-03"])
def test_health_check_results_are_not_applicable_while_it_is_off(rid: str) -> None:
    got = [(f.state, f.object, f.detail) for f in FINDINGS if f.rule_id == rid]
    assert got == [("N/A", "DVS", "no data: the health check is off")]
    on = [
        (f.state, f.detail) for f in audit(dvs(health_check=HC_ON)(CLEAN), CFG) if f.rule_id == rid
    ]
    assert on == [("N/A", "no results yet (published after the first round)")]


def test_health_check_passes_a_declared_window_and_unused_untrunked_vlans() -> None:
    inv = health(untrunked=[(300, 310)])(CLEAN)  # no port group uses 300-310
    cfg = CFG.model_copy(update={"dvs_healthcheck_allowed": ["DVS"]})
    got = audit(inv, cfg)
    assert {(f.state, f.detail) for f in got if f.rule_id == "SEC-18"} == {
        ("PASS", "troubleshooting window declared in dvs_healthcheck_allowed")
    }
    hc01 = [f for f in got if f.rule_id == "HC-01"]
    assert [f.state for f in hc01] == ["PASS", "PASS"]
    assert "300-310" in hc01[0].actual


def test_an_unknown_health_check_result_class_is_kept_and_not_judged() -> None:
    """A newer vCenter's result class: the reader keeps it (name and summary); rules that do
    not know it neither crash nor count it."""
    from types import SimpleNamespace

    from vnettool.vsphere.reader import health_results

    new = SimpleNamespace(_wsdlName="VMwareDVSLacpHealthCheckResult", summary="warning")
    member = SimpleNamespace(host=SimpleNamespace(_moId="host-1"), healthCheckResult=[new])
    got = health_results([member], None, {"host-1": "esx1"}, ["uplink1"])
    assert [(r.host, r.check, r.summary, r.ok) for r in got] == [
        ("esx1", "VMwareDVSLacpHealthCheckResult", "warning", None)
    ]
    findings = audit(dvs(health_check=HC_ON, health=got)(CLEAN), CFG)
    assert {f.state for f in findings if f.rule_id in ("HC-01", "HC-02", "HC-03")} == {"N/A"}
