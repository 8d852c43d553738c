"""Client of the lab's physical side (`/vnettool/physical` on the simulator).

The ToR port each lab pNIC is cabled to (as its CDP/LLDP hint names it) has an MTU, allowed
VLANs and a port-channel flag; the lab's distributed switch health check judges the switch
against them (mocks/vcsim/healthcheck.go). Tests and demos change a port here and read what
vCenter's health check then reports.
"""

from __future__ import annotations

from typing import Any

from vnettool.lab.control import request
from vnettool.lab.runner import Lab


def set_port(
    switch: str,
    port: str,
    *,
    mtu: int | None = None,
    vlans: str | None = None,
    channel: bool | None = None,
    lab: Lab | None = None,
) -> list[dict[str, Any]]:
    """Change one ToR port (`vlans` like "0-199,201-4094"); returns the ports off default."""
    body: dict[str, Any] = {"switch": switch, "port": port}
    for k, v in (("mtu", mtu), ("vlans", vlans), ("channel", channel)):
        if v is not None:
            body[k] = v
    return list(request(lab or Lab(), "POST", "physical", body)["ports"])


def reset_ports(lab: Lab | None = None) -> list[dict[str, Any]]:
    return list(request(lab or Lab(), "DELETE", "physical")["ports"])


def changed_ports(lab: Lab | None = None) -> list[dict[str, Any]]:
    return list(request(lab or Lab(), "GET", "physical")["ports"])
