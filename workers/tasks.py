"""Thin Celery tasks: take an id, call one service function, declare acks-late, limits and
the exact errors they retry. Everything they do is idempotent."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.exc import InterfaceError, OperationalError

from service import processing
from service.db import get_session_factory, session_scope
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
    settings = get_settings()
    result = processing.fetch_article(
        article_id,
        session_factory=get_session_factory(),
        policy=processing.fetch_policy(settings),
    )
    if result.outcome == processing.StepOutcome.READY:
        process_article.apply_async(args=[article_id], queue=PROCESS_QUEUE)
    return result.outcome


@app.task(name="newsdedup.process_article", acks_late=True, ignore_result=True, **RETRY_POLICY)
def process_article(article_id: int) -> str:
    result = processing.process_article(
        article_id, session_factory=get_session_factory(), settings=get_settings()
    )
    return result.outcome


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


def send_articles(article_ids: Sequence[int], *, needs_fetch: bool) -> None:
    task = fetch_article if needs_fetch else process_article
    queue = FETCH_QUEUE if needs_fetch else PROCESS_QUEUE
    with app.producer_or_acquire() as producer:
        for article_id in article_ids:
            task.apply_async(args=[article_id], queue=queue, producer=producer)


class CeleryTaskQueue:
    """service.ingest.TaskQueue over Celery."""

    def send(self, article_ids: Sequence[int], *, needs_fetch: bool) -> None:
        send_articles(article_ids, needs_fetch=needs_fetch)
