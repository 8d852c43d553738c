"""Read a server's certificate fingerprint, so the lab profile can pin it."""

from __future__ import annotations

import hashlib
import socket
import ssl


def fetch_thumbprint(host_port: str, timeout: float = 10.0) -> str:
    """SHA-256 fingerprint of the server certificate, as colon-separated upper-case hex."""
    host, _, port = host_port.rpartition(":")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, int(port)), timeout=timeout) as sock,
        ctx.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return format_thumbprint(hashlib.sha256(der).hexdigest())


def format_thumbprint(hexdigest: str) -> str:
    h = hexdigest.replace(":", "").upper()
    return ":".join(h[i : i + 2] for i in range(0, len(h), 2))
