"""The Plan/apply screen: open a desired-state file or playbook, see the plan, apply it safely.

Planning is the engine's pure `plan(desired, inventory)` against the live inventory on
screen. Applying always goes through a confirmation that lists every change with its
before → after values; "no" (or Esc) changes nothing. Unsafe changes (those the engine
marks as cutting management or VM traffic) are refused here; the CLI's --force is the
deliberate way around that. Each applied run is journaled like `vnettool apply`, so it can be
rolled back with `vnettool apply --rollback RUN`.
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

from vnettool.engine.render import render_plan
from vnettool.errors import VnetError
from vnettool.models.plan import Plan, Result
from vnettool.tui.messages import AppView, InventoryStale
from vnettool.tui.model import NetIndex
from vnettool.tui.widgets import ConfirmScreen


def result_text(results: list[Result], done: int, total: int) -> Text:
    out = Text()
    for r in results:
        if r.failed:
            out.append("failed  ", style="bold red")
        elif r.skipped:
            out.append("skipped ", style="cyan")
        else:
            out.append("changed ", style="yellow" if r.changed else "green")
        out.append(r.change.summary())
        if r.error:
            out.append(f": {r.error}", style="red")
        out.append(f"  ({r.duration_s:.2f} s)\n", style="dim")
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
    ]
    DEFAULT_CSS = """
    PlanPane #plan-bar { height: 1; }
    PlanPane #plan-path { width: 1fr; }
    PlanPane #plan-scroll { height: 1fr; }
    PlanPane ProgressBar { height: 1; display: none; }
    PlanPane ProgressBar.-running { display: block; }
    PlanPane #plan-state { height: 1; color: $text-muted; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.loaded: Loaded | None = None
        self.index: NetIndex | None = None
        self.applying = False
        self.results: list[Result] = []

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
        yield Static(
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

    def _state(self, text: str) -> None:
        self.query_one("#plan-state", Static).update(text)

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
            self._state(f"{loaded.path} — {what}: {n} change(s) pending; a = apply")
        else:
            self._state(f"{loaded.path} — {what}: in desired state")
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
        tail.append(f"\nrun {run_id}; undo with: vnettool apply --rollback {run_id}", style="dim")
        self._body(Group(result_text(results, len(results), len(results)), tail))
        colour = "green" if verified and not failed and not error else "red"
        self._state(f"[{colour}]{ok} applied, {failed} failed/skipped[/] — {escape(str(run_id))}")
        self.post_message(InventoryStale())


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
