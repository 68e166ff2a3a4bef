"""The pages' templates escape article text everywhere; page input is parsed into clear errors;
evidence reads as words. No database: the templates get plain data, as the page routes give it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.api import pages
from service.api.pages import PageError, StoryListing, parse_id, render_page
from service.repositories.polled_sources import FetchRow, SourceArticleRow
from service.repositories.stories import like_pattern
from service.sources.views import SourceView
from service.stories import explain
from service.stories.compare import Comparison
from service.stories.passages import shared_passages
from service.stories.queries import (
    ArticleDetail,
    ArticleSummary,
    SideBySide,
    StoryDetail,
    StorySummary,
)

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
WHEN = datetime(2021, 10, 19, 8, 0, tzinfo=UTC)


def summary(article_id: int, **changes: object) -> ArticleSummary:
    values: dict[str, object] = {
        "id": article_id,
        "title": HOSTILE,
        "url": f"https://example.com/{HOSTILE}",
        "outlet": HOSTILE,
        "language": HOSTILE,
        "published_at": WHEN,
        "received_at": WHEN,
        "story_id": 1,
        "match_kind": "rewrite",
        "similarity": 0.9,
        "matched_article_id": 1,
        "evidence": {
            "decided_by": "story score",
            "threshold": 0.83,
            "shared_attributions": [HOSTILE],
            "shared_names": [HOSTILE],
            "shared_rare_terms": [HOSTILE],
            "components": {HOSTILE: 0.5},
            HOSTILE: HOSTILE,
        },
    }
    values.update(changes)
    return ArticleSummary(**values)  # type: ignore[arg-type]


def detail(article_id: int, **changes: object) -> ArticleDetail:
    base = summary(article_id, **changes).__dict__
    return ArticleDetail(
        **base, status="failed", error=HOSTILE, text=f"{HOSTILE}\n\n{HOSTILE}", processed_at=WHEN
    )


def source_view(status: str = "failing", **changes: object) -> SourceView:
    values: dict[str, object] = {
        "id": 7,
        "url": f"https://example.com/feed?{HOSTILE}",
        "kind": "auto",
        "document_kind": "rss",
        "title": HOSTILE,
        "status": status,
        "status_text": HOSTILE,
        "next_poll_at": WHEN,
        "interval_s": 1800,
        "interval_adapts": True,
        "polling_now": False,
        "last_polled_at": WHEN,
        "consecutive_failures": 3,
        "failing_since": WHEN,
        "last_error": HOSTILE,
        "created_at": WHEN,
        "stopped_at": None,
        "articles": {"done": 2},
        "fetches": [
            FetchRow(7, 1, WHEN, WHEN, "failed", 503, 1, 0, 0, HOSTILE),
            FetchRow(7, 2, WHEN, WHEN, "new_items", 200, 1, 50, 2, None),
        ],
    }
    values.update(changes)
    return SourceView(**values)  # type: ignore[arg-type]


SOURCE_ARTICLES = [
    SourceArticleRow(
        5, HOSTILE, f"https://example.com/{HOSTILE}", "done", 3, "rewrite", WHEN, WHEN
    ),
    SourceArticleRow(4, None, HOSTILE, "queued", None, None, None, WHEN),
]


def rendered_pages() -> dict[str, str]:
    story = StoryDetail(
        1, 2, WHEN, 1, [summary(1, matched_article_id=None, match_kind="canonical"), summary(2)]
    )
    a, b = detail(1), detail(2)
    pair = SideBySide(
        a,
        b,
        Comparison(0.9, True, {"threshold": 0.83, "shared_names": [HOSTILE]}),
        shared_passages(a.text or "", b.text or ""),
    )
    listing_row = StorySummary(1, 2, 1, HOSTILE, HOSTILE, [HOSTILE], [HOSTILE], 2, WHEN, WHEN)
    listing = StoryListing(search=HOSTILE, source=HOSTILE)
    responses = {
        "stories": render_page(
            "stories.html",
            listing=listing,
            stories=[listing_row],
            older_url=listing.url(before=1),
            newest_url=listing.url(),
        ),
        "story": render_page("story.html", story=story),
        "article": render_page("article.html", article=a),
        "compare": render_page("compare.html", pair=pair),
        "error": render_page("error.html", code=404, title=HOSTILE, message=HOSTILE),
        "sources": render_page(
            "sources.html", sources=[source_view()], more_url=None, first_url=None
        ),
        "source": render_page(
            "source.html", source=source_view(), articles=SOURCE_ARTICLES, due=False
        ),
    }
    return {name: bytes(response.body).decode() for name, response in responses.items()}


def test_the_environment_autoescapes_every_template() -> None:
    assert pages.TEMPLATES.autoescape is True


@pytest.mark.parametrize(
    "page", ["stories", "story", "article", "compare", "error", "sources", "source"]
)
def test_article_text_is_escaped_on_every_page(page: str) -> None:
    html = rendered_pages()[page]

    assert "<script" not in html
    assert ESCAPED in html


def test_shared_passages_are_marked_and_still_escaped() -> None:
    html = rendered_pages()["compare"]

    # A run starts at its first word: the "<" before it is text outside the mark, escaped too.
    assert "&lt;<mark>script&gt;alert(1)&lt;/script&gt;" in html


def test_pages_forbid_scripts_and_other_hosts() -> None:
    response = render_page("error.html", code=404, title="x", message="y")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "style-src 'self'" in policy
    assert "script-src" not in policy  # falls back to default-src 'none': no script at all


def test_only_web_urls_become_links() -> None:
    assert pages.web_link("https://example.com/a") == "https://example.com/a"
    assert pages.web_link("HTTP://example.com/") == "HTTP://example.com/"
    for url in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "", None):
        assert pages.web_link(url) is None

    html = render_page("article.html", article=detail(3, url="javascript:alert(1)")).body
    assert b'href="javascript' not in html
    assert b"javascript:alert(1)" in html  # shown as text


def test_ids_that_name_nothing_are_404() -> None:
    assert parse_id("42", what="story") == 42
    for bad in ("abc", "0", "-1", "1.5", "٣", str(2**63), "1 "):
        with pytest.raises(PageError) as error:
            parse_id(bad, what="story")
        assert error.value.status == 404


def test_listing_reads_its_filters_and_refuses_malformed_ones() -> None:
    listing = StoryListing.parse(
        {"min_size": "2", "source": " News-Front ", "q": "Poutine", "before": "17", "limit": "5"}
    )
    assert listing == StoryListing(
        min_size=2, source="News-Front", search="Poutine", before=17, limit=5
    )
    assert StoryListing.parse({"min_size": "", "q": "  "}) == StoryListing()
    assert listing.url(before=None) == "/?q=Poutine&source=News-Front&min_size=2&limit=5"
    assert StoryListing().url() == "/"
    for bad in (
        {"min_size": "abc"},
        {"min_size": "0"},
        {"before": "-3"},
        {"limit": "100000"},
        {"q": "a\x00b"},
        {"source": "x" * 1000},
    ):
        with pytest.raises(PageError) as error:
            StoryListing.parse(bad)
        assert error.value.status == 400


def test_evidence_reads_as_words() -> None:
    evidence = {
        "decided_by": "story score",
        "threshold": 0.83,
        "shared_attributions": ["kommersant"],
        "conflicting_attributions": None,
        "shared_names": ["poutine", "biden"],
        "shared_rare_terms": ["bases"],
        "components": {"cosine": 0.47, "lead_told": 0.86},
        "shared_wording": 0.0134,
        "semantic_similarity": 0.91,  # a signal to come: shown once it is in the evidence
    }
    lines = {line.label: line.value for line in explain.describe(evidence, similarity=0.98)}

    assert lines["Decided by"] == "story score 0.98 ≥ 0.83; both cite kommersant"
    assert lines["Original reporter cited by both"] == "kommersant"
    assert lines["Shared names"] == "poutine, biden"
    assert lines["Shared wording (5-word runs in both texts)"] == "1.3 %"
    assert lines["Semantic similarity (sentence encoder)"] == "0.91"
    assert explain.deciding_signal({"decided_by": "same URL"}, 1.0) == "same URL"


def test_a_story_that_started_says_why() -> None:
    lines = explain.describe(
        {
            "decided_by": "best candidate below the threshold",
            "best_candidate": 4,
            "best_score": 0.61,
            "threshold": 0.83,
        }
    )
    assert [(line.label, line.value) for line in lines] == [
        (
            "Started a new story",
            "the closest stored article, 4, scored 0.61, below the threshold 0.83",
        )
    ]


def test_delays_read_as_a_person_says_them() -> None:
    assert pages.delay(timedelta(0)) == "first"
    assert pages.delay(timedelta(seconds=42)) == "+42 s"
    assert pages.delay(timedelta(minutes=35)) == "+35 min"
    assert pages.delay(timedelta(hours=4, minutes=12)) == "+4 h 12 min"
    assert pages.delay(timedelta(days=2, hours=4, minutes=1)) == "+2 d 4 h"


def test_search_takes_wildcards_literally() -> None:
    assert like_pattern("Poutine") == "%Poutine%"
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_a_source_page_says_why_it_fails_and_shows_each_fetch() -> None:
    html = rendered_pages()["source"]

    assert f"since 2021-10-19 08:00 UTC: {ESCAPED} (3 failures in a row)" in html
    assert '<form class="poll-now" method="post" action="/source/7/poll">' in html
    assert "2021-10-19 08:00:00 UTC" in html  # the fetch log is to the second
    assert "not modified" not in html and "new items" in html and "failed" in html
    assert '<a href="/article/5">' in html and '<a href="/story/3">Story 3</a>' in html


def test_a_stopped_source_offers_no_poll_button() -> None:
    stopped = source_view("stopped", stopped_at=WHEN, next_poll_at=None)
    html = bytes(render_page("source.html", source=stopped, articles=[], due=False).body).decode()

    assert "poll-now" not in html
    assert "since 2021-10-19 08:00 UTC; its articles are kept" in html
    assert "Stopped: add its URL again to poll it." in html


class FakeRequest:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"},
        {"host": "news.example", "origin": "https://NEWS.example"},  # TLS ends at a proxy
        {"host": "127.0.0.1:8000", "referer": "http://127.0.0.1:8000/source/3"},  # no Origin
    ],
)
def test_a_form_posted_from_our_own_page_is_taken(headers: dict[str, str]) -> None:
    pages.same_origin(FakeRequest(headers))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "127.0.0.1:8000", "origin": "https://evil.example"},
        {"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8001"},  # another port
        {"host": "127.0.0.1:8000", "origin": "null"},  # a sandboxed or privacy-hidden origin
        {"host": "127.0.0.1:8000", "referer": "https://evil.example/?http://127.0.0.1:8000"},
        {"host": "127.0.0.1:8000", "origin": "http://[::1"},  # malformed
        {"host": "127.0.0.1:8000"},  # neither header
        {"origin": "http://127.0.0.1:8000"},  # no Host to compare with
    ],
)
def test_a_form_posted_from_anywhere_else_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(PageError) as error:
        pages.same_origin(FakeRequest(headers))  # type: ignore[arg-type]
    assert error.value.status == 403
