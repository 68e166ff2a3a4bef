"""The per-client rate limit: a token bucket counted in articles."""

from __future__ import annotations

from service.ingest.guards import BacklogCounter, RateLimiter


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


def test_backlog_is_counted_at_most_once_per_max_age() -> None:
    clock = FakeClock()
    answers = iter([7, 9])
    queries: list[object] = []

    def count(session: object) -> int:
        queries.append(session)
        return next(answers)

    counter = BacklogCounter(max_age_s=1.0, count=count, clock=clock)
    first = counter.count(None)  # type: ignore[arg-type]
    cached = counter.count(None)  # type: ignore[arg-type]
    clock.now = 1.5
    fresh = counter.count(None)  # type: ignore[arg-type]
    assert (first, cached, fresh, len(queries)) == (7, 7, 9, 2)
