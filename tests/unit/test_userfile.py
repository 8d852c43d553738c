"""Endless and special files: every command that reads a file a user named refuses devices,
pipes, directories and oversized files with a clear error, exit 1 and no traceback — quickly.

The reader is `vnettool.userfile`; the CLI cases run in-process through typer's CliRunner with
no vCenter configured, so they prove the file is refused before anything connects.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vnettool import userfile
from vnettool.cli.main import app


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    p = tmp_path / "pipe.yml"
    os.mkfifo(p)
    yield p


def _dir(p: Path) -> Path:
    p.mkdir(exist_ok=True)
    return p


def _special(tmp_path: Path, fifo: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, words the error must contain)."""
    return {
        "dev-zero": (Path("/dev/zero"), "character device"),
        "dev-urandom": (Path("/dev/urandom"), "character device"),
        "fifo-no-writer": (fifo, "named pipe"),
        "directory": (_dir(tmp_path / "a-directory.yml"), "directory"),
        "missing": (tmp_path / "nope.yml", "No such file"),
    }


@pytest.mark.timeout(20)
def test_reader_refuses_special_files_without_blocking(tmp_path: Path, fifo: Path) -> None:
    for name, (path, words) in _special(tmp_path, fifo).items():
        started = time.monotonic()
        with pytest.raises(userfile.UserFileError) as info:
            userfile.read_bytes(path)
        assert words in str(info.value), name
        assert str(path) in str(info.value), name
        assert time.monotonic() - started < 2, name


def test_reader_bounds_regular_files(tmp_path: Path) -> None:
    p = tmp_path / "big.yml"
    p.write_bytes(b"x" * 1001)
    assert userfile.read_bytes(p, limit=1001) == b"x" * 1001
    with pytest.raises(userfile.UserFileError, match="limited to 1000 bytes"):
        userfile.read_bytes(p, limit=1000)


def test_reader_bounds_files_whose_size_is_not_known(tmp_path: Path) -> None:
    """/proc files are regular but stat as 0 bytes: the read itself must stop at the bound."""
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("no /proc")
    assert status.stat().st_size == 0
    with pytest.raises(userfile.UserFileError, match="more than 10 bytes"):
        userfile.read_bytes(status, limit=10)
    assert b"Name:" in userfile.read_bytes(status)


def test_reader_text_refuses_binary(tmp_path: Path) -> None:
    p = tmp_path / "bin.yml"
    p.write_bytes(b"a: 1\n\xff\xfe")
    with pytest.raises(userfile.UserFileError, match=r"not UTF-8 text .*offset 5"):
        userfile.read_text(p)
    p.write_bytes("\ufeffa: 1\n".encode())
    assert userfile.read_text(p) == "a: 1\n"


def _commands(path: Path, snap: Path, good: Path) -> dict[str, list[str]]:
    """Every command that reads a user-named file, with `path` in that file's place."""
    p, s, g = str(path), str(snap), str(good)
    return {
        "plan": ["plan", p],
        "apply": ["apply", "--yes", p],
        "run": ["run", p],
        "run-check": ["run", "--check", p],
        "playbook-validate": ["playbook", "validate", p],
        "validate-inventory": ["playbook", "validate", "--inventory", p, g],
        "audit-config": ["audit", "--snapshot", s, "--config", p],
        "audit-baseline": ["audit", "--snapshot", s, "--baseline", p],
        "audit-snapshot": ["audit", "--snapshot", p],
        "appliance-status": ["appliance", "status", p],
    }


@pytest.mark.timeout(120)
def test_every_command_refuses_special_files(
    tmp_path: Path, fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vnettool.models.inventory import Host, Inventory

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("VNETTOOL_HOME", str(home))
    for var in ("VSPHERE_SERVER", "GOVC_URL", "VSPHERE_USER", "VSPHERE_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    snap = tmp_path / "snap.json"
    Inventory(vcenter="vc", hosts=[Host(moref="host-1", name="esx1", cluster="C0")]).save(snap)
    good = tmp_path / "good.yml"
    good.write_text("steps:\n  - snapshot: {path: s.json}\n")
    runner = CliRunner()
    checked = 0
    for name, (path, words) in _special(tmp_path, fifo).items():
        for cmd, argv in _commands(path, snap, good).items():
            started = time.monotonic()
            result = runner.invoke(app, argv)
            out = result.output
            assert result.exit_code == 1, (name, cmd, out)
            assert "Traceback" not in out, (name, cmd, out)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                name,
                cmd,
                repr(result.exception),
            )
            assert words in out and path.name in out, (name, cmd, out)
            assert time.monotonic() - started < 10, (name, cmd)
            checked += 1
    assert checked == 50
    assert sorted(p.name for p in home.rglob("*")) == []
