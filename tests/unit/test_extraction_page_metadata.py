"""What a page says of itself, read from its <head> alone: canonical URL, author, site name,
declared language and the feeds it links to."""

from __future__ import annotations

import pytest

from service.extraction import PageMetadata, page_metadata
from service.extraction.html import MAX_HEAD_CHARS

URL = "https://www.example.com/world/2026/12/01/summit"


def page(head: str, *, lang: str = "") -> str:
    attribute = f' lang="{lang}"' if lang else ""
    return (
        f"<!doctype html><html{attribute}><head><meta charset='utf-8'>{head}</head>"
        "<body><article><p>Text.</p></article></body></html>"
    )


def test_every_fact_is_read_and_relative_urls_are_resolved_against_the_page() -> None:
    found = page_metadata(
        page(
            '<link rel="canonical" href="/world/summit">'
            '<meta property="og:site_name" content="Example News">'
            '<meta name="author" content="Ada  Lovelace">'
            '<link rel="alternate" type="application/rss+xml" href="/rss/world.xml">'
            '<link rel="alternate" type="application/atom+xml" href="https://cdn.example.com/a">'
            '<link rel="alternate" hreflang="fr" href="/fr/world/summit">',
            lang="en-GB",
        ),
        url=URL,
    )

    assert found == PageMetadata(
        canonical_url="https://www.example.com/world/summit",
        author="Ada Lovelace",
        site_name="Example News",
        language="en-gb",
        feed_urls=("https://www.example.com/rss/world.xml", "https://cdn.example.com/a"),
    )


def test_og_url_stands_in_for_a_missing_canonical_link() -> None:
    found = page_metadata(page('<meta property="og:url" content="https://example.com/a">'))
    assert found.canonical_url == "https://example.com/a"


def test_a_canonical_link_wins_over_og_url_and_rel_may_hold_several_tokens() -> None:
    found = page_metadata(
        page(
            '<meta property="og:url" content="https://example.com/og">'
            '<link rel="Canonical nofollow" href="https://example.com/canonical">'
        )
    )
    assert found.canonical_url == "https://example.com/canonical"


def test_an_author_that_is_a_profile_url_is_skipped_for_the_next_one() -> None:
    found = page_metadata(
        page(
            '<meta property="article:author" content="https://facebook.com/ada">'
            '<meta name="parsely-author" content="Ada Lovelace">'
        )
    )
    assert found.author == "Ada Lovelace"


@pytest.mark.parametrize(
    ("head", "lang", "expected"),
    [
        ("", "fr", "fr"),
        ('<meta property="og:locale" content="pt_BR">', "", "pt-br"),
        ('<meta http-equiv="Content-Language" content="de, en">', "", "de"),
        ("", "not a language tag", None),
        ("", "x" * 40, None),
    ],
)
def test_the_declared_language_is_a_lower_case_bcp47_tag(
    head: str, lang: str, expected: str | None
) -> None:
    assert page_metadata(page(head, lang=lang)).language == expected


def test_only_the_head_is_read_so_a_huge_page_costs_no_more() -> None:
    late = '<meta name="author" content="Too Late">'
    huge_head = "<script>" + "x" * MAX_HEAD_CHARS + "</script>" + late
    assert page_metadata(page(huge_head)).author is None
    # ... and a body's tags never pass for the head's.
    body_only = "<html><head></head><body><meta name='author' content='Body'></body></html>"
    assert page_metadata(body_only).author is None


@pytest.mark.parametrize(
    "html",
    ["", "not html at all", "\x00\x00", '<?xml version="1.0" encoding="utf-8"?><rss></rss>'],
)
def test_what_is_not_a_page_gives_no_facts(html: str) -> None:
    found = page_metadata(html, url=URL)
    assert (found.canonical_url, found.author, found.site_name, found.feed_urls) == (
        None,
        None,
        None,
        (),
    )
