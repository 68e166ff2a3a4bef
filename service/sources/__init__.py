"""Sources: feeds and sitemaps polled on a schedule. This package holds the pure parts (parsing,
URL hygiene, schedule arithmetic); fetching, robots.txt and politeness live in ``fetching``."""

from service.sources.documents import (
    ChildSitemap,
    DocumentError,
    DocumentKind,
    DocumentRefused,
    NotAFeedOrSitemap,
    ParsedDocument,
    SourceItem,
)
from service.sources.parsing import DocumentLimits, detect_kind, parse_document

__all__ = [
    "ChildSitemap",
    "DocumentError",
    "DocumentKind",
    "DocumentLimits",
    "DocumentRefused",
    "NotAFeedOrSitemap",
    "ParsedDocument",
    "SourceItem",
    "detect_kind",
    "parse_document",
]
