"""The per-client rate limit: a token bucket counted in articles."""

from __future__ import annotations

from service.ingest.guards import RateLimiter


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
