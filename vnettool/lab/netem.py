"""Client of the lab's network emulation (`/vnettool/netem` on the simulator).

The lab answers esxcli pings with per-host and per-pair round-trip time, jitter, loss and path
MTU; this sets them at runtime so tests and demos can make a host slow, lossy or unable to pass
jumbo frames. The control endpoint shares the simulator's self-signed certificate, which is
pinned to the thumbprint recorded in the lab profile.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from vnettool.lab.control import request
from vnettool.lab.runner import Lab


def set_netem(
    host: str,
    *,
    peer: str | None = None,
    uplink: str | None = None,
    rtt_ms: float | None = None,
    jitter_ms: float | None = None,
    loss_pct: float | None = None,
    mtu: int | None = None,
    lab: Lab | None = None,
) -> dict[str, Any]:
    """Change a host's (or a host pair's) emulated link, or congest one of its uplinks (the
    lab's queueing model: docs/latency.md); unset values are kept."""
    body: dict[str, Any] = {"host": host}
    if peer:
        body["peer"] = peer
    if uplink:
        body["uplink"] = uplink
    for k, v in (
        ("rtt_ms", rtt_ms),
        ("jitter_ms", jitter_ms),
        ("loss_pct", loss_pct),
        ("mtu", mtu),
    ):
        if v is not None:
            body[k] = v
    return dict(request(lab or Lab(), "POST", "netem", body))


def set_time_scale(scale: float, lab: Lab | None = None) -> dict[str, Any]:
    """1 = pings take as long as on ESXi; 0 = answer at once (fast tests)."""
    return dict(request(lab or Lab(), "POST", "netem", {"time_scale": scale}))


def reset_netem(
    host: str | None = None,
    peer: str | None = None,
    lab: Lab | None = None,
    uplink: str | None = None,
) -> dict[str, Any]:
    q = {k: v for k, v in (("host", host), ("peer", peer), ("uplink", uplink)) if v}
    path = "netem" + (f"?{urlencode(q)}" if q else "")
    return dict(request(lab or Lab(), "DELETE", path))


def get_netem(lab: Lab | None = None) -> dict[str, Any]:
    return dict(request(lab or Lab(), "GET", "netem"))
