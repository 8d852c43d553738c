"""Every rule that can fail says what to set: for each rule of the catalogue, the lab snapshot
is changed the way the rule's failure looks in a real vCenter, the real rule runs, and every
FAIL it reports carries a vnettool snippet, an esxcli line and a PowerCLI line (or the words
saying there is none and why). A snippet without <PLACEHOLDERS> is a valid desired-state
document naming the failing object."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.factories import snapshot
from vnettool.audit.fixplan import PLACEHOLDER
from vnettool.audit.model import AuditConfig, Finding
from vnettool.audit.remedy import NEVER_FAIL, to_yaml
from vnettool.audit.rules import RULES
from vnettool.audit.runner import audit
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import (
    HealthCheckResult,
    Inventory,
    LacpGroup,
    LinkNeighbor,
    MirrorSession,
)

Doc = dict[str, Any]  # the snapshot as data: the models are frozen, a real change is new data
Breaks = Callable[[Doc, Doc], None]  # (snapshot, audit config) as data


def _first(items: list[Doc], **match: object) -> Doc:
    return next(x for x in items if all(x.get(k) == v for k, v in match.items()))


def _vss(inv: Doc) -> Doc:
    return inv["standard_switches"][0]  # type: ignore[no-any-return]


def _spg(inv: Doc, name: str = "VM Network", host: str = "DC0_C0_H0") -> Doc:
    return _first(inv["standard_port_groups"], name=name, host=host)


def _dvpg(inv: Doc, name: str = "DC0_DVPG0") -> Doc:
    return _first(inv["distributed_port_groups"], name=name)


def _dvs(inv: Doc) -> Doc:
    return inv["distributed_switches"][0]  # type: ignore[no-any-return]


def _vmk(inv: Doc, host: str, dev: str) -> Doc:
    return _first(inv["vmkernel_adapters"], host=host, device=dev)


def _set(obj: Doc, path: str, value: object) -> None:
    *head, last = path.split(".")
    for part in head:
        obj = obj[part]
    obj[last] = value


def _vm_on(network: str, inv: Doc) -> None:
    vm = _first(inv["vms"], host="DC0_C0_H0")
    vm["nics"][0]["network"], vm["nics"][0]["dv_portgroup_key"] = network, None


def _health(check: str, **kw: object) -> Breaks:
    def breaks(inv: Doc, cfg: Doc) -> None:
        d = _dvs(inv)
        d["health_check"]["vlan_mtu"] = d["health_check"]["teaming"] = True
        result = HealthCheckResult(host="DC0_C0_H0", check=check, **kw)  # type: ignore[arg-type]
        d["health"] = [result.model_dump()]
        if check == "vlan":
            _set(_dvpg(inv), "setting.vlan", {"kind": "vlan", "vlan_id": 110})

    return breaks


def _lag(inv: Doc, cfg: Doc) -> None:
    d = _dvs(inv)
    d["lags"] = [LacpGroup(dvs=d["name"], name="lag1", uplink_names=["lag1-0"]).model_dump()]
    _set(_dvpg(inv), "setting.teaming.active_uplinks", ["lag1", "uplink1"])


def _ip_hash(inv: Doc, cfg: Doc) -> None:
    t = _spg(inv)["effective"]["teaming"]
    t["policy"], t["active_uplinks"], t["standby_uplinks"] = (
        "loadbalance_ip",
        ["vmnic0"],
        ["vmnic1"],
    )


def _one_switch(inv: Doc, cfg: Doc) -> None:
    for p in _first(inv["hosts"], name="DC0_C0_H0")["pnics"]:
        p["neighbors"] = [LinkNeighbor(protocol="cdp", switch_id="tor-1").model_dump()]


def _mirror(inv: Doc, cfg: Doc) -> None:
    d = _dvs(inv)
    session = MirrorSession(dvs=d["name"], name="span-x", type="dvPortMirror", enabled=True)
    d["mirrors"] = [session.model_dump()]


def _site(key: str) -> Breaks:
    def breaks(inv: Doc, cfg: Doc) -> None:
        cfg[key] = [0]  # the untagged port groups are on the "native"/"reserved" VLAN

    return breaks


def _nioc(inv: Doc, cfg: Doc) -> None:
    d = _dvs(inv)
    d["nioc_enabled"] = False
    _vmk(inv, "DC0_C0_H0", "vmk1")["dvs_uuid"] = d["uuid"]


def _missing_on_h1(inv: Doc) -> None:
    """VM Network used by a VM and gone from one host of the cluster."""
    inv["standard_port_groups"].remove(_spg(inv, "VM Network", "DC0_C0_H1"))
    _vm_on("VM Network", inv)


def _single_uplink(inv: Doc, cfg: Doc) -> None:
    pg = _spg(inv)
    pg["policy"]["teaming"]["active_uplinks"] = ["vmnic0"]
    pg["effective"]["teaming"]["active_uplinks"] = ["vmnic0"]
    pg["effective"]["teaming"]["standby_uplinks"] = []


def _both(*steps: Breaks) -> Breaks:
    def breaks(inv: Doc, cfg: Doc) -> None:
        for s in steps:
            s(inv, cfg)

    return breaks


def _to(get: Callable[[Doc], Doc], path: str, value: object) -> Breaks:
    return lambda inv, cfg: _set(get(inv), path, value)


def _adv(key: str, value: int | str) -> Breaks:
    return lambda inv, cfg: inv["hosts"][0]["advanced"].update({key: value})


# rule -> how its failure looks (rules the lab snapshot already fails need nothing)
BREAKS: dict[str, Breaks] = {
    "SEC-01": _to(_vss, "policy.security.allow_promiscuous", True),
    "SEC-02": _to(_vss, "policy.security.mac_changes", True),
    "SEC-03": _both(
        _to(_spg, "policy.security.forged_transmits", True),
        _to(_spg, "effective.security.forged_transmits", True),
    ),
    "SEC-04": _to(_dvs, "default_port.security.allow_promiscuous", True),
    "SEC-05": _to(_dvpg, "setting.security.mac_changes", True),
    "SEC-06": _to(_dvpg, "setting.security.forged_transmits", True),
    "SEC-07": _to(_dvpg, "setting.security.mac_learning", True),
    "SEC-08": _to(_spg, "vlan_id", 4095),
    "SEC-09": _to(_dvpg, "setting.vlan", {"kind": "trunk", "ranges": [(100, 200)]}),
    "SEC-10": _site("native_vlans"),
    "SEC-11": _site("reserved_vlans"),
    "SEC-13": _to(_dvpg, "override_allowed.vlanOverrideAllowed", True),
    "SEC-14": _to(_dvpg, "override_allowed.portConfigResetAtDisconnect", False),
    "SEC-15": _both(
        _to(_dvs, "netflow.collector_ip", "192.0.2.9"), _to(_dvpg, "setting.netflow", True)
    ),
    "SEC-16": _mirror,
    "SEC-17": _to(_dvs, "ldp_operation", "advertise"),
    "SEC-18": _to(_dvs, "health_check.teaming", True),
    "SEC-19": _adv("Net.BlockGuestBPDU", 0),
    "SEC-20": _adv("Net.DVFilterBindIpAddress", "192.0.2.50"),
    "SEC-21": _to(lambda i: _vmk(i, "DC0_C0_H0", "vmk0"), "services", ["management", "vmotion"]),
    "SEC-22": _to(lambda i: _vmk(i, "DC0_C0_H1", "vmk1"), "services", ["vmotion", "management"]),
    "SEC-24": lambda inv, cfg: _vm_on("Management Network", inv),
    "SEC-25": _nioc,
    "SEC-26": _to(_dvpg, "auto_expand", False),
    "SEC-27": _adv("Net.BMCNetworkEnable", 1),
    "SEC-28": lambda inv, cfg: inv["vms"][0]["extra_config"].update(
        {"ethernet0.filter0.name": "sniffer", "ethernet0.filter0.onFailure": "failOpen"}
    ),
    "SEC-29": lambda inv, cfg: _set(inv["vms"][0], "migrate_encryption", "disabled"),
    "HC-01": _health("vlan", uplink="uplink1", pnic="vmnic2", untrunked_vlans=[(100, 120)]),
    "HC-02": _health("mtu", uplink="uplink1", pnic="vmnic2", mtu_mismatch=True),
    "HC-03": _health("teaming", teaming_status="iphashMismatch"),
    "HC-04": lambda inv, cfg: _set(_dvs(inv)["hosts"][0], "status", "down"),
    "HC-05": _to(lambda i: _vmk(i, "DC0_C0_H1", "vmk1"), "mtu", 9000),
    "HC-06": lambda inv, cfg: _missing_on_h1(inv),
    "HC-07": _to(_spg, "vlan_id", 77),
    "HC-08": _single_uplink,
    "HC-09": lambda inv, cfg: _set(inv["hosts"][0]["pnics"][0], "link_up", False),
    "HC-12": _to(_dvpg, "setting.vlan", {"kind": "pvlan", "pvlan_id": 999}),
    "HC-13": _lag,
    "HC-14": _ip_hash,
    "HC-15": _to(_spg, "effective.teaming.check_beacon", True),
    "HC-17": _to(_dvpg, "binding", "ephemeral"),
    "HC-18": _one_switch,
    "HC-19": _to(lambda i: _vmk(i, "DC0_C0_H1", "vmk1"), "mtu", 9000),
}


def _check(f: Finding) -> None:
    r = f.remedy
    assert r is not None, f
    assert r.yaml and r.esxcli and r.powercli, (f.rule_id, r)
    if not r.applies:
        return
    data = YAML(typ="safe").load(io.StringIO(r.yaml))
    assert data, (f.rule_id, r.yaml)  # a snippet that applies has something to apply
    DesiredState.model_validate(data)
    names = {f.object.rsplit("/", 1)[-1], *(f.object.split("/"))}
    assert any(n and n in r.yaml for n in names), (f.rule_id, f.object, r.yaml)


@pytest.mark.parametrize("rule", [r.id for r in RULES if r.id not in NEVER_FAIL])
def test_every_rule_that_fails_says_what_to_set(rule: str) -> None:
    doc, site = snapshot().model_dump(), {}
    BREAKS.get(rule, lambda i, c: None)(doc, site)
    inv, cfg = Inventory.model_validate(doc), AuditConfig.model_validate(site)
    failing = [f for f in audit(inv, cfg) if f.state == "FAIL"]
    assert any(f.rule_id == rule for f in failing), f"{rule} does not fail; fix BREAKS"
    for f in failing:
        _check(f)


def test_the_catalogue_has_no_rule_without_a_way_to_fail_it() -> None:
    # a new rule needs its BREAKS entry (or the lab snapshot failing it) and so a remedy
    lab_fails = {f.rule_id for f in audit(snapshot()) if f.state == "FAIL"}
    for r in RULES:
        assert r.id in BREAKS or r.id in lab_fails or r.id in NEVER_FAIL, r.id


def test_placeholders_are_what_the_site_decides_and_refused_until_filled() -> None:
    doc, cfg = snapshot().model_dump(), AuditConfig()
    _set(_spg(doc), "vlan_id", 4095)
    inv = Inventory.model_validate(doc)
    f = next(f for f in audit(inv, cfg) if f.rule_id == "SEC-08" and f.state == "FAIL")
    assert f.remedy is not None and not f.remedy.applies
    assert PLACEHOLDER.search(f.remedy.yaml) and "--vlan-id <VLAN>" in f.remedy.esxcli
    with pytest.raises(ValueError, match="vlan"):
        DesiredState.model_validate(YAML(typ="safe").load(io.StringIO(f.remedy.yaml)))


def test_vds_settings_say_vcenter_only_for_esxcli() -> None:
    doc, cfg = snapshot().model_dump(), AuditConfig()
    _set(_dvpg(doc), "setting.security.forged_transmits", True)
    inv = Inventory.model_validate(doc)
    f = next(f for f in audit(inv, cfg) if f.rule_id == "SEC-06" and f.state == "FAIL")
    assert f.remedy is not None
    assert f.remedy.esxcli.startswith("vCenter only")
    assert "Set-VDSecurityPolicy -ForgedTransmits $false" in f.remedy.powercli
    assert "Get-VDPortgroup -VDSwitch 'DVS0' -Name 'DC0_DVPG0'" in f.remedy.powercli


def test_names_are_quoted_for_each_shell() -> None:
    doc, cfg = snapshot().model_dump(), AuditConfig()
    pg = _spg(doc)
    _set(pg, "name", "it's pg; rm -rf")
    _set(pg, "policy.security.allow_promiscuous", True)
    _set(pg, "effective.security.allow_promiscuous", True)
    inv = Inventory.model_validate(doc)
    f = next(f for f in audit(inv, cfg) if f.rule_id == "SEC-01" and f.state == "FAIL")
    assert f.remedy is not None
    assert "-p 'it'\"'\"'s pg; rm -rf'" in f.remedy.esxcli  # POSIX shell quoting
    assert "-Name 'it''s pg; rm -rf'" in f.remedy.powercli  # PowerShell: quote doubled
    doc = YAML(typ="safe").load(io.StringIO(f.remedy.yaml))
    assert doc["standard_port_groups"][0]["name"] == "it's pg; rm -rf"


def test_yaml_writer_round_trips() -> None:
    data = {
        "a": {"hosts": ["h1", "h 2"], "n": 0, "b": False, "e": [], "d": {}},
        "l": [{"name": "yes", "x": "=1", "y": "1.5", "z": ["a: b"]}, [1, 2]],
    }
    assert YAML(typ="safe").load(io.StringIO(to_yaml(data))) == data
