"""SQLAlchemy 2 typed models. The schema itself is made only by the Alembic migrations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ArticleStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class ContentKind(enum.StrEnum):
    TEXT = "text"
    HTML = "html"


class MatchKind(enum.StrEnum):
    CANONICAL = "canonical"  # the first article of its story
    EXACT = "exact"  # same URL or same cleaned text as a member: joins, not counted as a variant
    NEAR_COPY = "near_copy"  # syndication, re-posts in other chrome
    REWRITE = "rewrite"  # the same report retold


class Story(Base):
    """A cluster: one canonical article and its variants."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    canonical_article_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("articles.id", use_alter=True, name="fk_stories_canonical")
    )
    # Distinct variants: exact re-posts join the story without counting.
    size: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Article(Base):
    """One posted or fetched document, from the moment it is accepted."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=ArticleStatus.QUEUED.value)
    error: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    # What was posted or fetched, kept so that `reindex` never needs to fetch again.
    content: Mapped[str | None] = mapped_column(Text)
    content_kind: Mapped[str | None] = mapped_column(String(8))
    text: Mapped[str | None] = mapped_column(Text)
    text_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str | None] = mapped_column(String(8))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    story_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stories.id"))
    match_kind: Mapped[str | None] = mapped_column(String(16))
    similarity: Mapped[float | None] = mapped_column(Float)
    matched_article_id: Mapped[int | None] = mapped_column(BigInteger)
    # Why the article joined its story or started one, as decided (see dedup.assign).
    match_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    features: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ArticleSignature(Base):
    """The MinHash of an article's story features, with the scheme that made it."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    scheme: Mapped[dict[str, Any]] = mapped_column(JSONB)
    hashvalues: Mapped[bytes] = mapped_column(LargeBinary)


class LshBand(Base):
    """The LSH band index, in PostgreSQL so workers hold no index in memory."""

    __tablename__ = "lsh_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )


class TermDocumentFrequency(Base):
    """Document frequency of each feature term in the stored corpus, for IDF weights."""

    __tablename__ = "term_document_frequencies"

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    document_count: Mapped[int] = mapped_column(Integer, default=0)


class CorpusCounter(Base):
    __tablename__ = "corpus_counters"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class IdempotencyKey(Base):
    """The articles a request with an Idempotency-Key created, for answering its retries."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    article_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SourceLine(Base):
    """How many articles of one source carried a given line: recurring lines are boilerplate."""

    __tablename__ = "source_lines"

    source: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
