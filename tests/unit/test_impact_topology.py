"""The topology picture: Graphviz source from hand-built inventories (no `dot` needed)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.unit.impact_inventory import build, vm
from vnettool.cli.main import app
from vnettool.impact import analyze
from vnettool.impact.topology import build_topology
from vnettool.impact.whatif import Failure, apply_failures


def test_identical_hosts_collapse_into_one_box_per_cluster() -> None:
    src = build_topology(build(hosts=5, vms=[])).source
    assert "H0 … H4 (x5)" in src
    assert src.count("subgraph cluster_") == 1
    assert "vmnic0, vmnic2 x5" in src and "vmnic1, vmnic3 x5" in src
    assert "DVS0 (vDS)" in src and "web vlan 10" in src and "db vlan 30" in src


def test_vm_counts_in_switch_boxes() -> None:
    vms = [vm("a", "H0", ("VM Network", None)), vm("b", "H0", ("web", "dvpg-1"))]
    src = build_topology(build(vms=vms)).source
    assert "VM Network vlan none · 1 VM NIC" in src
    assert "web vlan 10 · 1 VM NICs" in src


def test_overlay_splits_the_failed_host_and_colours_it() -> None:
    inv = build(hosts=3, vms=[])
    failed = apply_failures(
        inv, [Failure(kind="pnic", host="H1", name=d) for d in ("vmnic0", "vmnic1")]
    )
    src = build_topology(inv, after=analyze(failed), failed=failed).source
    assert "H0, H2" in src  # the two healthy hosts still collapse
    assert "! dark: H1 vmk0 [management], H1 vmk1 [vmotion]" in src
    assert "#ffebee" in src  # the dark fill
    # the failed links are drawn dashed red to where they were cabled
    assert src.count("style=dashed") == 2


def test_filters_and_cli_writes_dot(tmp_path: Path) -> None:
    inv = build(hosts=2, vms=[])
    assert "H1" not in build_topology(inv, host="H0").source
    snap = tmp_path / "inv.json"
    inv.save(snap)
    out = tmp_path / "t.dot"
    r = CliRunner().invoke(app, ["topology", "--snapshot", str(snap), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("digraph vnettool {")
    bad = CliRunner().invoke(app, ["topology", "--snapshot", str(snap), "--out", "x.jpg"])
    assert bad.exit_code == 1 and "must end in .svg, .png, .dot, .pdf" in bad.output
    nope = CliRunner().invoke(
        app, ["topology", "--snapshot", str(snap), "--out", str(out), "--cluster", "C9"]
    )
    assert nope.exit_code == 1 and "no cluster 'C9'" in nope.output


def test_png_and_svg_rendered_by_graphviz(tmp_path: Path) -> None:
    snap = tmp_path / "inv.json"
    build(vms=[]).save(snap)
    for name, magic in (("t.png", b"\x89PNG"), ("t.svg", b"<?xml")):
        out = tmp_path / name
        r = CliRunner().invoke(app, ["topology", "--snapshot", str(snap), "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert out.read_bytes().startswith(magic)
