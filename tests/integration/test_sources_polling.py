"""Sources polled end to end: a real API, Celery workers (beat included), PostgreSQL and Redis,
and a news site on 127.0.0.1. Each kind of document becomes articles that are fetched and
processed; conditional GET, body hashes and Retry-After steer the next polls; broken and hostile
documents end as clear errors on the source."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from datetime import datetime

import psycopg

from tests.integration.helpers import ServiceClient
from tests.integration.sites import (
    BASE_DATE,
    Doc,
    Item,
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


def serve_articles(site: Site, entries: Sequence[Item], *, seed: int = 0) -> None:
    for n, entry in enumerate(entries):
        site.routes[entry.path] = Doc(article_page(seed + n))


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


def test_atom_feeds_sitemaps_news_sitemaps_and_gzip_sitemaps_all_become_articles(
    service: ServiceClient,
) -> None:
    with Site() as site:
        Render = Callable[[Site, Sequence[Item]], bytes]
        documents: dict[str, tuple[Render, str, str, str]] = {
            "/atom.xml": (atom, "application/atom+xml", "atom", "/a/"),
            "/sitemap.xml": (sitemap, XML, "sitemap", "/s/"),
            "/news-sitemap.xml": (
                lambda s, e: sitemap(s, e, news=True),
                "text/xml",
                "sitemap",
                "/n/",
            ),
            "/sitemap.xml.gz": (
                lambda s, e: gzipped(sitemap(s, e)),
                "application/x-gzip",
                "sitemap",
                "/g/",
            ),
        }
        created = {}
        for n, (path, (render, content_type, _, prefix)) in enumerate(documents.items()):
            entries = items(2, prefix=prefix)
            serve_articles(site, entries, seed=100 * (n + 1))
            site.routes[path] = Doc(render(site, entries), content_type)
            created[path] = add_source(service, site.url(path))["id"]
        polled = {path: wait_for_polls(service, i, 1) for path, i in created.items()}
        found = {path: source_articles(service, i) for path, i in created.items()}

    for path, (_, _, kind, _) in documents.items():
        assert polled[path]["status"] == "ok", polled[path]
        assert polled[path]["document_kind"] == kind
        assert polled[path]["fetches"][0]["new_items"] == 2
        assert [a["status"] for a in found[path]] == ["done", "done"], found[path]
    atom_article = found["/atom.xml"][0]
    assert atom_article["feed_guid"].startswith("urn:test:/a/")
    assert atom_article["title"].startswith("Report number")
    news = {a["url"]: a for a in found["/news-sitemap.xml"]}
    newest = items(2, prefix="/n/")[0]
    assert news[site.url(newest.path)]["title"] == newest.title  # news:title
    assert datetime.fromisoformat(news[site.url(newest.path)]["published_at"]) == newest.published


def test_a_sitemap_index_reads_its_children_and_later_only_the_child_that_moved(
    service: ServiceClient,
) -> None:
    with Site() as site:
        children = {f"/sitemap-{n}.xml": items(2, prefix=f"/c{n}/") for n in range(3)}
        for n, (path, entries) in enumerate(children.items()):
            serve_articles(site, entries, seed=300 + 10 * n)
            site.routes[path] = Doc(sitemap(site, entries), XML)
        listed = [(path, BASE_DATE) for path in children]
        site.routes["/sitemap-index.xml"] = Doc(sitemap_index(site, listed), XML)
        created = add_source(service, site.url("/sitemap-index.xml"))
        first = wait_for_polls(service, created["id"], 1)

        second = poll_again(service, created["id"])  # nothing moved: no child is read again
        hits_after_second = {path: len(site.hits_on(path)) for path in children}

        moved = items(3, prefix="/c0/")  # one more item in the first child
        serve_articles(site, moved, seed=400)
        site.routes["/sitemap-0.xml"] = Doc(sitemap(site, moved), XML)
        listed[0] = ("/sitemap-0.xml", BASE_DATE.replace(day=2))
        site.routes["/sitemap-index.xml"] = Doc(sitemap_index(site, listed), XML)
        third = poll_again(service, created["id"])
        hits_after_third = {path: len(site.hits_on(path)) for path in children}
        source_articles(service, created["id"])

    assert first["document_kind"] == "sitemap index"
    assert first["fetches"][0]["outcome"] == "new_items"
    assert first["fetches"][0]["documents"] == 4 and first["fetches"][0]["new_items"] == 6
    assert second["fetches"][0]["outcome"] == "unchanged"
    assert hits_after_second == {path: 1 for path in children}
    assert third["fetches"][0]["new_items"] == 1
    assert hits_after_third == {"/sitemap-0.xml": 2, "/sitemap-1.xml": 1, "/sitemap-2.xml": 1}


def test_a_304_answer_is_not_modified_and_parses_nothing(service: ServiceClient) -> None:
    modified = http_date(BASE_DATE)
    with Site() as site:
        entries = items(2)
        serve_articles(site, entries)
        site.routes["/feed.xml"] = Doc(rss(site, entries), RSS, etag='"v1"', last_modified=modified)
        created = add_source(service, site.url("/feed.xml"))
        wait_for_polls(service, created["id"], 1)
        second = poll_again(service, created["id"])
        feed_hits = site.hits_on("/feed.xml")

    assert [f["outcome"] for f in second["fetches"]] == ["not_modified", "new_items"]
    assert second["fetches"][0]["http_status"] == 304
    assert second["status"] == "ok"
    assert (feed_hits[0].if_none_match, feed_hits[0].if_modified_since) == (None, None)
    assert (feed_hits[1].if_none_match, feed_hits[1].if_modified_since) == ('"v1"', modified)


def test_a_changed_body_under_the_same_etag_is_read_and_new_validators_are_kept(
    service: ServiceClient,
) -> None:
    """Some servers send one ETag for every version and never answer 304: the body's hash
    decides. And the validators a server sends are saved even when the body is unchanged."""
    with Site() as site:
        entries = items(5)
        serve_articles(site, entries)
        feed = Doc(rss(site, entries[2:]), RSS, etag='"same"', ignore_conditional=True)
        site.routes["/feed.xml"] = feed
        created = add_source(service, site.url("/feed.xml"))
        first = wait_for_polls(service, created["id"], 1)

        feed.body = rss(site, entries)  # two new items, same ETag
        second = poll_again(service, created["id"])
        third = poll_again(service, created["id"])  # same bytes again

        feed.etag = '"renamed"'  # same bytes, new ETag
        fourth = poll_again(service, created["id"])
        fifth = poll_again(service, created["id"])
        feed_hits = site.hits_on("/feed.xml")

    assert first["fetches"][0]["new_items"] == 3
    assert (second["fetches"][0]["outcome"], second["fetches"][0]["new_items"]) == ("new_items", 2)
    assert third["fetches"][0]["outcome"] == "unchanged"
    assert fourth["fetches"][0]["outcome"] == "unchanged"
    assert fifth["fetches"][0]["outcome"] == "unchanged"
    assert [h.if_none_match for h in feed_hits] == [
        None,
        '"same"',
        '"same"',
        '"same"',
        '"renamed"',
    ]


def test_429_with_retry_after_backs_the_source_off_at_least_that_long(
    service: ServiceClient,
) -> None:
    with Site() as site:
        site.routes["/feed.xml"] = Doc(
            b"slow down", "text/plain", status=429, headers={"Retry-After": "7200"}
        )
        created = add_source(service, site.url("/feed.xml"))
        failed = wait_for_polls(service, created["id"], 1)

    poll = failed["fetches"][0]
    assert (poll["outcome"], poll["http_status"], poll["detail"]) == ("failed", 429, "HTTP 429")
    assert failed["status"] == "failing" and failed["last_error"] == "HTTP 429"
    assert "failing since" in failed["status_text"] and "HTTP 429" in failed["status_text"]
    wait = datetime.fromisoformat(failed["next_poll_at"]) - datetime.fromisoformat(
        poll["started_at"]
    )
    # The first failure alone would wait the minimum interval (5 min); the server asked 2 h.
    assert 7100 <= wait.total_seconds() <= 7300, wait


def test_a_malformed_feed_keeps_what_it_can_and_an_unreadable_one_fails_clearly(
    service: ServiceClient,
) -> None:
    with Site() as site:
        entries = items(2)
        serve_articles(site, entries)
        recoverable = rss(site, entries).replace(b"Local Desk", b"Local & Desk", 1)
        site.routes["/stray-ampersand.xml"] = Doc(recoverable, RSS)
        site.routes["/truncated.xml"] = Doc(b'<?xml version="1.0"?><rss version="2.0"><chan', RSS)
        kept = add_source(service, site.url("/stray-ampersand.xml"))
        broken = add_source(service, site.url("/truncated.xml"))
        kept_polled = wait_for_polls(service, kept["id"], 1)
        broken_polled = wait_for_polls(service, broken["id"], 1)
        source_articles(service, kept["id"])

    assert kept_polled["status"] == "ok"
    assert kept_polled["fetches"][0]["new_items"] == 2
    assert "malformed feed" in kept_polled["fetches"][0]["detail"]
    assert broken_polled["status"] == "failing"
    assert broken_polled["last_error"].startswith("malformed feed")
    assert "nothing could be read" in broken_polled["last_error"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title></channel></rss>"""


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip stream of spaces, ~1000x smaller than what it inflates to."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    parts = [compressor.compress(b"<?xml version='1.0'?><urlset>")]
    parts += [compressor.compress(chunk) for _ in range(inflated_bytes >> 20)]
    return b"".join(parts) + compressor.flush()


def test_an_xml_bomb_a_gzip_bomb_and_a_home_page_end_as_clear_errors_on_their_sources(
    service: ServiceClient,
) -> None:
    home = (
        b"<!doctype html><html><head><title>Local Desk</title>"
        b'<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>'
        b"<body><h1>Local Desk</h1></body></html>"
    )
    with Site() as site:
        site.routes["/bomb.xml"] = Doc(BILLION_LAUGHS, RSS)
        # 60 MiB of spaces in ~60 KB: past the sitemap cap (50 MiB) once inflated.
        site.routes["/bomb.xml.gz"] = Doc(gzip_bomb(60 << 20), "application/gzip")
        site.routes["/"] = Doc(home)
        ids = {
            path: add_source(service, site.url(path))["id"]
            for path in ("/bomb.xml", "/bomb.xml.gz", "/")
        }
        errors = {path: wait_for_polls(service, i, 1)["last_error"] for path, i in ids.items()}
        article_count = service.http.get("/stats").json().get("articles_queued", 0)

    assert errors["/bomb.xml"].startswith("refused: the DOCTYPE declares its own entities")
    assert errors["/bomb.xml.gz"] == f"refused: document inflates past {50 * 1024 * 1024} bytes"
    assert errors["/"].startswith("not a feed or sitemap: an HTML page")
    assert site.url("/feed.xml") in errors["/"]  # the feed the home page links to
    assert article_count == 0


def test_adding_a_source_twice_answers_the_same_source_and_stopping_keeps_its_articles(
    service: ServiceClient,
) -> None:
    with Site() as site:
        entries = items(2)
        serve_articles(site, entries)
        site.routes["/feed.xml"] = Doc(rss(site, entries), RSS)
        site.routes["/other.xml"] = Doc(rss(site, []), RSS)
        created = add_source(service, site.url("/feed.xml"), kind="rss", poll_minutes=60)
        again = service.http.post("/sources", json={"url": site.url("/feed.xml")})
        wait_for_polls(service, created["id"], 1)
        source_articles(service, created["id"])
        stopped = service.http.delete(f"/sources/{created['id']}")
        poll_stopped = service.http.post(f"/sources/{created['id']}/poll")

        # Long overdue, yet stopped: the scheduler must pass it by. Adding another source
        # makes the scheduler look for due sources now.
        with psycopg.connect(service.database_url.replace("+psycopg", "")) as connection:
            connection.execute("UPDATE sources SET next_poll_at = now() - interval '1 day'")
        other = add_source(service, site.url("/other.xml"))
        wait_for_polls(service, other["id"], 1)
        listed = service.http.get("/sources").json()["sources"]
        listed_all = service.http.get("/sources", params={"include_stopped": True}).json()
        feed_hits = site.hits_on("/feed.xml")

    assert again.status_code == 200 and again.json()["id"] == created["id"]
    assert created["interval_s"] == 3600 and created["interval_adapts"] is False
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert stopped.json()["next_poll_at"] is None
    assert stopped.json()["articles"] == {"done": 2}
    assert poll_stopped.status_code == 409
    assert len(feed_hits) == 1
    assert [s["id"] for s in listed] == [other["id"]]
    assert [s["id"] for s in listed_all["sources"]] == [created["id"], other["id"]]
    assert service.http.get("/sources/999999").status_code == 404


def test_urls_the_fetch_guard_refuses_and_intervals_out_of_bounds_are_422(
    service: ServiceClient,
) -> None:
    for body in (
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"url": "file:///etc/passwd"},
        {"url": "http://10.0.0.1/feed.xml"},
        {"url": "https://news.example/feed.xml", "poll_minutes": 1},
        {"url": "https://news.example/feed.xml", "kind": "json"},
    ):
        response = service.http.post("/sources", json=body)
        assert response.status_code == 422, (body, response.text)
    assert service.http.get("/sources").json()["sources"] == []


def test_the_cli_adds_lists_and_shows_sources(service: ServiceClient) -> None:
    from ops.cli import main

    with Site() as site:
        entries = items(1)
        serve_articles(site, entries)
        site.routes["/feed.xml"] = Doc(rss(site, entries), RSS)
        api = str(service.http.base_url).rstrip("/")
        assert main(["sources", "add", site.url("/feed.xml"), "--api", api]) == 0
        source_id = service.http.get("/sources").json()["sources"][0]["id"]
        wait_for_polls(service, source_id, 1)
        assert main(["sources", "list", "--api", api]) == 0
        assert main(["sources", "show", str(source_id), "--api", api]) == 0
        found = source(service, source_id)

    assert found["fetches"][0]["outcome"] == "new_items"
