"""Extraction: from fetched HTML or posted text to a clean article body.

Domain code: knows nothing of HTTP, the database or Celery.
"""

from service.extraction.article import ExtractedArticle, ExtractionError
from service.extraction.html import PageMetadata, extract_html, page_metadata, warm_up
from service.extraction.language import detect_language, stopwords
from service.extraction.not_article import not_article_reason
from service.extraction.text_cleaning import (
    KnownBoilerplate,
    clean_text,
    line_fingerprint,
    normalise_whitespace,
)

__all__ = [
    "ExtractedArticle",
    "ExtractionError",
    "KnownBoilerplate",
    "PageMetadata",
    "clean_text",
    "detect_language",
    "extract_html",
    "line_fingerprint",
    "normalise_whitespace",
    "not_article_reason",
    "page_metadata",
    "stopwords",
    "warm_up",
]
