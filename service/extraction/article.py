"""What extraction hands to the rest of the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ExtractionError(Exception):
    """The input cannot be read as a document at all (not: "it holds no article")."""


@dataclass(frozen=True)
class ExtractedArticle:
    title: str | None
    # Cleaned body: paragraphs joined by "\n\n", white space normalised, no title line, no
    # boilerplate. Empty when the document holds no article text.
    text: str
    # Midnight UTC of the publication day when only the day is known.
    published_at: datetime | None
    # ISO 639-1 code, None when the text is too short to tell.
    language: str | None
    # line_fingerprint of every distinct non-empty raw line, in order of first appearance, so
    # that the caller can count in how many of a source's articles each line occurs.
    raw_line_fingerprints: tuple[int, ...]
