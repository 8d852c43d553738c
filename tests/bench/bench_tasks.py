"""What waiting for tasks costs: the former wait (poll `task.info` at 50 ms growing to 1 s)
against `vsphere.tasks` (one read of every task's info, then WaitForUpdatesEx on a
PropertyCollector of the wait's own for those still running).

Starts one small lab, then for each way of waiting:
- fast: --fast ReconfigVM_Task one after the other, each waited for (tasks the lab ends at
  once: the common case of the engine's reconfigures);
- running: --running tasks started together that the lab ends after --delay-ms (its
  `task_fail` rule: a task that runs, then fails), waited for one after the other (poll) or
  all at once (`wait_all`); what counts is how long after the last one ended the wait
  returned, and how many SOAP calls it made.
Prints seconds, calls and the ratios. Timings are of this machine, shared with others.

Run: uv run python tests/bench/bench_tasks.py [--fast 200 --running 8 --delay-ms 1500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def poll_wait(session: Any, task: Any, op: str, obj: str) -> Any:
    """The wait as it was before vsphere/tasks.py (vmotion.wait_task)."""
    from pyVmomi import vim

    delay = 0.05
    while True:
        info = session.call(lambda: task.info, op=op, obj=obj)
        if info.state in (vim.TaskInfo.State.success, vim.TaskInfo.State.error):
            return info
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


class Counted:
    """Counts the session's calls (every SOAP request goes through Session.call)."""

    def __init__(self, session: Any) -> None:
        self.session, self.n = session, 0
        self.real = session.call

        def call(*a: Any, **kw: Any) -> Any:
            self.n += 1
            return self.real(*a, **kw)

        session.call = call


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fast", type=int, default=200)
    ap.add_argument("--running", type=int, default=8)
    ap.add_argument("--delay-ms", type=int, default=1500)
    args = ap.parse_args()

    from pyVmomi import vim

    from tests.conftest import RunningLab
    from vnettool.lab.faults import add_fault, clear_faults
    from vnettool.lab.runner import Lab, Topology
    from vnettool.vsphere.tasks import TaskFailed, wait_all, wait_task

    work = Path(tempfile.mkdtemp(prefix="bench-tasks-"))
    lab = Lab(work / "lab")
    state, _ = lab.start(Topology(cluster=1, host=2, vm=2))
    running = RunningLab(lab, state)
    try:
        session = running.session()
        counted = Counted(session)
        view = session.content.viewManager.CreateContainerView(
            session.content.rootFolder, [vim.VirtualMachine], True
        )
        vm = next(v for v in view.view if not v.config.template)
        spec = vim.vm.ConfigSpec(annotation="bench")

        def fast(wait: Any) -> tuple[float, int]:
            counted.n = 0
            t = time.perf_counter()
            for _ in range(args.fast):
                task = session.call(vm.ReconfigVM_Task, spec, op="ReconfigVM_Task")
                wait(session, task, "ReconfigVM_Task", vm.name)
            return time.perf_counter() - t, counted.n

        def slow(all_at_once: bool) -> tuple[float, int]:
            tasks = []
            for _ in range(args.running):
                add_fault("ReconfigVM_Task", "task_fail", fault="InvalidArgument",
                          delay_ms=args.delay_ms, count=1, lab=lab)  # fmt: skip
                tasks.append(vm.ReconfigVM_Task(spec))
            counted.n = 0
            t = time.perf_counter()
            if all_at_once:
                try:
                    wait_all(session, tasks, "ReconfigVM_Task", vm.name)
                except TaskFailed:
                    pass
            else:
                for task in tasks:
                    poll_wait(session, task, "ReconfigVM_Task", vm.name)
            return time.perf_counter() - t, counted.n

        rows = [
            ("fast, poll (before)", *fast(poll_wait)),
            ("fast, vsphere.tasks", *fast(wait_task)),
            ("running, poll one by one (before)", *slow(False)),
            ("running, wait_all", *slow(True)),
        ]
        clear_faults(lab=lab)
        print(f"{'wait':36} {'seconds':>8} {'calls':>6}")
        for name, sec, calls in rows:
            print(f"{name:36} {sec:8.3f} {calls:6d}")
        (_, f0, c0), (_, f1, c1), (_, s0, d0), (_, s1, d1) = rows
        print(f"fast: {args.fast} tasks, per task {1000 * f0 / args.fast:.2f} ms before, "
              f"{1000 * f1 / args.fast:.2f} ms now (ratio {f1 / f0:.2f}); calls {c0} / {c1}")  # fmt: skip
        late0 = s0 - args.delay_ms / 1000
        late1 = s1 - args.delay_ms / 1000
        print(f"running: {args.running} tasks ending after {args.delay_ms} ms; returned "
              f"{1000 * late0:.0f} ms after their end before, {1000 * late1:.0f} ms now; "
              f"calls {d0} / {d1} (ratio {d1 / max(d0, 1):.2f})")  # fmt: skip
    finally:
        running.stop()


if __name__ == "__main__":
    main()
