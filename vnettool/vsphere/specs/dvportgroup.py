"""DV port group specs (DVPortgroupConfigSpec): binding, ports, description, the network
resource pool, override permissions and the default port setting.

Pure: models in, partial vim specs out (all given properties on a create). No session.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

from vnettool.errors import ApiFault
from vnettool.models.inventory import DistributedPortGroup
from vnettool.vsphere.specs.dvport import changed, port_setting, unset

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
    if changed(before, after, "nioc_pool") or unset(before, after, "nioc_pool"):
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
    if changed(before, after, "num_ports"):
        spec.numPorts = after.num_ports
    if changed(before, after, "auto_expand"):
        spec.autoExpand = after.auto_expand
    if changed(before, after, "description") or unset(before, after, "description"):
        spec.description = after.description or ""
    setting = port_setting(before.setting if before else None, after.setting)
    if setting is not None:
        spec.defaultPortConfig = setting
    if after.override_allowed and (
        before is None or before.override_allowed != after.override_allowed
    ):
        spec.policy = _pg_policy(after.override_allowed)
    return spec
