"""DRS specs (ClusterConfigSpecEx): the pinning of an appliance to its host (a VM group, a
host group and a mandatory VM-host rule), VM-VM anti-affinity, and their removal.

Pure: the cluster's rules as read (`ClusterRules`) decide add or edit, so that re-running
converges. Morefs become references without a stub.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

from vnettool.models.appliance import ClusterRules


def _op(present: bool) -> str:
    return "edit" if present else "add"


def pin_spec(
    rules: ClusterRules, vm_moref: str, host_moref: str, names: tuple[str, str, str]
) -> Any:
    """`vm` "must run on" `host`; `names` = (VM group, host group, rule)."""
    vm_group, host_group, rule_name = names
    spec = vim.cluster.ConfigSpecEx(
        groupSpec=[
            vim.cluster.GroupSpec(
                operation=_op(rules.group(vm_group) is not None),
                info=vim.cluster.VmGroup(name=vm_group, vm=[vim.VirtualMachine(vm_moref, None)]),
            ),
            vim.cluster.GroupSpec(
                operation=_op(rules.group(host_group) is not None),
                info=vim.cluster.HostGroup(
                    name=host_group, host=[vim.HostSystem(host_moref, None)]
                ),
            ),
        ]
    )
    old = rules.rule(rule_name)
    info = vim.cluster.VmHostRuleInfo(
        name=rule_name,
        enabled=True,
        mandatory=True,
        vmGroupName=vm_group,
        affineHostGroupName=host_group,
        userCreated=True,
    )
    if old is not None:
        info.key = old.key
    spec.rulesSpec = [vim.cluster.RuleSpec(operation=_op(old is not None), info=info)]
    return spec


def anti_affinity_spec(rules: ClusterRules, name: str, vm_morefs: list[str]) -> Any:
    """A mandatory VM-VM anti-affinity rule over these VMs (added or edited)."""
    old = rules.rule(name)
    info = vim.cluster.AntiAffinityRuleSpec(
        name=name,
        enabled=True,
        mandatory=True,
        userCreated=True,
        vm=[vim.VirtualMachine(m, None) for m in vm_morefs],
    )
    if old is not None:
        info.key = old.key
    return vim.cluster.ConfigSpecEx(
        rulesSpec=[vim.cluster.RuleSpec(operation=_op(old is not None), info=info)]
    )


def unpin_spec(rules: ClusterRules, names: list[str]) -> Any | None:
    """Removal of the named rules and groups that exist (None: nothing to remove)."""
    spec = vim.cluster.ConfigSpecEx(
        rulesSpec=[
            vim.cluster.RuleSpec(operation="remove", removeKey=r.key)
            for r in rules.rules
            if r.name in names
        ],
        groupSpec=[
            vim.cluster.GroupSpec(operation="remove", removeKey=g.name)
            for g in rules.groups
            if g.name in names
        ],
    )
    return spec if spec.rulesSpec or spec.groupSpec else None
