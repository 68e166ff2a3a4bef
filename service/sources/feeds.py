"""RSS 0.9x/1.0/2.0 and Atom feeds, read by feedparser from bytes we fetched.

Design notes:
- feedparser gets the fetched bytes wrapped in a file object, never a URL (it would fetch with
  no timeout and no SSRF guard) and never bare bytes (it tries ``open()`` on them as a file
  name first: a body reading "/etc/passwd" would be read from our disk). The document's URL and
  the HTTP charset go in as response headers, so relative links resolve and the charset the
  server declared is weighed as a browser would.
- ``parse_document`` has already refused entity declarations (``safety``) before this runs:
  feedparser's loose parser expands them.
- A malformed feed still gives what feedparser recovered; its "bozo" complaint becomes a warning.
- An item without an http(s) link is skipped (counted in a warning): there is nothing to fetch.
  An RSS guid stands in for a missing link unless it says isPermaLink="false" (RSS 2.0; done by
  feedparser, which also resolves such a guid against the document's URL).
- Published date: the item's publication date, else its update date (Atom entries often carry
  only ``updated``). feedparser gives both in UTC; dates written without a zone are read as UTC.
"""

from __future__ import annotations

import calendar
import io
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from service.sources.documents import DocumentKind, NewestFirst, ParsedDocument, SourceItem

_FETCHABLE_SCHEMES = frozenset({"http", "https"})


def parse_feed(
    data: bytes,
    *,
    kind: DocumentKind,
    max_items: int,
    base_url: str | None = None,
    charset: str | None = None,
    warnings: tuple[str, ...] = (),
) -> ParsedDocument:
    """The items of an RSS/RDF/Atom feed in ``data``: at most ``max_items``, the newest."""
    headers = {"content-type": f"application/xml; charset={charset}" if charset else "text/xml"}
    if base_url:
        headers["content-location"] = base_url
    parsed: Any = feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        # Only titles, links, dates and authors are read; titles are still sanitised.
        resolve_relative_uris=False,
    )
    found = list(warnings)
    if parsed.get("bozo"):
        found.append(f"malformed feed, kept what could be read: {_describe(parsed)}")

    newest: NewestFirst[SourceItem] = NewestFirst(max_items)
    without_link = 0
    for entry in parsed.entries:
        item = _item(entry, base_url)
        if item is None:
            without_link += 1
            continue
        newest.add(item, item.published_at)
    if without_link:
        found.append(f"skipped {without_link} items without an http(s) link")
    if newest.dropped:
        found.append(
            f"kept the newest {max_items} of {newest.added} items (the cap on items per document)"
        )
    title = _text(parsed.feed.get("title"))
    return ParsedDocument(kind=kind, items=newest.values(), title=title, warnings=tuple(found))


def _item(entry: Any, base_url: str | None) -> SourceItem | None:
    guid = _text(entry.get("id"))
    # feedparser already lets an RSS guid stand in for a missing link unless it says
    # isPermaLink="false", as the RSS 2.0 specification reads.
    link = _text(entry.get("link"))
    if link is None:
        return None
    url = urljoin(base_url, link) if base_url else link
    if not _is_fetchable(url):
        return None
    # dict.get, not entry.get: feedparser 6 maps a missing updated_parsed to published_parsed
    # (with a DeprecationWarning), which would invent an update date.
    updated_at = _utc(dict.get(entry, "updated_parsed"))
    return SourceItem(
        url=url,
        title=_text(entry.get("title")),
        published_at=_utc(dict.get(entry, "published_parsed")) or updated_at,
        updated_at=updated_at,
        guid=guid,
        author=_text(entry.get("author")),
    )


def _is_fetchable(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in _FETCHABLE_SCHEMES and bool(parts.netloc)


def _utc(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    # feedparser's struct_time is already UTC; timegm reads it as such (mktime would not).
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    stripped = " ".join(value.split())
    return stripped or None


def _describe(parsed: Any) -> str:
    exception = parsed.get("bozo_exception")
    if exception is None:
        return "unknown error"
    message = str(getattr(exception, "getMessage", lambda: exception)())
    line = getattr(exception, "getLineNumber", lambda: None)()
    return f"{message} (line {line})" if line else message
