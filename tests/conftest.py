"""Lab fixtures: one real simulator process per test worker, over HTTPS, with real pyVmomi."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from vnettool.lab.runner import LAB_PASSWORD, LAB_USER, Lab, LabState, Topology
from vnettool.lab.tls import fetch_thumbprint
from vnettool.vsphere.connection import Session, connect
from vnettool.vsphere.credentials import Credentials, parse_server


class RunningLab:
    """A started simulator with helpers to open sessions against it."""

    def __init__(self, lab: Lab, state: LabState) -> None:
        self.lab = lab
        self.state = state
        self.thumbprint = fetch_thumbprint(state.host_port)

    @property
    def url(self) -> str:
        return self.state.url

    def credentials(self, **overrides: object) -> Credentials:
        host, port, path, _, _ = parse_server(self.state.url)
        data: dict[str, object] = {
            "host": host,
            "port": port,
            "path": path,
            "user": LAB_USER,
            "password": SecretStr(LAB_PASSWORD),
            "thumbprint": self.thumbprint,
            "source": "test",
        }
        data.update(overrides)
        return Credentials(**data)  # type: ignore[arg-type]

    def session(self, **overrides: object) -> Session:
        return connect(self.credentials(**overrides))

    def env(self) -> dict[str, str]:
        """Environment that points the CLI at this lab (its profile, its home)."""
        return {"VNETTOOL_HOME": str(self.lab.dir.parent)}

    def stop(self) -> None:
        self.lab.stop()


def _start(tmp: Path, topology: Topology) -> RunningLab:
    lab = Lab(tmp / "lab")
    state, _ = lab.start(topology)
    return RunningLab(lab, state)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """The default lab topology, shared by the tests of one worker. Tests that change it
    use names of their own, or use `fresh_lab`."""
    running = _start(tmp_path_factory.mktemp("vnettool-home"), Topology())
    old = os.environ.get("VNETTOOL_HOME")
    yield running
    running.stop()
    if old is not None:
        os.environ["VNETTOOL_HOME"] = old


@pytest.fixture
def fresh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningLab]]:
    """A factory for private labs (custom topology); all are stopped after the test."""
    started: list[RunningLab] = []

    def factory(**topology: int | str) -> RunningLab:
        running = _start(tmp_path_factory.mktemp("vnettool-home"), Topology(**topology))  # type: ignore[arg-type]
        started.append(running)
        return running

    yield factory
    for r in started:
        r.stop()


@pytest.fixture
def session(lab: RunningLab) -> Iterator[Session]:
    with lab.session() as s:
        yield s


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The hostile-input corpus's counts (tests/hostile.py) and the fault suite's table
    (tests/lab/conftest.py), one each for all workers."""
    from tests.corpus_summary import summary
    from tests.lab.conftest import fault_summary

    summary(terminalreporter.write_line, terminalreporter.section)
    fault_summary(terminalreporter)
