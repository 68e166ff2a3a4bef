"""Request and response bodies: In comes in, Out goes out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Titles and sources are short by nature; these caps only stop abuse.
MAX_TITLE_CHARS = 1000
MAX_URL_CHARS = 2048
# Dates PostgreSQL stores and Python reads back in any session time zone: a day inside
# Python's range, so that e.g. 0001-01-01T00:00+14:00 (year 0 in UTC) is refused up front rather
# than stored as a row that every later read fails on.
EARLIEST_DATE = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST_DATE = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        default=None,
        max_length=MAX_URL_CHARS,
        description="Where the article lives; fetched when no text or html is given.",
    )
    text: str | None = Field(default=None, description="Plain text of the article.")
    html: str | None = Field(default=None, description="The article page's HTML.")
    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    published_at: datetime | None = None
    source: str | None = Field(
        default=None, max_length=200, description="The outlet; defaults to the URL's host."
    )

    @field_validator("url", "text", "html", "title", "source")
    @classmethod
    def storable_string(cls, value: str | None) -> str | None:
        """Refuse what PostgreSQL cannot store, here as a 422 rather than later as a 5xx."""
        if value is None:
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # JSON can escape a lone surrogate ("\ud800"); no UTF-8 text can hold one.
            raise ValueError("not valid Unicode: holds a lone surrogate") from None
        return value

    @field_validator("url", "title", "source")
    @classmethod
    def no_nul(cls, value: str | None) -> str | None:
        # text and html may carry stray NULs (they are dropped on the way in); a NUL in a URL,
        # title or outlet name is malformed input, and PostgreSQL text cannot hold it.
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("published_at")
    @classmethod
    def readable_date(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        try:
            in_utc = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:
            in_utc = None
        if in_utc is None or not EARLIEST_DATE <= in_utc <= LATEST_DATE:
            raise ValueError("out of range: must fall between years 1 and 9999 in UTC")
        return value

    @model_validator(mode="after")
    def needs_something_to_process(self) -> ArticleIn:
        if not (self.url or (self.text and self.text.strip()) or (self.html and self.html.strip())):
            raise ValueError("give at least one of url, text or html (non-empty)")
        return self


class ArticleBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    articles: list[ArticleIn] = Field(min_length=1, max_length=1000)


class AcceptedOut(BaseModel):
    id: int
    status: str


class BatchAcceptedOut(BaseModel):
    articles: list[AcceptedOut]


class ArticleOut(BaseModel):
    id: int
    status: str
    error: str | None
    url: str | None
    title: str | None
    text: str | None
    story_id: int | None
    match: str | None
    similarity: float | None
    matched_article_id: int | None
    evidence: dict[str, Any] | None = Field(
        description="Why the article joined its story or started one, as decided."
    )
    published_at: datetime | None
    language: str | None
    # From the source whose poll found it, and from the page itself.
    source_id: int | None = Field(default=None, description="The source whose poll found it.")
    feed_guid: str | None = Field(default=None, description="The feed item's GUID or Atom id.")
    final_url: str | None = Field(
        default=None, description="Where redirects led, when not to the URL itself."
    )
    canonical_url: str | None = Field(
        default=None,
        description="The page's declared canonical URL, kept only on the same site and never "
        "a home page.",
    )
    author: str | None = None
    site_name: str | None = None
    page_language: str | None = Field(
        default=None, description="The language the page declares (language is detected)."
    )


class StoryMemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str | None
    url: str | None
    similarity: float | None = Field(
        description="The score this article matched with, against matched_article_id."
    )
    match: str | None
    matched_article_id: int | None
    is_canonical: bool
    source_id: int | None = Field(
        default=None, description="The polled source (feed, sitemap) that brought it."
    )
    site_name: str | None = Field(default=None, description="The outlet, as its page says.")


class StoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    canonical_article_id: int | None
    size: int
    created_at: datetime
    articles: list[StoryMemberOut]


class StoryPageOut(BaseModel):
    stories: list[StoryOut]
    next_cursor: str | None


class CompareOut(BaseModel):
    similarity: float
    same_story: bool
    evidence: dict[str, Any]


class ErrorOut(BaseModel):
    detail: str


class ValidationErrorItem(BaseModel):
    """One problem FastAPI found while validating a request (its own error format)."""

    loc: list[str | int]
    msg: str
    type: str


class RequestErrorOut(BaseModel):
    """A 422: a reason from a route ("url refused: ..."), or FastAPI's list of validation
    errors when the body, query or headers do not match their schema."""

    detail: str | list[ValidationErrorItem]


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL_CHARS, description="A feed (RSS, Atom) or a sitemap.")
    kind: Literal["auto", "rss", "atom", "sitemap"] = Field(
        default="auto",
        description="What the URL serves; auto takes what the first poll finds, any other "
        "makes a different document an error on the source.",
    )
    poll_minutes: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Poll at this fixed interval instead of adapting it to how often the "
        "source brings new items (within the service's bounds).",
    )

    @field_validator("url")
    @classmethod
    def no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("not valid Unicode: holds a lone surrogate") from None
        return value


class FetchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    started_at: datetime
    finished_at: datetime | None
    outcome: str = Field(
        description="new_items, no_new_items, not_modified (304), unchanged (same bytes), "
        "failed, deferred (waiting for the host's politeness gate or robots.txt)"
    )
    http_status: int | None
    documents: int = Field(description="Documents fetched: the source, and child sitemaps.")
    items: int = Field(description="Items the documents listed.")
    new_items: int = Field(description="Items that became new articles.")
    detail: str | None = Field(description="Why it failed, or what was wrong and recovered.")


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    kind: str
    document_kind: str | None
    title: str | None
    status: str = Field(description="new (never polled), ok, failing, stopped")
    status_text: str
    next_poll_at: datetime | None
    interval_s: int
    interval_adapts: bool
    polling_now: bool
    last_polled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    last_error: str | None
    created_at: datetime
    stopped_at: datetime | None
    articles: dict[str, int] = Field(description="Articles this source brought, by status.")
    fetches: list[FetchOut] = Field(description="The last polls, newest first.")


class SourcePageOut(BaseModel):
    sources: list[SourceOut]
    next_cursor: str | None
