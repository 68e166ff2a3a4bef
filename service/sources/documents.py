"""What parsing a feed or sitemap gives: the kind of document, its items, and what was wrong.

One item type serves feeds and sitemaps alike: both name article URLs with a few facts about
them, and the poller treats them the same way (a known URL is skipped, a new one becomes an
article). Fields a format does not carry stay None.
"""

from __future__ import annotations

import enum
import heapq
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


class DocumentKind(enum.StrEnum):
    """The kinds a source URL can serve; stored with the source once detected."""

    RSS = "rss"  # RSS 0.9x and 2.0, and RSS 1.0 (RDF), which feedparser reads the same way
    ATOM = "atom"
    SITEMAP = "sitemap"  # a urlset, with or without Google News entries
    SITEMAP_INDEX = "sitemap index"  # names child sitemaps to fetch, no articles


@dataclass(frozen=True)
class SourceItem:
    """One article a feed or sitemap points at."""

    url: str  # absolute; resolved against the document's URL, not yet normalised
    title: str | None = None
    # Timezone-aware (UTC). Feeds: the item's publication date, else its update date.
    # News sitemaps: news:publication_date; plain sitemaps have none.
    published_at: datetime | None = None
    updated_at: datetime | None = None  # feed item updated / sitemap lastmod
    guid: str | None = None  # RSS guid or Atom id, as written
    author: str | None = None


@dataclass(frozen=True)
class ChildSitemap:
    """A sitemap named by a sitemap index."""

    url: str
    updated_at: datetime | None = None  # lastmod


@dataclass(frozen=True)
class ParsedDocument:
    kind: DocumentKind
    items: tuple[SourceItem, ...] = ()
    child_sitemaps: tuple[ChildSitemap, ...] = ()  # only for a sitemap index
    title: str | None = None  # the feed's own title, when it has one
    # What was wrong and recovered from (malformed XML, items over the cap); empty when clean.
    warnings: tuple[str, ...] = ()


class DocumentError(Exception):
    """A fetched document gave nothing to poll; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotAFeedOrSitemap(DocumentError):
    """The bytes are neither a feed nor a sitemap (an HTML page, JSON, an error message)."""


class DocumentRefused(DocumentError):
    """The document would cost unbounded memory or time to read (entity or gzip bomb, size)."""


class NewestFirst(Generic[T]):
    """Keeps at most ``limit`` of the values added: the newest by date, undated ones after
    dated ones in the order they came; returns them in the order they came.

    Feeds list newest first by custom and sitemaps in any order, so "the first N" would keep
    an archive sitemap's oldest URLs. Memory stays at ``limit`` values however many are added.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._heap: list[tuple[tuple[int, float, int], T]] = []
        self.added = 0

    def add(self, value: T, date: datetime | None) -> None:
        key = (0, 0.0, -self.added) if date is None else (1, date.timestamp(), -self.added)
        self.added += 1
        if self._limit <= 0:
            return
        if len(self._heap) < self._limit:
            heapq.heappush(self._heap, (key, value))
        elif key > self._heap[0][0]:
            heapq.heapreplace(self._heap, (key, value))

    @property
    def dropped(self) -> int:
        return self.added - len(self._heap)

    def values(self) -> tuple[T, ...]:
        return tuple(value for _, value in sorted(self._heap, key=lambda entry: -entry[0][2]))
