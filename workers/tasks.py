"""Thin Celery tasks: take an id, call one service function, declare acks-late, limits and
the exact errors they retry. Everything they do is idempotent."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.exc import InterfaceError, OperationalError

from service import processing
from service.db import get_worker_session_factory, session_scope
from service.fetching import FetchPolicy
from service.settings import get_settings
from workers.celery_app import FETCH_QUEUE, PROCESS_QUEUE, app

log = logging.getLogger(__name__)

# Database hiccups (restart, failover, lock timeout: connection-level errors) are worth retrying;
# anything else is a bug or bad input, which retrying would only repeat.
RETRIED_ERRORS = (OperationalError, InterfaceError)
RETRY_POLICY = {
    "autoretry_for": RETRIED_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    # After ~10 tries over ~8 minutes the sweeper takes over from PostgreSQL state.
    "max_retries": 10,
}


@app.task(name="newsdedup.fetch_article", acks_late=True, ignore_result=True, **RETRY_POLICY)
def fetch_article(article_id: int) -> str:
    result = processing.fetch_article(
        article_id,
        session_factory=get_worker_session_factory(),
        policy=FetchPolicy.from_settings(get_settings()),
    )
    if result.outcome == processing.StepOutcome.READY:
        process_article.apply_async(args=[article_id], queue=PROCESS_QUEUE)
    return result.outcome


@app.task(name="newsdedup.process_article", acks_late=True, ignore_result=True, **RETRY_POLICY)
def process_article(article_id: int) -> str:
    result = processing.process_article(
        article_id, session_factory=get_worker_session_factory(), settings=get_settings()
    )
    return result.outcome


@app.task(name="newsdedup.process_articles", acks_late=True, ignore_result=True, **RETRY_POLICY)
def process_articles(article_ids: list[int]) -> int:
    """A chunk of posted articles in one message: publishing costs ~1 ms per message, as much
    as the API's whole insert, so batches are sent in chunks. Redelivery redoes the chunk, and
    the articles already done skip themselves."""
    factory, settings = get_worker_session_factory(), get_settings()
    done = 0
    for article_id in article_ids:
        result = processing.process_article(article_id, session_factory=factory, settings=settings)
        done += result.outcome == processing.StepOutcome.DONE
    return done


@app.task(name="newsdedup.sweep_stale_articles", acks_late=True, ignore_result=True)
def sweep_stale_articles() -> int:
    with session_scope() as session:
        stale = processing.claim_stale_articles(
            session, older_than_s=get_settings().sweep_stale_after_s
        )
    send_articles([p.article_id for p in stale if p.needs_fetch], needs_fetch=True)
    send_articles([p.article_id for p in stale if not p.needs_fetch], needs_fetch=False)
    if stale:
        log.warning("sweeper re-sent %d stale articles", len(stale))
    return len(stale)


# Posted articles per process message: ten keep both worker processes busy on a batch of 100
# while cutting the publish cost tenfold; about 0.3 s of work per message.
PROCESS_CHUNK = 10


def send_articles(article_ids: Sequence[int], *, needs_fetch: bool) -> None:
    with app.producer_or_acquire() as producer:
        if needs_fetch:
            # One message per URL: fetches wait on the network and should spread out.
            for article_id in article_ids:
                fetch_article.apply_async(args=[article_id], queue=FETCH_QUEUE, producer=producer)
            return
        for start in range(0, len(article_ids), PROCESS_CHUNK):
            chunk = list(article_ids[start : start + PROCESS_CHUNK])
            process_articles.apply_async(args=[chunk], queue=PROCESS_QUEUE, producer=producer)


class CeleryTaskQueue:
    """service.ingest.TaskQueue over Celery."""

    def send(self, article_ids: Sequence[int], *, needs_fetch: bool) -> None:
        send_articles(article_ids, needs_fetch=needs_fetch)
