"""The LAG-down case on the lab: vmnics bound to an enhanced-LACP LAG's ports, then the LAG
failing on a host — its member pNICs losing link, or taken out of the LAG or the LAG removed by
a plan — with the prediction (what-if, the plan's blast radius) compared object by object
with what a fresh inventory shows afterwards.

playbooks/dvs-lag-uplinks.yml puts vmnic4/vmnic5 of the DC0_C0 hosts into lag1 on DVS0, a
port group carried by the LAG alone (`dv-lag`) and the hosts' vMotion adapters and two VMs
on it, so a LAG failure has VMs and vmknics to cut.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim
from typer.testing import CliRunner

from tests.conftest import RunningLab
from tests.engine.test_contract import applied, ids
from tests.lab.test_impact_lab import observable
from vnettool.cli.main import app
from vnettool.engine import apply, plan, rollback
from vnettool.impact import analyze
from vnettool.impact.whatif import Failure, apply_failures, failed_pnics, whatif
from vnettool.inventory import collect
from vnettool.lab.links import down_links, reset_links, set_link
from vnettool.models.desired import DesiredState
from vnettool.models.inventory import Inventory
from vnettool.models.plan import Plan, Result
from vnettool.playbook.desired_file import load_desired
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab

DOC = Path("playbooks/dvs-lag-uplinks.yml")
C0 = [f"DC0_C0_H{i}" for i in range(4)]
IN_LAG = {"vmnic2": "uplink1", "vmnic3": "uplink2", "vmnic4": "lag1-0", "vmnic5": "lag1-1"}


@pytest.fixture(scope="module")
def lag_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """A private default lab: LAGs are made, links go down and plans are applied here."""
    from vnettool.lab.runner import Lab, Topology

    lab = Lab(tmp_path_factory.mktemp("lagdown-home") / "lab")
    state, _ = lab.start(Topology())
    running = RunningLab(lab, state)
    yield running
    running.stop()


def _failures(results: list[Result]) -> list[str]:
    return [f"{r.change.summary()}: {r.error}" for r in results if r.failed or r.skipped]


def _apply(p: Plan, s: Session) -> list[Result]:
    results = apply(p, s)
    assert not _failures(results), _failures(results)
    return results


def _dvs0(s: Session) -> Any:
    view = s.content.viewManager.CreateContainerView(
        s.content.rootFolder, [vim.DistributedVirtualSwitch], True
    )
    try:
        return next(o for o in view.view if o.name == "DVS0")
    finally:
        view.Destroy()


def _host(s: Session, name: str) -> Any:
    view = s.content.viewManager.CreateContainerView(s.content.rootFolder, [vim.HostSystem], True)
    try:
        return next(o for o in view.view if o.name == name)
    finally:
        view.Destroy()


def _lag_ports(s: Session, host: str) -> dict[str, Any]:
    """The host's LAG ports through plain pyVmomi: name -> DistributedVirtualPort."""
    crit = vim.dvs.PortCriteria(uplinkPort=True, host=[_host(s, host)])
    return {
        p.config.name: p for p in _dvs0(s).FetchDVPorts(crit) if p.config.name.startswith("lag")
    }


def _members(inv: Inventory) -> dict[str, dict[str, str]]:
    return {m.host: dict(m.pnics) for m in inv.dvs_by_name["DVS0"].hosts if m.host in C0}


def test_vmnics_into_a_lag_apply_twice_read_back_and_roll_back(lag_lab: RunningLab) -> None:
    with lag_lab.session() as s:
        before = collect(s)
        p = plan(load_desired(DOC), before)
        bound = sorted(c.name for c in p.changes if c.resource == "dvs_host_uplinks")
        assert bound == [f"DVS0/{h}" for h in C0]
        results = _apply(p, s)

        # a second apply plans nothing; a separate inventory pass reads the LAG membership
        assert plan(load_desired(DOC), collect(s)).empty
        assert apply(plan(load_desired(DOC), collect(s)), s) == []
        fresh = collect(s)
        assert _members(fresh) == {h: IN_LAG for h in C0}
        lag = fresh.dvs_by_name["DVS0"].lags[0]
        assert (lag.name, lag.uplink_names) == ("lag1", ["lag1-0", "lag1-1"])

        # plain pyVmomi: the switch's LAG, each host's member backing, proxy switch and ports
        cfg = _dvs0(s).config
        (g,) = cfg.lacpGroupConfig
        assert list(g.uplinkName) == ["lag1-0", "lag1-1"]
        assert len(g.uplinkPortKey) == 2 * len(cfg.host) == 16  # every member host's ports
        for name in C0:
            host = _host(s, name)
            ports = _lag_ports(s, name)
            assert set(ports) == {"lag1-0", "lag1-1"}
            member = next(m for m in cfg.host if m.config.host == host)
            keys = {x.pnicDevice: x.uplinkPortKey for x in member.config.backing.pnicSpec}
            assert keys["vmnic4"] == ports["lag1-0"].key and keys["vmnic5"] == ports["lag1-1"].key
            (ps,) = [x for x in host.config.network.proxySwitch if x.dvsName == "DVS0"]
            assert {x.pnicDevice: x.uplinkPortKey for x in ps.spec.backing.pnicSpec} == keys
            (hl,) = ps.hostLag
            assert (hl.lagName, [kv.value for kv in hl.uplinkPort]) == (
                "lag1",
                ["lag1-0", "lag1-1"],
            )
            p4 = ports["lag1-0"]
            assert p4.proxyHost == host and p4.connectee.nicKey == "vmnic4"
            assert p4.state.runtimeInfo.linkUp

        # rollback: the pNICs leave the LAG, the LAG and the port group go, NICs move back
        rb = rollback(results, collect(s))
        assert rb.unrestorable == [] and rb.conflicts == []
        _apply(rb.plan, s)
        now = collect(s)
        assert _members(now) == _members(before)
        assert now.dvs_by_name["DVS0"].lags == []
        assert ids(plan(load_desired(DOC), now)) == ids(p)
        assert rollback(results, now).plan.empty


def _dark_on(inv: Inventory, hosts: set[str], on_lag: bool = True) -> set[str]:
    """The endpoints on the LAG-only port group on these hosts (or, `on_lag=False`, on the
    switch's other port groups, carried by vmnic2/vmnic3), read from the inventory itself,
    not from the model: what a LAG failure there must cut, exactly."""
    lag = next(p.key for p in inv.distributed_port_groups if p.name == "dv-lag")
    keys = {p.key for p in inv.distributed_port_groups if p.dvs == "DVS0" and not p.uplink}
    keys = {lag} if on_lag else keys - {lag}
    vmks = {
        f"vmk:{v.host}/{v.device}"
        for v in inv.vmkernel_adapters
        if v.dv_portgroup_key in keys and v.host in hosts
    }
    nics = {
        f"vm:{vm.name}/{n.label}"
        for vm in inv.vms
        if vm.host in hosts
        for n in vm.nics
        if n.dv_portgroup_key in keys
    }
    return vmks | nics


CASES: list[tuple[list[Failure], str]] = [
    ([Failure(kind="lag", host="DC0_C0_H0", name="lag1")], "dark"),
    ([Failure(kind="pnic", host="DC0_C0_H3", name="vmnic4")], "degraded"),
    (
        [
            Failure(kind="lag", host="DC0_C0_H0", name="lag1"),
            Failure(kind="lag", host="DC0_C0_H3", name="lag1"),
        ],
        "dark",
    ),
    (
        [
            Failure(kind="lag", host="DC0_C0_H1", name="lag1"),
            Failure(kind="pnic", host="DC0_C0_H1", name="vmnic2"),
        ],
        "dark",
    ),
]


def test_lag_down_predictions_match_the_lab(lag_lab: RunningLab) -> None:
    with lag_lab.session() as s:
        results = _apply(plan(load_desired(DOC), collect(s)), s)
        base = collect(s, neighbors=True)
        for failures, effect in CASES:
            hosts = {f.host or "" for f in failures}
            impact, predicted = whatif(base, failures)
            want = _dark_on(base, hosts)
            assert want, "the case cuts something"
            got_dark = {t.key for t in impact.dark}
            got_degraded = {t.key for t in impact.degraded}
            # vmnic2 down as well: the switch's other port groups keep only vmnic3
            other = (
                _dark_on(base, hosts, on_lag=False)
                if any(f.kind == "pnic" and f.name == "vmnic2" for f in failures)
                else set()
            )
            if effect == "dark":
                assert got_dark == want and got_degraded == other, failures
            else:
                assert got_degraded == want and got_dark == set(), failures
            assert predicted == analyze(apply_failures(base, failures))
            down = sorted({p for f in failures for p in failed_pnics(f, base)})
            for host, device in down:
                set_link(False, host=host, pnic=device, lab=lag_lab.lab)
            try:
                after = collect(s, neighbors=True)
                assert observable(predicted) == observable(analyze(after)), failures
                # the vim API's LACP runtime: a LAG port is down with its pNIC
                for host in hosts:
                    lagdown = {
                        p.connectee.nicKey: p.state.runtimeInfo.linkUp
                        for p in _lag_ports(s, host).values()
                    }
                    assert lagdown == {d: (host, d) not in down for d in ("vmnic4", "vmnic5")}
            finally:
                reset_links(lag_lab.lab)
        assert down_links(lag_lab.lab) == []

        # the CLI says the same, exit 2 when something goes dark
        out = CliRunner().invoke(
            app, ["whatif", "fail", "DC0_C0_H0/lag1", "--json"], env=lag_lab.env()
        )
        assert out.exit_code == 2, out.output
        data = json.loads(out.output)
        assert {t["key"] for t in data["dark"]} == _dark_on(base, {"DC0_C0_H0"})
        rb = rollback(results, collect(s))
        _apply(rb.plan, s)


def _release(host: str) -> DesiredState:
    """vmnic4/5 of one host out of the LAG (the switch's own host edit, by position)."""
    return DesiredState.model_validate(
        {
            "target": {"datacenter": "DC0", "cluster": "DC0_C0"},
            "distributed_switches": [
                {
                    "name": "DVS0",
                    "hosts": {
                        "hosts": [host],
                        "uplinks": {"vmnic2": "uplink1", "vmnic3": "uplink2"},
                    },
                }
            ],
        }
    )


REMOVE_LAG = DesiredState.model_validate(
    {
        "target": {"datacenter": "DC0", "cluster": "DC0_C0"},
        "distributed_port_groups": [
            {"name": "dv-lag", "switch": "DVS0", "teaming": {"active": ["uplink1", "uplink2"]}}
        ],
        "absent": {"lags": ["DVS0/lag1"]},
    }
)


def test_blast_radius_of_taking_vmnics_out_of_a_lag_and_removing_it(lag_lab: RunningLab) -> None:
    """A plan's blast radius (its simulated inventory) against the fresh read after apply."""
    with lag_lab.session() as s:
        setup = _apply(plan(load_desired(DOC), collect(s)), s)
        inv = collect(s)
        for doc, cut in ((_release("DC0_C0_H1"), {"DC0_C0_H1"}), (REMOVE_LAG, set())):
            p = plan(doc, inv)
            assert p.impact is not None
            assert {t.key for t in p.impact.dark} == _dark_on(inv, cut)
            predicted = analyze(applied(inv, p.changes))
            results = _apply(p, s)
            inv = collect(s)
            assert observable(predicted) == observable(analyze(inv)), doc
            assert plan(doc, inv).empty
        # the removed LAG took its ports: every host's vmnic4/5 is unassigned
        assert inv.dvs_by_name["DVS0"].lags == []
        assert all(set(m) == {"vmnic2", "vmnic3"} for m in _members(inv).values())
        assert results and setup
