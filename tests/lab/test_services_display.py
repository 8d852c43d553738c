"""The vDS services as people read them: NetFlow, port mirroring and traffic rules applied
from the example playbooks, then shown by `vnettool inventory` (default view, the netflow /
mirrors / rules kinds, JSON) and the audit workbook — the CLI run as a user runs it, at 80
and 120 columns, compared with reviewed snapshots (update with --snapshot-update)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import RunningLab, _start
from tests.lab.test_output_snapshots import readable, run
from vnettool.lab.runner import Topology

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def services_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    running = _start(tmp_path_factory.mktemp("vnettool-home"), Topology())
    try:
        for book in ("dvs-netflow-mirror", "dvs-qos"):
            r = run(running, 120, "apply", str(ROOT / "playbooks" / f"{book}.yml"), "--yes")
            assert r.returncode == 0, r.stdout + r.stderr
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("width", [80, 120])
def test_inventory_shows_the_services(services_lab: RunningLab, width: int, snapshot) -> None:  # type: ignore[no-untyped-def]
    outs = []
    for kind in ("netflow", "mirrors", "rules"):
        r = run(services_lab, width, "inventory", kind)
        assert r.returncode == 0, r.stderr
        outs.append(readable(r.stdout, width))
    assert "192.0.2.10:2055" in outs[0]
    assert "span-web" in outs[1] and "erspan-web" in outs[1]
    assert "tag dscp 46 cos 5, out" in outs[2] and "mac type 0x0806" in outs[2]
    r = run(services_lab, width, "inventory")
    assert r.returncode == 0, r.stderr
    tail = r.stdout[r.stdout.index("distributed switch DVS0") :]
    assert "NetFlow of DVS0: collector 192.0.2.10:2055" in tail
    assert "port mirroring of DVS0" in tail and "traffic rules of DVS0" in tail
    assert "\n".join([*outs, tail]) == snapshot


def test_inventory_json_and_filtered_rules(services_lab: RunningLab) -> None:
    r = run(services_lab, 120, "inventory", "-o", "json")
    inv = json.loads(r.stdout)
    voice = next(p for p in inv["distributed_port_groups"] if p["name"] == "voice")
    assert [x["name"] for x in voice["traffic"]["rules"]] == [
        "mark-voice",
        "allow-dns",
        "drop-bpdu",
        "punt-arp",
    ]
    dvs = inv["distributed_switches"][0]
    assert dvs["netflow"]["collector_ip"] == "192.0.2.10"
    assert sorted(m["name"] for m in dvs["mirrors"]) == ["erspan-web", "span-web"]
    r = run(services_lab, 120, "inventory", "rules", "-o", "json", "-f", "portgroup=*Uplinks*")
    rows = json.loads(r.stdout)
    assert [(x["rule"], x["match"]) for x in rows] == [
        ("cos-nfs", "system nfs"),
        ("no-mark-vmotion", "system vmotion"),
    ]


def test_workbook_has_services_tabs(services_lab: RunningLab, tmp_path: Path) -> None:
    out = tmp_path / "audit.xlsx"
    r = run(services_lab, 120, "audit", "--fail-on", "never", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    wb = load_workbook(out)
    names = wb.sheetnames
    assert names.index("LACP") < names.index("NetFlow") < names.index("Mirroring")
    assert names.index("Mirroring") < names.index("TrafficRules") < names.index("PortGroupMatrix")
    netflow = list(wb["NetFlow"].iter_rows(values_only=True))
    assert netflow[1][:3] == ("DVS0", "192.0.2.10", 2055)
    sessions = {row[1] for row in wb["Mirroring"].iter_rows(min_row=2, values_only=True)}
    assert sessions == {"span-web", "erspan-web"}
    rules = [
        (row[1], row[5], row[7], row[9], row[10])
        for row in wb["TrafficRules"].iter_rows(min_row=2, values_only=True)
    ]
    assert ("voice", 1, "mark-voice", 46, 5) in rules
    assert [r[2] for r in rules if r[0] == "voice"] == [
        "mark-voice",
        "allow-dns",
        "drop-bpdu",
        "punt-arp",
    ]
