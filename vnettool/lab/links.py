"""Client of the lab's physical link control (`/vnettool/links` on the simulator).

Takes a lab pNIC's link down or up, or every pNIC cabled to a neighbour switch (or one of its
ports), the way vCenter then shows it: no link speed on the pNIC, no CDP/LLDP neighbour. What-if
predictions are checked against a fresh inventory read after such a failure.
"""

from __future__ import annotations

from typing import Any

from vnettool.lab.control import request
from vnettool.lab.runner import Lab


def set_link(
    up: bool,
    *,
    host: str | None = None,
    pnic: str | None = None,
    switch: str | None = None,
    port: str | None = None,
    lab: Lab | None = None,
) -> list[dict[str, str]]:
    """Change one pNIC (host + pnic) or a neighbour switch's pNICs; returns the links down."""
    body: dict[str, Any] = {"up": up}
    for k, v in (("host", host), ("pnic", pnic), ("switch", switch), ("port", port)):
        if v:
            body[k] = v
    return list(request(lab or Lab(), "POST", "links", body)["down"])


def reset_links(lab: Lab | None = None) -> list[dict[str, str]]:
    return list(request(lab or Lab(), "DELETE", "links")["down"])


def down_links(lab: Lab | None = None) -> list[dict[str, str]]:
    return list(request(lab or Lab(), "GET", "links")["down"])
