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
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    column,
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
    # The sentence encoder's row (float16 bytes; dedup.encoder), None with the encoder off.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where it came from, when a source's poll found it; and what the feed said of it.
    source_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("sources.id", name="fk_articles_source_id", ondelete="SET NULL"),
        index=True,
    )
    feed_guid: Mapped[str | None] = mapped_column(Text)
    # What the fetched page said of itself.
    final_url: Mapped[str | None] = mapped_column(Text)  # after redirects
    canonical_url: Mapped[str | None] = mapped_column(Text, index=True)  # validated
    author: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    page_language: Mapped[str | None] = mapped_column(String(16))  # as declared, not detected
    # A fetch deferred (robots.txt, politeness gate) runs again then; the sweeper waits for it.
    fetch_not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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


class SourceKind(enum.StrEnum):
    """What a user says a source is; AUTO takes what the first poll finds."""

    AUTO = "auto"
    RSS = "rss"
    ATOM = "atom"
    SITEMAP = "sitemap"


class FetchOutcome(enum.StrEnum):
    """One per poll of a source, in its fetch log."""

    NEW_ITEMS = "new_items"  # read, and it listed articles we did not have
    NO_NEW_ITEMS = "no_new_items"  # read, every article already known
    NOT_MODIFIED = "not_modified"  # 304 to a conditional GET
    UNCHANGED = "unchanged"  # the same bytes as last time: not parsed
    FAILED = "failed"  # and why, in detail
    DEFERRED = "deferred"  # waiting for the host's politeness gate or robots.txt


class Source(Base):
    """A feed or sitemap the service polls on a schedule (see service.sources.polling)."""

    __tablename__ = "sources"
    __table_args__ = (
        Index("ix_sources_due", "next_poll_at", postgresql_where=column("stopped_at").is_(None)),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(16), server_default=SourceKind.AUTO.value)
    document_kind: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    pinned_interval_s: Mapped[int | None] = mapped_column(Integer)
    interval_s: Mapped[int] = mapped_column(Integer)
    next_poll_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SourceDocument(Base):
    """A document a source's polls read (its own URL, or a child sitemap of its index), with
    what makes the next read cheap: the server's validators and a hash of the last body."""

    __tablename__ = "source_documents"

    source_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text, primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    listed_lastmod: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetched_lastmod: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SourceFetch(Base):
    """The fetch log: one row per poll of a source, with its outcome."""

    __tablename__ = "source_fetches"
    __table_args__ = (Index("ix_source_fetches_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    documents: Mapped[int] = mapped_column(Integer, server_default="0")
    items: Mapped[int] = mapped_column(Integer, server_default="0")
    new_items: Mapped[int] = mapped_column(Integer, server_default="0")
    detail: Mapped[str | None] = mapped_column(Text)
