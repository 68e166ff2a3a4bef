"""Sitemaps (urlset, with Google News entries or without) and sitemap indexes, read by lxml.

Design notes:
- The parser resolves no entities, loads no DTD, reaches no network and keeps libxml2's limits
  on (``huge_tree=False``); ``safety.read_prolog`` has already refused entity declarations, so
  this is the second wall, not the only one.
- ``iterparse`` reads the document as a stream and each ``<url>`` is dropped once read, so
  memory follows the cap on items, not the document's size (the protocol allows 50,000 URLs
  and 50 MB per sitemap).
- ``recover=True``: a sitemap with a broken tag or a stray ``&`` still gives the URLs around
  it; what libxml2 complained about becomes a warning.
- Elements are matched by local name: sitemaps in the wild use the sitemaps.org namespace, the
  older Google one, or none, and News entries under a misspelt namespace are still news.
- Dates are W3C datetimes (a date, or a date and time with a zone); a date or a time without a
  zone is read as UTC. An unreadable date is left out and counted in a warning.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from lxml import etree

from service.sources.documents import (
    ChildSitemap,
    DocumentKind,
    NewestFirst,
    ParsedDocument,
    SourceItem,
)

_FETCHABLE_SCHEMES = frozenset({"http", "https"})
# The W3C datetime forms fromisoformat does not read: a year, or a year and month.
_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
# libxml2 can report one error per broken byte; a few name the problem well enough.
_MAX_ERROR_WARNINGS = 3


def parse_sitemap(
    data: bytes,
    *,
    kind: DocumentKind,
    max_items: int,
    base_url: str | None = None,
    warnings: tuple[str, ...] = (),
) -> ParsedDocument:
    """The article URLs of a urlset, or the child sitemaps of an index: the newest
    ``max_items``."""
    entry_name = "sitemap" if kind is DocumentKind.SITEMAP_INDEX else "url"
    items: NewestFirst[SourceItem] = NewestFirst(max_items)
    children: NewestFirst[ChildSitemap] = NewestFirst(max_items)
    found = list(warnings)
    bad_dates = 0
    not_fetchable = 0

    events = etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for _, element in events:
            if not isinstance(element.tag, str) or etree.QName(element).localname != entry_name:
                continue
            fields = _fields(element)
            _forget(element)
            url = _fetchable_url(fields.get("loc"), base_url)
            if url is None:
                not_fetchable += 1
                continue
            dates: dict[str, datetime | None] = {}
            for name in ("lastmod", "publication_date"):
                value = fields.get(name)
                dates[name] = _w3c_datetime(value) if value else None
                if value and dates[name] is None:
                    bad_dates += 1
            if kind is DocumentKind.SITEMAP_INDEX:
                children.add(ChildSitemap(url, dates["lastmod"]), dates["lastmod"])
            else:
                published_at = dates["publication_date"]
                item = SourceItem(
                    url=url,
                    title=fields.get("title"),
                    published_at=published_at,
                    updated_at=dates["lastmod"],
                )
                items.add(item, published_at or dates["lastmod"])
    except etree.XMLSyntaxError as exc:  # what recovery could not get past
        found.append(f"malformed sitemap, stopped reading: {exc}")

    errors = [f"{error.message.strip()} (line {error.line})" for error in events.error_log]
    if errors:
        shown = "; ".join(errors[:_MAX_ERROR_WARNINGS])
        hidden = len(errors) - _MAX_ERROR_WARNINGS
        more = f" and {hidden} more" if hidden > 0 else ""
        found.append(f"malformed sitemap, kept what could be read: {shown}{more}")
    if not_fetchable:
        found.append(f"skipped {not_fetchable} entries without an http(s) <loc>")
    if bad_dates:
        found.append(f"ignored {bad_dates} unreadable dates")
    kept = children if kind is DocumentKind.SITEMAP_INDEX else items
    if kept.dropped:
        found.append(
            f"kept the newest {max_items} of {kept.added} entries (the cap on items per document)"
        )
    return ParsedDocument(
        kind=kind,
        items=items.values(),
        child_sitemaps=children.values(),
        warnings=tuple(found),
    )


def _fields(entry: etree._Element) -> dict[str, str]:
    """Text of the entry's descendants by local name: loc, lastmod, and news:news' title and
    publication_date (news:publication's name is skipped; its ``name`` is the outlet)."""
    fields: dict[str, str] = {}
    for child in entry.iter():
        if child is entry or not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name in ("loc", "lastmod", "title", "publication_date") and name not in fields:
            text = " ".join("".join(child.itertext()).split())
            if text:
                fields[name] = text
    return fields


def _forget(element: etree._Element) -> None:
    """Drop a read entry and the ones before it, so the tree never grows with the document."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _fetchable_url(loc: str | None, base_url: str | None) -> str | None:
    if not loc:
        return None
    url = urljoin(base_url, loc) if base_url else loc
    parts = urlsplit(url)
    if parts.scheme.lower() not in _FETCHABLE_SCHEMES or not parts.netloc:
        return None
    return url


def _w3c_datetime(value: str) -> datetime | None:
    """A W3C datetime (the sitemap protocol's date format) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        match = _YEAR_MONTH.match(value)
        if match is None:
            return None
        year, month = int(match[1]), int(match[2] or 1)
        if not 1 <= month <= 12:
            return None
        parsed = datetime(year, month, 1)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
