"""Client of the lab's network emulation (`/vnettool/netem` on the simulator).

The lab answers esxcli pings with per-host and per-pair round-trip time, jitter, loss and path
MTU; this sets them at runtime so tests and demos can make a host slow, lossy or unable to pass
jumbo frames. The control endpoint shares the simulator's self-signed certificate, which is
pinned to the thumbprint recorded in the lab profile.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
from typing import Any
from urllib.parse import urlencode, urlsplit

from vnettool.lab.runner import Lab, LabError


def _control(lab: Lab) -> tuple[str, str]:
    st = lab.state()
    if st is None:
        raise LabError("no lab running: start one with `vnettool lab start`")
    base = st.control or st.url.split("/sdk", 1)[0] + "/vnettool/"
    profile = lab.profile() or {}
    return base, str(profile.get("thumbprint") or "")


def _request(lab: Lab, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    base, thumb = _control(lab)
    u = urlsplit(base)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed lab certificate: pinned below instead
    conn = http.client.HTTPSConnection(u.hostname or "127.0.0.1", u.port, context=ctx, timeout=30)
    try:
        conn.connect()
        if thumb:
            der = conn.sock.getpeercert(binary_form=True) if conn.sock else None  # type: ignore[union-attr]
            got = hashlib.sha256(der or b"").hexdigest()
            if got != thumb.replace(":", "").lower():
                raise LabError("the lab's certificate does not match its profile; restart the lab")
        data = json.dumps(body).encode() if body is not None else None
        conn.request(
            method, u.path.rstrip("/") + "/" + path, data, {"Content-Type": "application/json"}
        )
        resp = conn.getresponse()
        text = resp.read().decode()
    except OSError as exc:
        raise LabError(f"lab control endpoint unreachable: {exc}") from exc
    finally:
        conn.close()
    if resp.status != 200:
        try:
            msg = json.loads(text).get("error", text)
        except ValueError:
            msg = text.strip()
        raise LabError(f"lab refused the netem setting: {msg}")
    return json.loads(text)


def set_netem(
    host: str,
    *,
    peer: str | None = None,
    rtt_ms: float | None = None,
    jitter_ms: float | None = None,
    loss_pct: float | None = None,
    mtu: int | None = None,
    lab: Lab | None = None,
) -> dict[str, Any]:
    """Change a host's (or a host pair's) emulated link; unset values are kept."""
    body: dict[str, Any] = {"host": host}
    if peer:
        body["peer"] = peer
    for k, v in (
        ("rtt_ms", rtt_ms),
        ("jitter_ms", jitter_ms),
        ("loss_pct", loss_pct),
        ("mtu", mtu),
    ):
        if v is not None:
            body[k] = v
    return dict(_request(lab or Lab(), "POST", "netem", body))


def set_time_scale(scale: float, lab: Lab | None = None) -> dict[str, Any]:
    """1 = pings take as long as on ESXi; 0 = answer at once (fast tests)."""
    return dict(_request(lab or Lab(), "POST", "netem", {"time_scale": scale}))


def reset_netem(
    host: str | None = None, peer: str | None = None, lab: Lab | None = None
) -> dict[str, Any]:
    q = {k: v for k, v in (("host", host), ("peer", peer)) if v}
    path = "netem" + (f"?{urlencode(q)}" if q else "")
    return dict(_request(lab or Lab(), "DELETE", path))


def get_netem(lab: Lab | None = None) -> dict[str, Any]:
    return dict(_request(lab or Lab(), "GET", "netem"))
