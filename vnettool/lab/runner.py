"""The embedded lab: build, start, stop and describe the extended vcsim in mocks/vcsim.

The simulator binary is cached under a hash of its Go sources, so an edited mock is rebuilt
and an unchanged one starts instantly. Starting writes a connection profile that every other
command picks up, which is what makes `vnettool lab start && vnettool inventory` the whole demo.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from vnettool import userfile
from vnettool.paths import cache_dir, lab_dir

log = logging.getLogger(__name__)
GOPATH = "/usr/share/gocode"
GOVMOMI_SRC = Path(GOPATH) / "src/github.com/vmware/govmomi"
INSTALL_HINT = (
    "sudo apt-get update && sudo apt-get install -y golang-go golang-github-vmware-govmomi-dev"
)
LAB_USER = "administrator@vsphere.local"
LAB_PASSWORD = "VMware1!"  # vcsim accepts any credentials; this one is only for the lab


class LabError(RuntimeError):
    """The lab could not be built, started or reached; the message says what to do."""


def mock_source_dir() -> Path:
    env = os.environ.get("VNETTOOL_MOCK_SRC")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "mocks" / "vcsim"


@dataclass(frozen=True)
class Topology:
    dc: int = 1
    cluster: int = 2
    host: int = 4
    vm: int = 8
    dvs: int = 1
    pg: int = 2
    pnics: int = 6
    scenario: str = ""

    # What one lab process can hold on a 24 GiB machine (1,000 hosts / 10,000 VMs use ~0.5
    # GiB); beyond this a typo like --dc 100000 would exhaust memory instead of failing.
    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {
        "dc": (1, 64),
        "cluster": (0, 1000),
        "host": (0, 10000),
        "vm": (0, 100000),
        "dvs": (0, 16),
        "pg": (0, 1000),
        "pnics": (2, 32),
    }
    MAX_HOSTS: ClassVar[int] = 20000

    def __post_init__(self) -> None:
        for name, (lo, hi) in self.LIMITS.items():
            v = getattr(self, name)
            if not isinstance(v, int) or not lo <= v <= hi:
                raise LabError(f"lab topology: {name} must be {lo}..{hi}, got {v!r}")
        total = self.dc * max(1, self.cluster) * self.host
        if total > self.MAX_HOSTS:
            raise LabError(
                f"lab topology: {total} hosts in all is more than {self.MAX_HOSTS} "
                "(dc x cluster x host)"
            )

    def args(self) -> list[str]:
        out = [
            f"-dc={self.dc}",
            f"-cluster={self.cluster}",
            f"-host={self.host}",
            f"-vm={self.vm}",
            f"-dvs={self.dvs}",
            f"-pg={self.pg}",
            f"-pnics={self.pnics}",
        ]
        if self.scenario:
            out.append(f"-scenario={self.scenario}")
        return out


@dataclass
class LabState:
    url: str
    pid: int
    started: str
    topology: dict[str, Any] = field(default_factory=dict)
    control: str = ""

    @property
    def host_port(self) -> str:
        return self.url.split("://", 1)[1].split("/", 1)[0]


def source_hash(src: Path | None = None) -> str:
    src = src or mock_source_dir()
    digest = hashlib.sha256()
    files = sorted(p for p in src.rglob("*.go") if "testdata" not in p.parts)
    if not files:
        raise LabError(f"no Go sources under {src}")
    for p in files:
        digest.update(str(p.relative_to(src)).encode())
        digest.update(p.read_bytes())
    return digest.hexdigest()[:16]


def binary_path() -> Path:
    return cache_dir() / f"vcsim-{source_hash()}"


def build(force: bool = False) -> Path:
    """Build the simulator if the cached binary is missing or stale; return its path.

    Test workers start labs at the same moment on a fresh machine: one builds under a file
    lock, the others wait and reuse its binary (each writes its own temporary file anyway)."""
    target = binary_path()
    if target.exists() and not force:
        return target
    go = shutil.which("go")
    if go is None or not GOVMOMI_SRC.is_dir():
        raise LabError(
            f"Go or the govmomi sources are missing; install them with:\n  {INSTALL_HINT}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and not force:
            return target
        env = os.environ | {"GOPATH": GOPATH, "GO111MODULE": "off"}
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        proc = subprocess.run(
            [go, "build", "-o", str(tmp), "."],
            cwd=mock_source_dir(),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise LabError(f"building the lab simulator failed:\n{proc.stderr.strip()}")
        tmp.replace(target)
    # Other builds stay: another checkout (or a lab still running) may use them.
    return target


# Credentials and server settings of the user's real vCenter: the simulator needs none of
# them, and a process's environment is readable by its owner in /proc.
_SECRET_ENV = ("VSPHERE_", "GOVC_", "VNETTOOL_TIMEOUT", "VNETTOOL_RETRY")


def simulator_env() -> dict[str, str]:
    """This process's environment without any vCenter credentials or server settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_SECRET_ENV)}


class Lab:
    """One lab instance, identified by its state directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.dir = directory or lab_dir()
        self.state_file = self.dir / "state.json"
        self.profile_file = self.dir / "profile.json"
        self.log_file = self.dir / "vcsim.log"

    def state(self) -> LabState | None:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        st = LabState(**{k: data.get(k) for k in ("url", "pid", "started", "topology", "control")})
        if not _alive(st.pid):
            return None
        if not self.owns(st.pid):
            log.warning("pid %s is not this lab's simulator: the lab is not running", st.pid)
            return None
        return st

    def start(
        self, topology: Topology | None = None, timeout: float = 300.0, password: str | None = None
    ) -> tuple[LabState, bool]:
        """Start the lab unless it already runs; returns (state, started_now). The simulator
        gets its password in its environment: an argument list is readable by every user."""
        current = self.state()
        if current is not None:
            return current, False
        binary = build()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file.unlink(missing_ok=True)
        args = [
            str(binary),
            "-listen=127.0.0.1:0",
            f"-state={self.state_file}",
            f"-username={LAB_USER}",
        ]
        password = LAB_PASSWORD if password is None else password
        args += (topology or Topology()).args()
        with self.log_file.open("wb") as log:
            proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=simulator_env() | {"VCSIM_PASSWORD": password},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(
                    f"the simulator exited with code {proc.returncode}; "
                    f"log: {self.log_file}\n{self.log_file.read_text()[-2000:]}"
                )
            st = self.state()
            if st is not None:
                self._write_profile(st, password)
                return st, True
            time.sleep(0.1)
        proc.terminate()
        raise LabError(f"the simulator did not answer within {timeout:.0f} s; log: {self.log_file}")

    def _write_profile(self, st: LabState, password: str) -> None:
        from vnettool.lab.tls import fetch_thumbprint

        profile = {
            "server": st.url,
            "user": LAB_USER,
            "password": password,
            # The lab's certificate is self-signed: pin it instead of disabling verification.
            "thumbprint": fetch_thumbprint(st.host_port),
        }
        userfile.write_text(
            self.profile_file, json.dumps(profile, indent=1), what="lab profile", make_parents=True
        )

    def profile(self) -> dict[str, str] | None:
        if self.state() is None:
            return None
        try:
            return dict(json.loads(self.profile_file.read_text()))
        except (OSError, ValueError):
            return None

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the lab and remove its files; returns whether a simulator was running."""
        st = self.state()  # None unless the PID is this lab's simulator (see `owns`)
        running = st is not None
        if st is not None:
            os.kill(st.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(st.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(st.pid):
                os.kill(st.pid, signal.SIGKILL)
        for f in (self.state_file, self.profile_file, self.log_file):
            f.unlink(missing_ok=True)
        return running

    def owns(self, pid: int) -> bool:
        """Whether `pid` is this lab's simulator: a vcsim build started with our state file.

        The state file outlives the process; its PID may since belong to anything else.
        """
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return (
            bool(argv)
            and Path(os.fsdecode(argv[0])).name.startswith("vcsim-")
            and f"-state={self.state_file}".encode() in argv
        )


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
