"""Every request the service makes to a site: robots.txt first, then the per-host gate, then the
SSRF-safe client. Feeds, sitemaps, articles and robots.txt itself all come through here.

The order, for one URL:
1. **robots.txt** of its origin, from the shared cache (``robots``). On a miss this worker
   fetches it, through the gate like any other request to the host (one shared fetch per
   origin: another worker already fetching it answers "not now").
2. The rules decide. Disallowed for our product token is final (``RobotsDisallowed``).
   robots.txt unreachable (5xx, 429, network error) means no fetches for now, until the cached
   error runs out (``RobotsUnreachable``: RFC 9309 §2.3.1.4).
3. **The gate**: the host's minimum interval, widened by its Crawl-delay, and its cap on
   requests in flight. A slot is held for the fetch and given back after it, whatever happens.
4. The fetch itself (``fetch_page``).

Nothing here sleeps. "Not now" comes back as ``NotNow(seconds)`` and the caller re-queues its
work with that countdown (a Celery task in production), so a worker is never held waiting for
a host. Only the first URL is checked: redirect hops are checked by the safe client for SSRF,
not against their own origin's robots.txt (news redirects stay on the site or go to its CDN).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis

from service.fetching.body import PAGES, ContentTypes
from service.fetching.policy import FetchPolicy
from service.fetching.politeness import PolitenessGate, PolitenessRules, Wait, gate_host
from service.fetching.robots import (
    RedisRobotsCache,
    RobotsCacheTimes,
    RobotsFile,
    RobotsOutcome,
    RobotsPending,
    RobotsRules,
    fetch_robots_file,
    robots_cache_key,
    robots_rules_for,
)
from service.fetching.safe_client import FetchedPage, Resolver, Validators, fetch_page
from service.settings import Settings

# A deferred request comes back after its wait plus up to half of it again, at random: the
# requests a gate turned away together would otherwise all return at the same instant, and all
# but one be turned away again.
JITTER_SHARE = 0.5


@dataclass(frozen=True)
class NotNow:
    """Ask again in ``seconds`` (already capped below the broker's visibility timeout)."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class RobotsDisallowed:
    """robots.txt forbids this URL to us: final."""

    reason: str


@dataclass(frozen=True)
class RobotsUnreachable:
    """robots.txt could not be read, so nothing on its origin may be fetched until the cached
    error runs out, in ``retry_in_s``."""

    reason: str
    retry_in_s: float


Refusal = NotNow | RobotsDisallowed | RobotsUnreachable


class PoliteClient:
    """The safe client behind robots.txt and the per-host gate, shared by all workers through
    Redis. One per worker process."""

    def __init__(
        self,
        *,
        gate: PolitenessGate,
        robots_cache: RedisRobotsCache,
        policy: FetchPolicy,
        product_token: str,
        robots_times: RobotsCacheTimes | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.gate = gate
        self.robots_cache = robots_cache
        self.policy = policy
        self.product_token = product_token
        self.robots_times = robots_times or RobotsCacheTimes()
        self._resolver = resolver

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis[Any]) -> PoliteClient:
        rules = PolitenessRules(
            min_interval_s=settings.politeness_min_interval_s,
            max_crawl_delay_s=settings.politeness_max_crawl_delay_s,
            max_in_flight=settings.politeness_max_in_flight,
            slot_lease_s=settings.politeness_slot_lease_s,
            max_countdown_s=settings.politeness_max_countdown_s,
        )
        return cls(
            gate=PolitenessGate(client, rules=rules),
            robots_cache=RedisRobotsCache(client),
            policy=FetchPolicy.from_settings(settings),
            product_token=settings.robots_product_token,
            robots_times=RobotsCacheTimes(
                ttl_s=settings.robots_cache_ttl_s,
                error_ttl_s=settings.robots_error_ttl_s,
                fetch_claim_s=settings.robots_fetch_claim_s,
            ),
        )

    def fetch(
        self,
        url: str,
        *,
        content_types: ContentTypes = PAGES,
        validators: Validators | None = None,
        policy: FetchPolicy | None = None,
    ) -> FetchedPage | Refusal:
        """The page, or why not (now or ever); raises FetchError as ``fetch_page`` does."""
        rules = self.rules_for(url)
        if not isinstance(rules, RobotsRules):
            return rules
        refusal = rules.refusal(url)
        if refusal is not None:
            if rules.file.outcome is RobotsOutcome.DISALLOW_ALL:
                key = robots_cache_key(url)
                left = self.robots_cache.seconds_left(key) or self.robots_times.error_ttl_s
                return RobotsUnreachable(refusal, self._capped(left))
            return RobotsDisallowed(f"{_path(url)} is disallowed for {self.product_token}")
        host = gate_host(url)
        admitted = self.gate.try_acquire(host, crawl_delay_s=rules.crawl_delay_s)
        if isinstance(admitted, Wait):
            return self._not_now(admitted, f"politeness gate for {host}")
        try:
            return fetch_page(
                url,
                policy=policy or self.policy,
                resolver=self._resolver,
                content_types=content_types,
                validators=validators,
            )
        finally:
            self.gate.release(admitted)

    def rules_for(self, url: str) -> RobotsRules | NotNow:
        """The robots.txt rules for ``url``'s origin, fetched through the gate on a miss."""
        cached = self.robots_cache.get(robots_cache_key(url))
        if cached is not None:
            return RobotsRules(cached, product_token=self.product_token)
        host = gate_host(url)
        # Crawl-delay is unknown until robots.txt is read: its own fetch keeps the minimum.
        admitted = self.gate.try_acquire(host)
        if isinstance(admitted, Wait):
            return self._not_now(admitted, f"politeness gate for {host} (robots.txt)")
        try:
            rules = robots_rules_for(
                url,
                cache=self.robots_cache,
                fetch=self._fetch_robots,
                product_token=self.product_token,
                times=self.robots_times,
            )
        finally:
            self.gate.release(admitted)
        if isinstance(rules, RobotsPending):
            return NotNow(rules.retry_in_s, "robots.txt being fetched by another worker")
        return rules

    def _fetch_robots(self, url: str) -> RobotsFile:
        return fetch_robots_file(url, policy=self.policy, resolver=self._resolver)

    def _not_now(self, wait: Wait, reason: str) -> NotNow:
        spread = random.uniform(0, wait.seconds * JITTER_SHARE)
        return NotNow(self._capped(wait.seconds + spread), reason)

    def _capped(self, seconds: float) -> float:
        return min(seconds, self.gate.rules.max_countdown_s)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
