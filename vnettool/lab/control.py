"""Client of the lab's control endpoints (`https://<lab>/vnettool/...` on the simulator).

They share the simulator's self-signed certificate, which is pinned to the thumbprint recorded
in the lab profile; errors become `LabError` with the lab's own message.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
from typing import Any
from urllib.parse import urlsplit

from vnettool.lab.runner import Lab, LabError


def control_base(lab: Lab) -> tuple[str, str]:
    st = lab.state()
    if st is None:
        raise LabError("no lab running: start one with `vnettool lab start`")
    base = st.control or st.url.split("/sdk", 1)[0] + "/vnettool/"
    profile = lab.profile() or {}
    return base, str(profile.get("thumbprint") or "")


def request(
    lab: Lab,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> Any:
    base, thumb = control_base(lab)
    u = urlsplit(base)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed lab certificate: pinned below instead
    host = u.hostname or "127.0.0.1"
    conn = http.client.HTTPSConnection(host, u.port, context=ctx, timeout=timeout)
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
        raise LabError(f"lab refused {path.split('?', maxsplit=1)[0]}: {msg}")
    return json.loads(text)
