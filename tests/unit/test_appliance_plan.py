"""The appliance definition and planner, pure: no simulator (facts are built here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.factories import snapshot
from vnettool.appliances.plan import Facts, pin_names, plan_deploy, plan_remove
from vnettool.engine.common import PlanError
from vnettool.models.appliance import (
    ApplianceSpec,
    ApplianceVm,
    ClusterRules,
    DrsGroup,
    DrsRule,
    VmNicState,
)
from vnettool.models.inventory import Inventory, VirtualMachine
from vnettool.playbook.errors import PlaybookError
from vnettool.playbook.validate import validate

TARGET = {"cluster": "DC0_C0"}
BASE: dict[str, Any] = {
    "name": "fw",
    "source": {"template": "fw-template"},
    "resources": {"cpus": 2, "memory_mb": 1024, "cpu_reservation_mhz": 2000},
    "networks": {"management": "VM Network", "unprotected": "DC0_DVPG0", "protected": "fw-prot"},
    "segment": {"kind": "vss", "switch": "vSwitch-fw"},
    "protect": {"vms": ["DC0_C0_RP0_VM*"], "from_portgroup": "DC0_DVPG0"},
}


def inventory(maintenance: str | None = None) -> Inventory:
    """The TUI's snapshot plus a template; only `maintenance` (a host name) in maintenance."""
    inv = snapshot()
    tmpl = VirtualMachine(moref="vm-999", name="fw-template", host="DC0_C0_H0", template=True)
    hs = [h.model_copy(update={"maintenance": h.name == maintenance}) for h in inv.hosts]
    return inv.model_copy(update={"vms": [*inv.vms, tmpl], "hosts": hs})


def hosts(inv: Inventory) -> list[Any]:
    return [h for h in inv.hosts if h.cluster == "DC0_C0"]


def deployed(inv: Inventory, spec: ApplianceSpec) -> Facts:
    """Facts of a fully compliant deployment, as the vSphere layer would read them."""
    cl = next(c for c in inv.clusters if c.name == "DC0_C0")
    vms, groups, rules = [], [], []
    for i, h in enumerate(hosts(inv)):
        name = f"fw-{h.name}"
        moref = f"vm-{500 + i}"
        nics = [
            VmNicState(key=4000 + j, label=f"nic {j}", network=n, connected=True)
            for j, n in enumerate(["VM Network", "DC0_DVPG0", "fw-prot"])
        ]
        vms.append(
            ApplianceVm(
                moref=moref,
                name=name,
                host_moref=h.moref,
                power_state="poweredOn",
                cpus=2,
                memory_mb=1024,
                cpu_reservation_mhz=2000,
                memory_reservation_mb=1024,
                latency_sensitivity="high",
                nics=nics,
                tags={"vnettool.appliance": "fw"},
            )
        )
        g_vm, g_host, rule = pin_names(name)
        groups += [
            DrsGroup(name=g_vm, kind="vm", members=[moref]),
            DrsGroup(name=g_host, kind="host", members=[h.moref]),
        ]
        rules.append(
            DrsRule(
                key=i + 1,
                name=rule,
                kind="vm-host",
                enabled=True,
                mandatory=True,
                vm_group=g_vm,
                host_group=g_host,
            )
        )
    return Facts(
        vms=vms, rules={cl.moref: ClusterRules(cluster_moref=cl.moref, groups=groups, rules=rules)}
    )


def test_latency_high_needs_reservations() -> None:
    with pytest.raises(ValidationError, match="needs cpu_reservation_mhz"):
        ApplianceSpec.model_validate({**BASE, "resources": {"cpus": 2, "memory_mb": 1024}})
    with pytest.raises(ValidationError, match="needs all memory reserved"):
        ApplianceSpec.model_validate(
            {**BASE, "resources": {**BASE["resources"], "memory_reservation_mb": 512}}
        )
    normal = {"cpus": 1, "memory_mb": 512, "latency_sensitivity": "normal"}
    assert (
        ApplianceSpec.model_validate({**BASE, "resources": normal}).resources.memory_reserved == 512
    )


def test_ovf_source_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="ovf sources are not supported"):
        ApplianceSpec.model_validate({**BASE, "source": {"ovf": "/images/fw.ova"}})


def test_playbook_error_is_located(tmp_path: Path) -> None:
    book = tmp_path / "a.yml"
    book.write_text(
        "steps:\n"
        "  - appliance:\n"
        "      name: fw\n"
        "      source: {template: t}\n"
        "      networks: {management: a, unprotected: b, protected: c}\n"
        "      resources: {cpus: 2, memory_mb: 1024}\n"
    )
    with pytest.raises(PlaybookError) as err:
        validate(book)
    text = str(err.value)
    assert "a.yml:6:" in text and "cpu_reservation_mhz" in text


def test_first_plan_creates_segment_appliances_then_moves_in_order() -> None:
    inv, spec = inventory(), ApplianceSpec.model_validate(BASE)
    p = plan_deploy(spec, inv, hosts(inv), Facts(), TARGET)
    kinds = [c.resource for c in p.changes]
    assert kinds.count("appliance") == 4
    assert kinds.count("standard_switch") == 4 and kinds.count("standard_port_group") == 4
    ids = {c.id: i for i, c in enumerate(p.changes)}
    for c in p.changes:
        assert all(ids[d] < ids[c.id] for d in c.depends_on if d in ids), c.id
    for move in (c for c in p.changes if c.resource == "vm_nic_migration"):
        assert f"appliance:{move.host}:fw-{move.host}" in move.depends_on
    create = next(c for c in p.changes if c.resource == "appliance")
    assert {d.field for d in create.diffs} >= {"host", "latency_sensitivity", "nic.protected"}


def test_compliant_deployment_plans_nothing_and_drift_is_exact() -> None:
    inv, spec = inventory(), ApplianceSpec.model_validate({**BASE, "protect": None})
    facts = deployed(inv, spec)
    assert [c.resource for c in plan_deploy(spec, inv, hosts(inv), facts, TARGET).changes] == [
        "standard_switch"
    ] * 4 + ["standard_port_group"] * 4  # the snapshot has no segment yet
    vm0 = facts.vms[0].model_copy(
        update={"latency_sensitivity": "normal", "power_state": "poweredOff"}
    )
    drift = Facts(vms=[vm0, *facts.vms[1:]], rules=facts.rules)
    changes = [
        c
        for c in plan_deploy(spec, inv, hosts(inv), drift, TARGET).changes
        if c.resource == "appliance"
    ]
    assert [(c.name, sorted(d.field for d in c.diffs)) for c in changes] == [
        (vm0.name, ["latency_sensitivity", "power_state"])
    ]


def test_a_missing_pin_rule_is_drift() -> None:
    inv, spec = inventory(), ApplianceSpec.model_validate({**BASE, "protect": None})
    facts = deployed(inv, spec)
    cl = next(iter(facts.rules))
    rules = facts.rules[cl]
    no_rule = rules.model_copy(update={"rules": rules.rules[1:]})
    changes = plan_deploy(
        spec, inv, hosts(inv), Facts(vms=facts.vms, rules={cl: no_rule}), TARGET
    ).changes
    (pin,) = [c for c in changes if c.resource == "appliance"]
    g_vm, g_host, rule = pin_names(pin.name)
    assert pin.host == hosts(inv)[0].name
    # the groups exist (before = their names), the rule is what is missing (before = None)
    assert [(d.field, d.before) for d in pin.diffs] == [
        ("pinned", False),
        ("drs.vm_group", g_vm),
        ("drs.host_group", g_host),
        ("drs.rule", None),
    ]
    assert pin.diffs[-1].after == f"{rule}: {g_vm} must run on {g_host} (mandatory, enabled)"


def test_deploy_plan_lists_the_drs_groups_and_rule_it_creates() -> None:
    inv, spec = inventory(), ApplianceSpec.model_validate({**BASE, "protect": None})
    creates = [
        c
        for c in plan_deploy(spec, inv, hosts(inv), Facts(), TARGET).changes
        if c.resource == "appliance"
    ]
    assert len(creates) == len(hosts(inv))
    for c in creates:
        g_vm, g_host, rule = pin_names(c.name)
        drs = {d.field: (d.before, d.after) for d in c.diffs if d.field.startswith("drs.")}
        assert drs == {
            "drs.vm_group": (None, f"{g_vm} [{c.name}]"),
            "drs.host_group": (None, f"{g_host} [{c.host}]"),
            "drs.rule": (None, f"{rule}: {g_vm} must run on {g_host} (mandatory, enabled)"),
        }


def test_remove_lists_the_drs_objects_and_says_the_segment_stays() -> None:
    from vnettool.appliances.plan import segment_kept

    inv, spec = inventory(), ApplianceSpec.model_validate({**BASE, "protect": None})
    deletes = plan_remove(spec, inv, hosts(inv), deployed(inv, spec), TARGET).changes
    assert deletes and all(c.kind == "delete" for c in deletes)
    for c in deletes:
        assert [(d.field, d.before) for d in c.diffs] == [
            ("vm", c.name),
            *zip(("drs.vm_group", "drs.host_group", "drs.rule"), pin_names(c.name), strict=True),
        ]
    assert segment_kept(spec) == [
        "left in place: the protected segment (standard switch vSwitch-fw and port group "
        "fw-prot); to delete it, apply a desired state with the same target and: "
        "absent: {standard_port_groups: [fw-prot], standard_switches: [vSwitch-fw]}"
    ]
    (step,) = validate(segment_kept(spec)[0].split("and: ", 1)[1]).playbook.steps
    assert step.configure == {
        "absent": {"standard_port_groups": ["fw-prot"], "standard_switches": ["vSwitch-fw"]}
    }
    pvlan = ApplianceSpec.model_validate(
        {
            **BASE,
            "segment": {
                "kind": "pvlan",
                "switch": "DVS0",
                "primary": 300,
                "isolated": 301,
                "appliance_portgroup": "fw-app",
            },
        }
    )
    (step,) = validate(segment_kept(pvlan)[0].split("and: ", 1)[1]).playbook.steps
    assert step.configure == {
        "absent": {
            "distributed_port_groups": ["fw-prot", "fw-app"],
            "pvlans": [{"switch": "DVS0", "primary": 300}],
        }
    }


def test_unknown_template_or_port_group_is_a_plan_error() -> None:
    inv = inventory()
    bad = ApplianceSpec.model_validate(
        {
            **BASE,
            "source": {"template": "nope"},
            "networks": {**BASE["networks"], "management": "x"},
        }
    )
    with pytest.raises(PlanError) as err:
        plan_deploy(bad, inv, hosts(inv), Facts(), TARGET)
    assert "no template or VM named 'nope'" in str(err.value)
    assert "on the lab: `vnettool lab template nope`" in str(err.value)
    assert "no port group named 'x'" in str(err.value)


def test_remove_unplugs_before_deleting_when_asked() -> None:
    inv, spec = inventory(), ApplianceSpec.model_validate({**BASE, "on_remove": "disconnect"})
    facts = deployed(inv, spec)
    on_segment = [
        v.model_copy(
            update={
                "nics": [
                    n.model_copy(update={"network": "fw-prot", "connected": True}) for n in v.nics
                ]
            }
        )
        if v.name.startswith("DC0_C0_RP0_VM")
        else v
        for v in inv.vms
    ]
    inv = inv.model_copy(update={"vms": on_segment})
    p = plan_remove(spec, inv, hosts(inv), facts, TARGET)
    unplugs = [c for c in p.changes if c.resource == "protected_nic_disconnect"]
    deletes = [c for c in p.changes if c.kind == "delete"]
    assert len(deletes) == 4 and unplugs
    for d in deletes:
        assert sorted(d.depends_on) == sorted(u.id for u in unplugs if u.host == d.host)


def test_maintenance_host_gets_no_new_appliance_and_parks_its_own() -> None:
    inv, spec = inventory("DC0_C0_H2"), ApplianceSpec.model_validate({**BASE, "protect": None})
    fresh = plan_deploy(spec, inv, hosts(inv), Facts(), TARGET).changes
    assert sorted(c.host for c in fresh if c.resource == "appliance") == [
        "DC0_C0_H0",
        "DC0_C0_H1",
        "DC0_C0_H3",
    ]
    running = plan_deploy(spec, inv, hosts(inv), deployed(inv, spec), TARGET).changes
    (park,) = [c for c in running if c.resource == "appliance"]
    assert park.host == "DC0_C0_H2" and park.appliance.park
    assert [(d.field, d.after) for d in park.diffs] == [("power_state", "poweredOff")]
