"""The Plan/apply screen: open a desired-state file or playbook, see the plan, apply it safely.

Planning is the engine's pure `plan(desired, inventory)` against the live inventory on
screen. Applying always goes through a confirmation that lists every change with its
before → after values; "no" (or Esc) changes nothing. Unsafe changes (those the engine
marks as cutting management or VM traffic) are refused here; the CLI's --force is the
deliberate way around that. Each applied run is journaled like `vnettool apply`, so it can be
rolled back with `vnettool apply --rollback RUN` — or with `u` here, which rolls back the
last run (this screen's, else the newest on this vCenter) through the same engine path:
rollback planned from the journal against a fresh inventory, conflicts refused, confirmed,
applied under the vCenter's run lock with its own journal, verified by planning it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, ProgressBar, Static

from vnettool.engine.render import render_plan, render_results
from vnettool.errors import VnetError
from vnettool.models.plan import Plan, Result
from vnettool.tui.messages import AppView, InventoryStale
from vnettool.tui.model import NetIndex
from vnettool.tui.widgets import ConfirmScreen, PhraseLine


def result_text(results: list[Result], done: int, total: int) -> Text:
    out = render_results(results)
    if out.plain and not out.plain.endswith("\n"):
        out.append("\n")
    out.append(f"{done}/{total} done", style="bold")
    return out


@dataclass
class Loaded:
    """What the open file planned to: one desired state, or a playbook's configure steps."""

    path: Path
    kind: str  # "desired" | "playbook"
    plan: Plan = field(default_factory=Plan)
    desired: Any = None
    playbook: Any = None
    notes: list[str] = field(default_factory=list)


class PlanPane(Vertical):
    BINDINGS = [
        Binding("e", "edit_path", "Path"),
        Binding("o", "open", "Open"),
        Binding("a", "apply", "Apply"),
        Binding("u", "rollback", "Rollback"),
    ]
    DEFAULT_CSS = """
    PlanPane #plan-bar { height: 1; }
    PlanPane #plan-path { width: 1fr; }
    PlanPane #plan-scroll { height: 1fr; }
    PlanPane ProgressBar { height: 1; display: none; }
    PlanPane ProgressBar.-running { display: block; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.loaded: Loaded | None = None
        self.index: NetIndex | None = None
        self.applying = False
        self.results: list[Result] = []
        self.last_run_id: str | None = None  # the run applied from this screen, if any

    @property
    def vapp(self) -> AppView:
        return cast("AppView", self.app)

    def compose(self) -> ComposeResult:
        with Horizontal(id="plan-bar"):
            yield Input(
                placeholder="desired-state YAML or playbook path", id="plan-path", classes="compact"
            )
            yield Button("Plan (o)", id="plan-open", compact=True)
            yield Button("Apply (a)", id="plan-apply", variant="warning", compact=True)
        yield PhraseLine(
            "Open a desired-state file (e.g. playbooks/standard-portgroups.yml).", id="plan-state"
        )
        yield ProgressBar(id="plan-progress", show_eta=False)
        with VerticalScroll(id="plan-scroll"):
            yield Static("", id="plan-body")

    def show(self, index: NetIndex) -> None:
        self.index = index
        if self.loaded and not self.applying and self.loaded.desired is not None:
            # the inventory moved: re-plan the same document against it (pure, cheap)
            self._replan()

    def set_path(self, path: str) -> None:
        self.query_one("#plan-path", Input).value = path

    def action_edit_path(self) -> None:
        """Type another file name (enter plans it)."""
        self.query_one("#plan-path", Input).focus()

    def _state(self, *phrases: str) -> None:
        self.query_one("#plan-state", PhraseLine).set(*phrases)

    def _body(self, body: RenderableType) -> None:
        self.query_one("#plan-body", Static).update(body)

    # -- open and plan ---------------------------------------------------------------------------
    @on(Input.Submitted, "#plan-path")
    @on(Button.Pressed, "#plan-open")
    def action_open(self) -> None:
        self.open_file(self.query_one("#plan-path", Input).value)

    def open_file(self, path: str) -> None:
        if not path.strip():
            self.query_one("#plan-path", Input).focus()
            return
        self.set_path(path)
        self.query_one("#plan-scroll").focus()  # keys act on the plan again (a = apply)
        self._state(f"planning {path}…")
        self._load(Path(path.strip()).expanduser())

    @work(thread=True, exclusive=True, group="plan", description="plan")
    def _load(self, path: Path) -> None:
        try:
            loaded = load_and_plan(path, self.vapp.inventory)
        except VnetError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except OSError as exc:
            self.app.call_from_thread(self._failed, f"cannot read {path}: {exc.strerror or exc}")
            return
        self.app.call_from_thread(self._planned, loaded)

    def _failed(self, message: str) -> None:
        self.loaded = None
        self._state("[red]cannot plan[/]")
        self._body(Text(message, style="red"))

    def _planned(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self.results = []
        self._redraw()

    def _replan(self) -> None:
        loaded = self.loaded
        if loaded is None or self.index is None:
            return
        from vnettool import engine

        try:
            loaded.plan = engine.plan(loaded.desired, self.index.inv)
        except VnetError as exc:
            self._failed(str(exc))
            return
        if not self.results:
            self._redraw()

    def _redraw(self) -> None:
        loaded = self.loaded
        if loaded is None:
            return
        n = len(loaded.plan.changes)
        what = "desired state" if loaded.kind == "desired" else "playbook (configure steps)"
        if n:
            self._state(f"{loaded.path}", f"{what}: {n} change(s) pending", "a = apply")
        else:
            self._state(f"{loaded.path}", f"{what}: in desired state")
        parts: list[RenderableType] = [render_plan(loaded.plan)]
        if loaded.notes:
            parts.append(Text("\n" + "\n".join(loaded.notes), style="dim"))
        self._body(Group(*parts))

    # -- apply -----------------------------------------------------------------------------------
    @on(Button.Pressed, "#plan-apply")
    def action_apply(self) -> None:
        loaded = self.loaded
        if loaded is None:
            self.app.notify("open a file first (o)", severity="warning")
            return
        if self.applying:
            self.app.notify("an apply is running", severity="warning")
            return
        if loaded.plan.empty:
            self.app.notify("nothing to apply: the plan is empty")
            return
        unsafe = [c for c in loaded.plan.changes if c.unsafe]
        if unsafe:
            self.app.notify(
                "refused: the plan has unsafe changes (see '! unsafe'); "
                "review and use `vnettool apply --force` if you really mean it",
                severity="error",
                timeout=10,
            )
            return
        try:
            self.vapp.require_session()
        except VnetError as exc:
            self.app.notify(str(exc), severity="error")
            return
        plan = loaded.plan
        body = Group(
            Text(f"vCenter {self.vapp.credentials.host}: these exact changes will be made:\n"),
            render_plan(plan),
        )
        title = f"Apply {len(plan.changes)} change(s) from {loaded.path.name}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply(plan, loaded)
            else:
                self._state("[yellow]cancelled[/]: nothing was changed")

        self.app.push_screen(ConfirmScreen(title, body), answered)

    def _apply(self, plan: Plan, loaded: Loaded) -> None:
        self.applying = True
        self.results = []
        bar = self.query_one(ProgressBar)
        bar.update(total=len(plan.changes), progress=0)
        bar.add_class("-running")
        self._state(f"applying {len(plan.changes)} change(s)…")
        self._run_apply(plan, loaded)

    @work(thread=True, exclusive=True, group="apply", description="apply", exit_on_error=False)
    def _run_apply(self, plan: Plan, loaded: Loaded) -> None:
        from vnettool import engine
        from vnettool.engine.journal import Journal

        session = self.vapp.session
        journal = Journal.for_session(session, f"tui: {loaded.path}")

        def on_result(r: Result) -> None:
            self.app.call_from_thread(self._one, r, len(plan.changes))

        verified = False
        error = ""
        try:
            results = engine.apply(plan, session, on_result=on_result, journal=journal)
            remaining = engine.verify(loaded.desired, session)
            verified = remaining.empty
            journal.end(verified=verified, remaining=len(remaining.changes))
        except VnetError as exc:
            results, error = self.results, str(exc)
            journal.end(verified=False, remaining=-1)
        self.app.call_from_thread(self._applied, results, verified, error, journal.id)

    def _one(self, r: Result, total: int) -> None:
        self.results.append(r)
        self.query_one(ProgressBar).advance(1)
        self._body(result_text(self.results, len(self.results), total))

    def _applied(self, results: list[Result], verified: bool, error: str, run_id: str) -> None:
        self.applying = False
        self.query_one(ProgressBar).remove_class("-running")
        failed = sum(1 for r in results if r.failed or r.skipped)
        ok = sum(1 for r in results if r.changed)
        tail = Text()
        if error:
            tail.append(f"\nerror: {error}", style="bold red")
        elif verified:
            tail.append(
                "\nverified: a fresh inventory matches (second plan is empty)", style="green"
            )
        else:
            tail.append("\nnot verified: still different after applying", style="red")
        tail.append(
            f"\nrun {run_id}; undo with u here, or: vnettool apply --rollback {run_id}", style="dim"
        )
        self._body(Group(result_text(results, len(results), len(results)), tail))
        colour = "green" if verified and not failed and not error else "red"
        self._state(
            f"[{colour}]{ok} applied, {failed} failed/skipped[/]", f"run {escape(str(run_id))}"
        )
        self.last_run_id = run_id
        self.post_message(InventoryStale())

    # -- rollback --------------------------------------------------------------------------------
    def action_rollback(self) -> None:
        """Undo the last applied run (this screen's, else the newest run on this vCenter) the
        way `vnettool apply --rollback RUN` does: planned from its journal against a fresh
        inventory, refused over objects changed since, confirmed, journaled, verified."""
        if self.applying:
            self.app.notify("an apply is running", severity="warning")
            return
        try:
            session = self.vapp.require_session()
        except VnetError as exc:
            self.app.notify(str(exc), severity="error")
            return
        self._state("planning the rollback of the last run…")
        self._plan_rollback(session, self.last_run_id)

    @work(thread=True, exclusive=True, group="plan", description="rollback-plan")
    def _plan_rollback(self, session: Any, run_id: str | None) -> None:
        try:
            prepared = plan_rollback(session, run_id)
        except VnetError as exc:
            self.app.call_from_thread(self._state, f"[red]cannot roll back[/]: {escape(str(exc))}")
            return
        self.app.call_from_thread(self._confirm_rollback, prepared)

    def _confirm_rollback(self, prepared: PreparedRollback) -> None:
        record, rb = prepared.record, prepared.rollback
        parts: list[RenderableType] = [
            Text(
                f"vCenter {self.vapp.credentials.host}: run {record.id} "
                f"({record.header.get('source', '?')}) is undone by these changes:\n"
            ),
            render_plan(rb.plan),
        ]
        if rb.unrestorable:
            parts.append(Text("\ncannot be restored:\n  " + "\n  ".join(rb.unrestorable), "yellow"))
        title = f"Roll back {len(rb.plan.changes)} change(s) of run {record.id}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._rollback(prepared)
            else:
                self._state("[yellow]cancelled[/]: nothing was rolled back")

        self.app.push_screen(ConfirmScreen(title, Group(*parts), "Roll back"), answered)

    def _rollback(self, prepared: PreparedRollback) -> None:
        plan = prepared.rollback.plan
        self.applying = True
        self.results = []
        bar = self.query_one(ProgressBar)
        bar.update(total=len(plan.changes), progress=0)
        bar.add_class("-running")
        self._state(f"rolling back {len(plan.changes)} change(s) of run {prepared.record.id}…")
        self._run_rollback(prepared)

    @work(thread=True, exclusive=True, group="apply", description="rollback", exit_on_error=False)
    def _run_rollback(self, prepared: PreparedRollback) -> None:
        from vnettool import engine, runlock
        from vnettool.engine.journal import Journal
        from vnettool.inventory import collect

        session = self.vapp.session
        plan = prepared.rollback.plan
        record = prepared.record
        verified, error, run_id = False, "", ""
        results: list[Result] = []

        def on_result(r: Result) -> None:
            self.app.call_from_thread(self._one, r, len(plan.changes))

        try:
            name = f"{session.creds.host}:{session.creds.port} (tui)"
            with runlock.hold(session.instance_key, name, wait=False):
                journal = Journal.for_session(session, f"rollback of {record.id}", record.id)
                run_id = journal.id
                try:
                    results = engine.apply(plan, session, on_result=on_result, journal=journal)
                    after = engine.rollback(record.results, collect(session))
                    verified = after.plan.empty and not after.unrestorable
                    journal.end(verified=verified, remaining=len(after.plan.changes))
                except VnetError:
                    journal.end(verified=False, remaining=-1)
                    raise
        except VnetError as exc:
            results, error = self.results, str(exc)
        self.app.call_from_thread(self._applied, results, verified, error, run_id)


@dataclass
class PreparedRollback:
    record: Any  # engine.journal.RunRecord
    rollback: Any  # engine.Rollback


def plan_rollback(session: Any, run_id: str | None) -> PreparedRollback:
    """The rollback of `run_id` (or of the newest run on this vCenter), planned against a fresh
    inventory; errors as `vnettool apply --rollback` gives them (another vCenter, objects
    changed since, nothing left to restore, unsafe changes)."""
    from vnettool import engine
    from vnettool.engine.core import unsafe_changes
    from vnettool.engine.journal import find_run, instance_uuid, last_run
    from vnettool.inventory import collect

    here = instance_uuid(session)
    record = find_run(run_id) if run_id else last_run(here)
    if record is None:
        raise VnetError("no run recorded against this vCenter: nothing to roll back")
    if record.instance_uuid != here:
        raise VnetError(f"run {record.id} changed another vCenter: refusing to roll it back here")
    rb = engine.rollback(record.results, collect(session))
    if rb.conflicts:
        raise VnetError(
            f"run {record.id}: {len(rb.conflicts)} object(s) changed since that run "
            "(`vnettool apply --rollback RUN --force` rolls back anyway): "
            + "; ".join(rb.conflicts[:3])
        )
    if rb.plan.empty:
        why = "; ".join(rb.unrestorable[:3]) if rb.unrestorable else "already as before"
        raise VnetError(f"run {record.id}: nothing to roll back ({why})")
    if unsafe_changes(rb.plan):
        raise VnetError(
            f"run {record.id}: its rollback has unsafe changes; review it with "
            f"`vnettool apply --rollback {record.id}`"
        )
    return PreparedRollback(record, rb)


def load_and_plan(path: Path, inventory: Any) -> Loaded:
    """Read a desired-state document (or a playbook's configure steps) and plan it."""
    from vnettool import engine
    from vnettool.playbook.desired_file import load_desired
    from vnettool.playbook.loader import read_file

    doc = read_file(path)
    data = doc.data
    if isinstance(data, dict) and "steps" in data:
        from vnettool.playbook import validate
        from vnettool.playbook.configure import scoped_desired
        from vnettool.playbook.scope import step_hosts

        vp = validate(path, {}, inventory=inventory)
        steps = [s for s in vp.playbook.steps if s.kind == "configure" and s.configure]
        if len(steps) != 1 or steps[0].loop is not None:
            raise VnetError(
                f"{path}: the TUI applies a playbook with exactly one configure step, "
                f"not looped ({len(steps)} here); run it with `vnettool run {path}`"
            )
        within = step_hosts(inventory, vp.playbook.target, None)
        desired = scoped_desired(steps[0].configure or {}, inventory, within)
        others = [s.title(i) for i, s in enumerate(vp.playbook.steps) if s.kind != "configure"]
        notes = [f"other steps not run here: {', '.join(others)}"] if others else []
        return Loaded(path, "playbook", engine.plan(desired, inventory), desired, vp, notes)
    desired = load_desired(path)
    return Loaded(path, "desired", engine.plan(desired, inventory), desired)
