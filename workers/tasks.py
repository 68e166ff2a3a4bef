"""Thin Celery tasks: take an id, call one service function, declare acks-late, limits and
the exact errors they retry. Everything they do is idempotent."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from service import processing
from service.db import get_worker_session_factory, session_scope
from service.fetching.polite import PoliteClient
from service.redis_client import redis_client
from service.settings import get_settings
from service.sources import polling
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


@lru_cache(maxsize=1)
def polite_client() -> PoliteClient:
    """One per worker process (made on first use, after the fork): robots.txt cache and
    politeness gate in Redis, shared with every other worker."""
    settings = get_settings()
    return PoliteClient.from_settings(settings, redis_client(settings.redis_url))


@app.task(name="newsdedup.fetch_article", acks_late=True, ignore_result=True, **RETRY_POLICY)
def fetch_article(article_id: int) -> str:
    result = processing.fetch_article(
        article_id, session_factory=get_worker_session_factory(), client=polite_client()
    )
    if result.outcome == processing.StepOutcome.READY:
        process_article.apply_async(args=[article_id], queue=PROCESS_QUEUE)
    elif result.outcome == processing.StepOutcome.DEFERRED:
        # A new message with a countdown, never a sleep: the worker moves on to other hosts.
        # The countdown is capped below the broker's visibility timeout (PoliteClient).
        fetch_article.apply_async(args=[article_id], queue=FETCH_QUEUE, countdown=result.retry_in_s)
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


@app.task(name="newsdedup.poll_due_sources", acks_late=True, ignore_result=True)
def poll_due_sources() -> int:
    """Each minute (beat), and when the API adds a source or asks for a poll: claim the due
    sources, commit, then send one poll each."""
    settings = get_settings()
    with session_scope() as session:
        claimed = polling.claim_due_sources(
            session, limit=settings.source_claim_batch, lease_s=settings.source_poll_lease_s
        )
    with app.producer_or_acquire() as producer:
        for source_id, token in claimed:
            poll_source.apply_async(args=[source_id, token], queue=FETCH_QUEUE, producer=producer)
    if claimed:
        log.info("sent polls of %d due sources", len(claimed))
    return len(claimed)


@app.task(name="newsdedup.poll_source", acks_late=True, ignore_result=True, **RETRY_POLICY)
def poll_source(source_id: int, claim_token: str, progress: dict[str, Any] | None = None) -> str:
    result = polling.poll_source(
        source_id,
        claim_token=claim_token,
        progress=progress,
        session_factory=get_worker_session_factory(),
        client=polite_client(),
        settings=polling.PollSettings.from_settings(get_settings()),
        queue=CeleryTaskQueue(),
    )
    if result.retry_in_s is not None:
        # Deferred by robots.txt or the host's gate: the same poll, with its progress, later.
        poll_source.apply_async(
            args=[source_id, claim_token, result.progress],
            queue=FETCH_QUEUE,
            countdown=result.retry_in_s,
        )
    return result.outcome


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
    """service.ingest.TaskQueue and service.sources.PollScheduler over Celery."""

    def send(self, article_ids: Sequence[int], *, needs_fetch: bool) -> None:
        send_articles(article_ids, needs_fetch=needs_fetch)

    def poll_due_sources(self) -> None:
        poll_due_sources.apply_async(queue=FETCH_QUEUE)
