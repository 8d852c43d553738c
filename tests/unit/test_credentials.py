"""Credential resolution: precedence, govc's URL form, and passwords that never show."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from vnettool.errors import ConfigError
from vnettool.lab.runner import Lab
from vnettool.vsphere.credentials import parse_server, resolve

SECRET = "s3cr3t-Pa55"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in (
        "VSPHERE_SERVER",
        "VSPHERE_USER",
        "VSPHERE_PASSWORD",
        "GOVC_URL",
        "GOVC_USERNAME",
        "GOVC_PASSWORD",
        "GOVC_INSECURE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VNETTOOL_HOME", str(tmp_path))


def test_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSPHERE_SERVER", "vc1.example.com")
    monkeypatch.setenv("VSPHERE_USER", "admin")
    monkeypatch.setenv("VSPHERE_PASSWORD", SECRET)
    monkeypatch.setenv("GOVC_URL", "https://other:x@vc2.example.com/sdk")
    c = resolve(interactive=False)
    assert (c.host, c.user, c.port, c.source) == ("vc1.example.com", "admin", 443, "environment")
    assert c.password.get_secret_value() == SECRET


def test_govc_url_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVC_URL", "https://ops%40corp:p%3Ass@vc2.example.com:8443/sdk")
    monkeypatch.setenv("GOVC_INSECURE", "1")
    c = resolve(interactive=False)
    assert (c.host, c.port, c.user, c.insecure) == ("vc2.example.com", 8443, "ops@corp", True)
    assert c.password.get_secret_value() == "p:ss"


def test_no_server_says_how_to_proceed() -> None:
    with pytest.raises(ConfigError, match=r"VSPHERE_SERVER.*lab start"):
        resolve(interactive=False, lab=Lab(Path("/nonexistent")))


def test_missing_password_non_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSPHERE_SERVER", "vc1")
    monkeypatch.setenv("VSPHERE_USER", "admin")
    with pytest.raises(ConfigError, match="VSPHERE_PASSWORD"):
        resolve(interactive=False)


def test_password_never_in_repr_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("VSPHERE_SERVER", f"https://admin:{SECRET}@vc1/sdk")
    c = resolve(interactive=False)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("vnettool").info("creds %s %r", c, c)
    assert SECRET not in repr(c) and SECRET not in str(c)
    assert SECRET not in c.model_dump_json()
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("vc.example.com", ("vc.example.com", 443, "/sdk")),
        ("vc.example.com:9443", ("vc.example.com", 9443, "/sdk")),
        ("https://127.0.0.1:1234/sdk", ("127.0.0.1", 1234, "/sdk")),
    ],
)
def test_parse_server(server: str, expected: tuple[str, int, str]) -> None:
    assert parse_server(server)[:3] == expected
