"""The acceptance scenario of issue 12, as a user lives it: add a feed of 50 items, 10 of which
repeat stories ingested earlier; one poll accepts and processes all 50, the repeats join their
stories, the source shows the fetch; a second poll fetches nothing new."""

from __future__ import annotations

from tests.integration.helpers import ServiceClient, synthetic_article
from tests.integration.sites import (
    Doc,
    Site,
    add_source,
    article_page,
    finished_polls,
    items,
    poll_again,
    rss,
    source_articles,
    wait_for_polls,
)

REPEATS = 10
FEED_ITEMS = 50


def test_a_feed_of_50_items_with_10_repeats_is_one_poll_and_a_second_poll_brings_nothing(
    service: ServiceClient,
) -> None:
    # Ten stories already told, by a wire service posting its text.
    earlier = [
        service.post(text=synthetic_article(1000 + n), source="wire.example")
        for n in range(REPEATS)
    ]
    told = service.wait_final(earlier)
    assert all(a["status"] == "done" for a in told.values()), told

    with Site() as site:
        entries = items(FEED_ITEMS)
        repeats = {}
        for n, entry in enumerate(entries):
            if n < REPEATS:  # the outlet re-publishes a wire story in its own page
                site.routes[entry.path] = Doc(
                    article_page(0, text=synthetic_article(1000 + n), head="")
                )
                repeats[site.url(entry.path)] = earlier[n]
            else:
                site.routes[entry.path] = Doc(article_page(2000 + n))
        site.routes["/feed.xml"] = Doc(rss(site, entries), "application/rss+xml", etag='"1"')

        created = add_source(service, site.url("/feed.xml"))
        polled = wait_for_polls(service, created["id"], 1)
        found = source_articles(service, created["id"])
        second = poll_again(service, created["id"])
        after = service.http.get("/stats").json()
        story_of_a_repeat = service.http.get(f"/stories/{told[earlier[0]]['story_id']}").json()

    first_poll = finished_polls(polled)
    assert [(p["outcome"], p["new_items"]) for p in first_poll] == [("new_items", FEED_ITEMS)]
    assert len(found) == FEED_ITEMS
    assert [a["status"] for a in found] == ["done"] * FEED_ITEMS, [
        (a["url"], a["error"]) for a in found if a["status"] != "done"
    ]
    for article in found:
        if article["url"] in repeats:
            original = told[repeats[article["url"]]]
            assert article["story_id"] == original["story_id"], article
            assert article["match"] in ("exact", "near_copy", "rewrite")
        else:
            assert article["match"] == "canonical", article

    # The story shows who told it: the wire's post, and the outlet's feed.
    assert sorted((m["source_id"] or 0) for m in story_of_a_repeat["articles"]) == [
        0,
        created["id"],
    ]

    assert second["fetches"][0]["outcome"] == "not_modified"
    assert second["fetches"][0]["new_items"] == 0
    assert after["articles_done"] == REPEATS + FEED_ITEMS  # nothing new after the second poll
    assert second["articles"] == {"done": FEED_ITEMS}
