"""One entry point for any document a source URL serves: detect its kind, then parse it.

The kind comes from the bytes, not from the URL or the Content-Type (servers label feeds as
text/html and sitemaps as octet-stream): gzip is inflated first, under the cap, then the root
element names the kind. Anything else is a NotAFeedOrSitemap saying what it was instead, so a
source pointed at a home page fails with a reason a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.sources.documents import (
    DocumentKind,
    DocumentRefused,
    NotAFeedOrSitemap,
    ParsedDocument,
)
from service.sources.feeds import parse_feed
from service.sources.safety import GZIP_MAGIC, inflate_gzip, read_prolog
from service.sources.sitemaps import parse_sitemap

# Root element (local name, lower-cased) -> kind. RSS 1.0 is RDF with an RSS channel.
_ROOTS = {
    "rss": DocumentKind.RSS,
    "rdf": DocumentKind.RSS,
    "feed": DocumentKind.ATOM,
    "urlset": DocumentKind.SITEMAP,
    "sitemapindex": DocumentKind.SITEMAP_INDEX,
}
_FEEDS = frozenset({DocumentKind.RSS, DocumentKind.ATOM})


@dataclass(frozen=True)
class DocumentLimits:
    """Bounds on one document; the application builds them from its settings.

    The defaults are the settings' defaults; see ``service.settings`` for why.
    """

    max_items: int = 1000
    # feedparser holds the whole document and its parse in memory; sitemaps are streamed.
    max_feed_bytes: int = 5 * 1024 * 1024
    max_sitemap_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class _Opened:
    kind: DocumentKind
    markup: bytes
    warnings: tuple[str, ...]


def detect_kind(data: bytes, *, limits: DocumentLimits | None = None) -> DocumentKind:
    """rss, atom, sitemap or sitemap index; NotAFeedOrSitemap / DocumentRefused otherwise."""
    return _open(data, limits or DocumentLimits()).kind


def parse_document(
    data: bytes,
    *,
    limits: DocumentLimits | None = None,
    base_url: str | None = None,
    charset: str | None = None,
) -> ParsedDocument:
    """Parse a fetched feed or sitemap (plain or gzip) into items or child sitemaps.

    ``base_url`` is the URL the document was fetched from (after redirects): relative links
    resolve against it. ``charset`` is the one the HTTP Content-Type named, if any.
    Raises NotAFeedOrSitemap when the bytes are neither, DocumentRefused when reading them
    would cost unbounded memory (entity declarations, gzip bombs, over the size caps).
    """
    limits = limits or DocumentLimits()
    opened = _open(data, limits)
    if opened.kind in _FEEDS:
        return parse_feed(
            opened.markup,
            kind=opened.kind,
            max_items=limits.max_items,
            base_url=base_url,
            charset=charset,
            warnings=opened.warnings,
        )
    return parse_sitemap(
        opened.markup,
        kind=opened.kind,
        max_items=limits.max_items,
        base_url=base_url,
        warnings=opened.warnings,
    )


def _open(data: bytes, limits: DocumentLimits) -> _Opened:
    most = max(limits.max_feed_bytes, limits.max_sitemap_bytes)
    warnings: tuple[str, ...] = ()
    if data.startswith(GZIP_MAGIC):
        data, warnings = inflate_gzip(data, max_bytes=most)
    elif len(data) > most:
        raise DocumentRefused(f"refused: document exceeds {most} bytes")
    prolog = read_prolog(data)
    local_name = prolog.root_name.rpartition(":")[2].lower()
    kind = _ROOTS.get(local_name)
    if kind is None:
        shown = "an HTML page" if local_name == "html" else f"root element <{prolog.root_name}>"
        raise NotAFeedOrSitemap(f"not a feed or sitemap: {shown}")
    if kind in _FEEDS and len(prolog.markup) > limits.max_feed_bytes:
        raise DocumentRefused(f"refused: feed exceeds {limits.max_feed_bytes} bytes")
    return _Opened(kind, prolog.markup, warnings + prolog.warnings)
