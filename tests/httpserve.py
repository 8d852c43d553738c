"""A local HTTP(S) server whose answer a test sets (status, body), for the appliance HTTP
health probe; HTTPS with a throwaway self-signed certificate made by the openssl CLI."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any


class Answer:
    status = 200
    body = b"status: ok\n"
    paths: list[str]

    def __init__(self) -> None:
        self.paths = []


def _handler(answer: Answer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer.paths.append(self.path)
            self.send_response(answer.status)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def self_signed(dir: Path) -> tuple[Path, Path] | None:
    """(cert, key) for CN=127.0.0.1, or None without the openssl CLI."""
    if shutil.which("openssl") is None:
        return None
    cert, key = dir / "cert.pem", dir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class Server:
    """`with Server(tls=(cert, key)) as srv:` — srv.port, srv.answer."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.answer = Answer()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.answer))
        if tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]

    def __enter__(self) -> Server:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
