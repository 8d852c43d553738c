"""CLI inputs that ended in tracebacks: each is now one located error line and exit 1 or 2
(typer's usage error), before any connection is attempted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import FaultRow, record

VNETTOOL = str(Path(sys.executable).parent / "vnettool")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "VNETTOOL_HOME": str(tmp_path / "home"),
        "VSPHERE_SERVER": "127.0.0.1:1",  # nothing listens: a connection would say so
        "VSPHERE_USER": "u",
        "VSPHERE_PASSWORD": "p",
    }
    return subprocess.run(
        [VNETTOOL, *args], capture_output=True, text=True, timeout=120, check=False, env=env
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("inventory", "--server", "a" * 64 + ".example.com"), 1, "is 64 characters (at most 63)"),
        (("inventory", "--save", "{tmp}"), 1, "is a directory"),
        (("rebalance", "--max-moves", "-1"), 2, "--max-moves"),
        (("rebalance", "--concurrent", "0"), 2, "--concurrent"),
        (("rebalance", "--state", "{tmp}/corrupt.json"), 1, "not a rebalance state file"),
        (("rebalance", "--state", "{tmp}"), 1, "is a directory"),
    ],
)
def test_bad_cli_input_is_one_clear_error(
    tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    (tmp_path / "corrupt.json").write_text('{"hosts": [1, 2')
    out = _run(tmp_path, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    text = " ".join(out.stderr.split())
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr
    assert says in text, text
    assert "127.0.0.1" not in text, "refused before connecting"
    record(FaultRow("CLI input", " ".join(args)[:44], 1, "one error line", 0, kind="bad input"))
