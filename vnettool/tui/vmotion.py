"""The vMotion screen: pick a VM, see which hosts pass the network pre-checks, migrate.

The pre-checks are the latency mover's (same cluster, connected, not in maintenance, a
vMotion VMkernel adapter at both ends, every network of the VM present on the destination),
then the server's `CheckRelocate_Task` for the hosts that passed, in a worker. Only hosts
that pass everything can be chosen; the others stay listed with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from vnettool.engine.common import natural_key
from vnettool.errors import VnetError
from vnettool.latency.mover import (
    RebalanceState,
    has_vmotion_vmknic,
    move_one,
    vm_networks_missing,
)
from vnettool.latency.rebalance import live_ops
from vnettool.models.inventory import Inventory, VirtualMachine
from vnettool.tui.fit import fit_middle
from vnettool.tui.messages import AppView, InventoryStale
from vnettool.tui.model import NetIndex
from vnettool.tui.widgets import ConfirmScreen, PhraseLine


@dataclass
class Candidate:
    host: str
    reasons: list[str] = field(default_factory=list)
    checked: bool = False  # CheckRelocate_Task ran (and found nothing) for this host

    @property
    def ok(self) -> bool:
        return not self.reasons


def candidates(inv: Inventory, vm: VirtualMachine, service: str = "vmotion") -> list[Candidate]:
    """Every other host of the VM's cluster, each with the reasons it cannot take the VM."""
    out = []
    src_ok = bool(vm.host) and has_vmotion_vmknic(inv, vm.host or "", service)
    for h in sorted(inv.hosts, key=lambda h: natural_key(h.name)):
        if h.name == vm.host or h.cluster != vm.cluster:
            continue
        c = Candidate(h.name)
        if h.connection_state != "connected":
            c.reasons.append(f"host is {h.connection_state}")
        if h.maintenance:
            c.reasons.append("host is in maintenance mode")
        if not has_vmotion_vmknic(inv, h.name, service):
            c.reasons.append(f"no VMkernel adapter with the {service} service")
        if not src_ok:
            c.reasons.append(f"source {vm.host} has no {service} VMkernel adapter")
        c.reasons.extend(vm_networks_missing(inv, vm, h.name))
        out.append(c)
    return out


class VmotionPane(Vertical):
    BINDINGS = [Binding("slash", "focus_vm", "VM")]
    DEFAULT_CSS = """
    VmotionPane Horizontal { height: 1fr; }
    VmotionPane OptionList { width: 36; }
    VmotionPane DataTable { width: 1fr; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.index: NetIndex | None = None
        self.vm: VirtualMachine | None = None
        self.cands: list[Candidate] = []
        self.filter_text = ""
        self.moving = False
        self._gen = 0  # bumped whenever the VM changes: late CheckRelocate verdicts dropped
        self._listing = False

    @property
    def vapp(self) -> AppView:
        return cast("AppView", self.app)

    def compose(self) -> ComposeResult:
        yield Input(placeholder="VM name (/), enter = choose", id="vm-filter", classes="compact")
        with Horizontal():
            yield OptionList(id="vm-list")
            yield DataTable(id="vm-hosts", cursor_type="row")
        yield PhraseLine("Choose a VM, then a destination host (enter).", id="vm-state")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("host", "network pre-checks")

    def show(self, index: NetIndex) -> None:
        """A new inventory: the list again, and the chosen VM's pre-checks recomputed from it
        (the server's CheckRelocate verdicts kept unless the VM changed host)."""
        self.index = index
        self._list()
        if self.vm is not None and not self.moving:
            vm = index.inv.vm_by_name.get(self.vm.name)
            if vm is None:
                self._clear(f"{self.vm.name} is no longer in the inventory")
            else:
                self._select(vm, recheck=vm.host != self.vm.host)

    def _list(self) -> None:
        """The VMs matching the filter. The highlight stays on the same VM (by name, not by
        position); when the chosen VM is filtered out, the first match is highlighted and
        becomes the VM the host table and a migration are for."""
        if self.index is None:
            return
        ol = self.query_one(OptionList)
        needle = self.filter_text.lower().strip()
        vms = [
            v
            for v in sorted(self.index.inv.vms, key=lambda v: natural_key(v.name))
            if not v.template and (not needle or needle in v.name.lower())
        ][:500]
        current = self.vm.name if self.vm is not None else None
        if current is None and ol.highlighted is not None and ol.option_count:
            current = ol.get_option_at_index(ol.highlighted).id
        width = max(10, ol.content_region.width or 36)
        self._listing = True  # highlight events of the rebuild are not a user's choice
        try:
            ol.clear_options()
            ol.add_options([Option(vm_label(v, width), id=v.name) for v in vms])
            names = [v.name for v in vms]
            if current in names:
                ol.highlighted = names.index(current)
            elif vms:
                ol.highlighted = 0
        finally:
            self._listing = False
        if not vms:
            self._clear(f"no VM matches '{self.filter_text}'")
        elif self.vm is not None and self.vm.name not in names:
            self._select(vms[0], recheck=True)  # what is highlighted is what a move acts on

    @on(Input.Changed, "#vm-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._list()

    @on(Input.Submitted, "#vm-filter")
    def _filter_submit(self) -> None:
        ol = self.query_one(OptionList)
        if ol.option_count == 1:
            ol.highlighted = 0
            opt = ol.get_option_at_index(0)
            self.choose_vm(opt.id or "")
        else:
            ol.focus()

    @on(OptionList.OptionHighlighted, "#vm-list")
    def _vm_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """The highlighted VM is the VM: its hosts and pre-checks show at once."""
        if self._listing or self.index is None:
            return
        vm = self.index.inv.vm_by_name.get(event.option.id or "")
        if vm is not None and (self.vm is None or vm.name != self.vm.name):
            self._select(vm, recheck=True)

    @on(OptionList.OptionSelected, "#vm-list")
    def _vm_selected(self, event: OptionList.OptionSelected) -> None:
        self.choose_vm(event.option.id or "")

    def choose_vm(self, name: str) -> None:
        if self.index is None:
            return
        vm = self.index.inv.vm_by_name.get(name)
        if vm is None:
            self.app.notify(f"no VM named {name}", severity="warning")
            return
        ol = self.query_one(OptionList)
        ids = [ol.get_option_at_index(i).id for i in range(ol.option_count)]
        if name not in ids:  # chosen from elsewhere (the tree's `m`): show it in the list
            self.query_one("#vm-filter", Input).value = ""
            self.filter_text = ""
            self.vm = vm
            self._list()
        else:
            self._listing = True
            ol.highlighted = ids.index(name)
            self._listing = False
        self._select(vm, recheck=True)
        self.query_one(DataTable).focus()

    def _clear(self, why: str) -> None:
        self.vm = None
        self.cands = []
        self._gen += 1
        self.query_one(DataTable).clear()
        self._state(why)

    def _select(self, vm: VirtualMachine, recheck: bool) -> None:
        assert self.index is not None
        old = {c.host: c for c in self.cands} if self.vm and self.vm.name == vm.name else {}
        if recheck:
            self._gen += 1  # verdicts of an earlier check no longer apply
        self.vm = vm
        self.cands = candidates(self.index.inv, vm)
        if not recheck:  # keep the server's verdicts for the same VM on the same host
            for c in self.cands:
                prev = old.get(c.host)
                if prev is not None:
                    c.reasons += [r for r in prev.reasons if r.startswith("CheckRelocate")]
                    c.checked = prev.checked and c.ok
        self._fill()
        ok = sum(1 for c in self.cands if c.ok)
        self._state(
            f"{vm.name} on {vm.host} ({vm.cluster})",
            f"{ok} of {len(self.cands)} hosts pass the network pre-checks",
            "enter = migrate",
        )
        if recheck and ok and self.vapp.live and self.vapp.session is not None:
            self._check(vm, [c.host for c in self.cands if c.ok], self._gen)

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for c in sorted(self.cands, key=lambda c: (not c.ok, natural_key(c.host))):
            if c.ok:
                why = Text("✓ ok" + (" (CheckRelocate passed)" if c.checked else ""), style="green")
            else:
                why = Text("✗ " + "; ".join(c.reasons), style="red")
            table.add_row(Text(c.host, style="" if c.ok else "dim"), why, key=c.host)

    def _state(self, *phrases: str) -> None:
        self.query_one("#vm-state", PhraseLine).set(*phrases)

    @work(
        thread=True, exclusive=True, group="vm-check", description="vm-check", exit_on_error=False
    )
    def _check(self, vm: VirtualMachine, hosts: list[str], gen: int) -> None:
        """CheckRelocate_Task for each host that passed our own checks (server veto)."""
        from vnettool.vsphere import vm as vm_api

        worker = get_current_worker()
        session = self.vapp.session
        inv = self.vapp.inventory
        for host in hosts:
            if worker.is_cancelled or gen != self._gen:
                return  # another VM was highlighted meanwhile
            h = inv.host_by_name.get(host)
            if h is None:
                continue
            try:
                errors = vm_api.check_relocate(session, vm.moref, h.moref)
            except vm_api.CheckUnsupported:
                return  # the server cannot check: our own pre-checks stand
            except VnetError as exc:
                errors = [str(exc)]
            self.app.call_from_thread(self._checked, vm.name, host, errors, gen)

    def _checked(self, vm: str, host: str, errors: list[str], gen: int) -> None:
        if self.vm is None or self.vm.name != vm or gen != self._gen:
            return
        for c in self.cands:
            if c.host == host:
                c.reasons.extend(f"CheckRelocate: {e}" for e in errors)
                c.checked = not errors
        self._fill()

    @on(DataTable.RowSelected, "#vm-hosts")
    def _host_selected(self, event: DataTable.RowSelected) -> None:
        host = event.row_key.value or ""
        vm = self.highlighted_vm()
        if vm is None or self.index is None:
            return
        if self.vm is None or vm.name != self.vm.name:  # never a VM chosen before a filter
            self._select(vm, recheck=True)
            self.app.notify(f"pre-checks are for {vm.name} now: choose its host again")
            return
        # the pre-checks of this VM/host pair from the inventory now, plus the server's verdict
        fresh = next((c for c in candidates(self.index.inv, vm) if c.host == host), None)
        c = next((c for c in self.cands if c.host == host), None)
        if fresh is None or c is None:
            return
        fresh.reasons += [r for r in c.reasons if r.startswith("CheckRelocate")]
        c = fresh
        if not c.ok:
            self.app.notify(f"{host} is excluded: {'; '.join(c.reasons)}", severity="warning")
            return
        if self.moving:
            self.app.notify("a migration is running", severity="warning")
            return
        try:
            self.vapp.require_session()
        except VnetError as exc:
            self.app.notify(str(exc), severity="error")
            return
        nets = ", ".join(sorted({n.network or "-" for n in vm.nics})) or "no NICs"
        body = Text(
            f"vMotion (compute only) of VM {vm.name}\n"
            f"  from host {vm.host}\n"
            f"  to   host {host}\n"
            f"  networks: {nets} (all present on {host})\n"
            f"  power state: {vm.power_state or '-'}; storage is not moved."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._migrate(vm, host)
            else:
                self._state("[yellow]cancelled[/]: the VM was not moved")

        self.app.push_screen(
            ConfirmScreen(f"Migrate {vm.name} to {host}?", body, "Migrate"), answered
        )

    def highlighted_vm(self) -> VirtualMachine | None:
        """The VM under the list's highlight (after any filtering), from the current inventory."""
        ol = self.query_one(OptionList)
        if self.index is None or ol.highlighted is None or not ol.option_count:
            return None
        return self.index.inv.vm_by_name.get(ol.get_option_at_index(ol.highlighted).id or "")

    def _migrate(self, vm: VirtualMachine, host: str) -> None:
        self.moving = True
        self._state(f"migrating {vm.name} → {host}…")
        self._run_migrate(vm, host)

    @work(thread=True, exclusive=True, group="vm-move", description="vm-move", exit_on_error=False)
    def _run_migrate(self, vm: VirtualMachine, host: str) -> None:
        """Through the latency mover, so the move is journaled and starts the VM's cooldown
        like one the mover made (`vnettool rebalance` shows it and will not undo it)."""
        error = ""
        try:
            error = migrate(self.vapp.session, self.vapp.inventory, vm, host)
        except VnetError as exc:
            error = str(exc)
        self.app.call_from_thread(self._moved, vm, host, error)

    def _moved(self, vm: VirtualMachine, host: str, error: str) -> None:
        self.moving = False
        if error:
            self._state(f"[red]migration failed[/]: {error}")
            return
        self._state(f"[green]{vm.name} migrated to {host}[/]")
        self.app.notify(f"{vm.name} → {host}")
        self.post_message(InventoryStale())

    def action_focus_vm(self) -> None:
        self.query_one("#vm-filter", Input).focus()


def vm_label(v: VirtualMachine, width: int) -> Text:
    """`DC0_C0_RP0_VM4  DC0_C0_H10` in `width` cells: the VM name whole when it can be, the
    host after it cut in the middle, never a number."""
    host = v.host or "-"
    if len(v.name) + 2 + len(host) <= width:
        return Text.assemble(v.name, "  ", (host, "dim"))
    if len(v.name) + 2 + 6 <= width:
        return Text.assemble(v.name, "  ", (fit_middle(host, width - len(v.name) - 2), "dim"))
    return Text(fit_middle(v.name, width))


def migrate(session: Any, inv: Inventory, vm: VirtualMachine, host: str) -> str:
    """Move `vm` to `host` with `latency.mover.move_one` (the mover's decision log and the VM's
    cooldown, saved in this vCenter's rebalance state), the move written ahead in a run
    journal like the rebalancer's (`vnettool apply --rollback RUN` moves it back); returns
    the error, or "" when the VM moved."""
    from vnettool.engine.journal import Journal
    from vnettool.engine.relocate import journaled

    if host not in inv.host_by_name:
        return f"host {host} left the inventory"
    key = session.instance_key
    path = RebalanceState.default_path(key)
    state = RebalanceState.load(path)
    state.server = state.server or key
    journal = Journal.for_session(session, f"tui: vMotion {vm.name} to {host}")
    relocate = journaled(live_ops(session, inv, state).relocate, journal, inv)
    try:
        entry = move_one(vm, host, relocate, inv, state, lambda: datetime.now(UTC))
    finally:
        journal.end(verified=None, remaining=None)
    state.save(path)
    return entry.error or ""
