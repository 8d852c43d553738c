"""Run one vnettool command against every vCenter of a fleet: one process each, a bounded pool.

Each vCenter gets its own `python -m vnettool <command> --json` process: a crash, a hang or a
memory blow-up in one of them is that vCenter's failure only, and the per-vCenter result is
by construction what a single run prints. The work is I/O-bound (waiting on vCenter), so the
pool may be larger than the core count; threads here only wait on the children.

A child learns its server from VSPHERE_SERVER and its user and password from VSPHERE_USER and
VSPHERE_PASSWORD in its environment — never from its argument list, which any user of the
machine can read in /proc/PID/cmdline. It reports progress as JSON lines on stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vnettool.errors import UNREACHABLE, VnetError
from vnettool.fleet.secrets import resolve
from vnettool.models.fleet import Fleet, VCenterEntry

PROGRESS_ENV = "VNETTOOL_PROGRESS"
PROGRESS_KEY = "vnettool_progress"
_STRIPPED_ENV = ("VSPHERE_", "GOVC_")
_MAX_STDERR = 64 * 1024
PARTIAL = 4


@dataclass(frozen=True)
class Job:
    """A vnettool command line (without connection options) and the exit codes that mean
    the command worked (plan's 2 is "changes pending", not a failure).

    `extra_args` adds per-vCenter arguments (a playbook's `--var vcenter=NAME`); `workdir`
    runs each child in its own directory, so that relative paths a command writes to (a
    playbook's snapshot and audit files) do not collide between vCenters."""

    args: Sequence[str]
    ok_codes: frozenset[int] = frozenset({0})
    extra_args: Callable[[VCenterEntry], Sequence[str]] | None = None
    workdir: Callable[[VCenterEntry], Path] | None = None


@dataclass
class Outcome:
    name: str
    url: str
    status: str = "queued"  # queued, running, ok, failed
    exit_code: int | None = None
    seconds: float = 0.0
    result: Any = None
    error: str = ""
    objects: int = 0
    steps: int = 0  # playbook steps done (a `run` child reports these instead of objects)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "url": self.url,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "error": self.error or None,
            "result": self.result,
        }


Listener = Callable[[Outcome], None]


@dataclass
class FleetRun:
    fleet: Fleet
    base_dir: Path
    job: Job
    on_change: Listener = lambda _o: None
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def run(self, entries: Sequence[VCenterEntry]) -> dict[str, Outcome]:
        """Every entry's outcome, in the fleet file's order; never raises for one vCenter."""
        self.outcomes = {vc.name: Outcome(vc.name, vc.url) for vc in entries}
        workers = min(self.fleet.workers, max(1, len(entries)))
        with ThreadPoolExecutor(workers, thread_name_prefix="fleet") as pool:
            for f in [pool.submit(self._one, vc) for vc in entries]:
                f.result()
        return self.outcomes

    def _one(self, vc: VCenterEntry) -> None:
        out = self.outcomes[vc.name]
        out.status = "running"
        self.on_change(out)
        t0 = time.monotonic()
        try:
            env = self._env(vc)
        except VnetError as exc:
            out.status, out.error = "failed", str(exc)
        else:
            try:
                self._spawn(vc, env, out)
            except OSError as exc:  # no working directory, no interpreter: this vCenter's
                out.status, out.error = "failed", f"cannot start its process: {exc}"
        out.seconds = time.monotonic() - t0
        self.on_change(out)

    def _env(self, vc: VCenterEntry) -> dict[str, str]:
        user, password = resolve(self.fleet.credentials_of(vc), self.base_dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_ENV)}
        if env.get("VNETTOOL_HOME"):  # a child may run in another directory (Job.workdir)
            env["VNETTOOL_HOME"] = str(Path(env["VNETTOOL_HOME"]).resolve())
        env |= {
            "VSPHERE_SERVER": vc.url,
            "VSPHERE_USER": user,
            "VSPHERE_PASSWORD": password.get_secret_value(),
            PROGRESS_ENV: "jsonl",
        }
        if vc.ca_file:
            env["VSPHERE_CA_FILE"] = str(self.base_dir / Path(vc.ca_file).expanduser())
        return env

    def _spawn(self, vc: VCenterEntry, env: dict[str, str], out: Outcome) -> None:
        argv = [sys.executable, "-m", "vnettool", *self.job.args]
        if self.job.extra_args is not None:
            argv += self.job.extra_args(vc)
        if vc.thumbprint:
            argv += ["--thumbprint", vc.thumbprint]
        cwd = None
        if self.job.workdir is not None:
            cwd = self.job.workdir(vc)
            cwd.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        errors: list[str] = []
        reader = threading.Thread(target=self._read_stderr, args=(proc, out, errors), daemon=True)
        reader.start()
        timed_out = threading.Event()
        timer = threading.Timer(self.fleet.timeout_s, _stop, (proc, timed_out))
        timer.start()
        try:
            assert proc.stdout is not None
            stdout = proc.stdout.read()
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:  # interrupted here: do not leave the child behind
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
        out.exit_code = code
        self._judge(out, stdout, errors, timed_out=timed_out.is_set())

    def _judge(self, out: Outcome, stdout: bytes, errors: list[str], timed_out: bool) -> None:
        try:
            out.result = json.loads(stdout) if stdout.strip() else None
        except ValueError:
            out.result = None
        message = out.result.get("error") if isinstance(out.result, dict) else None
        if out.exit_code in self.job.ok_codes and out.result is not None and not message:
            out.status = "ok"
            return
        out.status = "failed"
        if timed_out:
            out.error = f"stopped after {self.fleet.timeout_s:g} s (the fleet's timeout_s)"
            return
        lines = [ln for ln in errors if ln.strip()]
        out.error = str(message or (lines[-1] if lines else f"exit code {out.exit_code}"))
        out.error = out.error.removeprefix("error: ")

    def _read_stderr(self, proc: subprocess.Popen[bytes], out: Outcome, errors: list[str]) -> None:
        """Progress lines move the vCenter's bar; everything else is kept for the error."""
        assert proc.stderr is not None
        kept = 0
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line.startswith('{"' + PROGRESS_KEY):
                try:
                    report = json.loads(line)[PROGRESS_KEY]
                    out.objects = int(report.get("objects", out.objects))
                    out.steps = int(report.get("steps", out.steps))
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
                self.on_change(out)
            elif kept < _MAX_STDERR:
                kept += len(line)
                errors.append(line)


def _stop(proc: subprocess.Popen[bytes], flag: threading.Event) -> None:
    flag.set()
    proc.kill()


def exit_code(outcomes: Sequence[Outcome], worst_ok: int) -> int:
    """0/2 as a single run would say; 4 = partial (some vCenters failed, the others were
    done); 1 = every vCenter failed; 5 = none could be reached or logged in to (as one
    vCenter would say). Not 3: `latency probe` already uses it for MTU limits."""
    failed = sum(1 for o in outcomes if not o.ok)
    if failed and failed == len(outcomes):
        if all(o.exit_code == UNREACHABLE for o in outcomes):
            return UNREACHABLE
        return 1
    if failed:
        return PARTIAL
    return worst_ok
