"""The fix plan (audit --fix-plan) of each fixable finding: the document it writes, and what
the engine plans from it on the same inventory — only the failing objects change, nothing is
created where it does not exist, and applying it (simulated) leaves no finding to fix."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from tests.unit.test_audit_rules import CFG, CLEAN, both, dvpg_setting, dvs, host_option, spg, vm
from vnettool.audit.fixplan import fix_plan, write_fix_plan
from vnettool.audit.model import Allow, AuditConfig
from vnettool.audit.runner import audit
from vnettool.engine.core import plan
from vnettool.models.inventory import Inventory, MirrorSession, NetflowConfig
from vnettool.models.policy import NetworkPolicy, SecurityPolicy

OWN = NetworkPolicy(security=SecurityPolicy(forged_transmits=True))


def _fix(inv: Inventory, cfg: AuditConfig = CFG):  # type: ignore[no-untyped-def]
    return fix_plan(inv, audit(inv, cfg), cfg)


def test_a_standard_port_group_fix_names_its_host_and_creates_nothing_elsewhere() -> None:
    own = NetworkPolicy(security=SecurityPolicy(forged_transmits=True))
    inv = spg("web", policy=own, effective=own)(CLEAN)
    fp = _fix(inv)
    [pg] = fp.data["standard_port_groups"]
    assert pg == {
        "name": "web", "switch": "vSwitch0", "hosts": ["esx1"],
        "security": {"forged_transmits": False},
    }  # fmt: skip
    changes = plan(fp.desired, inv).changes
    assert [(c.kind, c.resource, c.host) for c in changes] == [
        ("update", "standard_port_group", "esx1")
    ]


def test_netflow_and_mirroring_nobody_authorised_are_stopped(tmp_path: Path) -> None:
    tap = MirrorSession(dvs="DVS", name="tap", type="dvPortMirror", enabled=True)
    nf = NetflowConfig(collector_ip="192.0.2.9", collector_port=2055)
    inv = both(dvs(netflow=nf, mirrors=[tap]), dvpg_setting("dv-web", netflow=True))(CLEAN)
    fp = _fix(inv)
    assert fp.data["distributed_switches"] == [{"name": "DVS", "netflow": {"collector": "none"}}]
    assert fp.data["distributed_port_groups"] == [
        {"name": "dv-web", "switch": "DVS", "netflow": False}
    ]
    assert fp.data["absent"] == {"mirrors": ["DVS/tap"]}
    p = plan(fp.desired, inv)
    assert {(c.kind, c.resource) for c in p.changes} == {
        ("update", "netflow"),
        ("update", "distributed_port_group"),
        ("delete", "mirror"),
    }
    out = tmp_path / "fix.yml"
    write_fix_plan(out, fp)
    assert "list it in the audit config (netflow_collectors, mirror_sessions)" in out.read_text()
    # listed in the site's config, neither is a finding, so nothing is stopped
    site = CFG.model_copy(
        update={"netflow_collectors": ["192.0.2.9:2055"], "mirror_sessions": ["DVS/tap"]}
    )
    assert _fix(inv, site).empty


def test_vm_settings_fixes_keep_the_listed_dvfilter_and_turn_encryption_on() -> None:
    hooks = {
        "ethernet0.filter0.name": "vendor-agent",
        "ethernet0.filter0.onFailure": "failClosed",
        "ethernet1.filter0.name": "sniff",
        "ethernet1.filter0.param0": "x",
    }
    inv = vm(extra_config=hooks, migrate_encryption="disabled")(CLEAN)
    cfg = CFG.model_copy(update={"dvfilter_names": ["vendor-agent"]})
    fp = _fix(inv, cfg)
    assert fp.data["vm_settings"] == [
        {
            "vm": "vm1",
            "migrate_encryption": "opportunistic",
            "dvfilters": {
                "ethernet0.filter0.name": "vendor-agent",
                "ethernet0.filter0.onFailure": "failClosed",
            },
        }
    ]
    [ch] = plan(fp.desired, inv).changes
    assert (ch.resource, ch.host, ch.name) == ("vm_settings", "esx1", "vm1")
    assert {d.field for d in ch.diffs} == {"migrate_encryption", "dvfilters"}


def test_a_vm_name_with_glob_characters_means_only_that_vm() -> None:
    inv = vm(name="web[1]*", migrate_encryption="disabled")(CLEAN)
    fp = _fix(inv)
    assert fp.data["vm_settings"] == [{"vm": "web[[]1][*]", "migrate_encryption": "opportunistic"}]
    [ch] = plan(fp.desired, inv).changes
    assert ch.name == "web[1]*"


def test_the_fix_plan_header_never_lets_a_name_become_yaml(tmp_path: Path) -> None:
    inv = vm(name="evil\nvm_settings: []", migrate_encryption="disabled")(CLEAN)
    out = tmp_path / "fix.yml"
    write_fix_plan(out, _fix(inv))
    doc = YAML(typ="safe").load(out.read_text())
    assert doc["vm_settings"][0]["migrate_encryption"] == "opportunistic"


def test_host_settings_never_change_a_host_that_did_not_fail() -> None:
    """The document's host_settings reach every targeted host: a waived BMC NIC on esx2 keeps
    SEC-27's fix out of the plan (said in its header), the BPDU fix of esx1 stays."""
    inv = both(
        host_option("esx1", "Net.BlockGuestBPDU", 0),
        host_option("esx1", "Net.BMCNetworkEnable", 1),
        host_option("esx2", "Net.BMCNetworkEnable", 1),
        spg("web", host="esx2", policy=OWN, effective=OWN),
    )(CLEAN)
    waiver = Allow(pattern="*esx2", justification="BMC access", owner="ops")
    cfg = CFG.model_copy(update={"allow": {"SEC-27": [waiver]}})
    fp = _fix(inv, cfg)
    assert fp.data["target"] == {"hosts": ["esx1", "esx2"]}
    assert fp.data["host_settings"] == {"block_guest_bpdu": 1}
    [(f, why)] = [(f, w) for f, w in fp.not_fixed if f.rule_id == "SEC-27"]
    assert f.object.endswith("esx1") and "would also change esx2" in why
    changes = plan(fp.desired, inv).changes
    assert {(c.resource, c.host) for c in changes} == {
        ("host_settings", "esx1"),
        ("standard_port_group", "esx2"),
    }
