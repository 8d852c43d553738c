"""A TCP relay that adds a fixed delay to every client->server chunk (one per SOAP request).

TLS passes through untouched (same certificate, same thumbprint), so the client sees the lab
as if it were a remote vCenter whose every call costs DELAY ms more. Runs as its own process so
its work does not compete with the measured client for the GIL.
Run: python tests/bench/latency_proxy.py UPSTREAM_HOST:PORT DELAY_MS  (prints the port)
"""

from __future__ import annotations

import socket
import sys
import threading
import time


def pipe(src: socket.socket, dst: socket.socket, delay_s: float) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if delay_s:
                time.sleep(delay_s)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(upstream: tuple[str, int], delay_s: float) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(upstream)
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pipe, args=(client, server, delay_s), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client, 0.0), daemon=True).start()


if __name__ == "__main__":
    host, port = sys.argv[1].rsplit(":", 1)
    serve((host, int(port)), float(sys.argv[2]) / 1000)
