"""Processes, secrets and warnings around the lab and the CLI: `lab stop` kills only its own
simulator, the simulator never sees the user's vCenter credentials, a password on the command
line is refused, and an unverified TLS connection is always announced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunningLab
from vnettool.lab.runner import Lab

pytestmark = pytest.mark.lab
VNETTOOL = str(Path(sys.executable).parent / "vnettool")


def test_lab_stop_leaves_an_unrelated_process_alone(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        lab = Lab(tmp_path / "lab")
        lab.dir.mkdir(parents=True, exist_ok=True)
        lab.state_file.write_text(
            json.dumps({"url": "https://127.0.0.1:1/sdk", "pid": bystander.pid, "control": ""})
        )
        assert lab.state() is None, "a PID that is not our simulator is not the lab"
        assert lab.stop() is False
        assert bystander.poll() is None, "the unrelated process still runs"
    finally:
        bystander.kill()
        bystander.wait()


def test_the_simulator_gets_no_vcenter_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VSPHERE_PASSWORD", "real-vcenter-secret")
    monkeypatch.setenv("GOVC_URL", "https://admin:real-vcenter-secret@vc.example.com/sdk")
    lab = Lab(tmp_path / "lab")
    st, _ = lab.start()
    try:
        environ = Path(f"/proc/{st.pid}/environ").read_bytes()
        assert b"real-vcenter-secret" not in environ
        assert b"VSPHERE_" not in environ and b"GOVC_" not in environ
    finally:
        lab.stop()


def _cli(lab: RunningLab, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VSPHERE_", "GOVC_"))}
    return subprocess.run(
        [VNETTOOL, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=e | lab.env() | env,
    )


def test_password_on_the_command_line_is_refused(lab: RunningLab) -> None:
    out = _cli(lab, "inventory", "--server", "admin:hunter2@127.0.0.1:1", env={})
    assert out.returncode == 1, out.stderr
    assert "carries a password" in out.stderr and "VSPHERE_PASSWORD" in out.stderr
    assert "hunter2" not in out.stdout + out.stderr


def test_unverified_tls_is_announced(lab: RunningLab) -> None:
    host = lab.state.host_port
    creds = {"VSPHERE_USER": "administrator@vsphere.local", "VSPHERE_PASSWORD": "VMware1!"}
    flag = _cli(lab, "inventory", "--insecure", env=creds | {"VSPHERE_SERVER": host})
    govc = _cli(
        lab,
        "inventory",
        env={"GOVC_URL": f"https://{host}/sdk", "GOVC_INSECURE": "1"}
        | {"GOVC_USERNAME": creds["VSPHERE_USER"], "GOVC_PASSWORD": creds["VSPHERE_PASSWORD"]},
    )
    for out in (flag, govc):
        assert out.returncode == 0, out.stderr
        assert "is NOT verified" in " ".join(out.stderr.split())
    pinned = _cli(lab, "inventory", env={})  # the lab profile pins the certificate
    assert pinned.returncode == 0 and "NOT verified" not in pinned.stderr


def test_lab_netem_refuses_an_unknown_host(lab: RunningLab) -> None:
    """A setting for a host the lab does not have would silently never apply to any ping."""
    from vnettool.lab.netem import get_netem

    before = get_netem(lab.lab)
    for args in (["nosuch-host"], ["DC0_C0_H0", "--peer", "nosuch-host"]):
        out = _cli(lab, "lab", "netem", *args, "--rtt-ms", "5", env={})
        assert out.returncode == 1, out.stdout + out.stderr
        assert "no host nosuch-host in the lab (hosts: DC0_C0_H0" in out.stderr
        assert "Traceback" not in out.stderr
    out = _cli(lab, "lab", "netem", "nosuch-host", "--reset", env={})
    assert out.returncode == 1 and "no host nosuch-host" in out.stderr
    assert get_netem(lab.lab) == before
