"""Bad input everywhere: hostile snapshot files, wrong CLI arguments and lab flags each give a
clear one-line error (or safe handling) — never a Python traceback, never a partial write.

The CLI cases run the real `vnettool` entry point in a subprocess with an empty VNETTOOL_HOME
and no vCenter configured, so nothing here needs the lab.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vnettool.models.inventory import Host, Inventory

VNETTOOL = str(Path(sys.executable).parent / "vnettool")


def _snapshot() -> str:
    inv = Inventory(
        vcenter="vc.example",
        hosts=[Host(moref=f"host-{i}", name=f"esx{i}.example", cluster="C0") for i in range(3)],
    )
    return inv.model_dump_json(indent=1)


def _hostile() -> dict[str, bytes]:
    good = _snapshot()
    cases: dict[str, bytes] = {
        "empty": b"",
        "whitespace": b" \n\t ",
        "not-json": b"hosts: [a, b]\n",
        "binary": bytes(range(256)) * 4,
        "bad-utf8": b'{"vcenter": "\xff\xfe"}',
        "utf16-bom": good.encode("utf-16"),
        "array": b"[1, 2, 3]",
        "string": b'"inventory"',
        "null": b"null",
        "wrong-types": json.dumps({"hosts": "all of them"}).encode(),
        "host-not-object": json.dumps({"hosts": [1, 2]}).encode(),
        "wrong-version": json.dumps({**json.loads(good), "version": {"schema": 99}}).encode(),
        "future-field": json.dumps({**json.loads(good), "schema": 99, "quantum": True}).encode(),
        "deep-nesting": b'{"hosts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "huge-number": b'{"hosts": [{"moref": "h", "name": "h", "mtu": 1e999}]}',
        "nan": b'{"vcenter": NaN}',
        "duplicate-keys": b'{"vcenter": "a", "vcenter": {"x": 1}}',
        "bad-date": json.dumps({"collected_at": "yesterday"}).encode(),
    }
    for cut in (1, len(good) // 3, len(good) // 2, len(good) - 2):
        cases[f"truncated-{cut}"] = good[:cut].encode()
    return cases


HOSTILE = _hostile()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_snapshot_load_fails_cleanly_or_loads(tmp_path: Path, name: str) -> None:
    """Every hostile snapshot is either refused with ValueError/OSError (which the CLI turns
    into one line) or loaded into a valid Inventory — nothing else escapes."""
    p = tmp_path / "snap.json"
    p.write_bytes(HOSTILE[name])
    try:
        inv = Inventory.load(p)
    except (OSError, ValueError) as exc:
        assert str(exc)
    else:
        assert isinstance(inv, Inventory)
        assert name in ("duplicate-keys", "future-field"), f"{name} should have been refused"


def test_snapshot_load_of_a_directory_or_missing_file(tmp_path: Path) -> None:
    from vnettool.userfile import UserFileError

    for p, words in ((tmp_path, "is a directory"), (tmp_path / "missing.json", "No such file")):
        with pytest.raises(UserFileError, match=words):
            Inventory.load(p)


def _env(tmp: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VSPHERE_", "GOVC_", "VNETTOOL_"))
    }
    env["VNETTOOL_HOME"] = str(tmp / "home")
    env["COLUMNS"] = "200"
    return env


def _cli(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VNETTOOL, *args],
        check=False,
        cwd=tmp,
        env=_env(tmp),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cases(tmp: Path) -> list[list[str]]:
    snap = tmp / "truncated.json"
    snap.write_text(_snapshot()[:100])
    binary = tmp / "binary.yml"
    binary.write_bytes(bytes(range(256)))
    return [
        ["no-such-command"],
        ["plan"],
        ["plan", str(tmp / "missing.yml")],
        ["plan", str(tmp)],
        ["plan", str(binary)],
        ["apply", str(binary), "--yes"],
        ["apply", str(tmp / "missing.yml"), "--workers", "0", "--yes"],
        ["apply", str(tmp / "missing.yml"), "--workers", "many"],
        ["inventory", "--json"],  # no vCenter configured
        ["inventory", "--server", "https://[::1"],
        ["inventory", "--server", "vc.invalid:notaport"],
        ["inventory", "--server", "127.0.0.1:1", "--json"],
        ["inventory", "--server", "=cmd|' /C calc'!A0"],
        ["playbook", "validate", str(binary)],
        ["playbook", "validate", str(binary), "--inventory", str(snap)],
        ["playbook", "validate", str(binary), "--inventory", str(tmp)],
        ["run", str(tmp / "missing.yml")],
        ["lab", "start", "--hosts", "-1"],
        ["lab", "start", "--hosts", "lots"],
        ["lab", "stop"],
        ["lab", "status"],
        ["lab", "fault", "add", "X", "--action", "explode"],
        ["lab", "fault", "add", "X", "--count", "-3"],
        ["lab", "fault", "list"],
        ["lab", "fault", "clear"],
        ["lab", "netem", "--rtt", "-5"],
        ["latency", "probe", "--every", "x"],
        ["rebalance", "--state", str(snap)],
        ["tui", "--snapshot", str(snap)],
    ]


def test_cli_bad_arguments_never_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real CLI app, in-process (one import instead of ~30 start-ups)."""
    from typer.testing import CliRunner

    from vnettool.cli.main import app

    for k in list(os.environ):
        if k.startswith(("VSPHERE_", "GOVC_", "VNETTOOL_")):
            monkeypatch.delenv(k)
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    seen = 0
    for args in _cases(tmp_path):
        r = CliRunner().invoke(app, args)
        out = r.output
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            raise AssertionError((args, out)) from r.exception
        assert "Traceback" not in out, (args, out)
        if args[:2] not in (["lab", "stop"], ["lab", "status"]):  # "no lab running" is fine
            assert r.exit_code != 0, (args, out)
        assert out.strip(), (args, "no message at all")
        seen += 1
    assert seen >= 28


@pytest.mark.parametrize(
    "args",
    [["inventory", "--server", "https://[::1"], ["plan", "/nonexistent/x.yml"], ["bogus"]],
)
def test_cli_process_bad_arguments_one_line(tmp_path: Path, args: list[str]) -> None:
    """The installed entry point too: the exit code and a short message on stderr."""
    r = _cli(args, tmp_path)
    assert r.returncode != 0
    assert "Traceback" not in r.stdout + r.stderr
    assert 0 < len((r.stdout + r.stderr).strip().splitlines()) < 15


def test_lab_topology_limits_refuse_sizes_that_would_exhaust_memory() -> None:
    """--dc 100000 once started a simulator that grew to 20 GB; it is refused before starting."""
    from vnettool.lab.runner import LabError, Topology

    Topology(cluster=1, host=1000, vm=10000)  # the benchmark size is fine
    for bad in ({"dc": 100000}, {"host": -1}, {"dc": 10, "cluster": 100, "host": 100}):
        with pytest.raises(LabError, match="lab topology"):
            Topology(**bad)  # type: ignore[arg-type]
