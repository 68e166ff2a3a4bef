"""Sources polled end to end: a real API, Celery workers (beat included), PostgreSQL and Redis,
and a news site on 127.0.0.1. Each kind of document becomes articles that are fetched and
processed; conditional GET, body hashes and Retry-After steer the next polls; broken and hostile
documents end as clear errors on the source."""

from __future__ import annotations

import zlib
from datetime import datetime

from tests.integration.helpers import ServiceClient
from tests.integration.sites import (
    BASE_DATE,
    Doc,
    Site,
    add_source,
    article_page,
    atom,
    gzipped,
    http_date,
    items,
    poll_again,
    rss,
    sitemap,
    sitemap_index,
    source,
    source_articles,
    wait_for_polls,
)

RSS = "application/rss+xml"
XML = "application/xml"


def serve_articles(site: Site, entries: list[object], *, seed: int = 0) -> None:
    for n, entry in enumerate(entries):
        site.routes[entry.path] = Doc(article_page(seed + n))  # type: ignore[attr-defined]


def test_an_rss_feed_s_items_become_processed_articles_with_the_feed_s_facts(
    service: ServiceClient,
) -> None:
    with Site() as site:
        entries = items(3)
        serve_articles(site, entries)
        site.routes["/feed.xml"] = Doc(rss(site, entries), RSS)
        created = add_source(service, site.url("/feed.xml"))
        polled = wait_for_polls(service, created["id"], 1)
        found = source_articles(service, created["id"])

    assert polled["status"] == "ok", polled
    assert polled["document_kind"] == "rss" and polled["title"] == "Local Desk"
    assert [f["outcome"] for f in polled["fetches"]] == ["new_items"]
    assert polled["fetches"][0]["new_items"] == 3
    assert [a["status"] for a in found] == ["done"] * 3, found
    by_url = {a["url"]: a for a in found}
    newest = by_url[site.url(entries[0].path)]
    assert newest["title"] == entries[0].title
    assert newest["feed_guid"] == entries[0].guid
    assert datetime.fromisoformat(newest["published_at"]) == entries[0].published
    assert newest["source_id"] == created["id"]
