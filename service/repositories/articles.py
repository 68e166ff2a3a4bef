"""SQL on articles: accepting them, their life cycle (queued -> processing -> done | failed),
and the requests that created them (idempotency keys)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from service.models import Article, ArticleStatus

FINAL_STATUSES = (ArticleStatus.DONE.value, ArticleStatus.FAILED.value)
# An error message is for people: a kilobyte says what went wrong without storing a stack.
MAX_ERROR_CHARS = 1000


# --- accepting ------------------------------------------------------------------------------


def insert_articles(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert queued articles in one statement; their ids in the order of `rows`."""
    if not rows:
        return []
    ids = session.scalars(
        insert(Article).returning(Article.id, sort_by_parameter_order=True), list(rows)
    ).all()
    return [int(i) for i in ids]


def statuses(session: Session, article_ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(
        text("SELECT id, status FROM articles WHERE id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": list(article_ids)},
    ).all()
    return {int(r[0]): str(r[1]) for r in rows}


def count_pending(session: Session) -> int:
    """Articles accepted but not final (served by the partial index on pending articles)."""
    return int(
        session.execute(
            text("SELECT count(*) FROM articles WHERE status IN ('queued', 'processing')")
        ).scalar_one()
    )


@dataclass(frozen=True)
class Backlog:
    """Articles accepted but not final."""

    by_status: dict[str, int]  # queued, processing
    oldest_age_s: float  # how long the oldest of them has waited since accepted; 0 if none


def pending_by_status(session: Session) -> Backlog:
    rows = session.execute(
        text(
            "SELECT status, count(*), EXTRACT(EPOCH FROM now() - min(created_at)) "
            "FROM articles WHERE status IN ('queued', 'processing') GROUP BY status"
        )
    ).all()
    return Backlog(
        {str(r[0]): int(r[1]) for r in rows}, max((float(r[2]) for r in rows), default=0.0)
    )


def find_request(session: Session, key: str) -> tuple[bytes, list[int]] | None:
    """(hash of the request body, article ids) a request with this Idempotency-Key created."""
    row = session.execute(
        text("SELECT request_hash, article_ids FROM idempotency_keys WHERE key = :key"),
        {"key": key},
    ).first()
    return (bytes(row[0]), [int(i) for i in row[1]]) if row else None


def remember_request(
    session: Session, key: str, body_hash: bytes, article_ids: Sequence[int]
) -> None:
    session.execute(
        text(
            "INSERT INTO idempotency_keys (key, request_hash, article_ids) "
            "VALUES (:key, :hash, :ids)"
        ),
        {"key": key, "hash": body_hash, "ids": list(article_ids)},
    )


# --- fetching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchClaim:
    status: str
    url: str | None
    has_content: bool
    attempts: int = 0  # this claim's attempt included


def defer_fetch(
    session: Session, article_id: int, *, seconds: float, count_attempt: bool = False
) -> None:
    """The claimed fetch did not run: robots.txt or the host's gate said "not now". Back to
    queued and due again in ``seconds`` (its message is re-queued with that countdown); the
    sweeper waits for it. Waiting for the host's turn is no failed attempt; a host whose
    robots.txt cannot be read is (``count_attempt``), so that such waits end."""
    session.execute(
        text(
            "UPDATE articles SET status = 'queued', "
            "attempts = CASE WHEN :counted THEN attempts ELSE greatest(attempts - 1, 0) END, "
            "fetch_not_before = now() + make_interval(secs => :seconds), updated_at = now() "
            "WHERE id = :id AND status IN ('queued', 'processing') AND content IS NULL"
        ),
        {"id": article_id, "seconds": seconds, "counted": count_attempt},
    )


def known_urls(session: Session, urls: Sequence[str]) -> set[str]:
    """Which of ``urls`` an article already has, as its URL or its page's canonical URL: one
    query for a whole feed (served by ix_articles_url and ix_articles_canonical_url)."""
    if not urls:
        return set()
    rows = session.execute(
        text(
            "SELECT url FROM articles WHERE url = ANY(CAST(:urls AS text[])) "
            "UNION SELECT canonical_url FROM articles "
            "WHERE canonical_url = ANY(CAST(:urls AS text[]))"
        ),
        {"urls": sorted(set(urls))},
    ).all()
    return {str(r[0]) for r in rows}


def claim_for_fetch(session: Session, article_id: int) -> FetchClaim | None:
    """Read the article and, if it still needs its page, mark it processing and count the
    attempt (the caller commits before fetching). None if there is no such article."""
    row = session.execute(
        text(
            "WITH claimed AS ("
            "  UPDATE articles SET status = 'processing', attempts = attempts + 1, "
            "  updated_at = now() "
            "  WHERE id = :id AND status IN ('queued', 'processing') AND content IS NULL "
            "  AND url IS NOT NULL RETURNING attempts"
            ") "
            # The read sees the row as it was before the CTE's update: the count comes from it.
            "SELECT status, url, content IS NOT NULL, "
            "coalesce((SELECT attempts FROM claimed), attempts) FROM articles WHERE id = :id"
        ),
        {"id": article_id},
    ).first()
    return FetchClaim(str(row[0]), row[1], bool(row[2]), int(row[3])) if row else None


@dataclass(frozen=True)
class PageFacts:
    """What a fetched page says of itself, stored beside its content."""

    final_url: str | None = None  # after redirects
    canonical_url: str | None = None  # declared and accepted (same site, not a home page)
    author: str | None = None
    site_name: str | None = None
    language: str | None = None  # as the page declares it


def store_fetched_content(
    session: Session,
    article_id: int,
    *,
    content: str,
    kind: str,
    facts: PageFacts | None = None,
) -> None:
    facts = facts or PageFacts()
    session.execute(
        text(
            "UPDATE articles SET content = :content, content_kind = :kind, "
            "final_url = :final_url, canonical_url = :canonical_url, "
            "author = coalesce(:author, author), site_name = :site_name, "
            "page_language = :language, fetch_not_before = NULL, "
            "updated_at = now() WHERE id = :id AND content IS NULL"
        ),
        {
            "content": content,
            "kind": kind,
            "id": article_id,
            "final_url": facts.final_url,
            "canonical_url": facts.canonical_url,
            "author": facts.author,
            "site_name": facts.site_name,
            "language": facts.language,
        },
    )


def mark_failed(session: Session, article_id: int, reason: str) -> None:
    """Record why an article failed; a done article stays done."""
    session.execute(
        text(
            "UPDATE articles SET status = 'failed', error = :reason, updated_at = now(), "
            "processed_at = now() WHERE id = :id AND status <> 'done'"
        ),
        {"id": article_id, "reason": reason[:MAX_ERROR_CHARS]},
    )


# --- processing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleContent:
    """What the process step reads of an article: its content and what was posted with it."""

    url: str | None
    source: str | None
    title: str | None
    content: str
    content_kind: str | None
    published_at: datetime | None


@dataclass(frozen=True)
class NotClaimed:
    """Why an article was not claimed for processing: already final, or not fetched yet."""

    status: str | None
    reason: str


def claim_for_processing(session: Session, article_id: int) -> ArticleContent | NotClaimed:
    """Read the article's content and, if it was queued, mark it processing and count the
    attempt (committed by the caller before the work starts, so a worker that dies on it leaves
    a count behind). One statement: PostgreSQL runs the CTE's update even though the query does
    not read it, and the read sees the row as it was before."""
    row = session.execute(
        text(
            "WITH claimed AS ("
            "  UPDATE articles SET status = 'processing', attempts = attempts + 1, "
            "  updated_at = now() "
            "  WHERE id = :id AND status = 'queued' AND content IS NOT NULL RETURNING id"
            ") "
            "SELECT status, url, source, title, content, content_kind, published_at "
            "FROM articles WHERE id = :id"
        ),
        {"id": article_id},
    ).first()
    if row is None:
        return NotClaimed(None, "no such article")
    if row[0] in FINAL_STATUSES:
        return NotClaimed(str(row[0]), "already final")
    if row[4] is None:
        return NotClaimed(str(row[0]), "content not fetched yet")
    return ArticleContent(
        url=row[1],
        source=row[2],
        title=row[3],
        content=row[4],
        content_kind=row[5],
        published_at=row[6],
    )


def lock_status(session: Session, article_id: int) -> str | None:
    """The article's status, with its row locked until the transaction ends: a second delivery
    of the same message waits here, then sees the first one's result."""
    status = session.execute(
        text("SELECT status FROM articles WHERE id = :id FOR UPDATE"), {"id": article_id}
    ).scalar()
    return None if status is None else str(status)


def find_exact_member(
    session: Session, *, article_id: int, text_hash: bytes, url: str | None
) -> tuple[int, int, bool] | None:
    """(article_id, story_id, whether the text is the same) of a stored article with the same
    cleaned text or the same URL."""
    row = session.execute(
        text(
            "SELECT id, story_id, text_hash = :hash FROM articles "
            "WHERE id <> :id AND story_id IS NOT NULL AND status = 'done' "
            "AND (text_hash = :hash OR (CAST(:url AS text) IS NOT NULL AND url = :url)) "
            "ORDER BY id LIMIT 1"
        ),
        {"id": article_id, "hash": text_hash, "url": url},
    ).first()
    return (int(row[0]), int(row[1]), bool(row[2])) if row else None


def has_done_twin(session: Session, *, text_hash: bytes, url: str | None) -> bool:
    """Whether a processed article has this cleaned text or URL (no lock: a hint to skip work
    that find_exact_member, under the locks, confirms)."""
    return (
        session.execute(
            text(
                "SELECT 1 FROM articles WHERE status = 'done' AND story_id IS NOT NULL "
                "AND (text_hash = :hash OR (CAST(:url AS text) IS NOT NULL AND url = :url)) "
                "LIMIT 1"
            ),
            {"hash": text_hash, "url": url},
        ).first()
        is not None
    )


def cleaned_text(session: Session, article_id: int) -> str | None:
    value = session.execute(
        text("SELECT text FROM articles WHERE id = :id"), {"id": article_id}
    ).scalar()
    return None if value is None else str(value)


@dataclass(frozen=True)
class StoredArticle:
    """What processing made of an article, as stored with its story."""

    title: str | None
    text: str
    text_hash: bytes
    language: str | None
    published_at: datetime | None
    features: str  # JSON
    embedding: bytes | None  # the encoder's row, float16
    story_id: int
    match_kind: str
    matched_article_id: int | None
    similarity: float | None
    evidence: str  # JSON


def store_processed(session: Session, article_id: int, stored: StoredArticle) -> None:
    """One UPDATE: the cleaned article, its story, and `done`. Before stories.join_story,
    whose canonical choice reads this article's published_at."""
    session.execute(
        text(
            "UPDATE articles SET title = :title, text = :text, text_hash = :hash, "
            "language = :language, published_at = :published_at, "
            "features = CAST(:features AS jsonb), embedding = :embedding, "
            "story_id = :story, match_kind = :kind, "
            "matched_article_id = :matched, similarity = :similarity, "
            "match_evidence = CAST(:evidence AS jsonb), status = 'done', "
            "error = NULL, processed_at = now(), updated_at = now() WHERE id = :id"
        ),
        {
            "title": stored.title,
            "text": stored.text,
            "hash": stored.text_hash,
            "language": stored.language,
            "published_at": stored.published_at,
            "features": stored.features,
            "embedding": stored.embedding,
            "story": stored.story_id,
            "kind": stored.match_kind,
            "matched": stored.matched_article_id,
            "similarity": stored.similarity,
            "evidence": stored.evidence,
            "id": article_id,
        },
    )


# --- the sweeper and reindex ----------------------------------------------------------------


def give_up_on_stuck(session: Session, *, older_than_s: int, max_attempts: int) -> int:
    """Fail articles that keep dying without a recorded reason (a worker killed on them every
    time), saying so, rather than re-sending them forever."""
    result = session.execute(
        text(
            "UPDATE articles SET status = 'failed', updated_at = now(), processed_at = now(), "
            "error = 'gave up after ' || attempts || ' attempts: processing never finished' "
            "WHERE status IN ('queued', 'processing') AND attempts >= :max_attempts "
            "AND updated_at < now() - make_interval(secs => :age)"
        ),
        {"age": older_than_s, "max_attempts": max_attempts},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim_stale(session: Session, *, older_than_s: int, limit: int) -> list[tuple[int, bool]]:
    """(id, needs fetch) of articles pending for too long, touched so that concurrent sweepers
    don't both re-send them."""
    rows = session.execute(
        text(
            "UPDATE articles SET updated_at = now() WHERE id IN ("
            "  SELECT id FROM articles WHERE status IN ('queued', 'processing') "
            "  AND updated_at < now() - make_interval(secs => :age) "
            # A deferred fetch is stale only once its countdown has passed by as much.
            "  AND (fetch_not_before IS NULL "
            "    OR fetch_not_before < now() - make_interval(secs => :age)) "
            "  ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
            ") RETURNING id, content IS NULL"
        ),
        {"age": older_than_s, "limit": limit},
    ).all()
    return [(int(r[0]), bool(r[1])) for r in rows]


def requeue_all_for_reindex(session: Session) -> list[int]:
    """Detach every processed article from its story and queue it again; ids in arrival order."""
    ids = session.execute(
        text(
            "UPDATE articles SET story_id = NULL, match_kind = NULL, similarity = NULL, "
            "matched_article_id = NULL, match_evidence = NULL, features = NULL, embedding = NULL, "
            "status = 'queued', error = NULL, updated_at = now() "
            "WHERE content IS NOT NULL AND status IN ('done', 'failed') RETURNING id"
        )
    ).scalars()
    return sorted(int(i) for i in ids)


# --- the read side --------------------------------------------------------------------------


def get_article(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


# SQL for an article's outlet: the source it was posted with, else its URL's host without "www."
# (userinfo skipped). Seed-like posts of bare text have neither: NULL, an unknown outlet. The
# colons of the non-capturing groups are escaped ("\\:") so that text() does not take them for
# bind parameters.
OUTLET_SQL = (
    "coalesce(nullif(btrim(a.source), ''), substring(a.url from "
    "'^[A-Za-z][A-Za-z0-9+.-]*://(?\\:[^/?#@]*@)?(?\\:www\\.)?([^/:?#]+)'))"
)
_SUMMARY_COLUMNS = (
    f"a.id, a.title, a.url, {OUTLET_SQL}, a.language, a.published_at, a.created_at, "
    "a.story_id, a.match_kind, a.similarity, a.matched_article_id, a.match_evidence"
)


@dataclass(frozen=True)
class ArticleSummary:
    """An article as a story lists it: where it came from, when, and how it matched."""

    id: int
    title: str | None
    url: str | None
    outlet: str | None
    language: str | None
    published_at: datetime | None
    received_at: datetime
    story_id: int | None
    match_kind: str | None
    # The score it matched with, against matched_article_id (None for a story's first article).
    similarity: float | None
    matched_article_id: int | None
    # Why it joined its story or started one, as decided (service.dedup.assign).
    evidence: dict[str, Any] | None

    @property
    def date(self) -> datetime:
        """When it appeared: its publication date where known, else when it was received."""
        return self.published_at or self.received_at


@dataclass(frozen=True)
class ArticleDetail(ArticleSummary):
    status: str
    error: str | None
    text: str | None
    processed_at: datetime | None


def story_articles(session: Session, story_id: int) -> list[ArticleSummary]:
    """A story's members in arrival order, without their texts."""
    rows = session.execute(
        text(f"SELECT {_SUMMARY_COLUMNS} FROM articles a WHERE a.story_id = :story ORDER BY a.id"),
        {"story": story_id},
    ).all()
    return [ArticleSummary(*row) for row in rows]


def article_detail(session: Session, article_id: int) -> ArticleDetail | None:
    row = session.execute(
        text(
            f"SELECT {_SUMMARY_COLUMNS}, a.status, a.error, a.text, a.processed_at "
            "FROM articles a WHERE a.id = :id"
        ),
        {"id": article_id},
    ).first()
    return ArticleDetail(*row) if row else None
