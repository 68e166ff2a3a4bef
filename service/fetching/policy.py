"""Settings and errors of the safe HTTP client.

The policy is a plain value: the application builds it from its settings object and passes it in,
so this package never reads the environment.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FetchPolicy:
    """What one fetch may do and how long it may take."""

    # Lifts only the loopback restriction (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 and names that
    # resolve there), so that tests and a local stack can serve pages from 127.0.0.1. Private,
    # link-local and metadata addresses stay refused.
    allow_loopback: bool = False
    # A healthy server accepts a TCP (and TLS) connection in well under a second; 5 s leaves room
    # for a slow path across the world without tying a worker up on a black hole.
    connect_timeout_s: float = 5.0
    # Longest silence tolerated between two reads; news CMSs can take a few seconds to render.
    read_timeout_s: float = 10.0
    # Wall-clock bound on the whole fetch, redirects included, so a server that trickles bytes
    # cannot hold a worker; well under the worker time limits the task layer sets.
    total_timeout_s: float = 30.0
    # Cap on the DECODED body. Article pages are 50 KB–1 MB (the extraction benchmark's largest
    # is about 1.5 MB); 5 MiB leaves room while bounding memory per fetch.
    max_bytes: int = 5 * 1024 * 1024
    # Browsers allow 20; 5 covers http->https, www and a tracking hop with room to spare.
    max_redirects: int = 5
    user_agent: str = "newsdedup/0.1"


class FetchError(Exception):
    """A fetch did not produce a page; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class URLRefused(FetchError):
    """The URL, or an address it resolves to, is one we must not contact (SSRF guard)."""


class FetchFailed(FetchError):
    """The target was allowed but the fetch failed: network, timeout, status, type or size."""


class HTTPStatusFailed(FetchFailed):
    """The server answered, with a status that is neither a success nor a redirect to follow.

    Callers that must tell the statuses apart read ``status``: robots.txt treats a 4xx as "no
    rules" and a 5xx as "no access" (RFC 9309), and a poller honours ``retry_after``, the raw
    Retry-After header (seconds or an HTTP date), when it backs off.
    """

    def __init__(self, status: int, *, retry_after: str | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after
