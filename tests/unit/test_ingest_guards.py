"""The per-client rate limit: a token bucket counted in articles."""

from __future__ import annotations

import pytest

from service.ingest import guards
from service.ingest.guards import RateLimiter, backlog_size


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_burst_then_asks_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=20, clock=clock)
    assert limiter.acquire("a", cost=20) == 0
    wait = limiter.acquire("a", cost=5)
    assert wait == 0.5


def test_rate_limiter_refills_over_time_and_keeps_clients_apart() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=20, clock=clock)
    limiter.acquire("a", cost=20)
    assert limiter.acquire("b", cost=20) == 0
    clock.now = 1.0
    assert limiter.acquire("a", cost=10) == 0


def test_rate_limiter_with_zero_rate_is_off() -> None:
    assert RateLimiter(rate=0, burst=0).acquire("a", cost=10**6) == 0


class CountingSession:
    """Stands in for a SQLAlchemy session: answers the backlog count and counts the queries."""

    def __init__(self, answer: int) -> None:
        self.answer = answer
        self.queries = 0

    def execute(self, *args: object, **kwargs: object) -> CountingSession:
        self.queries += 1
        return self

    def scalar_one(self) -> int:
        return self.answer


def test_backlog_is_counted_at_most_once_per_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "_backlog_seen", None)
    clock = FakeClock()
    session = CountingSession(answer=7)
    first = backlog_size(session, max_age_s=1.0, clock=clock)  # type: ignore[arg-type]
    session.answer = 9
    cached = backlog_size(session, max_age_s=1.0, clock=clock)  # type: ignore[arg-type]
    clock.now = 1.5
    fresh = backlog_size(session, max_age_s=1.0, clock=clock)  # type: ignore[arg-type]
    assert (first, cached, fresh, session.queries) == (7, 7, 9, 2)
