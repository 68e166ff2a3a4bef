"""What protects ingest, in the API process: a per-client rate limit and a bounded count of the
backlog. Plain objects with an injectable clock; the SQL they need is passed in."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.repositories import articles

Clock = Callable[[], float]


def request_hash(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


class BacklogCounter:
    """Articles accepted but not final, counted at most once per `max_age_s` in this process:
    counting grows with the backlog, and the bound it serves is soft."""

    def __init__(
        self,
        max_age_s: float,
        *,
        count: Callable[[Session], int] = articles.count_pending,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_age_s = max_age_s
        self._count = count
        self._clock = clock
        self._seen: tuple[int, float] | None = None
        self._lock = threading.Lock()

    def count(self, session: Session) -> int:
        now = self._clock()
        with self._lock:
            if self._seen is not None and now - self._seen[1] < self.max_age_s:
                return self._seen[0]
        value = self._count(session)
        with self._lock:
            self._seen = (value, now)
        return value


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client, in the API process: `rate` requests per second on average,
    bursts up to `burst`. Per process, so with N API processes a client gets N times the rate;
    good enough to stop one client from flooding, which is its job."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, client: str, cost: float = 1.0) -> float:
        """0 if allowed, else the seconds to wait before retrying."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                bucket = self._buckets[client] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate
