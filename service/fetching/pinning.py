"""Connections that go only to checked addresses and end at the fetch's deadline.

Why an httpcore network backend: httpcore asks its backend for a TCP connection to (host, port)
only once the request is built. Answering with a socket to an address we resolved and checked
ourselves, and never resolving the name again, closes the DNS-rebinding window (a name that
answers with a public address for the check and 127.0.0.1 for the connection). Everything above
the socket stays standard: the request keeps its original URL and Host header, and httpcore
hands the URL's host name to ``start_tls``, so TLS sends SNI and verifies the certificate for
the name, not for the IP address.

The same wrapper caps every connect, read and write at the time left before the fetch's deadline,
so a server that trickles bytes, or stalls within its read timeout, cannot outlast the deadline.
"""

import ssl
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
from httpcore import SOCKET_OPTION


class Deadline:
    """A point in wall-clock time (monotonic) after which the fetch must give up."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def cap(self, timeout: float | None, on_expiry: type[Exception]) -> float:
        """The smaller of ``timeout`` and the time left; raise ``on_expiry`` if none is left."""
        remaining = self.remaining()
        if remaining <= 0:
            # A zero timeout would put the socket in non-blocking mode, not time it out.
            raise on_expiry(f"deadline of {self.seconds} s reached")
        return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        capped = self._deadline.cap(timeout, httpcore.ConnectTimeout)
        tls_stream = self._inner.start_tls(ssl_context, server_hostname, capped)
        return _DeadlineStream(tls_stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Opens connections for one host and port, to its already-checked addresses only."""

    def __init__(
        self, *, host: str, port: int, addresses: Sequence[str], deadline: Deadline
    ) -> None:
        if not addresses:
            raise ValueError("a pinned backend needs at least one address")
        self._host = host.lower()
        self._port = port
        self._addresses = tuple(addresses)
        self._deadline = deadline
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if (host.lower(), port) != (self._host, self._port):
            # Only a proxy or a bug would ask for another origin; never connect unchecked.
            raise httpcore.ConnectError(f"{host}:{port} is not the checked {self._host}")
        options = list(socket_options or ())
        # Try the checked addresses in resolver order, as getaddrinfo's callers usually do,
        # so one dead address of a multi-homed site does not fail the fetch.
        last_error: Exception | None = None
        for address in self._addresses:
            try:
                stream = self._sockets.connect_tcp(
                    address,
                    port,
                    timeout=self._deadline.cap(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        assert last_error is not None  # the loop ran at least once: addresses is not empty
        raise last_error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, self._deadline.remaining())))
