"""The appliance HTTP(S) health probe against real local servers (no simulator)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.httpserve import Server, self_signed
from vnettool.engine.appliance import probe
from vnettool.models.appliance import ApplianceVm, HealthCheck

VM = ApplianceVm(moref="vm-1", name="fw-1", guest_ip="127.0.0.1")


def check(**http: object) -> dict[str, object]:
    return HealthCheck.model_validate({"http": http}).model_dump()


def test_http_status_and_body_match() -> None:
    with Server() as srv:
        ok, detail = probe(VM, check(scheme="http", port=srv.port, path="/health", body="ok$"))
        assert ok, detail
        assert detail == f"http://127.0.0.1:{srv.port}/health: HTTP 200, body matches 'ok$'"
        assert srv.answer.paths == ["/health"]
        srv.answer.status = 503
        ok, detail = probe(VM, check(scheme="http", port=srv.port))
        assert not ok and detail.endswith("HTTP 503 (expected 200)")
        ok, _ = probe(VM, check(scheme="http", port=srv.port, status=[200, 503]))
        assert ok
        srv.answer.status, srv.answer.body = 200, b"status: degraded"
        ok, detail = probe(VM, check(scheme="http", port=srv.port, body="status: ok"))
        assert not ok and "body does not match 'status: ok'" in detail


def test_https_self_signed_is_accepted_unless_verification_is_asked(tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    if tls is None:
        pytest.skip("no openssl CLI to make a certificate")
    with Server(tls=tls) as srv:
        ok, detail = probe(VM, check(port=srv.port))
        assert ok, detail
        assert detail.startswith(f"https://127.0.0.1:{srv.port}/")
        ok, detail = probe(VM, check(port=srv.port, verify_tls=True))
        assert not ok and "CERTIFICATE_VERIFY_FAILED" in detail
        ok, detail = probe(VM, check(port=srv.port, ca_file=str(tls[0])))
        assert ok, detail


def test_http_probe_without_address_or_listener() -> None:
    no_ip = ApplianceVm(moref="vm-2", name="fw-2")
    assert probe(no_ip, check(scheme="http", port=1)) == (False, "no guest IP address yet")
    with Server() as srv:
        port = srv.port
    ok, detail = probe(VM, check(scheme="http", port=port))
    assert not ok and detail.startswith(f"http://127.0.0.1:{port}/: ")


@pytest.mark.parametrize(
    ("health", "message"),
    [
        ({"port": 80, "http": {}}, "not both"),
        ({"http": {"body": "("}}, "not a regular expression"),
        ({"http": {"path": "health"}}, "String should match pattern"),
        ({"http": {"status": [700]}}, "less than or equal to 599"),
    ],
)
def test_bad_http_checks_are_refused(health: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HealthCheck.model_validate(health)
