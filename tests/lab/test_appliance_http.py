"""The HTTP(S) health probe on the lab: appliances deploy when their health URL answers as
expected; an answer that does not match fails the change before the protected side is
connected (no VM is moved behind it); status reports the probe's answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunningLab
from tests.httpserve import Server, self_signed
from tests.lab.test_appliances import CLUSTER, failures, lab4, replan, run, spec  # noqa: F401
from vnettool.appliances import manager
from vnettool.inventory import collect
from vnettool.vsphere.connection import Session

pytestmark = pytest.mark.lab


def test_https_health_probe_gates_protection_and_is_reported(
    lab4: tuple[RunningLab, Session],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, s = lab4
    tls = self_signed(tmp_path)
    if tls is None:
        pytest.skip("no openssl CLI to make a certificate")
    with Server(tls=tls) as srv:
        health = {
            "address": "127.0.0.1",
            "timeout_s": 2,
            "http": {"port": srv.port, "path": "/healthz", "body": "status: ok"},
        }
        # the answer does not match: every appliance fails, no protected VM moves
        srv.answer.body = b"status: starting"
        sp = spec(health=health)
        _, results = run(s, sp)
        failed = [r for r in results if r.failed]
        assert len(failed) == 4
        assert all("body does not match 'status: ok'" in (r.error or "") for r in failed)
        skipped = [r for r in results if r.skipped]
        assert skipped and all(r.change.resource == "vm_nic_migration" for r in skipped)
        inv = collect(s)
        assert not [
            v for v in inv.vms for n in v.nics
            if n.network == "fw-protected" and not v.name.startswith("fw-")
        ]  # fmt: skip
        # the appliance answers: the next run finishes the job and a re-plan is empty
        srv.answer.body = b"status: ok\n"
        _, results = run(s, sp)
        assert not failures(results), failures(results)
        url = f"https://127.0.0.1:{srv.port}/healthz"
        assert {r.change.facts.health for r in results if r.change.resource == "appliance"} == {
            f"{url}: HTTP 200, body matches 'status: ok'"
        }
        assert replan(s, sp).empty
        # status reads the probe again: a 503 is reported per appliance
        srv.answer.status = 503
        inv = collect(s)
        sts = manager.status(s, sp, inv, [h for h in inv.hosts if h.cluster == CLUSTER])
        assert len(sts) == 4
        assert all(
            st.health == "failed" and "HTTP 503 (expected 200)" in st.health_detail for st in sts
        )
        assert srv.answer.paths and set(srv.answer.paths) == {"/healthz"}
