"""The two steps a worker runs for an article: fetch (for URLs), then process.

Each step takes an article id and a session factory, is idempotent (a redelivered message finds
the article already done and does nothing) and records every failure on the article with its
reason: nothing is dropped silently. Processing is five named steps, claim -> extract -> gate ->
assign -> learn; every outcome is logged and counted here (service.metrics, at /metrics), and
counted from PostgreSQL at /stats.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from service.db import SessionFactory
from service.dedup.assign import Assignment, MatchSettings, ProcessedArticle, assign_story
from service.dedup.encoder import encoder
from service.dedup.features import extract_features
from service.dedup.semantic import language_means
from service.dedup.semantic import warm_up as warm_up_semantic_keys
from service.extraction import (
    ExtractedArticle,
    ExtractionError,
    KnownBoilerplate,
    clean_text,
    detect_language,
    extract_html,
    not_article_reason,
    page_metadata,
    stopwords,
)
from service.extraction import warm_up as warm_up_extraction
from service.fetching import FetchError
from service.fetching.polite import NotNow, PoliteClient, RobotsDisallowed, RobotsUnreachable
from service.metrics import Stage, record_decision, record_done, record_failed, stage_timer
from service.models import ContentKind, MatchKind
from service.repositories import articles, sources
from service.repositories.articles import FINAL_STATUSES, ArticleContent, NotClaimed, PageFacts
from service.settings import Settings
from service.sources.urls import accepted_canonical_url

log = logging.getLogger(__name__)

# A line seen in this many earlier articles of the same source is boilerplate for it: two
# earlier sightings, because a single shared paragraph between two articles of one outlet is as
# often a quoted statement as a template.
BOILERPLATE_MIN_ARTICLES = 2

# A worker that dies on the same article this many times (each attempt counted when it starts)
# is not going to get through it: five covers a crash, a redeploy and a database restart.
MAX_ATTEMPTS = 5


class StepOutcome:
    READY = "ready"  # content is stored; the process step can run
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # already final (a redelivered message), or not ready for this step
    DEFERRED = "deferred"  # not now (robots.txt, the host's gate): re-queue after retry_in_s


@dataclass(frozen=True)
class StepResult:
    outcome: str
    detail: str | None = None
    retry_in_s: float | None = None  # DEFERRED: the countdown to re-queue the step with


def _fail(session: Session, article_id: int, reason: str) -> StepResult:
    articles.mark_failed(session, article_id, reason)
    session.commit()
    log.info("article %s failed: %s", article_id, reason)
    record_failed(reason)
    return StepResult(StepOutcome.FAILED, reason)


# --- fetch ---------------------------------------------------------------------------------


def fetch_article(
    article_id: int, *, session_factory: SessionFactory, client: PoliteClient
) -> StepResult:
    """Claim -> robots.txt and the host's gate -> fetch -> store the page and what it says of
    itself. A fetch robots.txt or the gate defers comes back DEFERRED with the countdown to
    re-queue it with (the task does that; nothing here sleeps). The host's turn may be waited
    for indefinitely; an unreadable robots.txt only until MAX_ATTEMPTS tries (one every 15 min,
    as its cached error runs out), then the article fails saying so."""
    with session_factory() as session:
        claim = articles.claim_for_fetch(session, article_id)
        if claim is None or claim.status in FINAL_STATUSES:
            return StepResult(StepOutcome.SKIPPED)
        if claim.has_content:
            return StepResult(StepOutcome.READY)
        if not claim.url:
            return _fail(session, article_id, "nothing to process: no url, text or html")
        session.commit()

    # The network call runs outside any transaction: a slow server must not hold a connection.
    try:
        with stage_timer(Stage.FETCH):
            page = client.fetch(claim.url)
    except FetchError as error:
        with session_factory() as session:
            return _fail(session, article_id, f"fetch failed: {error.reason}")
    if isinstance(page, RobotsDisallowed):
        with session_factory() as session:
            return _fail(session, article_id, f"refused by robots.txt: {page.reason}")
    if isinstance(page, RobotsUnreachable) and claim.attempts >= MAX_ATTEMPTS:
        with session_factory() as session:
            reason = f"robots.txt unreachable after {claim.attempts} tries: {page.reason}"
            return _fail(session, article_id, reason)
    if isinstance(page, NotNow | RobotsUnreachable):
        wait_s = page.seconds if isinstance(page, NotNow) else page.retry_in_s
        with session_factory() as session:
            articles.defer_fetch(
                session,
                article_id,
                seconds=wait_s,
                count_attempt=isinstance(page, RobotsUnreachable),
            )
            session.commit()
        log.info("article %s fetch deferred %.1f s: %s", article_id, wait_s, page.reason)
        return StepResult(StepOutcome.DEFERRED, page.reason, retry_in_s=wait_s)

    body = page.body.decode(page.charset or "utf-8", errors="replace").replace("\x00", "")
    kind = ContentKind.TEXT if page.content_type == "text/plain" else ContentKind.HTML
    facts = page_facts(claim.url, page.url, body) if kind is ContentKind.HTML else None
    with session_factory() as session:
        articles.store_fetched_content(
            session, article_id, content=body, kind=kind.value, facts=facts
        )
        session.commit()
    return StepResult(StepOutcome.READY)


def page_facts(requested_url: str, final_url: str, html: str) -> PageFacts:
    """What the page says of itself, its canonical URL trusted only on its own site and never
    a home page; the final URL kept only when redirects led elsewhere."""
    metadata = page_metadata(html, url=final_url)
    return PageFacts(
        final_url=final_url if final_url != requested_url else None,
        canonical_url=accepted_canonical_url(final_url, metadata.canonical_url),
        author=metadata.author,
        site_name=metadata.site_name,
        language=metadata.language,
    )


# --- process: claim -> extract -> gate -> assign -> learn -----------------------------------


def warm_up(settings: Settings) -> None:
    """Load what every article needs, once, in a parent process before it forks workers."""
    warm_up_extraction()
    semantic = MatchSettings.from_settings(settings).semantic
    if semantic is not None:
        encoder(semantic.max_tokens).warm_up()
        warm_up_semantic_keys(semantic.scheme)
        language_means(semantic.max_tokens)


def process_article(
    article_id: int, *, session_factory: SessionFactory, settings: Settings
) -> StepResult:
    with session_factory() as session:
        article = articles.claim_for_processing(session, article_id)
        if isinstance(article, NotClaimed):
            return StepResult(StepOutcome.SKIPPED, article.reason)
        session.commit()

        source = source_key(article)
        try:
            with stage_timer(Stage.EXTRACT):
                extracted = extract(article, known_boilerplate=_learned_lines(session, source))
        except Exception as error:  # hostile HTML must end as a reason, not a crash loop
            return _fail(session, article_id, f"extraction failed: {_describe(error, article_id)}")
        reason = gate(extracted)
        if reason:
            return _fail(session, article_id, reason)

        # Prepared (the embedding included) before any lock is taken.
        match_settings = MatchSettings.from_settings(settings)
        processed = prepare(article, extracted, settings=match_settings, session=session)

        # A redelivered message may run while the first delivery is still working: the row lock
        # makes the second wait, then see the article done and stop.
        if articles.lock_status(session, article_id) in FINAL_STATUSES:
            session.rollback()
            return StepResult(StepOutcome.SKIPPED, "already final")

        with stage_timer(Stage.ASSIGN):
            assignment = assign_story(
                article_id, processed, settings=match_settings, session=session
            )
        learn(session, source, extracted, assignment)
        session.commit()
    record_done(assignment.match_kind.value)
    record_decision(assignment.match_kind.value, assignment.evidence)
    log.info(
        "article %s -> story %s (%s, similarity %s)",
        article_id,
        assignment.story_id,
        assignment.match_kind.value,
        assignment.similarity,
    )
    return StepResult(StepOutcome.DONE, assignment.match_kind.value)


def source_key(article: ArticleContent) -> str | None:
    """The outlet an article belongs to, for learning its boilerplate: given, else the URL host."""
    if article.source:
        return article.source.strip().casefold() or None
    if article.url:
        host = urlsplit(article.url).hostname
        return host.removeprefix("www.") if host else None
    return None


def _learned_lines(session: Session, source: str | None) -> KnownBoilerplate:
    def known(fingerprints: tuple[int, ...]) -> set[int]:
        """Lines of this article seen in earlier articles of the same source."""
        if not source or not fingerprints:
            return set()
        return sources.known_boilerplate(
            session,
            source=source,
            fingerprints=fingerprints,
            min_articles=BOILERPLATE_MIN_ARTICLES,
        )

    return known


def extract(article: ArticleContent, *, known_boilerplate: KnownBoilerplate) -> ExtractedArticle:
    """The article's clean text: HTML through trafilatura, text through cleaning by shape."""
    if article.content_kind == ContentKind.HTML.value:
        return extract_html(
            article.content,
            url=article.url,
            title=article.title,
            known_boilerplate=known_boilerplate,
        )
    return clean_text(article.content, title=article.title, known_boilerplate=known_boilerplate)


def _describe(error: Exception, article_id: int) -> str:
    """ExtractionError says what is wrong with the input ("input is empty or not HTML");
    anything else is our bug, logged with its stack and named by its type only."""
    if isinstance(error, ExtractionError):
        log.warning("article %s: extraction failed: %s", article_id, error)
        return str(error)
    log.exception("extraction failed for article %s", article_id)
    return type(error).__name__


def gate(extracted: ExtractedArticle) -> str | None:
    """Why this is not an article to match (a block page, a cookie wall, too little text), or
    None: pages that are not articles must never match anything."""
    if not extracted.text.strip():
        return "no article text found"
    return not_article_reason(extracted.title, extracted.text)


def text_hash(cleaned_text: str) -> bytes:
    normalised = " ".join(cleaned_text.casefold().split())
    return hashlib.sha256(normalised.encode("utf-8")).digest()


def prepare(
    article: ArticleContent,
    extracted: ExtractedArticle,
    *,
    settings: MatchSettings,
    session: Session,
) -> ProcessedArticle:
    """What matching needs: language, story features, the hash that finds exact re-posts, and
    (with the encoder on) the embedding of the headline and lead. An exact re-post of a stored
    article is not embedded: it joins its twin's story without being compared, and its twin
    carries the embedding for anyone who compares with it."""
    processed = describe(article, extracted)
    semantic = settings.semantic
    if semantic is not None and articles.has_done_twin(
        session, text_hash=processed.text_hash, url=article.url
    ):
        semantic = None
    # Only reads so far: end the transaction, so that no connection sits idle in one (holding
    # a snapshot) through the ~55 ms of encoding. A twin done meanwhile is found by assign_story.
    session.commit()
    if semantic is not None:
        with stage_timer(Stage.ENCODE):
            embedding = encoder(semantic.max_tokens).embed(processed.title, processed.text)
        processed = replace(processed, embedding=embedding)
    return processed


def describe(article: ArticleContent, extracted: ExtractedArticle) -> ProcessedArticle:
    """The pure part of prepare (no embedding): language, title, text hash and story features.
    The embedding, when there is one, is of this title and text (the offline simulation in
    bench/ embeds them the same way)."""
    language = extracted.language or detect_language(extracted.text)
    return ProcessedArticle(
        url=article.url,
        title=article.title or extracted.title,
        text=extracted.text,
        text_hash=text_hash(extracted.text),
        language=language,
        published_at=article.published_at or extracted.published_at,
        features=extract_features(
            extracted.title, extracted.text, stopwords=stopwords(language), language=language
        ),
    )


def learn(
    session: Session, source: str | None, extracted: ExtractedArticle, assignment: Assignment
) -> None:
    """Count the article's lines for its source. Lines recur across a source's different
    stories when they are its template; a copy of a story already counted is no such evidence
    (counted, a third copy of one article from one outlet would lose every line)."""
    if source and assignment.match_kind not in (MatchKind.EXACT, MatchKind.NEAR_COPY):
        sources.count_source_lines(
            session, source=source, fingerprints=extracted.raw_line_fingerprints
        )


# --- the sweeper ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingArticle:
    article_id: int
    needs_fetch: bool


def claim_stale_articles(
    session: Session, *, older_than_s: int, limit: int = 1000
) -> list[PendingArticle]:
    """Articles queued or processing for too long: their message was lost (broker restart,
    worker killed before acking). An article that keeps failing without a recorded reason (a
    worker dying on it every time) is given up after MAX_ATTEMPTS, and says so."""
    gave_up = articles.give_up_on_stuck(
        session, older_than_s=older_than_s, max_attempts=MAX_ATTEMPTS
    )
    record_failed("gave up", gave_up)
    return [
        PendingArticle(article_id, needs_fetch)
        for article_id, needs_fetch in articles.claim_stale(
            session, older_than_s=older_than_s, limit=limit
        )
    ]
