"""robots.txt for every fetch, feeds and articles alike (RFC 9309, our product token): a
disallowed article ends failed with the reason, an unreachable robots.txt stops every fetch to
its origin for now and the source is tried again later, and Crawl-delay spaces the requests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import psycopg
import redis

from ops.stack import LocalStack
from service.fetching.robots import RedisRobotsCache, robots_cache_key
from service.redis_client import redis_client
from tests.integration.helpers import ServiceClient
from tests.integration.sites import (
    Doc,
    Site,
    add_source,
    article_page,
    items,
    poll_again,
    rss,
    source_articles,
    wait_for_polls,
)
from tests.waiting import poll_until

RSS = "application/rss+xml"
# Our group allows all but /private/; the group for everyone else disallows everything: the
# rules are matched against our product token, not the catch-all.
ROBOTS = b"User-agent: newsdedup\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n"


def robots(body: bytes, status: int = 200) -> Doc:
    return Doc(body, "text/plain", status=status)


def test_an_article_robots_txt_disallows_ends_failed_with_that_reason_and_is_never_fetched(
    service: ServiceClient,
) -> None:
    with Site() as site:
        allowed, forbidden = items(1, prefix="/news/")[0], items(1, prefix="/private/")[0]
        site.routes["/robots.txt"] = robots(ROBOTS)
        site.routes[allowed.path] = Doc(article_page(1))
        site.routes[forbidden.path] = Doc(article_page(2))
        site.routes["/feed.xml"] = Doc(rss(site, [allowed, forbidden]), RSS)
        site.routes["/private/feed.xml"] = Doc(rss(site, [allowed]), RSS)
        created = add_source(service, site.url("/feed.xml"))
        refused_feed = add_source(service, site.url("/private/feed.xml"))
        wait_for_polls(service, created["id"], 1)
        found = {a["url"]: a for a in source_articles(service, created["id"])}
        refused = wait_for_polls(service, refused_feed["id"], 1)
        paths = site.paths()

    assert found[site.url(allowed.path)]["status"] == "done"
    rejected = found[site.url(forbidden.path)]
    assert rejected["status"] == "failed"
    assert rejected["error"] == "refused by robots.txt: /private/0 is disallowed for newsdedup"
    assert forbidden.path not in paths and "/private/feed.xml" not in paths
    assert paths.count("/robots.txt") == 1  # one fetch, shared by every worker through Redis
    assert refused["status"] == "failing"
    assert refused["last_error"].startswith("refused by robots.txt: /private/feed.xml")


def test_an_unreachable_robots_txt_stops_all_fetches_for_now_and_the_source_is_tried_later(
    service: ServiceClient, stack: LocalStack
) -> None:
    with Site() as site:
        entries = items(1)
        site.routes[entries[0].path] = Doc(article_page(3))
        site.routes["/robots.txt"] = robots(b"down for maintenance", status=503)
        site.routes["/feed.xml"] = Doc(rss(site, entries), RSS)
        created = add_source(service, site.url("/feed.xml"))
        failed = wait_for_polls(service, created["id"], 1)
        article_id = service.post(url=site.url("/posted"))
        deferred_until = _wait_deferred(service, article_id)
        paths_while_down = site.paths()

        # The cached error runs out (at most robots_error_ttl_s, 15 min) and robots.txt is back.
        site.routes["/robots.txt"] = robots(b"User-agent: *\nAllow: /\n")
        cache = RedisRobotsCache(_redis(stack))
        assert cache.seconds_left(robots_cache_key(site.base_url)) is not None
        _redis(stack).delete(RedisRobotsCache.PREFIX + robots_cache_key(site.base_url))
        recovered = poll_again(service, created["id"])
        source_articles(service, created["id"])

    assert failed["status"] == "failing"
    assert failed["last_error"] == "robots.txt unreachable (HTTP 503): no fetches for now"
    wait = datetime.fromisoformat(failed["next_poll_at"]) - datetime.now(UTC)
    # Not the first failure's 5 min: tried again when the cached error runs out (15 min).
    assert 13 * 60 < wait.total_seconds() <= 15 * 60, wait
    assert paths_while_down == ["/robots.txt"]  # neither the feed nor the article
    assert service.article(article_id)["status"] == "queued"  # waiting, not failed
    assert 13 * 60 < (deferred_until - datetime.now(UTC)).total_seconds() <= 15 * 60
    assert recovered["status"] == "ok"
    assert recovered["fetches"][0]["outcome"] == "new_items"


def test_crawl_delay_spaces_every_request_to_the_host(service: ServiceClient) -> None:
    delay_s = 1.0
    with Site() as site:
        entries = items(3)
        for n, entry in enumerate(entries):
            site.routes[entry.path] = Doc(article_page(10 + n))
        site.routes["/robots.txt"] = robots(f"User-agent: *\nCrawl-delay: {delay_s}\n".encode())
        site.routes["/feed.xml"] = Doc(rss(site, entries), RSS)
        created = add_source(service, site.url("/feed.xml"))
        wait_for_polls(service, created["id"], 1)
        source_articles(service, created["id"])
        hits = list(site.hits)

    assert [h.path for h in hits][:2] == ["/robots.txt", "/feed.xml"]
    assert len(hits) == 5
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(hits)]
    # Recorded by the server as requests arrived; the delay is what is under test.
    assert min(gaps) >= 0.9 * delay_s, gaps


def _redis(stack: LocalStack) -> redis.Redis[bytes]:
    return redis_client(stack.redis_url)


def _wait_deferred(service: ServiceClient, article_id: int) -> datetime:
    """When the article's deferred fetch runs again, once the worker has deferred it."""
    with psycopg.connect(service.database_url.replace("+psycopg", ""), autocommit=True) as db:

        def deferred_until() -> datetime | None:
            row = db.execute(
                "SELECT fetch_not_before FROM articles WHERE id = %s", (article_id,)
            ).fetchone()
            return row[0] if row else None

        return poll_until(deferred_until, timeout_s=30, what=f"article {article_id} deferred")
