"""HTTP servers on 127.0.0.1 for tests: the only network the tests use."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

ServerT = TypeVar("ServerT", bound=ThreadingHTTPServer)


@contextmanager
def serving(server: ServerT) -> Iterator[ServerT]:
    """Serve from a thread until the block ends; then stop and close the socket."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def local_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A threading server on a free loopback port."""
    return ThreadingHTTPServer(("127.0.0.1", 0), handler)


def send_fixed(
    handler: BaseHTTPRequestHandler,
    status: int,
    content_type: str | None,
    body: bytes,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer with a fixed status, type, body and extra headers."""
    handler.send_response(status)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
