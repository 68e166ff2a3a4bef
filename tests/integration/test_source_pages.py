"""The sources pages, as a person uses them: Debian's Chromium (JavaScript off, as the pages must
work without it) adds a feed served on loopback through the page's form, polls it with the
"poll now" button, and reads the fetches and the articles. Over the real service, as
tests/integration/test_pages.py (whose browser and screenshots this reuses). docs/sources.png in
the README is a copy of its test-artifacts/pages/source.png."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.integration import sites
from tests.integration.helpers import ServiceClient
from tests.integration.sites import Item, Site
from tests.integration.test_metrics import grew, scrape, scrape_until, value
from tests.integration.test_pages import chromium, screenshot
from tests.integration.test_pages import (
    test_bad_input_gets_a_clear_page_with_its_status as check_error_page,
)

FIRST_ITEMS = 3
LATER_ITEMS = 2
# A poll and its articles take a second or two here; the deadline only bounds a failure.
DEADLINE_S = 60.0
# How long each look waits for its condition before the page is loaded again.
LOOK_MS = 1000


def reload_until(page: Page, condition: Callable[[], None], timeout_s: float = DEADLINE_S) -> None:
    """Load the page again until ``condition`` (Playwright expectations, each waiting up to
    LOOK_MS) holds: a poll runs in a worker, and the page shows it once it is written."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            condition()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        page.reload()


def serve_feed(site: Site, entries: list[Item], etag: str) -> None:
    """The feed of ``entries``, and each entry's page: a text of its own (seeded by its
    number), so that each starts a story."""
    for entry in entries:
        number = int(entry.path.rsplit("/", 1)[1])
        site.routes[entry.path] = sites.Doc(sites.article_page(4000 + number, title=entry.title))
    site.routes["/feed.xml"] = sites.Doc(sites.rss(site, entries), "application/rss+xml", etag=etag)


def test_a_reader_adds_a_feed_polls_it_now_and_reads_its_fetches_and_articles(
    service: ServiceClient, tmp_path: Path
) -> None:
    base_url = str(service.http.base_url).rstrip("/")
    every = sites.items(FIRST_ITEMS + LATER_ITEMS)  # newest first
    first, later = every[LATER_ITEMS:], every[:LATER_ITEMS]

    with Site() as site, chromium(tmp_path / "profile", javascript=False) as browser:
        serve_feed(site, first, etag='"1"')
        page = browser.new_page()
        page.goto(base_url + "/")
        page.get_by_role("link", name="Sources", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sources")
        expect(page.locator("p.empty")).to_contain_text("No sources yet")

        # Add the feed through the form; it answers with the source's page.
        page.get_by_label("Feed or sitemap URL").fill(site.url("/feed.xml"))
        page.get_by_role("button", name="Add source").click()
        expect(page).to_have_url(re.compile(r"/source/\d+$"))
        source_url = page.url

        # Added, it is polled at once: one fetch, three new items, their articles done.
        fetches = page.locator("table.fetches tbody tr")
        articles = page.locator("table.articles tbody tr")

        def first_poll_shown() -> None:
            expect(fetches, "the first poll").to_have_count(1, timeout=LOOK_MS)
            expect(fetches.nth(0)).to_contain_text("new items", timeout=LOOK_MS)
            expect(fetches.nth(0).locator("td.new-items")).to_have_text("3", timeout=LOOK_MS)
            expect(articles.locator(".status-done")).to_have_count(FIRST_ITEMS, timeout=LOOK_MS)

        reload_until(page, first_poll_shown)
        expect(page.get_by_role("heading", level=1)).to_have_text("Local Desk")
        expect(page.locator("p.health")).to_contain_text("ok")
        expect(fetches.nth(0)).to_contain_text("200")

        # Two more items appear in the feed; "poll now" brings them without waiting 30 min.
        serve_feed(site, every, etag='"2"')
        page.get_by_role("button", name="Poll now").click()
        expect(page).to_have_url(source_url)

        def second_poll_shown() -> None:
            expect(fetches, "both polls").to_have_count(2, timeout=LOOK_MS)
            expect(fetches.nth(0)).to_contain_text("new items", timeout=LOOK_MS)
            expect(fetches.nth(0).locator("td.new-items")).to_have_text("2", timeout=LOOK_MS)
            expect(articles.locator(".status-done")).to_have_count(len(every), timeout=LOOK_MS)

        reload_until(page, second_poll_shown)
        expect(articles.nth(0)).to_contain_text(later[0].title)  # newest first
        expect(articles.filter(has_text="started the story")).to_have_count(len(every))
        screenshot(page, "source")

        # The list shows its health, kind and polls; the articles link to their pages.
        page.get_by_role("link", name="Sources", exact=True).first.click()
        row = page.locator("table.sources tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Local Desk")
        expect(row).to_contain_text("rss")
        expect(row.locator("td.health")).to_have_text("ok")
        expect(row.locator("td.num")).to_have_text(str(len(every)))
        screenshot(page, "sources")
        row.get_by_role("link", name="Local Desk").click()
        articles.get_by_role("link", name=first[-1].title, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(first[-1].title)
        expect(page.locator("p.status")).to_have_text("done")


def _origin(service: ServiceClient) -> dict[str, str]:
    return {"Origin": str(service.http.base_url).rstrip("/")}


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("number", ["999999", "abc", "99999999999999999999999"])
def test_a_source_that_is_not_there_gets_a_clear_page(service: ServiceClient, number: str) -> None:
    check_error_page(service, f"/source/{number}", 404, "No such source")


def test_a_malformed_cursor_on_the_sources_page_is_a_bad_query(service: ServiceClient) -> None:
    check_error_page(service, "/source?after=-1", 400, "Bad query")


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ("url=ftp%3A%2F%2Fexample.com%2Ffeed.xml", 422, "scheme ftp not allowed"),
        ("url=http%3A%2F%2F10.0.0.1%2Ffeed.xml", 422, "private address 10.0.0.1"),
        ("url=http%3A%2F%2Fexample.com%2Ffeed.xml&poll_minutes=1", 422, "between 5 and 1440"),
        ("url=http%3A%2F%2Fexample.com%2Ffeed.xml&poll_minutes=soon", 400, "whole number"),
        ("url=++", 400, "Give the URL"),
        ("url=%FF", 400, "could not be read"),
    ],
)
def test_a_refused_source_gets_a_clear_page_and_is_not_added(
    service: ServiceClient, form: str, status: int, says: str
) -> None:
    response = service.http.post("/source", content=form, headers={**FORM, **_origin(service)})

    assert (response.status_code, response.headers["content-type"]) == (
        status,
        "text/html; charset=utf-8",
    ), response.text
    assert says in response.text
    assert service.http.get("/sources").json()["sources"] == []  # the JSON API, as it was


def test_forms_are_taken_only_from_our_own_pages(service: ServiceClient) -> None:
    with Site() as site:
        serve_feed(site, sites.items(1), etag='"1"')
        created = sites.add_source(service, site.url("/feed.xml"))
        poll = f"/source/{created['id']}/poll"
        add = "url=" + quote(site.url("/other.xml"), safe="")

        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {}):
            assert service.http.post(poll, headers=headers).status_code == 403
            refused = service.http.post("/source", content=add, headers={**FORM, **headers})
            assert refused.status_code == 403
            assert "only taken from this service" in refused.text

        assert len(service.http.get("/sources").json()["sources"]) == 1
        answer = service.http.post(poll, headers=_origin(service))
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/source/{created['id']}"
        sites.wait_for_polls(service, created["id"], 1)
        sites.source_articles(service, created["id"])  # every fetch done before the site goes

    assert service.http.post("/source/999999/poll", headers=_origin(service)).status_code == 404
    assert service.http.delete(f"/sources/{created['id']}").status_code == 200
    stopped = service.http.post(poll, headers=_origin(service))
    assert stopped.status_code == 409
    assert "add it again" in stopped.text


def test_a_poll_is_counted_by_its_outcome_on_metrics(service: ServiceClient) -> None:
    # The counters live in the worker processes for the whole session: read their growth.
    before, _ = scrape(service)
    with Site() as site:
        serve_feed(site, sites.items(2), etag='"1"')
        created = sites.add_source(service, site.url("/feed.xml"))
        sites.wait_for_polls(service, created["id"], 1)
        sites.source_articles(service, created["id"])  # every fetch done before the site goes

    after = scrape_until(
        service, lambda s: grew(before, s, "newsdedup_source_polls_total", outcome="new_items") >= 1
    )
    assert grew(before, after, "newsdedup_source_polls_total", outcome="new_items") == 1
    for outcome in ("no_new_items", "not_modified", "unchanged", "failed"):
        assert grew(before, after, "newsdedup_source_polls_total", outcome=outcome) == 0, outcome
    assert value(after, "newsdedup_sources", status="ok") == 1
    for status in ("new", "failing", "stopped"):
        assert value(after, "newsdedup_sources", status=status) == 0, status
