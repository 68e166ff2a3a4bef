"""HTML extraction: real benchmark pages (shipped in tests/fixtures), boilerplate removal after
trafilatura, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.extraction import ExtractionError, extract_html, line_fingerprint, warm_up
from tests.benchmark_pages import BBC, CITYAM, CTPOST, benchmark_page

# Each shipped page's headline and publication date, as the pages themselves state them.
TITLES_AND_DATES = {
    CTPOST: ("New SUVs and electric vehicles highlight L.A. Auto Show", datetime(2019, 11, 20)),
    CITYAM: (
        "Alibaba to raise up to $12.9bn in landmark Hong Kong listing",
        datetime(2019, 11, 20),
    ),
    BBC: ("Taylor Swift's AMA row seems to be over", datetime(2019, 11, 19)),
}


@pytest.mark.parametrize("page_id", [CTPOST, CITYAM, BBC])
def test_benchmark_page_yields_its_article_text_title_and_date(page_id: str) -> None:
    page = benchmark_page(page_id)
    article = extract_html(page.html, url=page.url)
    title, published = TITLES_AND_DATES[page_id]
    assert article.title == title
    assert article.language == "en"
    assert article.published_at == published.replace(tzinfo=UTC)
    # The first and last paragraphs of the hand-checked body are in the extracted text.
    true_paragraphs = [part for part in page.article_body.split("\n") if part.strip()]
    assert true_paragraphs[0].strip() in article.text
    assert true_paragraphs[-1].strip() in article.text


def test_warm_up_leaves_later_extractions_unchanged() -> None:
    html = benchmark_page(BBC).html
    before = extract_html(html, url="https://www.bbc.com/news/a")
    warm_up()
    assert extract_html(html, url="https://www.bbc.com/news/a") == before


def test_headline_repeated_in_body_is_dropped() -> None:
    page = benchmark_page(CTPOST)
    article = extract_html(page.html, url=page.url)
    assert article.title == TITLES_AND_DATES[CTPOST][0]
    assert article.title not in article.text


def test_cross_links_and_social_calls_to_action_are_dropped_from_html() -> None:
    cityam, bbc = benchmark_page(CITYAM), benchmark_page(BBC)
    assert "Read more:" not in extract_html(cityam.html, url=cityam.url).text
    assert "Follow Newsbeat on" not in extract_html(bbc.html, url=bbc.url).text


PARAGRAPH = (
    "<p>Paragraph {number}: the council met on Tuesday to discuss the new bridge, which engineers"
    " say will carry four lanes of traffic and a cycle path across the river.</p>"
)
NEWSLETTER_LINE = "Sign up for the Springfield Gazette newsletter for daily updates."
SMALL_PAGE = (
    "<html><head><title>Council backs new bridge</title></head><body><article>"
    "<h1>Council backs new bridge</h1>"
    + "".join(PARAGRAPH.format(number=number) for number in range(5))
    + f"<p>{NEWSLETTER_LINE}</p></article></body></html>"
)


def test_known_boilerplate_applies_to_html_too() -> None:
    assert NEWSLETTER_LINE in extract_html(SMALL_PAGE).text
    article = extract_html(SMALL_PAGE, known_boilerplate={line_fingerprint(NEWSLETTER_LINE)})
    assert NEWSLETTER_LINE not in article.text
    assert article.text.startswith("Paragraph 0: the council met on Tuesday")


def test_title_comes_from_metadata_or_the_caller() -> None:
    assert extract_html(SMALL_PAGE).title == "Council backs new bridge"
    assert extract_html(SMALL_PAGE, title="Bridge approved").title == "Bridge approved"


def test_giant_attribute_returns_empty_text_instead_of_crashing() -> None:
    # libxml2 refuses attribute values over 10 MB; the page parses but holds no article.
    page = '<html><body><div data-blob="' + "a" * 11_000_000 + '">' + PARAGRAPH + "</div></body>"
    assert extract_html(page).text == ""


def test_deep_nesting_returns_empty_text_instead_of_crashing() -> None:
    depth = 100_000
    page = "<html><body>" + "<div>" * depth + PARAGRAPH + "</div>" * depth + "</body></html>"
    assert extract_html(page).text == ""


def test_oversized_document_raises_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="larger than"):
        extract_html("<html><body>" + "a" * 20_000_001 + "</body></html>")


@pytest.mark.parametrize("not_html", ["", "   ", b"\x00\x01\xff" * 50])
def test_input_that_is_not_html_raises_extraction_error(not_html: str | bytes) -> None:
    with pytest.raises(ExtractionError):
        extract_html(not_html)
