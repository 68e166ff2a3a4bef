"""HTML extraction: real benchmark pages, boilerplate removal after trafilatura, hostile input."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from service.extraction import ExtractionError, extract_html, line_fingerprint, warm_up

BENCH_DIR = Path(__file__).resolve().parents[3] / "shared" / "extraction-bench"

# ctpost.com repeats its headline in the body; cityam.com ends with "Read more:" cross-links;
# bbc.com closes with "Follow Newsbeat on Instagram, Facebook, Twitter and YouTube."
CTPOST = "05844573ca7e1fba714d715bb11ca08c26e25328999c74a1cb3bc8a0e4399f0f"
CITYAM = "360c732d1fdbfc6895d7096c0c0b8c0d581bb1af80160f4c6a0f1fd9ff85e469"
BBC = "70cb2d5bca75ab5a8f6bb378a38a52f882f6bda508de93b12502e74936d86ff2"


@cache
def ground_truth() -> dict[str, dict[str, str]]:
    truth: dict[str, dict[str, str]] = json.loads(
        (BENCH_DIR / "ground-truth.json").read_text(encoding="utf-8")
    )
    return truth


def bench_page(page_id: str) -> bytes:
    return gzip.decompress((BENCH_DIR / "html" / f"{page_id}.html.gz").read_bytes())


@pytest.mark.parametrize("page_id", [CTPOST, CITYAM, BBC])
def test_benchmark_page_yields_its_article_text_and_title(page_id: str) -> None:
    truth = ground_truth()[page_id]
    article = extract_html(bench_page(page_id), url=truth["url"])
    assert article.title
    assert article.language == "en"
    assert article.published_at is not None
    # The first and last paragraphs of the hand-checked body are in the extracted text.
    true_paragraphs = [part for part in truth["articleBody"].split("\n") if part.strip()]
    assert true_paragraphs[0].strip() in article.text
    assert true_paragraphs[-1].strip() in article.text


def test_warm_up_leaves_later_extractions_unchanged() -> None:
    before = extract_html(bench_page(BBC), url="https://www.bbc.com/news/a")
    warm_up()
    assert extract_html(bench_page(BBC), url="https://www.bbc.com/news/a") == before


def test_headline_repeated_in_body_is_dropped() -> None:
    article = extract_html(bench_page(CTPOST), url=ground_truth()[CTPOST]["url"])
    assert article.title == "New SUVs and electric vehicles highlight L.A. Auto Show"
    assert article.title not in article.text
    assert article.published_at == datetime(2019, 11, 20, tzinfo=UTC)


def test_cross_links_and_social_calls_to_action_are_dropped_from_html() -> None:
    cityam = extract_html(bench_page(CITYAM), url=ground_truth()[CITYAM]["url"])
    assert "Read more:" not in cityam.text
    bbc = extract_html(bench_page(BBC), url=ground_truth()[BBC]["url"])
    assert "Follow Newsbeat on" not in bbc.text


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
