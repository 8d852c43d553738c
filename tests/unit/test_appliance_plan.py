"""The appliance definition and planner, pure: no simulator (facts are built here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.factories import snapshot
from tests.ovfbuild import build_ova
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
from vnettool.vsphere.ovfpkg import OvfError, parse, read_descriptor

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


def _ovf(tmp_path: Path, **source: Any) -> tuple[ApplianceSpec, Facts]:
    ova = build_ova(tmp_path / "fw.ova")
    spec = ApplianceSpec.model_validate(
        {**BASE, "source": {"ovf": str(ova), **source}, "protect": None}
    )
    return spec, Facts(ovf=read_descriptor(str(ova)))


def test_ovf_descriptor_is_read_from_the_ova(tmp_path: Path) -> None:
    desc = read_descriptor(str(build_ova(tmp_path / "fw.ova", options=("small", "large"))))
    assert desc.networks == ["Management", "Outside", "Inside"]
    assert [n.connection for n in desc.nics] == ["Management", "Outside", "Inside"]
    assert [(p.id, p.password, p.default) for p in desc.properties] == [
        ("fw.hostname", False, "fw"),
        ("fw.admin_password", True, None),
    ]
    assert [(f.href, f.size) for f in desc.files] == [("fw-disk1.vmdk", 64 * 1024)]
    assert desc.deployment_options == ["small", "large"] and desc.default_option == "small"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<x/>", "not <Envelope>"),
        ("not xml", "not XML"),
        (
            '<!DOCTYPE e [<!ENTITY a "aaaa">]><Envelope><VirtualSystem/>&a;</Envelope>',
            None,  # parsed without expanding the entity
        ),
        ("<Envelope/>", "0 virtual systems"),
        (
            '<Envelope xmlns:ovf="o"><References><File ovf:id="f" ovf:href="../etc/passwd"/>'
            "</References><VirtualSystem/></Envelope>",
            "must be a name in the package",
        ),
    ],
)
def test_bad_descriptors_are_named(text: str, message: str | None) -> None:
    if message is None:
        assert parse(text).nics == []
        return
    with pytest.raises(OvfError, match=message):
        parse(text)


def test_ovf_plan_maps_nics_onto_roles_and_hides_secrets(tmp_path: Path) -> None:
    inv = inventory()
    spec, facts = _ovf(
        tmp_path,
        networks={"Outside": "unprotected", "Inside": "protected", "Management": "management"},
        properties={"fw.hostname": "edge", "fw.admin_password": {"env": "PW"}},
    )
    p = plan_deploy(spec, inv, hosts(inv), facts, TARGET)
    created = [c for c in p.changes if c.resource == "appliance"]
    assert len(created) == len(hosts(inv))
    order = created[0].appliance.ovf  # type: ignore[union-attr]
    assert order is not None and order.nic_roles == ["management", "unprotected", "protected"]
    assert created[0].appliance.template_moref is None  # type: ignore[union-attr]
    diffs = {d.field: d.after for d in created[0].diffs}
    assert diffs["source"] == f"ovf {spec.source.ovf}"
    assert diffs["ovf.property.fw.hostname"] == "edge"
    assert diffs["ovf.property.fw.admin_password"] == "(secret from $PW)"


def test_ovf_default_mapping_is_nic_order(tmp_path: Path) -> None:
    inv = inventory()
    spec, facts = _ovf(tmp_path)
    p = plan_deploy(spec, inv, hosts(inv), facts, TARGET)
    order = next(c for c in p.changes if c.resource == "appliance").appliance.ovf  # type: ignore[union-attr]
    assert order is not None
    assert order.network_roles == {
        "Management": "management",
        "Outside": "unprotected",
        "Inside": "protected",
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"networks": {"Nope": "management"}}, "no OVF network 'Nope'"),
        ({"properties": {"fw.colour": "red"}}, "no OVF property 'fw.colour'"),
        ({"properties": {"fw.admin_password": "plain"}}, "is a password; give it as {env"),
        ({"deployment_option": "huge"}, "no deployment option 'huge'"),
    ],
)
def test_ovf_definition_errors_name_the_problem(
    tmp_path: Path, source: dict[str, Any], message: str
) -> None:
    inv = inventory()
    spec, facts = _ovf(tmp_path, **source)
    with pytest.raises(PlanError, match=re.escape(message)):
        plan_deploy(spec, inv, hosts(inv), facts, TARGET)


def test_ovf_source_keys_are_checked() -> None:
    with pytest.raises(ValidationError, match="apply to ovf sources only"):
        ApplianceSpec.model_validate(
            {**BASE, "source": {"template": "t", "properties": {"a": "b"}}}
        )
    with pytest.raises(ValidationError, match="more than one network"):
        ApplianceSpec.model_validate(
            {**BASE, "source": {"ovf": "x.ova", "networks": {"A": "management", "B": "management"}}}
        )


def test_playbook_ovf_path_is_relative_to_the_playbook_and_located(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    build_ova(tmp_path / "images" / "fw.ova")
    body = (
        "      name: fw\n"
        "      resources: {latency_sensitivity: normal}\n"
        "      networks: {management: VM Network, unprotected: DC0_DVPG0, protected: p}\n"
    )
    good = tmp_path / "good.yml"
    good.write_text("steps:\n  - appliance:\n      source: {ovf: images/fw.ova}\n" + body)
    pb = validate(good).playbook
    step = pb.steps[0].appliance
    assert step is not None and step.source.ovf == str(tmp_path / "images" / "fw.ova")
    bad = tmp_path / "bad.yml"
    bad.write_text("steps:\n  - appliance:\n      source: {ovf: images/nope.ova}\n" + body)
    with pytest.raises(PlaybookError) as err:
        validate(bad)
    assert f"{bad}:3:" in str(err.value) and "nope.ova" in str(err.value)


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
