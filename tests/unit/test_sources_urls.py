"""Item URL normalisation (trackers off, article identifiers kept) and the canonical-URL check."""

import pytest

from service.sources.urls import accepted_canonical_url, normalize_item_url, same_site


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        # host lower-cased, default port dropped, fragment dropped
        ("HTTPS://News.Example:443/World/Summit#comments", "https://news.example/World/Summit"),
        # trackers off
        (
            "https://news.example/a?utm_source=rss&utm_medium=feed&utm_campaign=x",
            "https://news.example/a",
        ),
        ("https://news.example/a?fbclid=IwAR0abc&gclid=Cj0K&msclkid=1", "https://news.example/a"),
        # query sorted, so one article has one spelling whatever order the feed used
        ("https://news.example/a?b=2&a=1", "https://news.example/a?a=1&b=2"),
        ("https://news.example?p=42", "https://news.example/?p=42"),
    ],
)
def test_item_url_is_normalised(url: str, normalized: str) -> None:
    assert normalize_item_url(url) == normalized


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        # courlan alone drops uid and source_id (its patterns match them); they name articles
        ("https://n.example/view?uid=8812&utm_source=x", "https://n.example/view?uid=8812"),
        (
            "https://n.example/article.php?source_id=77&fbclid=z",
            "https://n.example/article.php?source_id=77",
        ),
        ("https://n.example/s?SourceID=77", "https://n.example/s?SourceID=77"),
        ("https://n.example/s?source-id=77", "https://n.example/s?source-id=77"),
        ("https://n.example/?p=123&ref=home", "https://n.example/?p=123"),
        (
            "https://n.example/show?id=5&story=9&article=3&utm_term=q",
            "https://n.example/show?article=3&id=5&story=9",
        ),
        ("https://n.example/show?cid=991", "https://n.example/show?cid=991"),
        # an empty identifier is still part of the address
        ("https://n.example/show?id=", "https://n.example/show?id="),
    ],
)
def test_parameters_that_name_the_article_are_kept(url: str, normalized: str) -> None:
    assert normalize_item_url(url) == normalized


def test_two_feeds_linking_one_article_with_different_trackers_meet() -> None:
    first = "https://news.example/a?id=7&utm_source=twitter#top"
    second = "https://NEWS.example/a?utm_campaign=daily&id=7&fbclid=abc"
    assert normalize_item_url(first) == normalize_item_url(second)


def test_two_articles_differing_only_in_uid_stay_apart() -> None:
    assert normalize_item_url("https://n.example/v?uid=1") != normalize_item_url(
        "https://n.example/v?uid=2"
    )


@pytest.mark.parametrize("url", ["mailto:desk@news.example", "/relative/path", "https://"])
def test_url_without_http_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        normalize_item_url(url)


# ---------------------------------------------------------------- canonical URLs


@pytest.mark.parametrize(
    ("page", "declared", "accepted"),
    [
        # same registered domain, another host: accepted, normalised
        (
            "https://www.example.co.uk/world/1",
            "https://news.example.co.uk/world/1?utm_source=x",
            "https://news.example.co.uk/world/1",
        ),
        # relative canonical resolves against the page
        ("https://news.example.com/a/1?x=1", "/a/1", "https://news.example.com/a/1"),
        # a query on the root path names an article (WordPress ?p=)
        (
            "https://news.example.com/a/1",
            "https://news.example.com/?p=123",
            "https://news.example.com/?p=123",
        ),
        # IP hosts have no registered domain: only the same host counts
        ("http://127.0.0.1:8000/a", "http://127.0.0.1:8000/b", "http://127.0.0.1:8000/b"),
    ],
)
def test_canonical_on_the_same_site_naming_an_article_is_accepted(
    page: str, declared: str, accepted: str
) -> None:
    assert accepted_canonical_url(page, declared) == accepted


@pytest.mark.parametrize(
    ("page", "declared"),
    [
        ("https://news.example.com/a/1", "https://other-news.com/a/1"),  # another site
        ("https://news.example.com/a/1", "https://news.example.com.evil.test/a/1"),  # lookalike
        ("https://a.blogspot.com/p/1", "https://b.blogspot.com/p/1"),  # private suffix
        ("https://news.example.com/a/1", "https://news.example.com/"),  # home page
        ("https://news.example.com/a/1", "https://news.example.com"),  # home page, empty path
        ("https://news.example.com/a/1", "/"),
        ("https://news.example.com/a/1", "https://www.example.com/index.html"),
        ("https://news.example.com/a/1", ""),
        ("https://news.example.com/a/1", None),
        ("https://news.example.com/a/1", "javascript:void(0)"),
        ("http://127.0.0.1:8000/a", "http://127.0.0.2:8000/a"),
    ],
)
def test_canonical_elsewhere_or_at_a_home_page_is_refused(page: str, declared: str | None) -> None:
    assert accepted_canonical_url(page, declared) is None


def test_same_site_uses_the_public_suffix_list() -> None:
    assert same_site("https://www.bbc.co.uk/news", "https://bbc.co.uk/sport")
    assert not same_site("https://bbc.co.uk/", "https://itv.co.uk/")
