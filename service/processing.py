"""The two steps a worker runs for an article: fetch (for URLs), then process.

Each step takes an article id and a session factory, is idempotent (a redelivered message finds
the article already done and does nothing) and records every failure on the article with its
reason: nothing is dropped silently. Every outcome is logged here and counted from PostgreSQL
at /metrics (stories.queries.outcome_counts).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.dedup import repository as dedup_repository
from service.dedup.assign import MatchSettings, ProcessedArticle, assign_story
from service.dedup.features import extract_features
from service.extraction import (
    ExtractedArticle,
    ExtractionError,
    KnownBoilerplate,
    clean_text,
    detect_language,
    extract_html,
    not_article_reason,
    stopwords,
)
from service.fetching import FetchError, FetchPolicy, fetch_page
from service.models import Article, ArticleStatus, ContentKind, MatchKind
from service.settings import Settings

log = logging.getLogger(__name__)

# A line seen in this many earlier articles of the same source is boilerplate for it: two
# earlier sightings, because a single shared paragraph between two articles of one outlet is as
# often a quoted statement as a template.
BOILERPLATE_MIN_ARTICLES = 2

# A worker that dies on the same article this many times (each attempt counted when it starts)
# is not going to get through it: five covers a crash, a redeploy and a database restart.
MAX_ATTEMPTS = 5


SessionFactory = Callable[[], Session]


class StepOutcome:
    READY = "ready"  # content is stored; the process step can run
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # already final: a redelivered message


@dataclass(frozen=True)
class StepResult:
    outcome: str
    detail: str | None = None


def match_settings(settings: Settings) -> MatchSettings:
    return MatchSettings(
        num_perm=settings.minhash_num_perm,
        bands=settings.lsh_bands,
        max_candidates=settings.max_candidates,
        band_read_limit=settings.lsh_band_read_limit,
        same_story_threshold=settings.same_story_threshold,
        near_copy_jaccard=settings.near_copy_jaccard,
    )


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        allow_loopback=settings.fetch_allow_loopback,
        connect_timeout_s=settings.fetch_connect_timeout_s,
        read_timeout_s=settings.fetch_read_timeout_s,
        total_timeout_s=settings.fetch_total_timeout_s,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        user_agent=settings.fetch_user_agent,
    )


def mark_failed(session: Session, article_id: int, reason: str) -> None:
    session.execute(
        text(
            "UPDATE articles SET status = 'failed', error = :reason, updated_at = now(), "
            "processed_at = now() WHERE id = :id AND status <> 'done'"
        ),
        {"id": article_id, "reason": reason[:1000]},
    )
    log.info("article %s failed: %s", article_id, reason)


def fetch_article(
    article_id: int, *, session_factory: SessionFactory, policy: FetchPolicy
) -> StepResult:
    with session_factory() as session:
        article = session.get(Article, article_id)
        if article is None or article.status in (ArticleStatus.DONE, ArticleStatus.FAILED):
            return StepResult(StepOutcome.SKIPPED)
        if article.content is not None:
            return StepResult(StepOutcome.READY)
        if not article.url:
            mark_failed(session, article_id, "nothing to process: no url, text or html")
            session.commit()
            return StepResult(StepOutcome.FAILED)
        url = article.url
        article.status = ArticleStatus.PROCESSING.value
        article.attempts += 1
        article.updated_at = datetime.now(UTC)
        session.commit()

    # The network call runs outside any transaction: a slow server must not hold a connection.
    try:
        page = fetch_page(url, policy=policy)
    except FetchError as error:
        with session_factory() as session:
            mark_failed(session, article_id, f"fetch failed: {error.reason}")
            session.commit()
        return StepResult(StepOutcome.FAILED, error.reason)

    body = page.body.decode(page.charset or "utf-8", errors="replace").replace("\x00", "")
    kind = ContentKind.TEXT if page.content_type == "text/plain" else ContentKind.HTML
    with session_factory() as session:
        session.execute(
            text(
                "UPDATE articles SET content = :content, content_kind = :kind, "
                "updated_at = now() WHERE id = :id AND content IS NULL"
            ),
            {"content": body, "kind": kind.value, "id": article_id},
        )
        session.commit()
    return StepResult(StepOutcome.READY)


@dataclass(frozen=True)
class ArticleContent:
    """What the process step reads of an article: its content and what was posted with it."""

    url: str | None
    source: str | None
    title: str | None
    content: str
    content_kind: str | None
    published_at: datetime | None


def source_key(article: ArticleContent) -> str | None:
    """The outlet an article belongs to, for learning its boilerplate: given, else the URL host."""
    if article.source:
        return article.source.strip().casefold() or None
    if article.url:
        host = urlsplit(article.url).hostname
        return host.removeprefix("www.") if host else None
    return None


def _extract(article: ArticleContent, known: KnownBoilerplate) -> ExtractedArticle:
    if article.content_kind == ContentKind.HTML.value:
        return extract_html(
            article.content, url=article.url, title=article.title, known_boilerplate=known
        )
    return clean_text(article.content, title=article.title, known_boilerplate=known)


def claim_for_processing(session: Session, article_id: int) -> ArticleContent | StepResult:
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
    if row is None or row[0] in (ArticleStatus.DONE.value, ArticleStatus.FAILED.value):
        return StepResult(StepOutcome.SKIPPED)
    if row[4] is None:
        return StepResult(StepOutcome.SKIPPED, "content not fetched yet")
    return ArticleContent(
        url=row[1],
        source=row[2],
        title=row[3],
        content=row[4],
        content_kind=row[5],
        published_at=row[6],
    )


def text_hash(cleaned_text: str) -> bytes:
    normalised = " ".join(cleaned_text.casefold().split())
    return hashlib.sha256(normalised.encode("utf-8")).digest()


def process_article(
    article_id: int, *, session_factory: SessionFactory, settings: Settings
) -> StepResult:
    with session_factory() as session:
        article = claim_for_processing(session, article_id)
        if isinstance(article, StepResult):
            return article
        session.commit()

        source = source_key(article)

        def learned_boilerplate(fingerprints: tuple[int, ...]) -> set[int]:
            """Lines of this article seen in earlier articles of the same source."""
            if not source or not fingerprints:
                return set()
            return dedup_repository.known_boilerplate(
                session,
                source=source,
                fingerprints=fingerprints,
                min_articles=BOILERPLATE_MIN_ARTICLES,
            )

        try:
            extracted = _extract(article, learned_boilerplate)
        except Exception as error:  # hostile HTML must end as a reason, not a crash loop
            if isinstance(error, ExtractionError):
                log.warning("article %s: extraction failed: %s", article_id, error)
            else:
                log.exception("extraction failed for article %s", article_id)
            # ExtractionError says what is wrong with the input ("input is empty or not HTML");
            # anything else is our bug, named by its type only.
            detail = str(error) if isinstance(error, ExtractionError) else type(error).__name__
            mark_failed(session, article_id, f"extraction failed: {detail}")
            session.commit()
            return StepResult(StepOutcome.FAILED)

        reason = None
        if not extracted.text.strip():
            reason = "no article text found"
        else:
            reason = not_article_reason(extracted.title, extracted.text)
        if reason:
            mark_failed(session, article_id, reason)
            session.commit()
            return StepResult(StepOutcome.FAILED, reason)

        # A redelivered message may run while the first delivery is still working: the row lock
        # makes the second wait, then see the article done and stop.
        status_now = session.execute(
            text("SELECT status FROM articles WHERE id = :id FOR UPDATE"), {"id": article_id}
        ).scalar()
        if status_now in (ArticleStatus.DONE.value, ArticleStatus.FAILED.value):
            session.rollback()
            return StepResult(StepOutcome.SKIPPED)

        language = extracted.language or detect_language(extracted.text)
        features = extract_features(
            extracted.title, extracted.text, stopwords=stopwords(language), language=language
        )
        processed = ProcessedArticle(
            url=article.url,
            title=article.title or extracted.title,
            text=extracted.text,
            text_hash=text_hash(extracted.text),
            language=language,
            published_at=article.published_at or extracted.published_at,
            features=features,
        )
        assignment = assign_story(
            article_id, processed, settings=match_settings(settings), session=session
        )
        # Lines recur across a source's different stories when they are its template; a copy
        # of a story already counted is no such evidence (counted, a third copy of one article
        # from one outlet would lose every line as boilerplate).
        if source and assignment.match_kind not in (MatchKind.EXACT, MatchKind.NEAR_COPY):
            dedup_repository.count_source_lines(
                session, source=source, fingerprints=extracted.raw_line_fingerprints
            )
        session.commit()
    log.info(
        "article %s -> story %s (%s, similarity %s)",
        article_id,
        assignment.story_id,
        assignment.match_kind.value,
        assignment.similarity,
    )
    return StepResult(StepOutcome.DONE, assignment.match_kind.value)


@dataclass(frozen=True)
class PendingArticle:
    article_id: int
    needs_fetch: bool


def claim_stale_articles(
    session: Session, *, older_than_s: int, limit: int = 1000
) -> list[PendingArticle]:
    """Articles queued or processing for too long: their message was lost (broker restart,
    worker killed before acking). Touch them so concurrent sweepers don't both re-send.

    An article that keeps failing without a recorded reason (a worker dying on it every time)
    is given up after MAX_ATTEMPTS, and says so, rather than being re-sent forever."""
    session.execute(
        text(
            "UPDATE articles SET status = 'failed', updated_at = now(), processed_at = now(), "
            "error = 'gave up after ' || attempts || ' attempts: processing never finished' "
            "WHERE status IN ('queued', 'processing') AND attempts >= :max_attempts "
            "AND updated_at < now() - make_interval(secs => :age)"
        ),
        {"age": older_than_s, "max_attempts": MAX_ATTEMPTS},
    )
    rows = session.execute(
        text(
            "UPDATE articles SET updated_at = now() WHERE id IN ("
            "  SELECT id FROM articles WHERE status IN ('queued', 'processing') "
            "  AND updated_at < now() - make_interval(secs => :age) "
            "  ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
            ") RETURNING id, content IS NULL"
        ),
        {"age": older_than_s, "limit": limit},
    ).all()
    return [PendingArticle(int(r[0]), bool(r[1])) for r in rows]
