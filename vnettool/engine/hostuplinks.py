"""pNICs into LAGs: a member host's pNIC -> uplink port mapping when it names LAG ports.

`distributed_switches[].hosts.uplinks: {vmnic4: lag1-0, vmnic5: lag1-1, vmnic2: uplink1}`
puts pNICs into a LAG's ports. vCenter makes a LAG's uplink ports per member host (the
LAG's `uplinkName`s, `lag1-0` ...) when the LAG is created or the host joins, so a pNIC can
only be bound to one by that port's key, in a host `edit` of `ReconfigureDvs_Task`, after
both (the vSphere Client's "Assign uplink" does the same; a joining host's pnicSpec cannot
name a LAG port). This resource is that edit: one change per (switch, host), in the
switch's lane, after the switch change (which makes a new host join with no pNIC) and the
LAG changes of the same document, and after the standard-switch changes that free the
pNICs. The port keys are looked up at apply time (FetchDVPorts of the host's uplink
ports), never planned: they do not exist before the LAG does.

The mapping is owned as a whole for the hosts it names: a member pNIC left out of it is
released. Mappings without LAG ports stay with the switch's own host edit (engine/dvs.py),
which vCenter fills by position.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from vnettool.engine.common import CannotRestore, Context, matches
from vnettool.engine.dvcommon import lag_port_names
from vnettool.engine.dvs import lane, off_standard
from vnettool.engine.resource import Resource
from vnettool.errors import VnetError
from vnettool.impact.simulate import after_state
from vnettool.models.inventory import DistributedSwitch, DvsHostUplinks, Inventory
from vnettool.models.plan import Change
from vnettool.vsphere import dvs as api
from vnettool.vsphere.connection import Session
from vnettool.vsphere.specs import dvs as dvs_spec

RESOURCE = "dvs_host_uplinks"


class HostUplinks(Resource[DvsHostUplinks]):
    """One host edit per (switch, host) whose mapping names LAG ports."""

    name = RESOURCE
    model = DvsHostUplinks
    fields = ("pnics",)
    after = ("distributed_switch", "lag")
    host_scoped = False

    def plan(self, ctx: Context) -> list[Change]:
        inv = ctx.inventory
        changes: list[Change] = []
        for spec in ctx.desired.distributed_switches:
            if spec.hosts is None or not spec.hosts.uplinks:
                continue
            sw = inv.dvs_by_name.get(spec.name)
            lag_ports = lag_port_names(spec, sw, ctx.desired.absent.lags)
            wanted = dict(spec.hosts.uplinks)
            if not any(u in lag_ports for u in wanted.values()):
                continue
            twice = sorted(u for u, n in Counter(wanted.values()).items() if n > 1)
            if twice:
                ctx.problems.append(
                    f"distributed switch {spec.name}: one pNIC per uplink port; "
                    f"{', '.join(twice)} given more than one"
                )
                continue
            members = {m.host: m for m in (sw.hosts if sw else [])}
            for h in ctx.hosts:
                if not matches(h.cluster or "", spec.hosts.cluster) or not matches(
                    h.name, spec.hosts.hosts
                ):
                    continue
                if set(wanted) - {p.device for p in h.pnics}:
                    continue  # the switch's planner names the missing pNICs
                first = off_standard(ctx, h, spec.name, wanted)
                cur = members.get(h.name)
                before = DvsHostUplinks(
                    dvs=spec.name, host=h.name, pnics=dict(cur.pnics) if cur else {}
                )
                after = before.model_copy(update={"pnics": wanted})
                ch = self.change(
                    lane(spec.name),
                    f"{spec.name}/{h.name}",
                    before,
                    after,
                    self.diff(before, after),
                    after_ids=first,
                    host_moref=h.moref,
                    dvs_moref=sw.moref if sw else None,
                )
                changes += [ch] if ch else []
        return changes

    def tags(self, state: DvsHostUplinks) -> dict[str, Any]:
        return {"switch": state.dvs}

    def depends(self, change: Change, same_host: list[Change]) -> list[str]:
        """After the vSS changes freeing its pNICs, the switch (the host joins) and the LAGs."""
        return [
            *change.after_ids,
            *(
                c.id
                for c in same_host
                if c.resource in ("distributed_switch", "lag")
                and c.kind != "delete"
                and c.switch == change.switch
            ),
        ]

    def update(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        after = self.new(change)
        moref = change.dvs_moref or api.find_switch(session, after.dvs)
        if not change.host_moref:
            raise VnetError(f"{change.summary()}: the change names no host moref")
        keys = api.uplink_port_keys(session, moref, change.host_moref)
        missing = sorted({u for u in after.pnics.values() if u and u not in keys})
        if missing:
            raise VnetError(
                f"{change.summary()}: {after.host} has no uplink port {', '.join(missing)} on "
                f"{after.dvs} (it has: {', '.join(sorted(keys))})"
            )
        spec = dvs_spec.host_uplinks_spec(
            change.host_moref, {p: keys[u] for p, u in after.pnics.items() if u}
        )
        sw = api.read_switch(session, moref)
        # only this host's backing is sent: another client's edit of anything else stands
        api.reconfigure_switch(session, sw, spec, lambda fresh: None, facts, sw.config_version)

    def create(self, change: Change, session: Session, facts: dict[str, Any]) -> None:
        self.update(change, session, facts)

    def restore(self, change: Change, inv: Inventory) -> Change | None:
        """The host's mapping back to what it was (pNICs out of the LAG again)."""
        want = self.old(change)
        if want is None:
            return None
        sw = inv.dvs_by_name.get(want.dvs)
        member = next((m for m in sw.hosts if m.host == want.host), None) if sw else None
        if sw is None or member is None:
            raise CannotRestore(f"{want.host} is no longer a member of {want.dvs}")
        current = want.model_copy(update={"pnics": dict(member.pnics)})
        host = inv.host_by_name.get(want.host)
        return self.change(
            lane(want.dvs),
            change.name,
            current,
            want,
            self.diff(current, want, strict=True),
            host_moref=host.moref if host else change.host_moref,
            dvs_moref=sw.moref,
        )

    def simulate(self, inv: Inventory, change: Change) -> Inventory:
        """A member's pNICs bound to (LAG) uplink ports by name, as the fresh read shows them."""
        new = after_state(change, DvsHostUplinks)
        if new is None:
            return inv

        def bound(d: DistributedSwitch) -> DistributedSwitch:
            hosts = [
                m.model_copy(update={"pnics": dict(new.pnics)}) if m.host == new.host else m
                for m in d.hosts
            ]
            return d.model_copy(update={"hosts": hosts})

        switches = [bound(d) if d.name == new.dvs else d for d in inv.distributed_switches]
        return inv.model_copy(update={"distributed_switches": switches})

    def reach(self, inv: Inventory, change: Change) -> set[str]:
        """The member host the change is named after (`switch/host`)."""
        return {change.name.partition("/")[2]}


resource = HostUplinks()
