"""Raw SOAP on the session's own pooled connections: the request serialized by pyVmomi, the
response body streamed (and inflated) to the parser, faults decoded by pyVmomi."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from http.client import HTTPException
from typing import Any

from pyVmomi import SoapAdapter

# -- transport --------------------------------------------------------------------------------
CHUNK = 1 << 20


class Transport:
    """Sends pyVmomi-serialized requests on the stub's pooled connections, streams the body.

    The connections come from pyVmomi's pool, so TLS verification and thumbprint pinning are
    exactly the session's; the cookie is read at each call, so a re-login is picked up.
    Faults (HTTP 500) are decoded by pyVmomi and raised as its exceptions, so `Session.call`
    applies the same re-login and fault policy as on the pyVmomi path. gzip and deflate are
    accepted and inflated on the fly.
    """

    def __init__(self, stub: Any) -> None:
        self.stub = stub
        self.bytes_in = 0  # on the wire (compressed if the server compressed)
        self.bytes_xml = 0  # after decompression
        self.requests = 0
        self._lock = threading.Lock()

    def invoke(self, mo: Any, method: str, args: list[Any], sink: Callable[[bytes], None]) -> None:
        """Call `method` on `mo`; hand every chunk of the response body to `sink`."""
        stub = self.stub
        info = type(mo)._GetMethodInfo(method)
        req = stub.SerializeRequest(mo, info, args)
        headers = {
            "Cookie": stub.cookie,
            "SOAPAction": stub.versionId,
            "Content-Type": "text/xml; charset=utf-8",
            "Accept-Encoding": "gzip, deflate",
        }
        conn = stub.GetConnection()
        try:
            conn.request("POST", stub.path, req, headers)
            resp = conn.getresponse()
            status = resp.status
            if status not in (200, 500):
                resp.read()
                raise HTTPException(f"{status} {resp.reason}")
            inflate = _inflater(resp.getheader("Content-Encoding"))
            if status == 500:
                raw = resp.read()
                self._count(len(raw), 0)
                body = inflate(raw) if inflate else raw
                stub.ReturnConnection(conn)
                conn = None
                raise _fault(stub, info, body, method)
            n_in = n_xml = 0
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                n_in += len(chunk)
                if inflate:
                    chunk = inflate(chunk)
                n_xml += len(chunk)
                sink(chunk)
            self._count(n_in, n_xml)
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        stub.ReturnConnection(conn)

    def fetch(self, mo: Any, method: str, args: list[Any]) -> bytes:
        """The whole response body (the floor of the benchmark: transfer, no parsing)."""
        parts: list[bytes] = []
        self.invoke(mo, method, args, parts.append)
        return b"".join(parts)

    def _count(self, n_in: int, n_xml: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_in += n_in
            self.bytes_xml += n_xml


def _inflater(encoding: str | None) -> Callable[[bytes], bytes] | None:
    enc = (encoding or "identity").lower()
    if enc == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress
    if enc == "deflate":
        return zlib.decompressobj().decompress
    return None


def _fault(stub: Any, info: Any, body: bytes, method: str) -> BaseException:
    fault = SoapAdapter.SoapResponseDeserializer(stub).Deserialize(body, info.result)
    if isinstance(fault, BaseException):
        return fault
    return HTTPException(f"500 {method}: server error without a fault")
