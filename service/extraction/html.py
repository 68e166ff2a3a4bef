"""Article extraction from HTML the service fetched itself.

trafilatura finds the article body and its metadata; its text then goes through the same
plain-text cleaning as posted text, so learned boilerplate and the shape rules apply to HTML too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import trafilatura
from lxml import etree
from trafilatura.settings import Document

from service.extraction.article import ExtractedArticle, ExtractionError
from service.extraction.text_cleaning import (
    CleanedText,
    KnownBoilerplate,
    clean_paragraphs,
    to_article,
)

# trafilatura's own default ceiling (MAX_FILE_SIZE); checked here so that an oversized page
# raises a clear error instead of coming back as "no article".
MAX_HTML_BYTES = 20_000_000


def _published_at(date: str | None) -> datetime | None:
    """trafilatura reports the publication day as "YYYY-MM-DD"; we store midnight UTC."""
    if not date:
        return None
    try:
        day = datetime.fromisoformat(date)
    except ValueError:
        return None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def extract_html(
    html: str | bytes,
    *,
    url: str | None = None,
    title: str | None = None,
    known_boilerplate: KnownBoilerplate = frozenset(),
) -> ExtractedArticle:
    """Extract and clean the article of an HTML page.

    title overrides the page's own title. Returns text "" when the page parses but holds no
    article body. Raises ExtractionError when the input is too large or not HTML at all.
    """
    # A str is measured in characters; its UTF-8 encoding has at least as many bytes.
    if len(html) > MAX_HTML_BYTES:
        raise ExtractionError(f"HTML document larger than {MAX_HTML_BYTES} bytes")
    try:
        tree = trafilatura.load_html(html)
    except (etree.LxmlError, ValueError) as error:
        raise ExtractionError(f"HTML could not be parsed: {error}") from error
    if tree is None:
        raise ExtractionError("input is empty or not HTML")

    try:
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            # Reader comments are not the article.
            include_comments=False,
            # Fewer stray navigation and teaser blocks: F1 0.964 instead of 0.960 on the
            # extraction benchmark (bench/extraction_quality.py).
            favor_precision=True,
            # deduplicate=True keeps a per-process cache: results would depend on which worker
            # saw which page first.
            deduplicate=False,
            with_metadata=True,
        )
    except (etree.LxmlError, ValueError, RecursionError) as error:
        raise ExtractionError(f"HTML could not be processed: {error}") from error

    if not isinstance(document, Document):
        # Parsed, but trafilatura found no article body (or the tree was cut short by the
        # parser's limits on nesting depth and attribute size).
        return to_article(
            CleanedText(title=title, paragraphs=(), published_at=None, raw_line_fingerprints=())
        )

    cleaned = clean_paragraphs(
        document.text or "",
        title=title or document.title,
        infer_title=False,
        known_boilerplate=known_boilerplate,
    )
    return to_article(cleaned, published_at=_published_at(document.date))


# A small page that goes through every step of extract_html, metadata included.
_WARM_UP_PAGE = (
    "<html><head><title>Warm-up</title>"
    '<meta property="article:published_time" content="2020-01-01"></head>'
    "<body><article><h1>Warm-up</h1><p>"
    + "A paragraph for the extractor to find, long enough to count as an article body. " * 5
    + "</p><p>Another paragraph.</p></article></body></html>"
)


def warm_up() -> None:
    """Pay trafilatura's lazy initialisation once, up front.

    The first extraction in a process costs ~0.4 s more than the next (parsers, date patterns
    and stoplists load on first use). A worker calls this before it forks its pool, so every
    child starts warm.
    """
    extract_html(_WARM_UP_PAGE, url="http://warm-up.invalid/")
