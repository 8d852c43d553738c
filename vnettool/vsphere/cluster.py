"""The cluster's DRS configuration: read its groups and rules, pin a VM to a host, VM-VM
anti-affinity, and removal (ReconfigureComputeResource_Task with a ClusterConfigSpecEx from
`specs/cluster.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyVmomi import vim

from vnettool.models.appliance import ClusterRules, DrsGroup, DrsRule
from vnettool.vsphere.collector import moref_id
from vnettool.vsphere.connection import Session
from vnettool.vsphere.props import read
from vnettool.vsphere.specs.cluster import anti_affinity_spec, pin_spec, unpin_spec
from vnettool.vsphere.tasks import run_task


def read_rules(session: Session, cluster_moref: str) -> ClusterRules:
    """DRS groups and rules of a cluster."""
    cl = vim.ClusterComputeResource(cluster_moref, session.stub)
    cfg = (read(session, cl, ["configurationEx"]) or {}).get("configurationEx")
    groups, rules = [], []
    for g in getattr(cfg, "group", None) or []:
        if isinstance(g, vim.cluster.VmGroup):
            groups.append(DrsGroup(name=g.name, kind="vm", members=[moref_id(v) for v in g.vm]))
        elif isinstance(g, vim.cluster.HostGroup):
            groups.append(DrsGroup(name=g.name, kind="host", members=[moref_id(h) for h in g.host]))
    for r in getattr(cfg, "rule", None) or []:
        common: dict[str, Any] = {
            "key": r.key or 0,
            "name": r.name,
            "enabled": bool(r.enabled),
            "mandatory": bool(r.mandatory),
        }
        if isinstance(r, vim.cluster.VmHostRuleInfo):
            host_group = r.affineHostGroupName or r.antiAffineHostGroupName
            rules.append(
                DrsRule(kind="vm-host", vm_group=r.vmGroupName, host_group=host_group, **common)
            )
        elif isinstance(r, vim.cluster.AntiAffinityRuleSpec):
            rules.append(DrsRule(kind="anti-affinity", vms=[moref_id(v) for v in r.vm], **common))
        elif isinstance(r, vim.cluster.AffinityRuleSpec):
            rules.append(DrsRule(kind="affinity", vms=[moref_id(v) for v in r.vm], **common))
    return ClusterRules(cluster_moref=cluster_moref, groups=groups, rules=rules)


def _reconfigure_cluster(
    session: Session,
    cluster_moref: str,
    spec: Any,
    what: str,
    done: Callable[[ClusterRules], bool],
) -> None:
    """One ReconfigureComputeResource; after a lost answer `done` judges the re-read rules
    (an "add" sent twice would fail on the group or rule the first one created)."""
    cl = vim.ClusterComputeResource(cluster_moref, session.stub)
    run_task(
        session,
        cl.ReconfigureComputeResource_Task,
        spec,
        True,
        op="ReconfigureComputeResource_Task",
        obj=what,
        done=lambda: True if done(read_rules(session, cluster_moref)) else None,
    )


def pin(
    session: Session,
    cluster_moref: str,
    rules: ClusterRules,
    vm_moref: str,
    host_moref: str,
    names: tuple[str, str, str],
) -> None:
    """Make `vm` "must run on" `host`: a VM group, a host group and a mandatory VM-host rule,
    each added or edited so that re-running converges (one ReconfigureComputeResource)."""
    vm_group, host_group, rule_name = names
    spec = pin_spec(rules, vm_moref, host_moref, names)

    def done(now: ClusterRules) -> bool:
        vms, hosts, rule = now.group(vm_group), now.group(host_group), now.rule(rule_name)
        return (
            vms is not None
            and vms.members == [vm_moref]
            and hosts is not None
            and hosts.members == [host_moref]
            and rule is not None
            and rule.host_group == host_group
        )

    _reconfigure_cluster(session, cluster_moref, spec, f"{cluster_moref}/{rule_name}", done)


def anti_affinity(
    session: Session, cluster_moref: str, rules: ClusterRules, name: str, vm_morefs: list[str]
) -> None:
    """A mandatory VM-VM anti-affinity rule over these VMs (added or edited)."""
    spec = anti_affinity_spec(rules, name, vm_morefs)

    def done(now: ClusterRules) -> bool:
        rule = now.rule(name)
        return rule is not None and sorted(rule.vms) == sorted(vm_morefs)

    _reconfigure_cluster(session, cluster_moref, spec, f"{cluster_moref}/{name}", done)


def unpin(session: Session, cluster_moref: str, rules: ClusterRules, names: list[str]) -> None:
    """Remove the named rules and groups (those that exist; rules first, as vCenter requires)."""
    spec = unpin_spec(rules, names)

    def done(now: ClusterRules) -> bool:
        present = {r.name for r in now.rules} | {g.name for g in now.groups}
        return not present & set(names)

    if spec is not None:
        _reconfigure_cluster(session, cluster_moref, spec, f"{cluster_moref}/{names[0]}", done)
