"""Security: TLS is verified by default (the lab's self-signed certificate is refused), a CA
file or the thumbprint makes it trusted; a distinctive password never appears in any output or
artefact of a full run; report files are user-only.
"""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import RunningLab
from vnettool.errors import ConnectionFailed
from vnettool.lab import runner
from vnettool.lab.runner import LAB_PASSWORD
from vnettool.lab.tls import fetch_thumbprint
from vnettool.vsphere.connection import connect
from vnettool.vsphere.credentials import Credentials, resolve

pytestmark = pytest.mark.lab
ROOT = Path(__file__).parents[2]
VNETTOOL = str(Path(sys.executable).parent / "vnettool")
SECRET = "Zq9-s3cr3t-vnettool-Pw!"  # distinctive: any hit in an artefact is a leak


def _server(lab: RunningLab) -> tuple[str, int]:
    u = urlsplit(lab.state.url)
    return u.hostname or "127.0.0.1", u.port or 443


def _creds(lab: RunningLab, **kw: object) -> Credentials:
    host, port = _server(lab)
    return Credentials(
        host=host, port=port, user="administrator@vsphere.local", password=LAB_PASSWORD, **kw
    )  # type: ignore[arg-type]


def test_untrusted_lab_certificate_is_refused(lab: RunningLab) -> None:
    with pytest.raises(ConnectionFailed, match="not trusted") as info:
        connect(_creds(lab))
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    # the refusal names the fingerprint to check and pin (issue 28 item 11), and it is the
    # one the lab really has: pinning it connects
    assert f"Its SHA-256 fingerprint is {lab.thumbprint}" in str(info.value)
    assert f"--thumbprint {lab.thumbprint}" in str(info.value)
    with connect(_creds(lab, thumbprint=lab.thumbprint)) as s:
        assert s.about.apiVersion


def test_ca_file_and_thumbprint_are_accepted(
    lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = _server(lab)
    ca = tmp_path / "lab-ca.pem"
    ca.write_text(ssl.get_server_certificate((host, port)))
    monkeypatch.setenv("VSPHERE_SERVER", f"{host}:{port}")
    monkeypatch.setenv("VSPHERE_USER", "administrator@vsphere.local")
    monkeypatch.setenv("VSPHERE_PASSWORD", LAB_PASSWORD)
    monkeypatch.setenv("VSPHERE_CA_FILE", str(ca))
    creds = resolve(interactive=False)
    assert creds.ca_file == str(ca) and not creds.insecure
    # The lab's own RSA-2048 certificate as the CA: chain and host name (127.0.0.1) verify.
    with connect(creds) as s:
        assert s.about.apiVersion
    with connect(_creds(lab, thumbprint=fetch_thumbprint(f"{host}:{port}"))) as s:
        assert s.about.apiVersion
    with pytest.raises(ConnectionFailed, match="pinned"):
        connect(_creds(lab, thumbprint="00" * 32))
    assert LAB_PASSWORD not in repr(creds) and LAB_PASSWORD not in creds.model_dump_json()


def test_the_password_is_in_no_artefact_of_a_full_run(
    fresh_lab: Callable[..., RunningLab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a lab that only accepts the distinctive password (vcsim checks it)
    monkeypatch.setattr(runner, "LAB_PASSWORD", SECRET)
    lab = fresh_lab(cluster=1, host=2, vm=2)
    host, port = _server(lab)
    home = Path(lab.env()["VNETTOOL_HOME"])
    env = (
        os.environ
        | lab.env()
        | {
            "VSPHERE_SERVER": f"{host}:{port}",
            "VSPHERE_USER": "administrator@vsphere.local",
            "VSPHERE_PASSWORD": SECRET,
            "COLUMNS": "200",
        }
    )
    env.pop("GOVC_URL", None)
    desired = tmp_path / "desired.yml"
    desired.write_text(
        json.dumps(
            {
                "target": {"cluster": "DC0_C0"},
                "standard_port_groups": [{"name": "pg-secret", "switch": "vSwitch0", "vlan": 901}],
            }
        )
    )
    snap = tmp_path / "snap.json"
    commands = [
        ["inventory", "--json", "--insecure"],
        ["-vv", "inventory", "--save", str(snap), "--insecure"],
        ["plan", str(desired), "--insecure"],
        ["plan", str(desired), "--insecure", "--json"],
        ["-vv", "apply", str(desired), "--yes", "--insecure"],
        ["run", str(ROOT / "playbooks/check-host-networking.yml"), "--insecure", "--json"],
        ["lab", "fault", "add", "RetrievePropertiesEx", "--action", "503", "--count", "1"],
        ["-vv", "inventory", "--json", "--insecure"],  # retried fault, logged
        ["lab", "fault", "list"],
        ["inventory", "--server", f"{host}:{port}"],  # refused TLS: error path
        ["inventory", "--server", "127.0.0.1:1", "--insecure"],  # unreachable: error path
    ]
    outputs = []
    for args in commands:
        r = subprocess.run(
            [VNETTOOL, *args],
            check=False,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        outputs.append((args, r.returncode, r.stdout + r.stderr))
    assert outputs[0][1] == 0 and "DC0_C0_H0" in outputs[0][2], outputs[0]
    assert outputs[4][1] == 0, outputs[4][2]
    assert outputs[9][1] != 0 and "not trusted" in outputs[9][2]
    leaks = [a for a, _, out in outputs if SECRET in out]
    files = [p for d in (tmp_path, home) for p in d.rglob("*") if p.is_file()]
    artefacts = [
        p for p in files if p.suffix in (".json", ".jsonl", ".log", ".xlsx", ".md", ".txt")
    ]
    assert snap in artefacts and any(p.suffix == ".jsonl" for p in artefacts)
    leaks += [
        str(p) for p in files if p.name != "profile.json" and SECRET.encode() in p.read_bytes()
    ]
    assert leaks == [], leaks
    # report files are user-only
    for p in [snap, *(home / "runs").glob("*.jsonl")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o077 == 0, f"{p} is {oct(mode)}"
