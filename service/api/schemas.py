"""Request and response bodies: In comes in, Out goes out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Titles and sources are short by nature; these caps only stop abuse.
MAX_TITLE_CHARS = 1000
MAX_URL_CHARS = 2048


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
    published_at: datetime | None
    language: str | None


class StoryMemberOut(BaseModel):
    id: int
    title: str | None
    url: str | None
    similarity: float | None
    match: str | None


class StoryOut(BaseModel):
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
