"""What-if predictions checked against the lab: inject the failure, read a fresh inventory,
compare every VM NIC and VMkernel adapter object by object.

The failures are generated from the lab's own inventory with a fixed seed: single pNICs, both
uplinks of a switch, neighbour switches and single neighbour ports (taken down by the lab's
link control, which unsets the pNIC's linkSpeed and its CDP/LLDP data as ESXi does), hosts
entering maintenance mode (EnterMaintenanceMode_Task), and combinations.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim
from typer.testing import CliRunner

from tests.conftest import RunningLab
from vnettool.cli.main import app
from vnettool.impact import analyze
from vnettool.impact.whatif import Failure, apply_failures, failed_pnics
from vnettool.inventory import collect
from vnettool.lab.links import down_links, reset_links, set_link
from vnettool.models.desired import DesiredState
from vnettool.models.impact import Connectivity
from vnettool.models.inventory import Inventory
from vnettool.vsphere.connection import Session
from vnettool.vsphere.tasks import wait_task

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def impact_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """A private lab: links go down and hosts into maintenance here."""
    from vnettool.lab.runner import Lab, Topology

    lab = Lab(tmp_path_factory.mktemp("impact-home") / "lab")
    state, _ = lab.start(Topology())
    running = RunningLab(lab, state)
    yield running
    running.stop()


def _host(s: Session, name: str) -> Any:
    view = s.content.viewManager.CreateContainerView(s.content.rootFolder, [vim.HostSystem], True)
    try:
        return next(o for o in view.view if o.name == name)
    finally:
        view.Destroy()


def generate_cases(inv: Inventory, n: int = 10, seed: int = 22) -> list[list[Failure]]:
    """n failure scenarios drawn from the inventory: every kind, alone and combined."""
    rnd = random.Random(seed)
    hosts = sorted(inv.hosts, key=lambda h: h.name)
    switches = sorted({nb.switch_id or "" for h in hosts for p in h.pnics for nb in p.neighbors})
    with_vms = [h for h in hosts if any(v.host == h.name for v in inv.vms)]

    def pnic() -> Failure:
        h = rnd.choice(hosts)
        return Failure(kind="pnic", host=h.name, name=rnd.choice(h.pnics).device)

    def pair(devices: tuple[str, str]) -> list[Failure]:
        h = rnd.choice(with_vms)
        return [Failure(kind="pnic", host=h.name, name=d) for d in devices]

    def port() -> Failure:
        h = rnd.choice(hosts)
        nb = rnd.choice(h.pnics).neighbors[0]
        return Failure(kind="neighbor", switch=nb.switch_id, port=nb.port_id)

    def maint() -> Failure:
        return Failure(kind="maintenance", host=rnd.choice(with_vms).name)

    both = rnd.choice([s for s in switches if s.endswith("-a")])
    cases = [
        [pnic()],
        pair(("vmnic0", "vmnic1")),  # the standard switch: management and vMotion go dark
        pair(("vmnic2", "vmnic3")),  # the DVS: the host's VMs go dark
        [Failure(kind="neighbor", switch=rnd.choice(switches))],
        [port()],
        [Failure(kind="neighbor", switch=s) for s in (both, both[:-1] + "b")],
        [maint()],
        [maint(), pnic()],
        [pnic(), port()],
        [maint(), Failure(kind="neighbor", switch=rnd.choice(switches))],
    ]
    return cases[:n]


def inject(lab: RunningLab, s: Session, inv: Inventory, failures: list[Failure]) -> None:
    for f in failures:
        if f.kind == "maintenance":
            h = _host(s, f.host or "")
            wait_task(s, h.EnterMaintenanceMode_Task(0), "EnterMaintenanceMode_Task", h.name)
        elif f.kind == "neighbor":
            set_link(False, switch=f.switch, port=f.port, lab=lab.lab)
        else:
            for host, device in sorted(failed_pnics(f, inv)):
                set_link(False, host=host, pnic=device, lab=lab.lab)


def heal(lab: RunningLab, s: Session, failures: list[Failure]) -> None:
    reset_links(lab.lab)
    for f in failures:
        if f.kind == "maintenance":
            h = _host(s, f.host or "")
            wait_task(s, h.ExitMaintenanceMode_Task(0), "ExitMaintenanceMode_Task", h.name)


def observable(c: Connectivity) -> dict[str, tuple[Any, ...]]:
    """What a fresh read can confirm about each endpoint."""
    return {
        k: (e.status, e.host, e.portgroup, e.switch, e.vlan, tuple(e.live_pnics))
        for k, e in c.endpoints.items()
    }


def test_whatif_predictions_match_the_lab_after_injection(impact_lab: RunningLab) -> None:
    with impact_lab.session() as s:
        base = collect(s, neighbors=True)
        cases = generate_cases(base)
        assert len(cases) == 10
        kinds = {f.kind for case in cases for f in case}
        assert kinds == {"pnic", "neighbor", "maintenance"}
        totals = {"dark": 0, "degraded": 0, "moved": 0}
        for failures in cases:
            before = analyze(base)
            predicted = analyze(apply_failures(base, failures))
            inject(impact_lab, s, base, failures)
            try:
                after = collect(s, neighbors=True)
                actual = analyze(after)
            finally:
                heal(impact_lab, s, failures)
            assert observable(predicted) == observable(actual), failures
            for k, e in predicted.endpoints.items():
                old = before.endpoints[k]
                totals["dark"] += e.status == "dark" != old.status
                totals["degraded"] += (old.status, e.status) == ("ok", "degraded")
                totals["moved"] += e.host != old.host
        assert down_links(impact_lab.lab) == []
        assert observable(analyze(collect(s, neighbors=True))) == observable(analyze(base))
    # the cases are not vacuous: each kind of consequence was predicted and observed
    assert all(v > 0 for v in totals.values()), totals


def test_whatif_cli_exit_codes_and_json(impact_lab: RunningLab) -> None:
    runner = CliRunner()
    env = impact_lab.env()
    dark = runner.invoke(app, ["whatif", "fail", "DC0_C0_H1/vmnic0", "DC0_C0_H1/vmnic1"], env=env)
    assert dark.exit_code == 2, dark.output
    assert "goes dark (2)" in dark.output and "DC0_C0_H1 vmk0 [management]" in dark.output
    ok = runner.invoke(
        app, ["whatif", "fail", "neighbour", "tor-dc0_c0-a:Ethernet1/2", "--json"], env=env
    )
    assert ok.exit_code == 0, ok.output
    import json

    data = json.loads(ok.output)
    assert data["what"] == "neighbour tor-dc0_c0-a:Ethernet1/2"
    assert {t["key"] for t in data["degraded"]} == {"vmk:DC0_C0_H1/vmk0", "vmk:DC0_C0_H1/vmk1"}
    bad = runner.invoke(app, ["whatif", "fail", "DC0_C0_H1/vmnic9"], env=env)
    assert bad.exit_code == 1 and "has no pNIC or LAG 'vmnic9'" in bad.output


def test_plan_lists_what_a_migration_moves_and_refuses_a_management_cut(
    fresh_lab: Any, tmp_path: Any
) -> None:
    from vnettool.engine import UnsafePlan
    from vnettool.engine import apply as engine_apply
    from vnettool.engine import plan as engine_plan
    from vnettool.playbook.desired_file import load_desired

    lab = fresh_lab()
    runner = CliRunner()
    with lab.session() as s:
        # put two VMs' NICs on the standard "VM Network" so the migration has VMs to move
        back = DesiredState.model_validate(
            dict(
                target={"datacenter": "DC0", "cluster": "DC0_C0"},
                migrations={
                    "vm_nics": [
                        {
                            "vms": ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"],
                            "from_portgroup": "DC0_DVPG0",
                            "to_portgroup": "VM Network",
                        }
                    ]
                },
            )
        )
        results = engine_apply(engine_plan(back, collect(s)), s)
        assert results and not any(r.failed for r in results)
        inv = collect(s)
        p = engine_plan(load_desired(Path("playbooks/migrate-vss-to-vds.yml")), inv)
    assert p.impact is not None
    moved = {t.key for t in p.impact.moved}
    c0 = [h.name for h in inv.hosts if h.cluster == "DC0_C0"]
    want = {f"vmk:{h}/{d}" for h in c0 for d in ("vmk0", "vmk1")}
    label = inv.vm_by_name["DC0_C0_RP0_VM0"].nics[0].label
    want |= {f"vm:DC0_C0_RP0_VM0/{label}", f"vm:DC0_C0_RP0_VM1/{label}"}
    assert moved == want
    assert p.impact.dark == [] and not [c for c in p.changes if c.unsafe]
    shown = runner.invoke(app, ["plan", "playbooks/migrate-vss-to-vds.yml"], env=lab.env())
    assert shown.exit_code == 2, shown.output
    assert "Impact: 10 move (8 management/vMotion)" in shown.output
    assert f"impact: 1 move — DC0_C0_RP0_VM0 {label}" in shown.output

    # vmnic0 of H0 loses its link; keeping only vmnic0 on vSwitch0 leaves management dark
    set_link(False, host="DC0_C0_H0", pnic="vmnic0", lab=lab.lab)
    doc = tmp_path / "cut.yml"
    doc.write_text(
        "target: {hosts: [DC0_C0_H0]}\n"
        "standard_switches:\n  - {name: vSwitch0, uplinks: [vmnic0]}\n"
    )
    refused = runner.invoke(app, ["apply", str(doc), "--yes"], env=lab.env())
    assert refused.exit_code == 1, refused.output
    assert "cuts the management network of DC0_C0_H0 vmk0 [management]" in refused.output
    with lab.session() as s:
        sw = next(x for x in collect(s).standard_switches if x.host == "DC0_C0_H0")
        assert sw.uplinks == ["vmnic0", "vmnic1"]  # nothing was changed
        with pytest.raises(UnsafePlan):
            engine_apply(engine_plan(load_desired(doc), collect(s)), s)
