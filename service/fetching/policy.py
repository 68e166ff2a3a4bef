"""Settings and errors of the safe HTTP client.

The policy is a plain value built from the settings object and passed in, so this package never
reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.settings import Settings


@dataclass(frozen=True)
class FetchPolicy:
    """What one fetch may do and how long it may take. The numbers and their reasons live in
    Settings (fetch_*); this is the plain value the fetching code is given."""

    allow_loopback: bool
    connect_timeout_s: float
    read_timeout_s: float
    total_timeout_s: float
    max_bytes: int
    max_redirects: int
    user_agent: str

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            allow_loopback=settings.fetch_allow_loopback,
            connect_timeout_s=settings.fetch_connect_timeout_s,
            read_timeout_s=settings.fetch_read_timeout_s,
            total_timeout_s=settings.fetch_total_timeout_s,
            max_bytes=settings.fetch_max_bytes,
            max_redirects=settings.fetch_max_redirects,
            user_agent=settings.fetch_user_agent,
        )


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
