"""robots.txt with RFC 9309 semantics, parsed by protego, cached per origin for all workers.

What a robots.txt fetch means (RFC 9309 §2.3.1):
- **2xx**: the body is parsed, whatever its Content-Type (an HTML page parses to no rules, as it
  would for any crawler); only its first 500 KiB, the minimum the RFC asks parsers to read.
- **4xx** ("unavailable"): no rules, everything allowed. Except **429**: "too many requests" is
  the server asking us to slow down, so it is read as unreachable, as Google reads it.
- **5xx, a network error, a timeout, a refused redirect, too many redirects** ("unreachable"):
  everything disallowed for now, and asked again after the shorter error TTL. An error page
  is never parsed: parsed, it would read as "allow all".
Redirects are followed by the safe client, up to its limit (5, as the RFC asks).

Matching: rules are matched against our product token (``product_token``: "newsdedup" from
"newsdedup/0.1 (+https://…)"), case-insensitively, as RFC 9309 §2.2.1 says; never against the
whole User-Agent, whose contact URL could match another crawler's group by accident.
Crawl-delay is not in RFC 9309 but is widely set; it is returned for the politeness gate to
widen its interval with (capped there).

Caching (RFC 9309 §2.4: at most 24 hours): per origin (scheme, host, port: robots.txt governs
exactly one), the fetched status and body are stored, not the parsed rules, so a cache entry
is plain data any worker can read. A failed fetch is kept for a shorter time. On a miss one
worker claims the fetch (a Redis ``SET NX`` with a lease) and the others get ``RobotsPending``
and re-queue themselves, so all workers share one robots.txt fetch per origin per day.

Stage 2 notes: the robots.txt fetch itself should pass the per-host politeness gate like any
other request to the host; rules are parsed on every ``robots_rules_for`` call (protego takes
well under a millisecond on a typical file), memoise per process by body hash if profiles
show it.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import redis
from protego import Protego

from service.fetching.body import ROBOTS_TXT
from service.fetching.policy import FetchError, FetchPolicy, HTTPStatusFailed, URLRefused
from service.fetching.safe_client import Resolver, fetch_page

# RFC 9309 §2.5: parsers must read at least 500 KiB; Google reads exactly that much.
MAX_PARSED_BYTES = 500 * 1024
# How soon a worker that found another one fetching robots.txt asks again: such a fetch takes
# well under a second when the host is healthy, and re-queueing a task is cheap.
PENDING_RETRY_S = 5.0
_PRODUCT_TOKEN = re.compile(r"^[A-Za-z_-]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RobotsOutcome(enum.StrEnum):
    RULES = "rules"  # 2xx: the body's rules apply
    ALLOW_ALL = "allow all"  # 4xx: unavailable, no rules
    DISALLOW_ALL = "disallow all"  # 5xx, 429 or network error: unreachable, for now


@dataclass(frozen=True)
class RobotsFile:
    """What one robots.txt fetch found: the unit that is cached."""

    outcome: RobotsOutcome
    status: int | None = None  # HTTP status; None when no response came
    body: str = ""  # only for RULES: the first MAX_PARSED_BYTES, decoded as UTF-8
    error: str | None = None  # why, for ALLOW_ALL and DISALLOW_ALL

    def to_json(self) -> str:
        return json.dumps(
            {
                "outcome": self.outcome.value,
                "status": self.status,
                "body": self.body,
                "error": self.error,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> RobotsFile:
        data = json.loads(text)
        return cls(RobotsOutcome(data["outcome"]), data["status"], data["body"], data["error"])


class RobotsRules:
    """The rules of one origin for one product token."""

    def __init__(self, robots_file: RobotsFile, *, product_token: str) -> None:
        self.file = robots_file
        self.product_token = product_token
        self._parsed = (
            Protego.parse(robots_file.body) if robots_file.outcome is RobotsOutcome.RULES else None
        )

    def allows(self, url: str) -> bool:
        if self.file.outcome is RobotsOutcome.ALLOW_ALL:
            return True
        if self._parsed is None:  # DISALLOW_ALL
            return False
        if urlsplit(url).path == "/robots.txt":
            return True  # RFC 9309 §2.2.2: robots.txt itself is always allowed
        return bool(self._parsed.can_fetch(url, self.product_token))

    @property
    def crawl_delay_s(self) -> float | None:
        if self._parsed is None:
            return None
        delay = self._parsed.crawl_delay(self.product_token)
        return float(delay) if delay is not None else None

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched, in a few words, or None if it may."""
        if self.allows(url):
            return None
        if self.file.outcome is RobotsOutcome.DISALLOW_ALL:
            return f"robots.txt unreachable ({self.file.error}): no fetches for now"
        return f"disallowed by robots.txt for {self.product_token}"


@dataclass(frozen=True)
class RobotsPending:
    """Another worker is fetching this origin's robots.txt: try again in ``retry_in_s``."""

    retry_in_s: float = PENDING_RETRY_S


@dataclass(frozen=True)
class RobotsCacheTimes:
    """How long cache entries live; built from settings (see there for why)."""

    ttl_s: int = 24 * 3600
    error_ttl_s: int = 15 * 60
    fetch_claim_s: int = 60

    def ttl_for(self, robots_file: RobotsFile) -> int:
        failed = robots_file.outcome is RobotsOutcome.DISALLOW_ALL
        return self.error_ttl_s if failed else self.ttl_s


class RobotsCache(Protocol):
    """Where fetched robots.txt files are shared between workers."""

    def get(self, key: str) -> RobotsFile | None: ...

    def put(self, key: str, robots_file: RobotsFile, *, ttl_s: int) -> None: ...

    def claim_fetch(self, key: str, *, lease_s: int) -> bool:
        """True for exactly one caller until the lease ends or ``put`` is called."""
        ...


class RedisRobotsCache:
    """RobotsCache in Redis: one key per origin, its value JSON, its TTL the cache lifetime."""

    PREFIX = "newsdedup:robots:"

    def __init__(self, client: redis.Redis[Any]) -> None:
        self._redis = client

    def get(self, key: str) -> RobotsFile | None:
        value = self._redis.get(self.PREFIX + key)
        if value is None:
            return None
        try:
            return RobotsFile.from_json(value)
        except (ValueError, KeyError, TypeError):
            return None  # written by another version: fetch again

    def put(self, key: str, robots_file: RobotsFile, *, ttl_s: int) -> None:
        pipeline = self._redis.pipeline()
        pipeline.set(self.PREFIX + key, robots_file.to_json(), ex=ttl_s)
        pipeline.delete(self.PREFIX + key + ":fetching")
        pipeline.execute()

    def claim_fetch(self, key: str, *, lease_s: int) -> bool:
        return bool(self._redis.set(self.PREFIX + key + ":fetching", "1", nx=True, ex=lease_s))

    def seconds_left(self, key: str) -> float | None:
        """How long the cached entry for ``key`` still lives; None if there is none."""
        left_ms = int(self._redis.pttl(self.PREFIX + key))
        return left_ms / 1000 if left_ms > 0 else None


def product_token(user_agent: str) -> str:
    """The token robots.txt groups are matched against: "newsdedup" of "newsdedup/0.1 (+…)"."""
    match = _PRODUCT_TOKEN.match(user_agent.strip())
    if match is None:
        raise ValueError(f"User-Agent does not start with a product token: {user_agent!r}")
    return match.group().lower()


def robots_url(url: str) -> str:
    """The robots.txt URL that governs ``url``: same scheme, host and port."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "/robots.txt", "", ""))


def robots_cache_key(url: str) -> str:
    """scheme://host:port, the default port spelt out, so both spellings share one entry."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def robots_file_from_body(status: int, body: bytes) -> RobotsFile:
    """A 2xx response's robots.txt: the first MAX_PARSED_BYTES, cut at a line end."""
    if len(body) > MAX_PARSED_BYTES:
        cut = body.rfind(b"\n", 0, MAX_PARSED_BYTES)
        body = body[: cut if cut > 0 else MAX_PARSED_BYTES]
    return RobotsFile(RobotsOutcome.RULES, status, body.decode("utf-8", errors="replace"))


def robots_file_from_error(error: FetchError) -> RobotsFile:
    """A failed fetch, read by RFC 9309: 4xx allows all, anything else disallows all."""
    if isinstance(error, HTTPStatusFailed):
        if 400 <= error.status < 500 and error.status != 429:
            return RobotsFile(RobotsOutcome.ALLOW_ALL, error.status, error=error.reason)
        return RobotsFile(RobotsOutcome.DISALLOW_ALL, error.status, error=error.reason)
    return RobotsFile(RobotsOutcome.DISALLOW_ALL, None, error=error.reason)


def fetch_robots_file(
    url: str, *, policy: FetchPolicy, resolver: Resolver | None = None
) -> RobotsFile:
    """Fetch the robots.txt governing ``url`` through the safe client. A failed fetch is an
    outcome, not an error; a refused target (the SSRF guard: a private address, say) raises
    URLRefused, because no page on that origin may ever be fetched and retrying cannot help."""
    try:
        page = fetch_page(
            robots_url(url), policy=policy, resolver=resolver, content_types=ROBOTS_TXT
        )
    except URLRefused:
        raise
    except FetchError as error:
        return robots_file_from_error(error)
    return robots_file_from_body(page.status, page.body)


def robots_rules_for(
    url: str,
    *,
    cache: RobotsCache,
    fetch: Callable[[str], RobotsFile],
    product_token: str,
    times: RobotsCacheTimes | None = None,
) -> RobotsRules | RobotsPending:
    """The rules for ``url``'s origin: from the cache, else fetched once for all workers.

    ``fetch`` takes the URL and returns its origin's RobotsFile (``fetch_robots_file`` with the
    application's policy). RobotsPending means another worker is fetching it right now.
    """
    times = times or RobotsCacheTimes()
    key = robots_cache_key(url)
    cached = cache.get(key)
    if cached is None:
        if not cache.claim_fetch(key, lease_s=times.fetch_claim_s):
            return RobotsPending()
        cached = fetch(url)
        cache.put(key, cached, ttl_s=times.ttl_for(cached))
    return RobotsRules(cached, product_token=product_token)
