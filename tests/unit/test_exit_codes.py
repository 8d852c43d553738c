"""An unreachable vCenter is never read as "changes pending" or "findings" (exit 2)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vnettool.cli.main import app
from vnettool.errors import UNREACHABLE


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


@pytest.mark.parametrize(
    "command",
    [
        "plan",
        "apply",
        "audit",
        "inventory",
        "whatif",
        "run",
        "healthcheck",
        "dvs-export",
        "dvs-restore",
    ],
)
def test_unreachable_server_exits_5(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VSPHERE_USER", "u")
    monkeypatch.setenv("VSPHERE_PASSWORD", "p")
    monkeypatch.setenv("VNETTOOL_TIMEOUT", "2")
    doc = tmp_path / "d.yml"
    doc.write_text("target: {cluster: '*'}\nstandard_switches: [{name: vSwitch9, mtu: 9000}]\n")
    backup = tmp_path / "b.yml"
    blob = {"entity_type": "distributedVirtualSwitch", "key": "u", "name": "DVS0", "blob": "AA=="}
    backup.write_text(
        "backup: "
        + str({"format": "vnettool-dvs-backup/1", "vcenter": "v", "exported_at": "t",
               "switch": "DVS0", "uuid": "u", "entities": [blob]})
    )  # fmt: skip
    play = tmp_path / "p.yml"
    play.write_text("target: {cluster: '*'}\nsteps:\n  - name: s\n    snapshot: {path: s.json}\n")
    args = {
        "plan": ["plan", str(doc)],
        "apply": ["apply", str(doc), "--yes"],
        "audit": ["audit", "--out", str(tmp_path / "a.xlsx")],
        "inventory": ["inventory"],
        "whatif": ["whatif", "maintenance", "H0"],
        "run": ["run", str(play), "--yes"],
        "healthcheck": ["healthcheck", "run", "DVS0", "--for", "1s"],
        "dvs-export": ["dvs", "export", "DVS0", "--out", str(tmp_path / "x.yml")],
        "dvs-restore": ["dvs", "restore", str(backup), "--yes"],
    }[command]
    server = ["--server", f"https://127.0.0.1:{_closed_port()}/sdk", "--insecure"]
    r = CliRunner().invoke(app, [*args, *server])
    assert r.exit_code == UNREACHABLE == 5, r.output
    assert "Traceback" not in r.output
