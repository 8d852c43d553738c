"""Connecting to the lab: TLS verification and pinning, re-login, transient faults, clear errors."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.conftest import RunningLab
from tests.lab.faultproxy import FaultProxy
from vnettool.errors import ApiFault, ConnectionFailed
from vnettool.lab.runner import LAB_PASSWORD, Lab
from vnettool.vsphere.connection import connect
from vnettool.vsphere.credentials import Credentials

pytestmark = pytest.mark.lab


def _control(lab: RunningLab, path: str) -> dict[str, object]:
    req = urllib.request.Request(
        lab.state.control.rstrip("/") + "/" + path, data=b"{}", method="POST"
    )
    with urllib.request.urlopen(req, context=ssl._create_unverified_context(), timeout=10) as r:
        return dict(json.loads(r.read() or b"{}"))


def test_pinned_thumbprint_connects(lab: RunningLab) -> None:
    with lab.session() as s:
        assert s.about.apiType == "VirtualCenter"


def test_thumbprint_mismatch_is_refused(lab: RunningLab) -> None:
    wrong = "AB:" * 31 + "AB"
    with pytest.raises(ConnectionFailed, match="does not match the pinned thumbprint"):
        lab.session(thumbprint=wrong)


def test_untrusted_certificate_refused_without_insecure(lab: RunningLab) -> None:
    with pytest.raises(ConnectionFailed, match="--insecure"):
        lab.session(thumbprint=None)
    with lab.session(thumbprint=None, insecure=True) as s:
        assert s.content.about.name


def test_unreachable_host_is_a_clear_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    from tests.conftest import RunningLab as _  # noqa: F401 - keeps fixtures import explicit

    creds = Credentials(
        host="127.0.0.1", port=port, user="u", password=SecretStr("p"), insecure=True
    )
    with pytest.raises(ConnectionFailed, match=f"cannot reach 127.0.0.1:{port}"):
        connect(creds)


def test_session_expiry_relogs_in_once(lab: RunningLab) -> None:
    with lab.session() as s:
        first_key = s.content.sessionManager.currentSession.key
        _control(lab, "sessions/expire")
        # The next call hits NotAuthenticated, re-logs in and succeeds.
        now = s.call(s.si.CurrentTime, op="CurrentTime")
        assert now is not None
        # A new session was created by the re-login.
        assert s.content.sessionManager.currentSession.key != first_key


def test_concurrent_calls_meeting_an_expiry_log_in_once(lab: RunningLab) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with lab.session() as s:
        s.stub.poolSize = 8
        _control(lab, "sessions/expire")
        with ThreadPoolExecutor(8) as pool:
            times = list(pool.map(lambda _: s.call(s.si.CurrentTime, op="CurrentTime"), range(16)))
        assert all(t is not None for t in times)
        assert s._logins == 1, "one re-login, the other threads reused it"


def test_pin_is_checked_on_every_new_connection(lab: RunningLab, tmp_path: Path) -> None:
    """No check-then-use window: a connection opened later, to a server with another
    certificate (here a proxy with its own), is refused before a request is sent."""
    from vnettool.vsphere.connection import PinMismatch

    proxy = FaultProxy(lab.state.host_port, tmp_path)
    try:
        with lab.session() as s:  # pinned to the lab's certificate
            assert s.call(s.si.CurrentTime, op="CurrentTime") is not None
            stub = s.stub
            stub.pool = []  # force a new connection ...
            stub.host, stub.port = f"127.0.0.1:{proxy.port}", proxy.port  # another certificate
            with pytest.raises(PinMismatch):
                stub.GetConnection()
            assert proxy.requests == 0
    finally:
        proxy.close()


def test_pin_mismatch_on_a_later_connection_is_a_connection_error(
    lab: RunningLab, tmp_path: Path
) -> None:
    """Through the session's call policy: not retried, not an API fault, not "unreachable":
    the pin error (exit 2, like a mismatch at login) naming the call that met it."""
    proxy = FaultProxy(lab.state.host_port, tmp_path)
    try:
        with lab.session() as s:
            assert s.call(s.si.CurrentTime, op="CurrentTime") is not None
            stub = s.stub
            stub.pool = []
            stub.host, stub.port = f"127.0.0.1:{proxy.port}", proxy.port
            t0 = time.monotonic()
            with pytest.raises(ConnectionFailed) as err:
                s.call(s.si.CurrentTime, op="CurrentTime")
            assert time.monotonic() - t0 < 5, "a pin mismatch is not retried"
            assert err.value.exit_code == 5
            text = str(err.value)
            assert "does not match the pinned thumbprint" in text
            assert "during CurrentTime" in text and "unreachable" not in text
            assert proxy.requests == 0
    finally:
        proxy.close()


def test_503_burst_is_retried(lab: RunningLab, tmp_path: Path) -> None:
    proxy = FaultProxy(lab.state.host_port, tmp_path)
    try:
        with connect(lab.credentials(port=proxy.port, thumbprint=None, insecure=True)) as s:
            proxy.fail_503 = 3
            t = s.call(s.si.CurrentTime, op="CurrentTime")
            assert t is not None
            assert proxy.fail_503 == 0
            proxy.drop = 2
            assert s.call(s.si.CurrentTime, op="CurrentTime") is not None
            assert proxy.drop == 0
    finally:
        proxy.close()


def test_persistent_503_gives_up_with_named_operation(
    lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vnettool.vsphere.connection as conn

    monkeypatch.setattr(conn, "RETRY_TOTAL_S", 2.0)
    proxy = FaultProxy(lab.state.host_port, tmp_path)
    try:
        with connect(lab.credentials(port=proxy.port, thumbprint=None, insecure=True)) as s:
            proxy.fail_503 = 10_000
            with pytest.raises((ConnectionFailed, ApiFault), match="CurrentTime"):
                s.call(s.si.CurrentTime, op="CurrentTime")
            proxy.fail_503 = 0
    finally:
        proxy.close()


def _cli(
    lab: RunningLab, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    e = os.environ | lab.env() | (env or {})
    for var in ("VSPHERE_SERVER", "VSPHERE_USER", "VSPHERE_PASSWORD", "GOVC_URL"):
        if var not in (env or {}):
            e.pop(var, None)
    return subprocess.run(
        ["vnettool", *args], capture_output=True, text=True, env=e, timeout=300, check=False
    )


def test_cli_inventory_json_uses_lab_profile(lab: RunningLab) -> None:
    out = _cli(lab, "inventory", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in (
        "hosts",
        "standard_switches",
        "standard_port_groups",
        "distributed_switches",
        "distributed_port_groups",
        "vmkernel_adapters",
        "vms",
    ):
        assert data[key], key
        assert all("name" in o for o in data[key]) or key in ("vmkernel_adapters",)
    assert len(data["hosts"]) == 8
    assert LAB_PASSWORD not in out.stdout + out.stderr


def test_cli_wrong_password_exit_code_5(lab: RunningLab) -> None:
    host = lab.state.host_port
    out = _cli(
        lab,
        "inventory",
        "--insecure",
        env={
            "VSPHERE_SERVER": f"https://{host}/sdk",
            "VSPHERE_USER": "administrator@vsphere.local",
            "VSPHERE_PASSWORD": "definitely-wrong",
        },
    )
    assert out.returncode == 5, out.stdout + out.stderr
    assert "wrong user name or password" in " ".join(out.stderr.split())
    assert "definitely-wrong" not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_lab_start_twice_and_stop_leaves_nothing(tmp_path: Path) -> None:
    before = {p.name for p in Path("/tmp").glob("govcsim-*")}
    lab = Lab(tmp_path / "lab")
    st1, started1 = lab.start()
    st2, started2 = lab.start()
    assert started1 and not started2 and st1.pid == st2.pid
    assert lab.stop()
    assert (
        not Path(f"/proc/{st1.pid}").exists()
        or "Z" in Path(f"/proc/{st1.pid}/stat").read_text().split(")")[1][:3]
    )
    assert not lab.state_file.exists() and not lab.profile_file.exists()
    after = {p.name for p in Path("/tmp").glob("govcsim-*")}
    assert after <= before


class _Silent:
    """A TCP server that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


def test_server_that_never_answers_ends_within_timeout_plus_retry_budget() -> None:
    import time

    silent = _Silent()
    creds = Credentials(
        host="127.0.0.1",
        port=silent.port,
        user="u",
        password=SecretStr("p"),
        insecure=True,
        timeout_s=1.0,
        retry_budget_s=2.0,
    )
    try:
        start = time.monotonic()
        with pytest.raises(ConnectionFailed, match="no answer within 1 s"):
            connect(creds)
        took = time.monotonic() - start
    finally:
        silent.close()
    # the last attempt starts inside the budget and ends by its timeout (+ one backoff step)
    assert took <= 1.0 + 2.0 + 1.5, took
    assert len(silent.held) >= 2, "the timeouts were retried"


def test_cli_honours_the_timeout_settings_and_refuses_bad_ones(lab: RunningLab) -> None:
    import time

    silent = _Silent()
    env = {
        "VSPHERE_SERVER": f"127.0.0.1:{silent.port}",
        "VSPHERE_USER": "u",
        "VSPHERE_PASSWORD": "p",
        "VNETTOOL_TIMEOUT": "1",
        "VNETTOOL_RETRY_BUDGET": "1",
    }
    try:
        start = time.monotonic()
        out = _cli(lab, "inventory", "--insecure", env=env)
        took = time.monotonic() - start
    finally:
        silent.close()
    assert out.returncode == 5, out.stdout + out.stderr
    assert "no answer within 1 s (VNETTOOL_TIMEOUT)" in " ".join(out.stderr.split())
    assert took < 30, took  # the default timeout alone is 60 s; start-up is slow under load
    bad = _cli(lab, "inventory", "--insecure", env=env | {"VNETTOOL_TIMEOUT": "soon"})
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "VNETTOOL_TIMEOUT='soon' is not a number of seconds" in bad.stderr


def test_a_call_the_server_holds_ends_within_timeout_plus_retry_budget(lab: RunningLab) -> None:
    """Mid-session: the connection is up, then the server stops answering one method."""
    import time

    from vnettool.lab.faults import add_fault, clear_faults

    with lab.session(timeout_s=1.0, retry_budget_s=2.0) as s:
        add_fault("CurrentTime", "delay", delay_ms=20_000, count=0, lab=lab.lab)
        try:
            start = time.monotonic()
            with pytest.raises(ConnectionFailed, match=r"CurrentTime.*no answer within 1 s"):
                s.call(s.si.CurrentTime, op="CurrentTime")
            took = time.monotonic() - start
        finally:
            clear_faults(lab.lab)
        assert took <= 1.0 + 2.0 + 1.5, took
        assert s.call(s.si.CurrentTime, op="CurrentTime") is not None  # and it recovers


def test_rebalance_state_is_keyed_by_the_instance_not_the_name(lab: RunningLab) -> None:
    """Addressing the lab as localhost instead of 127.0.0.1 must find the same cooldowns."""
    from vnettool.latency.mover import RebalanceState

    with lab.session(host="127.0.0.1") as a, lab.session(host="localhost") as b:
        uuid = a.about.instanceUuid
        assert uuid and a.instance_key == b.instance_key == uuid
        assert RebalanceState.default_path(a.instance_key) == RebalanceState.default_path(
            b.instance_key
        )
