"""One contract every engine resource passes, run over the cases in cases/<resource>/*.yml.

A case is data: the inventory (built by tests/factories.py), a desired state (or an appliance
definition, or a vMotion), and the changes or problems it must give. For every case the suite
then checks what each resource owes the core (NAPALM's BaseTestGetters idea):

- the changes are exactly the expected ones (kind, resource, host, name; and the field diffs
  when the case names them); a case that changes one compared field (`field:`) gives one
  change whose diffs are exactly the ones it lists;
- every id a change depends on names a registered resource, and those in the plan come first;
- a delete only comes from `absent` (a document that names nothing deletes nothing);
- applied (simulated on the inventory), the same desired state plans nothing (equal → no
  change), and a document naming nothing plans nothing either;
- rolled back, the inventory plans exactly as before the apply, and a second rollback is
  empty; a change that cannot be undone says so (`irreversible: true` cases).

The completeness tests fail when a registered resource has no cases, when a compared field
has no case changing it, or when a resource that plans has no create case.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests import factories
from vnettool.engine import PlanError, plan, rollback
from vnettool.engine.registry import BY_NAME, RESOURCES
from vnettool.engine.resource import Resource
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import (
    DVFILTER_KEY,
    HostSettings,
    Inventory,
    TrafficRuleset,
    VmSettings,
)
from vnettool.models.plan import Change, Plan, Result

CASES = Path(__file__).parent / "cases"


def _case_files(root: Path = CASES) -> list[Path]:
    return sorted(root.glob("*/*.yml"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    data["resource"] = path.parent.name
    return data


# -- building what a case describes -----------------------------------------------------------
def inventory(spec: Any) -> Inventory:
    """`lab` (the stored 8-host snapshot), `{snapshot: lab, switches: {DVS0: {field: value}}}`
    (the snapshot with a distributed switch's fields replaced; `portgroups:` likewise for DV
    port groups, `hosts: {NAME: {field: value}}` for hosts, `vms:` for VMs) or lab_inventory's keywords
    (`{hosts: 1, with_vswitch1: true}`)."""
    if spec == "lab":
        return factories.snapshot()
    kw = dict(spec or {})
    if "snapshot" in kw:
        inv = factories.snapshot(kw["snapshot"])
        edits = kw.get("switches", {})
        dvs = [
            type(d).model_validate({**d.model_dump(), **edits.get(d.name, {})})
            for d in inv.distributed_switches
        ]
        pg_edits = kw.get("portgroups", {})
        pgs = [
            _merged(p.model_dump(), pg_edits.get(p.name, {})) for p in inv.distributed_port_groups
        ]
        host_edits = kw.get("hosts", {})
        hosts = [h.model_copy(update=host_edits.get(h.name, {})) for h in inv.hosts]
        vm_edits = kw.get("vms", {})
        vms = [v.model_copy(update=vm_edits.get(v.name, {})) for v in inv.vms]
        return Inventory.model_validate(
            {
                **inv.model_dump(),
                "distributed_switches": [d.model_dump() for d in dvs],
                "distributed_port_groups": pgs,
                "hosts": [h.model_dump() for h in hosts],
                "vms": [v.model_dump() for v in vms],
            }
        )
    return factories.lab_inventory(kw.pop("hosts", 1), **kw)


def _merged(base: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """`base` with `edits` laid over it, nested mappings merged (`setting: {netflow: false}`)."""
    out = dict(base)
    for k, v in edits.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def changes_of(case: dict[str, Any], inv: Inventory) -> Plan:
    """The plan a case describes: a desired state, an appliance definition or a vMotion."""
    if "appliance" in case:
        return _appliance_plan(case["appliance"], inv)
    if "move" in case:
        from vnettool.engine import relocate

        vm = next(v for v in inv.vms if v.name == case["move"]["vm"])
        return Plan(changes=[relocate.move(vm, case["move"]["to"], inv)])
    return plan(desired(case), inv)


def desired(case: dict[str, Any]) -> DesiredState:
    return DesiredState.model_validate({"target": case.get("target", {}), **case["desired"]})


def _appliance_plan(spec: dict[str, Any], inv: Inventory) -> Plan:
    from tests.unit.test_appliance_plan import BASE, TARGET, deployed, hosts
    from vnettool.appliances.plan import Facts, plan_deploy, plan_remove
    from vnettool.models.appliance import ApplianceSpec

    sp = ApplianceSpec.model_validate({**BASE, **spec.get("definition", {})})
    facts = deployed(inv, sp) if spec.get("deployed") else Facts()
    if spec.get("action") == "remove":
        return plan_remove(sp, inv, hosts(inv), facts, TARGET)
    return plan_deploy(sp, inv, hosts(inv), facts, TARGET)


def prepared(case: dict[str, Any]) -> Inventory:
    inv = inventory(case.get("inventory"))
    if case.get("appliance"):
        from tests.unit.test_appliance_plan import inventory as appliance_inventory

        inv = appliance_inventory()
        if case["appliance"].get("protected_on_segment"):
            vms = [
                v.model_copy(
                    update={
                        "nics": [
                            n.model_copy(update={"network": "fw-prot", "connected": True})
                            for n in v.nics
                        ]
                    }
                )
                if v.name.startswith("DC0_C0_RP0_VM")
                else v
                for v in inv.vms
            ]
            inv = inv.model_copy(update={"vms": vms})
    return inv


# -- applying on an inventory (what vCenter would then report) --------------------------------
def _pvlan(inv: Inventory, c: Change) -> Inventory:
    def edit(d: Any) -> Any:
        have = {e.secondary_id: e for e in d.pvlans}
        for o in c.pvlan_ops:
            if o.op == "remove":
                have.pop(o.entry.secondary_id, None)
            else:
                have[o.entry.secondary_id] = o.entry
        return d.model_copy(update={"pvlans": sorted(have.values(), key=lambda e: e.secondary_id)})

    dvs = [edit(d) if d.name == c.switch else d for d in inv.distributed_switches]
    return inv.model_copy(update={"distributed_switches": dvs})


def _netflow(inv: Inventory, c: Change) -> Inventory:
    dvs = [
        d.model_copy(update={"netflow": c.after}) if d.name == c.switch else d
        for d in inv.distributed_switches
    ]
    return inv.model_copy(update={"distributed_switches": dvs})


def _health_check(inv: Inventory, c: Change) -> Inventory:
    dvs = [
        d.model_copy(update={"health_check": c.after}) if d.name == c.switch else d
        for d in inv.distributed_switches
    ]
    return inv.model_copy(update={"distributed_switches": dvs})


def _nioc_pool(inv: Inventory, c: Change) -> Inventory:
    name = c.name.partition("/")[2]

    def edit(d: Any) -> Any:
        kept = [p for p in d.nioc_pools if p.name != name]
        new = [c.after.model_copy(update={"key": f"pool-{name}"})] if c.after else []
        return d.model_copy(update={"nioc_pools": sorted(kept + new, key=lambda p: p.name)})

    dvs = [edit(d) if d.name == c.switch else d for d in inv.distributed_switches]
    return inv.model_copy(update={"distributed_switches": dvs})


def _mirror(inv: Inventory, c: Change) -> Inventory:
    name = c.name.partition("/")[2]

    def edit(d: Any) -> Any:
        kept = [m for m in d.mirrors if m.name != name]
        new = [c.after.model_copy(update={"key": f"vspanSession-{name}"})] if c.after else []
        return d.model_copy(update={"mirrors": sorted(kept + new, key=lambda m: m.name)})

    dvs = [edit(d) if d.name == c.switch else d for d in inv.distributed_switches]
    return inv.model_copy(update={"distributed_switches": dvs})


def _traffic_rules(inv: Inventory, c: Change) -> Inventory:
    """What vCenter does: the port group's own ruleset becomes the after-state, with the
    keys the server gives what had none."""
    name = c.name.partition("/")[2]
    after = c.after
    if isinstance(after, TrafficRuleset):
        rules = [r.model_copy(update={"key": r.key or f"rule-{r.name}"}) for r in after.rules]
        after = after.model_copy(
            update={
                "filter_key": after.filter_key or "filter-x",
                "key": after.key or "rs-x",
                "rules": rules,
            }
        )
    pgs = [
        p.model_copy(update={"traffic": after}) if p.dvs == c.switch and p.name == name else p
        for p in inv.distributed_port_groups
    ]
    return inv.model_copy(update={"distributed_port_groups": pgs})


def _relocation(inv: Inventory, c: Change) -> Inventory:
    to = c.dest.host if c.dest else None
    vms = [v.model_copy(update={"host": to}) if v.moref == c.vm_moref else v for v in inv.vms]
    return inv.model_copy(update={"vms": vms})


def _unplug(inv: Inventory, c: Change) -> Inventory:
    on = bool(c.appliance and c.appliance.connect)

    def nic(n: Any) -> Any:
        return n.model_copy(update={"connected": on}) if n.key == c.nic_key else n

    vms = [
        v.model_copy(update={"nics": [nic(n) for n in v.nics]}) if v.moref == c.vm_moref else v
        for v in inv.vms
    ]
    return inv.model_copy(update={"vms": vms})


def _host_settings(inv: Inventory, c: Change) -> Inventory:
    values = c.after.values if isinstance(c.after, HostSettings) else {}
    hosts = [
        h.model_copy(update={"advanced": {**h.advanced, **values}}) if h.name == c.host else h
        for h in inv.hosts
    ]
    return inv.model_copy(update={"hosts": hosts})


def _vm_settings(inv: Inventory, c: Change) -> Inventory:
    after = c.after if isinstance(c.after, VmSettings) else None

    def edit(v: Any) -> Any:
        if after is None or v.moref != c.vm_moref:
            return v
        kept = {k: x for k, x in v.extra_config.items() if not DVFILTER_KEY.match(k)}
        return v.model_copy(
            update={
                "migrate_encryption": after.migrate_encryption,
                "extra_config": kept | after.dvfilters,
            }
        )

    return inv.model_copy(update={"vms": [edit(v) for v in inv.vms]})


# the resources that simulate their own changes (for the blast radius) apply them so; the
# others, which do not change connectivity, are applied here
SIMULATORS: dict[str, Callable[[Inventory, Change], Inventory | None]] = {
    r.name: r.simulate for r in RESOURCES if r.simulates
}
APPLY: dict[str, Callable[[Inventory, Change], Inventory | None]] = {
    **SIMULATORS,
    "pvlan": _pvlan,
    "netflow": _netflow,
    "health_check": _health_check,
    "nioc_pool": _nioc_pool,
    "mirror": _mirror,
    "traffic_rules": _traffic_rules,
    "vm_relocation": _relocation,
    "protected_nic_disconnect": _unplug,
    "host_settings": _host_settings,
    "vm_settings": _vm_settings,
}


def simulated(changes: list[Change]) -> bool:
    return all(c.resource in APPLY for c in changes)


def applied(inv: Inventory, changes: list[Change]) -> Inventory:
    for c in changes:
        inv = APPLY[c.resource](inv, c)
    return Inventory.model_validate(inv.model_dump())  # fresh: indexes are cached


def results(changes: list[Change]) -> list[Result]:
    return [Result(change=c, changed=True, diff=c.diffs) for c in changes]


Key = tuple[str, str, str | None, str]


def _order(k: Key) -> tuple[str, str, str, str]:
    return (k[0], k[1], k[2] or "", k[3])


def ids(p: Plan) -> list[Key]:
    return sorted(((c.kind, c.resource, c.host, c.name) for c in p.changes), key=_order)


# -- the contract -----------------------------------------------------------------------------
@pytest.fixture(params=_case_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_case_plans_what_it_expects(case: dict[str, Any]) -> None:
    inv = prepared(case)
    expect = case["expect"]
    if "problems" in expect:
        with pytest.raises(PlanError) as err:
            changes_of(case, inv)
        for text in expect["problems"]:
            assert text in str(err.value)
        return
    p = changes_of(case, inv)
    want = sorted(
        (
            (c["kind"], c.get("resource", case["resource"]), c.get("host"), c["name"])
            for c in expect["changes"]
        ),
        key=_order,
    )
    assert ids(p) == want
    by_id = {(c.kind, c.resource, c.host, c.name): c for c in p.changes}
    for c in expect["changes"]:
        if "fields" in c:
            got = by_id[(c["kind"], c.get("resource", case["resource"]), c.get("host"), c["name"])]
            assert [d.field for d in got.diffs] == c["fields"]
    if "field" in case:
        (mine,) = [c for c in p.changes if c.resource == case["resource"]]
        assert mine.kind == "update" and len(expect["changes"]) == 1


def test_dependencies_name_registered_resources_and_come_first(case: dict[str, Any]) -> None:
    if "problems" in case["expect"]:
        pytest.skip("a refused plan has no changes")
    p = changes_of(case, prepared(case))
    seen: set[str] = set()
    in_plan = {c.id for c in p.changes}
    for c in p.changes:
        for d in c.depends_on:
            assert d.split(":", 1)[0] in BY_NAME, f"{c.id} depends on {d}"
            if d in in_plan:
                assert d in seen, f"{c.id} runs before its dependency {d}"
        seen.add(c.id)


def test_deletes_only_come_from_absent(case: dict[str, Any]) -> None:
    if "problems" in case["expect"] or "desired" not in case:
        pytest.skip("not planned from a desired state")
    inv = prepared(case)
    p = changes_of(case, inv)
    if any(c.kind == "delete" for c in p.changes):
        assert desired(case).absent.model_dump(exclude_defaults=True), "a delete without absent"
    assert plan(nothing(case), inv).empty, "a document naming nothing changes nothing"


def nothing(case: dict[str, Any]) -> DesiredState:
    return DesiredState.model_validate({"target": case.get("target", {})})


def test_applied_then_equal_plans_nothing_and_rollback_restores(case: dict[str, Any]) -> None:
    if "problems" in case["expect"]:
        pytest.skip("a refused plan has no changes")
    before = prepared(case)
    p = changes_of(case, before)
    if not simulated(p.changes):
        pytest.skip("no simulation of " + ", ".join({c.resource for c in p.changes} - set(APPLY)))
    after = applied(before, p.changes)
    if "desired" in case:
        assert plan(desired(case), after).empty, "applied, the same document plans nothing"
        assert plan(nothing(case), after).empty, "what it created is not deleted unless absent"
    rb = rollback(results(p.changes), after)
    if case.get("irreversible"):
        assert rb.unrestorable, "an undo that cannot be done is named"
        return
    assert rb.unrestorable == [] and rb.conflicts == []
    restored = applied(after, rb.plan.changes)
    assert ids(changes_of(case, restored)) == ids(p), "rolled back, it plans as before"
    assert rollback(results(p.changes), restored).plan.empty, "a second rollback is empty"


# -- completeness -----------------------------------------------------------------------------
def _cases_by_resource(root: Path = CASES) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for path in _case_files(root):
        out.setdefault(path.parent.name, []).append(load(path))
    return out


def _plans(r: Resource[Any]) -> bool:
    return type(r).plan is not Resource.plan


def without_cases(root: Path = CASES) -> list[str]:
    have = _cases_by_resource(root)
    return [r.name for r in RESOURCES if not have.get(r.name)]


def test_every_registered_resource_has_cases() -> None:
    have = _cases_by_resource()
    missing = without_cases()
    assert missing == [], f"resources without cases in {CASES}: {missing}"
    stray = sorted(set(have) - set(BY_NAME))
    assert stray == [], f"case folders of no registered resource: {stray}"


def test_every_compared_field_has_a_case_changing_it() -> None:
    have = _cases_by_resource()
    missing = [
        f"{r.name}.{f}"
        for r in RESOURCES
        for f in r.fields
        if not any(c.get("field") == f for c in have.get(r.name, []))
    ]
    assert missing == []


# Moves change where a NIC is; a switch's NetFlow and health check settings, a host's and a
# VM's settings and a member's pNIC -> uplink port mapping always exist: there is nothing to
# create.
MOVES = {
    "vmknic_migration",
    "vm_nic_migration",
    "netflow",
    "health_check",
    "host_settings",
    "dvs_host_uplinks",
    "vm_settings",
}


def test_every_planning_resource_has_a_create_case() -> None:
    have = _cases_by_resource()
    missing = [
        r.name
        for r in RESOURCES
        if _plans(r)
        and r.name not in MOVES
        and not any(
            ch["kind"] == "create" and ch.get("resource", r.name) == r.name
            for c in have.get(r.name, [])
            for ch in c["expect"].get("changes", [])
        )
    ]
    assert missing == []


# Resources whose changes the suite cannot apply to an inventory: an appliance deploy makes a
# VM from an OVF (tests/lab/test_appliances.py applies and rolls it back on the lab).
NOT_APPLIED = {"appliance"}


def test_every_resource_is_applied_by_the_suite() -> None:
    """Without an applier (its `simulate`, or one in APPLY) a resource's cases skip the
    apply -> plan empty -> rollback check instead of failing it."""
    missing = [r.name for r in RESOURCES if r.name not in APPLY and r.name not in NOT_APPLIED]
    assert missing == [], f"add an applier to APPLY in {__file__} for {missing}"


def test_removing_a_resources_cases_fails_the_completeness_check(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(CASES, tmp_path / "cases")
    shutil.rmtree(tmp_path / "cases" / "lag")
    assert without_cases(tmp_path / "cases") == ["lag"]
