"""Article extraction from HTML the service fetched itself.

trafilatura finds the article body and its metadata; its text then goes through the same
plain-text cleaning as posted text, so learned boilerplate and the shape rules apply to HTML too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

import lxml.html
import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title
from trafilatura.settings import Document, set_date_params

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


def page_title_and_date(tree: HtmlElement, url: str | None) -> tuple[str | None, str | None]:
    """The title and publication day ("YYYY-MM-DD") of a page: the two fields we keep.

    trafilatura's with_metadata=True also looks for authors, categories, tags, site name and
    licence, which we throw away; on the extraction benchmark it cost more than the article
    extraction itself. These are the same calls it makes for title and date (trafilatura is
    pinned, so these module-level functions are stable here).
    """
    metadata = examine_meta(tree)  # <meta> and OpenGraph tags
    # JSON-LD overrides them; trafilatura guards this call the same way (bad JSON-LD).
    with contextlib.suppress(Exception):
        metadata = extract_meta_json(tree, metadata)
    title = metadata.title or extract_title(tree)
    date = find_date(tree, url=metadata.url or url, **set_date_params(True))
    return title, date


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
        page_title, page_date = page_title_and_date(tree, url)
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            # Reader comments are not the article.
            include_comments=False,
            # No second opinion from readability and jusText: 30-50 % less extraction time, and
            # on the extraction benchmark, with our cleaning after it, F1 0.965 against bare
            # trafilatura's 0.960 (bench/extraction_quality.py).
            fast=True,
            # deduplicate=True keeps a per-process cache: results would depend on which worker
            # saw which page first.
            deduplicate=False,
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
        title=title or page_title,
        infer_title=False,
        known_boilerplate=known_boilerplate,
    )
    return to_article(cleaned, published_at=_published_at(page_date))


# --- what a page says of itself, read from its <head> only ---------------------------------

# Metadata is read from the first this many characters only, so it costs a parse of (part of)
# the head, never of a page megabytes long. Measured on the extraction benchmark's 181 pages:
# heads are 19 K characters at the median but up to 1 M (inline scripts); the first 256 K give
# every canonical URL, author, site name and language the whole head gives (64 K misses 9
# canonical URLs), at about 0.9 ms of CPU per page.
MAX_HEAD_CHARS = 256 * 1024
# <meta> names and properties, in order of trust, for each fact. article:author is often a
# profile URL, not a name: URLs are skipped wherever they appear.
_AUTHOR_KEYS = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
_SITE_NAME_KEYS = ("og:site_name", "application-name")
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
# Tags are short ("en", "pt-br", "zh-hant-tw"); more is junk, and the column holds 16.
_MAX_LANGUAGE_CHARS = 16


@dataclass(frozen=True)
class PageMetadata:
    """What a page declares about itself; none of it checked (the caller validates the
    canonical URL: same site, not a home page)."""

    canonical_url: str | None = None  # <link rel=canonical>, else og:url, resolved
    author: str | None = None
    site_name: str | None = None
    language: str | None = None  # <html lang>, else Content-Language, else og:locale
    feed_urls: tuple[str, ...] = ()  # <link rel=alternate> to RSS/Atom feeds, resolved


def page_metadata(html: str, *, url: str | None = None) -> PageMetadata:
    """The few facts a page states in its <head> (``html`` decoded as the fetch step decodes
    it, by the charset the server named); empty when there is no readable head."""
    head = _head(html)
    if head is None:
        return PageMetadata()
    metas: dict[str, str] = {}
    for meta in head.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("http-equiv") or "").strip()
        content = " ".join((meta.get("content") or "").split())
        if key and content:
            metas.setdefault(key.lower(), content)
    canonical = None
    feeds = []
    for link in head.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if not href:
            continue
        if "canonical" in rel and canonical is None:
            canonical = href
        kind = (link.get("type") or "").strip().lower()
        if "alternate" in rel and kind in _FEED_TYPES:
            feeds.append(urljoin(url, href) if url else href)
    canonical = canonical or metas.get("og:url")
    root = head.getroottree().getroot()
    language = root.get("lang") or metas.get("content-language") or metas.get("og:locale")
    return PageMetadata(
        canonical_url=urljoin(url, canonical) if canonical and url else canonical,
        author=_first_name(metas, _AUTHOR_KEYS),
        site_name=_first_name(metas, _SITE_NAME_KEYS),
        language=_language_tag(language),
        feed_urls=tuple(dict.fromkeys(feeds)),
    )


def _head(html: str) -> HtmlElement | None:
    data = html[:MAX_HEAD_CHARS]
    end = data.lower().find("</head>")
    if end >= 0:
        data = data[:end] + "</head></html>"
    if data.lstrip().startswith("<?xml"):  # lxml refuses a declaration in a decoded string
        data = data.split("?>", 1)[-1]
    try:
        root = lxml.html.document_fromstring(data)
    except (etree.LxmlError, ValueError):
        return None
    return root.find("head")


def _first_name(metas: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = metas.get(key)
        if value and not value.lower().startswith(("http://", "https://")):
            return value[:200]
    return None


def _language_tag(value: str | None) -> str | None:
    """ "fr_FR" -> "fr-fr": BCP 47's spelling, lower-cased; None for anything else."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower().split(",")[0].strip()
    if not tag or len(tag) > _MAX_LANGUAGE_CHARS:
        return None
    if not all(part.isalnum() and part.isascii() for part in tag.split("-")):
        return None
    return tag


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
