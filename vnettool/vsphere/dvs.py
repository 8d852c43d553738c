"""Distributed switching: typed calls for switches, DV port groups, PVLAN maps and LAGs.

The engine hands in inventory models in API units and the set of fields it changes; this
module turns them into the *partial* specs vCenter expects (only the changed properties are
set, so a concurrent edit of another property is never overwritten) and sends them with the
object's `configVersion`.

Optimistic concurrency: vCenter answers `ConcurrentAccess` when the `configVersion` sent is no
longer current. `reconfigure_*` then re-reads the object, asks the engine's `conflict`
callback whether someone else changed one of *our* fields since the plan (then it stops with
an error rather than overwrite that change blindly), and otherwise resends the same partial
spec with the new version — a bounded number of times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from pyVmomi import vim, vmodl

from vnettool.errors import ApiFault
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    HealthCheckConfig,
    LacpGroup,
    MirrorSession,
    NetflowConfig,
    NiocPool,
    PvlanEntry,
    TrafficRule,
    TrafficRuleset,
)
from vnettool.models.policy import ShapingPolicy, TeamingPolicy, VlanSpec
from vnettool.vsphere.collector import RawObject, moref_id
from vnettool.vsphere.connection import AnswerLost, Session
from vnettool.vsphere.reader import Resolver, dvpg_from_raw, dvs_from_raw
from vnettool.vsphere.vmotion import gone, run_task, wait_task

ATTEMPTS = 3  # tries of one reconfigure when other clients keep changing the object

# switch moref -> {version we sent: version our change produced}
_produced: dict[str, dict[str, str]] = {}
_produced_lock = threading.Lock()

BINDING_TO_API = {"static": "earlyBinding", "ephemeral": "ephemeral"}
BINDING_FROM_API = {"earlyBinding": "static", "lateBinding": "static", "ephemeral": "ephemeral"}

# OverridePermissions key -> VMwareDVSPortgroupPolicy property
OVERRIDE_KEYS = {
    "blocked": "blockOverrideAllowed",
    "shaping": "shapingOverrideAllowed",
    "vlan": "vlanOverrideAllowed",
    "teaming": "uplinkTeamingOverrideAllowed",
    "security": "securityPolicyOverrideAllowed",
    "mac_management": "macManagementOverrideAllowed",
    "vendor_config": "vendorConfigOverrideAllowed",
    "netflow": "ipfixOverrideAllowed",
    "traffic_filter": "trafficFilterOverrideAllowed",
    "network_resource_pool": "networkResourcePoolOverrideAllowed",
    "reset_at_disconnect": "portConfigResetAtDisconnect",
    "live_port_moving": "livePortMovingAllowed",
}
# Properties the API requires (non-optional booleans) when a policy object is sent.
_REQUIRED_OVERRIDES = (
    "blockOverrideAllowed",
    "shapingOverrideAllowed",
    "vendorConfigOverrideAllowed",
    "livePortMovingAllowed",
    "portConfigResetAtDisconnect",
    "vlanOverrideAllowed",
    "uplinkTeamingOverrideAllowed",
    "securityPolicyOverrideAllowed",
)


def available_versions(session: Session) -> list[str]:
    """Switch versions this vCenter can create (DVSManager.QueryAvailableDvsSpec), so a plan
    can refuse '5.0.0' before anything is applied; [] when the server cannot say (ESXi, a
    vCenter without the manager), which leaves the check to vCenter itself."""
    mgr = session.content.dvSwitchManager
    if mgr is None:
        return []
    try:
        specs = session.call(mgr.QueryAvailableDvsSpec, op="QueryAvailableDvsSpec", obj=None)
    except ApiFault:
        return []
    return sorted({str(p.version) for p in specs or [] if p.version}, key=_version_key)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) if x.isdigit() else -1 for x in v.split("."))


# -- reading one object ---------------------------------------------------------------------
def _props(session: Session, obj: Any, paths: list[str], op: str) -> dict[str, Any]:
    pc = session.content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=obj)],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=type(obj), pathSet=paths)],
    )
    res = session.call(pc.RetrieveContents, [spec], op=op, obj=moref_id(obj))
    return {p.name: p.val for oc in res or [] for p in oc.propSet or []}


def read_switch(session: Session, moref: str) -> DistributedSwitch:
    """The switch as the inventory reader would see it now (one PropertyCollector call)."""
    obj = vim.DistributedVirtualSwitch(moref, session.stub)
    props = _props(session, obj, ["name", "uuid", "config"], "RetrieveContents")
    raw = RawObject(type="DistributedVirtualSwitch", moref=moref, props=props)
    return dvs_from_raw(raw, Resolver({}), {}, [])


def read_portgroup(session: Session, moref: str, switch: DistributedSwitch) -> DistributedPortGroup:
    obj = vim.dvs.DistributedVirtualPortgroup(moref, session.stub)
    props = _props(session, obj, ["name", "key", "config"], "RetrieveContents")
    raw = RawObject(type="DistributedVirtualPortgroup", moref=moref, props=props)
    return dvpg_from_raw(raw, {switch.moref: switch}, set())


# -- port settings --------------------------------------------------------------------------
def _bool(v: bool) -> Any:
    return vim.BoolPolicy(inherited=False, value=v)


def _vlan(v: VlanSpec) -> Any:
    if v.kind == "trunk":
        return vim.dvs.VmwareDistributedVirtualSwitch.TrunkVlanSpec(
            inherited=False, vlanId=[vim.NumericRange(start=a, end=b) for a, b in v.ranges]
        )
    if v.kind == "pvlan":
        return vim.dvs.VmwareDistributedVirtualSwitch.PvlanSpec(inherited=False, pvlanId=v.pvlan_id)
    return vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(inherited=False, vlanId=v.vlan_id or 0)


def _changed(before: Any, after: Any, name: str) -> bool:
    a = getattr(after, name)
    return a is not None and (before is None or getattr(before, name) != a)


def _unset(before: Any, after: Any, name: str) -> bool:
    """A string property set before and None after: vCenter unsets it when sent "" (only a
    rollback asks for that; plans keep what a document leaves out)."""
    return before is not None and bool(getattr(before, name)) and getattr(after, name) is None


def _shaping(before: ShapingPolicy | None, after: ShapingPolicy) -> Any:
    p = vim.dvs.DistributedVirtualPort.TrafficShapingPolicy(inherited=False)
    if _changed(before, after, "enabled"):
        p.enabled = _bool(bool(after.enabled))
    for field, prop in (
        ("average_bps", "averageBandwidth"),
        ("peak_bps", "peakBandwidth"),
        ("burst_bytes", "burstSize"),
    ):
        if _changed(before, after, field):
            setattr(p, prop, vim.LongPolicy(inherited=False, value=getattr(after, field)))
    return p


def _teaming(before: TeamingPolicy | None, after: TeamingPolicy) -> Any:
    t = vim.dvs.VmwareDistributedVirtualSwitch.UplinkPortTeamingPolicy(inherited=False)
    if _changed(before, after, "policy"):
        t.policy = vim.StringPolicy(inherited=False, value=after.policy)
    if _changed(before, after, "notify_switches"):
        t.notifySwitches = _bool(bool(after.notify_switches))
    if _changed(before, after, "failback"):
        t.rollingOrder = _bool(not after.failback)
    if _changed(before, after, "check_beacon"):
        t.failureCriteria = vim.dvs.VmwareDistributedVirtualSwitch.FailureCriteria(
            inherited=False, checkBeacon=_bool(bool(after.check_beacon))
        )
    if _changed(before, after, "active_uplinks") or _changed(before, after, "standby_uplinks"):
        t.uplinkPortOrder = vim.dvs.VmwareDistributedVirtualSwitch.UplinkPortOrderPolicy(
            inherited=False,
            activeUplinkPort=list(after.active_uplinks or []),
            standbyUplinkPort=list(after.standby_uplinks or []),
        )
    return t


def port_setting(before: DvPortSetting | None, after: DvPortSetting) -> Any | None:
    """A VMwareDVSPortSetting holding only what differs between before and after (None: nothing).

    With `before` None every set field is sent (a create).
    """
    s = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy()
    touched = False
    if (after.vlan.kind != "none" or after.vlan.vlan_id is not None) and (
        before is None or before.vlan != after.vlan
    ):
        s.vlan = _vlan(after.vlan)
        touched = True
    sec_b, sec_a = (before.security if before else None), after.security
    if any(
        _changed(sec_b, sec_a, f)
        for f in ("allow_promiscuous", "mac_changes", "forged_transmits", "mac_learning")
    ):
        sp = vim.dvs.VmwareDistributedVirtualSwitch.SecurityPolicy(inherited=False)
        mm = vim.dvs.VmwareDistributedVirtualSwitch.MacManagementPolicy(inherited=False)
        for field, prop in (
            ("allow_promiscuous", "allowPromiscuous"),
            ("mac_changes", "macChanges"),
            ("forged_transmits", "forgedTransmits"),
        ):
            if getattr(sec_a, field) is not None:
                setattr(sp, prop, _bool(bool(getattr(sec_a, field))))
                setattr(mm, prop, bool(getattr(sec_a, field)))
        s.securityPolicy = sp
        if sec_a.mac_learning is not None or (sec_b is not None and sec_b.mac_learning is not None):
            if sec_a.mac_learning is not None:
                mm.macLearningPolicy = vim.dvs.VmwareDistributedVirtualSwitch.MacLearningPolicy(
                    inherited=False, enabled=sec_a.mac_learning
                )
            s.macManagementPolicy = mm
        touched = True
    for field, prop in (("in_shaping", "inShapingPolicy"), ("out_shaping", "outShapingPolicy")):
        b = getattr(before, field) if before else None
        a = getattr(after, field)
        if any(_changed(b, a, f) for f in ("enabled", "average_bps", "peak_bps", "burst_bytes")):
            setattr(s, prop, _shaping(b, a))
            touched = True
    tb = before.teaming if before else None
    if any(
        _changed(tb, after.teaming, f)
        for f in (
            "policy",
            "notify_switches",
            "failback",
            "check_beacon",
            "active_uplinks",
            "standby_uplinks",
        )
    ):
        s.uplinkTeamingPolicy = _teaming(tb, after.teaming)
        touched = True
    if _changed(before, after, "blocked"):
        s.blocked = _bool(bool(after.blocked))
        touched = True
    if _changed(before, after, "netflow"):
        s.ipfixEnabled = _bool(bool(after.netflow))
        touched = True
    return s if touched else None


# -- DV port groups -------------------------------------------------------------------------
def _pg_policy(allowed: dict[str, bool]) -> Any:
    pol = vim.dvs.VmwareDistributedVirtualSwitch.VMwarePortgroupPolicy()
    for prop in _REQUIRED_OVERRIDES:
        setattr(pol, prop, bool(allowed.get(prop, False)))
    for prop, v in allowed.items():
        setattr(pol, prop, v)
    return pol


def portgroup_spec(
    before: DistributedPortGroup | None,
    after: DistributedPortGroup,
    pools: dict[str, str] | None = None,
) -> Any:
    """DVPortgroupConfigSpec with only the changed properties (all given ones on create).
    `pools`: the switch's network resource pools now, name -> key (keys are the server's)."""
    spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec()
    if _changed(before, after, "nioc_pool") or _unset(before, after, "nioc_pool"):
        name = after.nioc_pool
        key = (pools or {}).get(name) if name else "-1"
        if key is None:
            raise ApiFault(
                "ReconfigureDVPortgroup_Task",
                f"{after.dvs}/{after.name}",
                "NotFound",
                f"network resource pool {name} does not exist on {after.dvs}",
            )
        spec.vmVnicNetworkResourcePoolKey = key
    if before is None:
        spec.name = after.name
    if after.binding is not None and (before is None or before.binding != after.binding):
        spec.type = BINDING_TO_API.get(after.binding, after.binding)
    if _changed(before, after, "num_ports"):
        spec.numPorts = after.num_ports
    if _changed(before, after, "auto_expand"):
        spec.autoExpand = after.auto_expand
    if _changed(before, after, "description") or _unset(before, after, "description"):
        spec.description = after.description or ""
    setting = port_setting(before.setting if before else None, after.setting)
    if setting is not None:
        spec.defaultPortConfig = setting
    if after.override_allowed and (
        before is None or before.override_allowed != after.override_allowed
    ):
        spec.policy = _pg_policy(after.override_allowed)
    return spec


def _switch_obj(session: Session, moref: str) -> Any:
    return vim.DistributedVirtualSwitch(moref, session.stub)


def add_portgroup(
    session: Session,
    dvs_moref: str,
    after: DistributedPortGroup,
    pools: dict[str, str] | None = None,
) -> str:
    """Create a DV port group; returns its moref."""
    spec = portgroup_spec(None, after, pools)
    if spec.type is None:
        spec.type = "earlyBinding"
    sw = _switch_obj(session, dvs_moref)
    obj = f"{after.dvs}/{after.name}"
    run_task(
        session,
        sw.AddDVPortgroup_Task,
        [spec],
        op="AddDVPortgroup_Task",
        obj=obj,
        done=lambda: _portgroup_named(session, sw, after.name),
    )
    return _portgroup_named(session, sw, after.name) or ""


def _portgroup_named(session: Session, sw: Any, name: str) -> str | None:
    """The moref of the switch's port group `name`: one PropertyCollector call for all names."""
    pc = session.content.propertyCollector
    traverse = vmodl.query.PropertyCollector.TraversalSpec(
        name="pgs", type=vim.DistributedVirtualSwitch, path="portgroup", skip=False
    )
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[
            vmodl.query.PropertyCollector.ObjectSpec(obj=sw, skip=True, selectSet=[traverse])
        ],
        propSet=[
            vmodl.query.PropertyCollector.PropertySpec(
                type=vim.dvs.DistributedVirtualPortgroup, pathSet=["name", "key"]
            )
        ],
    )
    res = session.call(pc.RetrieveContents, [spec], op="RetrieveContents", obj=moref_id(sw))
    for oc in res or []:
        props = {p.name: p.val for p in oc.propSet or []}
        if props.get("name") == name:
            return moref_id(oc.obj)
    return None


Conflict = Callable[[Any], str | None]


def _retrying(
    session: Session,
    op: str,
    obj: str,
    version: str | None,
    send: Callable[[str | None], Any],
    reread: Callable[[], Any],
    conflict: Conflict,
    facts: dict[str, Any] | None = None,
) -> None:
    """Send with `version`; on ConcurrentAccess re-read, check for a conflict, resend.

    A lost answer is settled by the version: moved past the one sent, the reconfiguration ran
    (resending would meet ConcurrentAccess); unchanged, it did not, and it is sent again.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            task = session.call(send, version, op=op, obj=obj, idempotent=version is None)
            wait_task(session, task, op, obj)
            if facts is not None:
                facts["attempts"] = attempt
            return
        except AnswerLost:
            if reread().config_version != version:
                if facts is not None:
                    facts["attempts"] = attempt
                return
            if attempt == ATTEMPTS:
                raise
        except ApiFault as exc:
            if exc.fault != "ConcurrentAccess" or attempt == ATTEMPTS:
                raise
            fresh = reread()
            why = conflict(fresh)
            if facts is not None:
                facts.setdefault("concurrent", []).append(
                    {"sent": version, "current": fresh.config_version, "conflict": why}
                )
            if why:
                raise ApiFault(
                    op,
                    obj,
                    "ConcurrentAccess",
                    f"changed by another client since the plan ({why}); nothing was "
                    "overwritten — plan again",
                ) from exc
            version = fresh.config_version


def reconfigure_portgroup(
    session: Session,
    moref: str,
    switch: DistributedSwitch,
    before: DistributedPortGroup,
    after: DistributedPortGroup,
    conflict: Conflict,
    facts: dict[str, Any] | None = None,
) -> None:
    pg = vim.dvs.DistributedVirtualPortgroup(moref, session.stub)
    spec = portgroup_spec(before, after, {p.name: p.key or "" for p in switch.nioc_pools})

    def send(version: str | None) -> Any:
        spec.configVersion = version
        return pg.ReconfigureDVPortgroup_Task(spec)

    _retrying(
        session,
        "ReconfigureDVPortgroup_Task",
        f"{after.dvs}/{after.name}",
        before.config_version,
        send,
        lambda: read_portgroup(session, moref, switch),
        conflict,
        facts,
    )


def destroy(session: Session, moref: str, kind: str, name: str) -> None:
    """Destroy a DV port group or a switch (Destroy_Task)."""
    o = (
        vim.dvs.DistributedVirtualPortgroup(moref, session.stub)
        if kind == "portgroup"
        else _switch_obj(session, moref)
    )
    run_task(session, o.Destroy_Task, op="Destroy_Task", obj=name, done=lambda: gone(session, o))


# -- switches -------------------------------------------------------------------------------
def pvlan_spec(op: str, e: PvlanEntry) -> Any:
    return vim.dvs.VmwareDistributedVirtualSwitch.PvlanConfigSpec(
        operation=op,
        pvlanEntry=vim.dvs.VmwareDistributedVirtualSwitch.PvlanMapEntry(
            primaryVlanId=e.primary_id, secondaryVlanId=e.secondary_id, pvlanType=e.type
        ),
    )


def _nioc_alloc(t: Any) -> Any:
    shares = None
    if t.level is not None:
        shares = vim.SharesInfo(level=t.level, shares=t.shares or 0)
    return vim.DistributedVirtualSwitch.HostInfrastructureTrafficResource.ResourceAllocation(
        limit=t.limit_mbps if t.limit_mbps is not None else -1,
        reservation=t.reservation_mbps,
        shares=shares,
    )


def switch_spec(
    before: DistributedSwitch | None,
    after: DistributedSwitch,
    host_ops: list[tuple[str, str, dict[str, str]]] | None = None,
) -> Any:
    """VMwareDVSConfigSpec with only the changed switch properties (plus host operations).

    `host_ops`: (operation add/edit/remove, host moref, {pnic: uplink name}).
    """
    s = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec()
    if before is None:
        s.name = after.name
    if _changed(before, after, "max_mtu"):
        s.maxMtu = after.max_mtu
    if _changed(before, after, "description") or _unset(before, after, "description"):
        s.description = after.description or ""
    if after.uplink_names and (before is None or before.uplink_names != after.uplink_names):
        s.uplinkPortPolicy = vim.DistributedVirtualSwitch.NameArrayUplinkPortPolicy(
            uplinkPortName=list(after.uplink_names)
        )
    if _changed(before, after, "ldp_protocol") or _changed(before, after, "ldp_operation"):
        s.linkDiscoveryProtocolConfig = vim.host.LinkDiscoveryProtocolConfig(
            protocol=after.ldp_protocol or "cdp", operation=after.ldp_operation or "listen"
        )
    if _changed(before, after, "nioc_enabled") and before is None:
        s.networkResourceControlVersion = "version3"
    if after.nioc and (before is None or before.nioc != after.nioc):
        old = {t.key: t for t in (before.nioc if before else [])}
        s.infrastructureTrafficResourceConfig = [
            vim.DistributedVirtualSwitch.HostInfrastructureTrafficResource(
                key=t.key, allocationInfo=_nioc_alloc(t)
            )
            for t in after.nioc
            if old.get(t.key) != t
        ]
    setting = port_setting(before.default_port if before else None, after.default_port)
    if setting is not None:
        s.defaultPortConfig = setting
    ops = []
    for op, host_moref, pnics in host_ops or []:
        m = vim.dvs.HostMember.ConfigSpec(operation=op, host=vim.HostSystem(host_moref, None))
        if op != "remove":
            m.backing = vim.dvs.HostMember.PnicBacking(
                pnicSpec=[
                    vim.dvs.HostMember.PnicSpec(pnicDevice=p, uplinkPortKey=None)
                    for p in pnics  # in uplink order: vCenter fills uplinks in this order
                ]
            )
        ops.append(m)
    if ops:
        s.host = ops
    return s


def reconfigure_switch(
    session: Session,
    before: DistributedSwitch,
    spec: Any,
    conflict: Conflict,
    facts: dict[str, Any] | None = None,
    version: str | None = None,
) -> None:
    """ReconfigureDvs_Task with `configVersion`; ConcurrentAccess -> re-read, check, resend.

    Several changes of one run on the same switch all planned against one version: each
    starts from the version the previous one of *this process* produced (`_produced`), so
    only a foreign change makes vCenter answer ConcurrentAccess.
    """
    sw = _switch_obj(session, before.moref)
    start = version if version is not None else before.config_version
    with _produced_lock:
        chain = _produced.setdefault(before.moref, {})
        seen: set[str] = set()
        while start in chain and start not in seen:
            seen.add(start)
            start = chain[start]
    sent: list[str | None] = []

    def send(v: str | None) -> Any:
        spec.configVersion = v
        sent.append(v)
        return sw.ReconfigureDvs_Task(spec)

    _retrying(
        session,
        "ReconfigureDvs_Task",
        before.name,
        start,
        send,
        lambda: read_switch(session, before.moref),
        conflict,
        facts,
    )
    now = read_switch(session, before.moref).config_version
    if facts is not None:
        facts["config_version"] = now
    if sent and sent[-1] is not None and now is not None:
        with _produced_lock:
            _produced.setdefault(before.moref, {})[sent[-1]] = now


def set_nioc(session: Session, moref: str, name: str, enabled: bool) -> None:
    sw = _switch_obj(session, moref)
    session.call(
        sw.EnableNetworkResourceManagement,
        enable=enabled,
        op="EnableNetworkResourceManagement",
        obj=name,
    )


def create_switch(
    session: Session,
    folder_moref: str,
    after: DistributedSwitch,
    host_ops: list[tuple[str, str, dict[str, str]]] | None = None,
) -> str:
    """CreateDVS_Task in a datacenter's network folder; returns the new switch's moref."""
    spec = vim.DistributedVirtualSwitch.CreateSpec(configSpec=switch_spec(None, after, host_ops))
    if after.version:
        spec.productInfo = vim.dvs.ProductSpec(version=after.version)
    folder = vim.Folder(folder_moref, session.stub)

    def created() -> Any | None:
        try:
            return _switch_obj(session, find_switch(session, after.name))
        except ApiFault:
            return None

    ref = run_task(
        session, folder.CreateDVS_Task, spec, op="CreateDVS_Task", obj=after.name, done=created
    )
    return moref_id(ref)


def network_folder(session: Session, datacenter: str) -> str:
    """The moref of a datacenter's network folder, by datacenter name."""
    for dc in session.content.rootFolder.childEntity:
        if isinstance(dc, vim.Datacenter) and dc.name == datacenter:
            return moref_id(dc.networkFolder)
    raise ApiFault("CreateDVS_Task", datacenter, "NotFound", f"no datacenter {datacenter}")


def lag_spec(op: str, g: LacpGroup) -> Any:
    cfg = vim.dvs.VmwareDistributedVirtualSwitch.LacpGroupConfig(
        key=g.key,
        name=g.name,
        mode=g.mode,
        uplinkNum=g.uplink_count,
        loadbalanceAlgorithm=g.load_balance,
    )
    return vim.dvs.VmwareDistributedVirtualSwitch.LacpGroupSpec(lacpGroupConfig=cfg, operation=op)


def update_lags(session: Session, sw: DistributedSwitch, specs: list[Any]) -> None:
    """UpdateDVSLacpGroupConfig_Task (defined on VmwareDistributedVirtualSwitch only)."""
    o = vim.dvs.VmwareDistributedVirtualSwitch(sw.moref, session.stub)

    def in_place() -> bool | None:
        lags = {g.name: g for g in read_switch(session, sw.moref).lags}
        for s in specs:
            want, have = s.lacpGroupConfig, lags.get(s.lacpGroupConfig.name)
            if s.operation == "remove":
                if any(g.key == want.key for g in lags.values()):
                    return None
            elif have is None or (have.mode, have.uplink_count) != (want.mode, want.uplinkNum):
                return None
        return True

    run_task(
        session,
        o.UpdateDVSLacpGroupConfig_Task,
        specs,
        op="UpdateDVSLacpGroupConfig_Task",
        obj=sw.name,
        done=in_place,
    )


def uplink_port_keys(session: Session, dvs_moref: str, host_moref: str) -> dict[str, str]:
    """A member host's uplink ports on a switch, name -> key (`uplink1`, `lag1-0`, ...).

    FetchDVPorts with the host and `uplinkPort` (what the vSphere Client's "Assign uplink"
    lists): LAG ports exist per host, so their keys are only known once the host is a
    member and the LAG exists."""
    crit = vim.dvs.PortCriteria(uplinkPort=True, host=[vim.HostSystem(host_moref, None)])
    sw = _switch_obj(session, dvs_moref)
    ports = session.call(sw.FetchDVPorts, crit, op="FetchDVPorts", obj=dvs_moref) or []
    return {p.config.name: p.key for p in ports if p.config is not None and p.config.name}


def host_uplinks_spec(host_moref: str, keys: dict[str, str]) -> Any:
    """A switch spec that binds a member's pNICs to uplink ports by key (host `edit`):
    `keys` is pnic -> port key, the host's whole mapping (pNICs left out are released)."""
    s = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec()
    s.host = [
        vim.dvs.HostMember.ConfigSpec(
            operation="edit",
            host=vim.HostSystem(host_moref, None),
            backing=vim.dvs.HostMember.PnicBacking(
                pnicSpec=[
                    vim.dvs.HostMember.PnicSpec(pnicDevice=p, uplinkPortKey=k)
                    for p, k in keys.items()
                ]
            ),
        )
    ]
    return s


def find_switch(session: Session, name: str) -> str:
    """The moref of a distributed switch by name (for objects created earlier in a run)."""
    content = session.content
    view = session.call(
        content.viewManager.CreateContainerView,
        content.rootFolder,
        [vim.DistributedVirtualSwitch],
        True,
        op="CreateContainerView",
    )
    try:
        for sw in view.view:
            if sw.name == name:
                return moref_id(sw)
    finally:
        view.DestroyView()
    raise ApiFault("find", name, "NotFound", f"no distributed switch {name}")


# -- migrations -----------------------------------------------------------------------------
def find_portgroup(session: Session, switch: str, name: str) -> tuple[str, str]:
    """(switch uuid, port group key) of a DV port group by switch and port group name."""
    sw = read_switch(session, find_switch(session, switch))
    obj = vim.DistributedVirtualSwitch(sw.moref, session.stub)
    moref = _portgroup_named(session, obj, name)
    if moref is not None:
        key = _props(
            session,
            vim.dvs.DistributedVirtualPortgroup(moref, session.stub),
            ["key"],
            "RetrieveContents",
        ).get("key")
        return sw.uuid, str(key or moref)
    raise ApiFault("find", f"{switch}/{name}", "NotFound", f"no DV port group {name} on {switch}")


def move_vmknic(
    session: Session,
    host_moref: str,
    where: str,
    device: str,
    dv: tuple[str, str] | None,
    portgroup: str | None,
) -> str:
    """UpdateVirtualNic onto a DV port group (dv = (switch uuid, key)) or a standard one.

    Returns the host's connection state read right after the move (management reachability).
    """
    host = vim.HostSystem(host_moref, session.stub)
    ns = _props(session, host, ["configManager.networkSystem"], "RetrieveContents")[
        "configManager.networkSystem"
    ]
    spec = vim.host.VirtualNic.Specification()
    if dv is not None:
        spec.distributedVirtualPort = vim.dvs.PortConnection(switchUuid=dv[0], portgroupKey=dv[1])
    else:
        spec.portgroup = portgroup
    session.call(ns.UpdateVirtualNic, device=device, nic=spec, op="UpdateVirtualNic", obj=where)
    state = _props(session, host, ["runtime.connectionState"], "RetrieveContents")
    return str(state.get("runtime.connectionState") or "unknown")


def move_vm_nic(
    session: Session,
    vm_moref: str,
    where: str,
    nic_key: int,
    dv: tuple[str, str] | None,
    network: str | None,
) -> None:
    """ReconfigVM_Task editing one NIC's backing (DV port group or standard network by name)."""
    vm = vim.VirtualMachine(vm_moref, session.stub)
    devices = _props(session, vm, ["config.hardware.device"], "RetrieveContents").get(
        "config.hardware.device"
    )
    nic = next((d for d in devices or [] if d.key == nic_key), None)
    if nic is None:
        raise ApiFault("ReconfigVM_Task", where, "NotFound", f"no device with key {nic_key}")
    if dv is not None:
        nic.backing = vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
            port=vim.dvs.PortConnection(switchUuid=dv[0], portgroupKey=dv[1])
        )
    else:
        nic.backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=network)
    change = vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic)
    spec = vim.vm.ConfigSpec(deviceChange=[change])
    task = session.call(vm.ReconfigVM_Task, spec, op="ReconfigVM_Task", obj=where)
    wait_task(session, task, "ReconfigVM_Task", where)


# -- NetFlow and port mirroring ---------------------------------------------------------------
def ipfix_config(n: NetflowConfig) -> Any:
    """The whole VMwareIpfixConfig (vCenter replaces it as one; its timeouts are required)."""
    return vim.dvs.VmwareDistributedVirtualSwitch.IpfixConfig(
        collectorIpAddress=n.collector_ip or "",
        collectorPort=n.collector_port or 0,
        observationDomainId=n.observation_domain or 0,
        activeFlowTimeout=n.active_timeout_s if n.active_timeout_s is not None else 60,
        idleFlowTimeout=n.idle_timeout_s if n.idle_timeout_s is not None else 15,
        samplingRate=n.sampling_rate if n.sampling_rate is not None else 4096,
        internalFlowsOnly=bool(n.internal_only),
    )


def _vspan_port(
    keys: Sequence[str],
    uplinks: Sequence[str] = (),
    ips: Sequence[str] = (),
    vlans: Sequence[int] = (),
) -> Any:
    if not (keys or uplinks or ips or vlans):
        return None
    return vim.dvs.VmwareDistributedVirtualSwitch.VspanPorts(
        portKey=list(keys), uplinkPortName=list(uplinks), ipAddress=list(ips), vlans=list(vlans)
    )


def vspan_spec(op: str, m: MirrorSession) -> Any:
    """A VMwareDVSVspanConfigSpec; edit and add send the whole session (vCenter replaces it)."""
    vs = vim.dvs.VmwareDistributedVirtualSwitch
    if op == "remove":
        return vs.VspanConfigSpec(operation=op, vspanSession=vs.VspanSession(key=m.key))
    sess = vs.VspanSession(
        key=m.key if op == "edit" else None,
        name=m.name,
        description=m.description,
        enabled=bool(m.enabled),
        sessionType=m.type,
        sourcePortTransmitted=_vspan_port(m.sources_transmitted),
        sourcePortReceived=_vspan_port(m.sources_received, vlans=m.source_vlans),
        destinationPort=_vspan_port(m.destination_ports, m.destination_uplinks, m.destination_ips),
        mirroredPacketLength=m.packet_length,
        samplingRate=m.sampling_rate,
        encapsulationVlanId=m.encapsulation_vlan,
        stripOriginalVlan=bool(m.strip_vlan),
        normalTrafficAllowed=bool(m.normal_traffic),
        encapType=m.encapsulation,
        erspanId=m.erspan_id,
    )
    return vs.VspanConfigSpec(operation=op, vspanSession=sess)


# -- health check -----------------------------------------------------------------------------
def update_health_check(session: Session, sw: DistributedSwitch, hc: HealthCheckConfig) -> None:
    """UpdateDVSHealthCheckConfig_Task with both checks (each replaces its class's config).

    The call takes no configVersion but vCenter's config changes with it: the version it
    produces is chained like a reconfigure's, so the next ReconfigureDvs_Task of this run on
    the switch starts from it instead of meeting ConcurrentAccess.
    """
    obj = _switch_obj(session, sw.moref)
    dvs = vim.dvs.VmwareDistributedVirtualSwitch

    def cfg(kind: Any, on: bool | None, interval: int | None) -> Any:
        return kind(enable=bool(on), interval=interval if interval is not None else 1)

    configs = [
        cfg(dvs.VlanMtuHealthCheckConfig, hc.vlan_mtu, hc.vlan_mtu_interval),
        cfg(dvs.TeamingHealthCheckConfig, hc.teaming, hc.teaming_interval),
    ]
    before = read_switch(session, sw.moref).config_version
    task = session.call(
        obj.UpdateDVSHealthCheckConfig_Task,
        configs,
        op="UpdateDVSHealthCheckConfig_Task",
        obj=sw.name,
    )
    wait_task(session, task, "UpdateDVSHealthCheckConfig_Task", sw.name)
    now = read_switch(session, sw.moref).config_version
    if before is not None and now is not None and now != before:
        with _produced_lock:
            _produced.setdefault(sw.moref, {})[before] = now


# -- NIOC network resource pools ----------------------------------------------------------------
def pool_spec(op: str, p: NiocPool) -> Any:
    """A DvsVmVnicResourcePoolConfigSpec; add and edit send the pool's whole settings."""
    spec = vim.dvs.VmVnicNetworkResourcePool.ConfigSpec(operation=op, key=p.key)
    if op != "remove":
        spec.name = p.name
        spec.description = p.description or ""
        spec.allocationInfo = vim.dvs.VmVnicNetworkResourcePool.ResourceAllocation(
            reservationQuota=p.reservation_mbps or 0
        )
    if op == "edit":
        spec.configVersion = p.config_version
    return spec


def reconfigure_pools(session: Session, sw: DistributedSwitch, specs: list[Any]) -> None:
    """DvsReconfigureVmVnicNetworkResourcePool_Task; the switch's version it produces is
    chained like a reconfigure's (the call takes none of its own)."""
    obj = _switch_obj(session, sw.moref)
    before = read_switch(session, sw.moref).config_version
    task = session.call(
        obj.DvsReconfigureVmVnicNetworkResourcePool_Task,
        specs,
        op="DvsReconfigureVmVnicNetworkResourcePool_Task",
        obj=sw.name,
    )
    wait_task(session, task, "DvsReconfigureVmVnicNetworkResourcePool_Task", sw.name)
    now = read_switch(session, sw.moref).config_version
    if before is not None and now is not None and now != before:
        with _produced_lock:
            _produced.setdefault(sw.moref, {})[before] = now


# -- traffic filtering and marking ------------------------------------------------------------
TRAFFIC_AGENT = "dvfilter-generic-vmware"  # the agent vCenter gives a traffic filter
_ACTIONS = {
    "allow": vim.dvs.TrafficRule.AcceptAction,
    "drop": vim.dvs.TrafficRule.DropAction,
    "punt": vim.dvs.TrafficRule.PuntAction,
}


def _ip_address(v: str, negate: bool) -> Any:
    addr, slash, length = v.partition("/")
    if slash:
        return vim.IpRange(addressPrefix=addr, prefixLength=int(length), negate=negate)
    return vim.SingleIp(address=addr, negate=negate)


def _mac_address(v: str, negate: bool) -> Any:
    addr, slash, mask = v.partition("/")
    if slash:
        return vim.MacRange(address=addr, mask=mask, negate=negate)
    return vim.SingleMac(address=addr, negate=negate)


def _ip_port(v: str, negate: bool) -> Any:
    first, dash, last = v.partition("-")
    if dash:
        return vim.dvs.TrafficRule.IpPortRange(
            startPortNumber=int(first), endPortNumber=int(last), negate=negate
        )
    return vim.dvs.TrafficRule.SingleIpPort(portNumber=int(first), negate=negate)


def _int_expr(v: int | None, negate: bool) -> Any:
    return vim.IntExpression(value=v, negate=negate) if v is not None else None


def _rule(r: TrafficRule) -> Any:
    action: Any
    if r.action == "tag":
        action = vim.dvs.TrafficRule.UpdateTagAction(dscpTag=r.dscp, qosTag=r.cos)
    elif r.action in _ACTIONS:
        action = _ACTIONS[r.action]()
    else:  # refused at plan time; a guard against sending a rule with no action
        raise ValueError(f"rule {r.name}: vnettool does not write {r.action} actions")
    qualifiers: list[Any] = []
    if r.ip is not None:
        q, n = r.ip, set(r.ip.negate)
        qualifiers.append(
            vim.dvs.TrafficRule.IpQualifier(
                sourceAddress=_ip_address(q.source, "source" in n) if q.source else None,
                destinationAddress=(
                    _ip_address(q.destination, "destination" in n) if q.destination else None
                ),
                protocol=_int_expr(q.protocol, "protocol" in n),
                sourceIpPort=_ip_port(q.source_port, "source_port" in n) if q.source_port else None,
                destinationIpPort=(
                    _ip_port(q.destination_port, "destination_port" in n)
                    if q.destination_port
                    else None
                ),
                tcpFlags=_int_expr(q.tcp_flags, "tcp_flags" in n),
            )
        )
    if r.mac is not None:
        m, n = r.mac, set(r.mac.negate)
        qualifiers.append(
            vim.dvs.TrafficRule.MacQualifier(
                sourceAddress=_mac_address(m.source, "source" in n) if m.source else None,
                destinationAddress=(
                    _mac_address(m.destination, "destination" in n) if m.destination else None
                ),
                protocol=_int_expr(m.ethertype, "ethertype" in n),
                vlanId=_int_expr(m.vlan, "vlan" in n),
            )
        )
    if r.system is not None:
        qualifiers.append(
            vim.dvs.TrafficRule.SystemTrafficQualifier(
                typeOfSystemTraffic=vim.StringExpression(
                    value=r.system.type, negate=r.system.negate
                )
            )
        )
    return vim.dvs.TrafficRule(
        key=r.key,
        description=r.name,
        sequence=r.sequence,
        direction=r.direction or "both",
        qualifier=qualifiers,
        action=action,
    )


def traffic_filter_spec(op: str, rs: TrafficRuleset) -> Any:
    """A DvsTrafficFilterConfigSpec: add (no key), edit or remove (by the filter's key).

    Specs, not configs: a config array would replace every filter of the port, and a port
    may carry filters of other agents (a third-party dvfilter) that must stay.
    """
    spec = vim.dvs.DistributedVirtualPort.TrafficFilterConfigSpec(
        operation=op, key=rs.filter_key if op != "add" else None
    )
    if op == "remove":
        return spec
    spec.agentName = TRAFFIC_AGENT
    spec.inherited = False
    spec.trafficRuleset = vim.dvs.TrafficRuleset(
        key=rs.key if op == "edit" else None,
        enabled=rs.enabled if rs.enabled is not None else True,
        precedence=rs.precedence,
        rules=[_rule(r) for r in rs.rules],
    )
    return spec


def set_traffic_filter(
    session: Session,
    moref: str,
    switch: DistributedSwitch,
    current: DistributedPortGroup,
    spec: Any,
    conflict: Conflict,
    facts: dict[str, Any] | None = None,
) -> None:
    """ReconfigureDVPortgroup_Task with only the filter policy, at the read configVersion."""
    pg = vim.dvs.DistributedVirtualPortgroup(moref, session.stub)
    policy = vim.dvs.DistributedVirtualPort.FilterPolicy(inherited=False, filterConfig=[spec])
    setting = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(filterPolicy=policy)
    cfg = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(defaultPortConfig=setting)
    where = f"{current.dvs}/{current.name}"

    def send(version: str | None) -> Any:
        cfg.configVersion = version
        return pg.ReconfigureDVPortgroup_Task(cfg)

    _retrying(
        session,
        "ReconfigureDVPortgroup_Task",
        where,
        current.config_version,
        send,
        lambda: read_portgroup(session, moref, switch),
        conflict,
        facts,
    )


def portgroup_moref(session: Session, switch_moref: str, name: str) -> str:
    """A DV port group's moref by its switch and name (the uplink port group too)."""
    moref = _portgroup_named(session, _switch_obj(session, switch_moref), name)
    if moref is None:
        raise ApiFault("find", name, "NotFound", f"no DV port group {name}")
    return moref
