"""What protects ingest: idempotent retries, a bound on the backlog, a per-client rate limit."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.dedup.repository import lock_key


class IdempotencyConflict(ValueError):
    """The same Idempotency-Key was sent with a different body."""


def request_hash(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


def lock_idempotency_key(session: Session, key: str) -> None:
    """Two concurrent retries with one key serialise here; the second sees the first's rows."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("idempotency", key)})


def find_idempotent_result(session: Session, key: str, body_hash: bytes) -> list[int] | None:
    row = session.execute(
        text("SELECT request_hash, article_ids FROM idempotency_keys WHERE key = :key"),
        {"key": key},
    ).first()
    if row is None:
        return None
    if bytes(row[0]) != body_hash:
        raise IdempotencyConflict("Idempotency-Key was already used with a different body")
    return [int(i) for i in row[1]]


def remember_idempotent_result(
    session: Session, key: str, body_hash: bytes, article_ids: list[int]
) -> None:
    session.execute(
        text(
            "INSERT INTO idempotency_keys (key, request_hash, article_ids) "
            "VALUES (:key, :hash, :ids)"
        ),
        {"key": key, "hash": body_hash, "ids": article_ids},
    )


def article_statuses(session: Session, article_ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        text("SELECT id, status FROM articles WHERE id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": article_ids},
    ).all()
    return {int(r[0]): str(r[1]) for r in rows}


_backlog_seen: tuple[int, float] | None = None
_backlog_lock = threading.Lock()


def backlog_size(
    session: Session, *, max_age_s: float, clock: Callable[[], float] = time.monotonic
) -> int:
    """Articles accepted but not final (served by the partial index on pending articles),
    counted at most once per `max_age_s` in this process."""
    global _backlog_seen
    now = clock()
    with _backlog_lock:
        if _backlog_seen is not None and now - _backlog_seen[1] < max_age_s:
            return _backlog_seen[0]
    count = int(
        session.execute(
            text("SELECT count(*) FROM articles WHERE status IN ('queued', 'processing')")
        ).scalar_one()
    )
    with _backlog_lock:
        _backlog_seen = (count, now)
    return count


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client, in the API process: `rate` requests per second on average,
    bursts up to `burst`. Per process, so with N API processes a client gets N times the rate;
    good enough to stop one client from flooding, which is its job."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
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
