"""The plan renderer shared by the CLI and the TUI: one logical change on many hosts is one
entry naming the hosts; `per_host` expands it; the same error on many hosts is one line."""

from __future__ import annotations

from vnettool.engine.render import host_ranges, render_failures, render_plan, render_results, where
from vnettool.models.plan import Change, FieldDiff, Plan, Result

HOSTS = [f"DC0_C1_H{i}" for i in range(32)]


def pg(host: str | None, vlan: int = 110, name: str = "pg-web") -> Change:
    return Change(
        kind="create",
        resource="standard_port_group",
        host=host,
        name=name,
        diffs=[FieldDiff(field="vlan", after=vlan)],
    )


def test_host_ranges_compress_runs_and_keep_odd_names() -> None:
    assert host_ranges(HOSTS) == "DC0_C1_H[0-31]"
    assert host_ranges(["esx1", "esx2", "esx3", "esx7", "esx9", "esx10"]) == "esx[1-3,7,9-10]"
    assert host_ranges(["b.lab", "esx01", "a.lab", "esx4"]) == "esx4, a.lab, b.lab, esx01"
    assert where([None]) == "in vCenter"
    assert where(["h1"]) == "on h1"


def test_one_change_on_32_hosts_is_one_entry() -> None:
    plan = Plan(changes=[pg(h) for h in HOSTS] + [pg("DC0_C0_H0", vlan=111)])
    out = render_plan(plan, "Plan").plain
    assert out.splitlines() == [
        "  + standard port group pg-web on 33 hosts DC0_C0_H0, DC0_C1_H[0-31]",
        "      vlan: 110 on 32 hosts DC0_C1_H[0-31]; 111 on DC0_C0_H0",
        "Plan: 33 to create, 0 to update, 0 to delete on 33 hosts",
    ]


def test_a_value_per_host_shows_first_and_last() -> None:
    plan = Plan(changes=[pg(h, vlan=100 + i) for i, h in enumerate(HOSTS)])
    out = render_plan(plan).plain
    assert "      vlan: per host, 100 (DC0_C1_H0) to 131 (DC0_C1_H31)\n" in out


def test_per_host_lists_every_host() -> None:
    plan = Plan(changes=[pg(h) for h in HOSTS])
    out = render_plan(plan, per_host=True).plain
    assert all(f"{h}\n  + standard port group pg-web\n" in out for h in HOSTS)
    assert len(out.splitlines()) == 32 * 3 + 1


def test_vcenter_objects_are_not_on_one_host() -> None:
    dvpg = Change(kind="create", resource="distributed_port_group", host=None, name="pg-db")
    out = render_plan(Plan(changes=[dvpg, pg("h1")])).plain
    assert "distributed port group pg-db in vCenter" in out
    assert out.endswith("2 to create, 0 to update, 0 to delete on 1 host and vCenter")
    assert "on 1 host" not in Plan(changes=[dvpg]).summary()


def test_the_same_error_on_many_hosts_is_one_line() -> None:
    results = [
        Result(change=pg(h), failed=True, error=f"AddPortGroup on {h} failed with AlreadyExists")
        for h in HOSTS
    ]
    results.append(Result(change=pg("DC0_C0_H0"), failed=True, error="timeout"))
    out = render_failures(results).plain.splitlines()
    assert out == [
        "failed  create standard port group pg-web on 32 hosts DC0_C1_H[0-31]: "
        "AddPortGroup on <host> failed with AlreadyExists",
        "failed  create standard port group pg-web on DC0_C0_H0: timeout",
    ]


def test_apply_results_are_grouped_as_the_plan_was() -> None:
    """The TUI's results after an apply of one change on 32 hosts: one line, then each
    distinct failure once."""
    results = [Result(change=pg(h), changed=True, duration_s=0.5) for h in HOSTS[:31]]
    results.append(Result(change=pg(HOSTS[31]), failed=True, error="timeout"))
    results.append(Result(change=pg("DC0_C0_H0", name="pg-db"), changed=False, duration_s=0.1))
    out = render_results(results).plain.splitlines()
    assert out == [
        "changed create standard port group pg-web on 31 hosts DC0_C1_H[0-30]  (15.50 s)",
        "ok      create standard port group pg-db on DC0_C0_H0  (0.10 s)",
        "failed  create standard port group pg-web on DC0_C1_H31: timeout",
    ]
