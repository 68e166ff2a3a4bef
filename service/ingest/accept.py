"""Accept work: check it, apply the guards, record each article in PostgreSQL, commit, and only
then enqueue it.

The row exists before its message does, so a message lost to a broker restart is re-sent by the
sweeper from PostgreSQL state; a failure to enqueue never loses an accepted article.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from service.db import lock_key, lock_keys
from service.fetching import FetchPolicy, URLRefused, check_url_syntax
from service.ingest.guards import BacklogCounter, RateLimiter, request_hash
from service.models import ArticleStatus, ContentKind
from service.repositories import articles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewArticle:
    url: str | None = None
    text: str | None = None
    html: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    source: str | None = None
    # Set when a source's poll found the article (service.sources.polling), not by the API.
    source_id: int | None = None
    feed_guid: str | None = None
    author: str | None = None

    @property
    def needs_fetch(self) -> bool:
        return self.text is None and self.html is None


@dataclass(frozen=True)
class AcceptedArticle:
    id: int
    status: str
    needs_fetch: bool


class TaskQueue(Protocol):
    """Where accepted articles are sent for processing (Celery in production, see workers/)."""

    def send(self, article_ids: Sequence[int], *, needs_fetch: bool) -> None: ...


class IdempotencyConflict(ValueError):
    """The same Idempotency-Key was sent with a different body."""


class InvalidArticle(ValueError):
    """An article the service refuses as given, e.g. a URL it must not fetch."""


class TooBusy(Exception):
    """Back-pressure: the client should retry after `retry_after_s`."""

    def __init__(self, reason: str, retry_after_s: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


# A client told the backlog is full should come back after the workers have had time to drain a
# noticeable share of it; half a minute is about 4,000 articles at the measured throughput.
BACKLOG_RETRY_AFTER_S = 30.0


@dataclass
class IngestGuards:
    """What protects ingest, kept for the life of an API process."""

    fetch_policy: FetchPolicy
    rate_limiter: RateLimiter
    backlog: BacklogCounter
    max_backlog: int


def accept_articles(
    items: Sequence[NewArticle],
    *,
    client: str,
    idempotency_key: str | None,
    request_body: bytes,
    guards: IngestGuards,
    queue: TaskQueue,
    session: Session,
) -> list[AcceptedArticle]:
    """Check, apply the guards, record, commit, then enqueue; in request order.

    A retry with the same Idempotency-Key and body gets the first request's articles back and
    creates nothing. Raises InvalidArticle, IdempotencyConflict or TooBusy.
    """
    checked = [_checked(item, guards.fetch_policy) for item in items]
    body_hash = request_hash(request_body)
    if idempotency_key is not None:
        # Two concurrent retries with one key serialise here; the second sees the first's rows.
        lock_keys(session, [lock_key("idempotency", idempotency_key)])
        known = _known_request(session, idempotency_key, body_hash)
        if known is not None:
            session.rollback()
            return known

    wait_s = guards.rate_limiter.acquire(client, cost=len(items))
    if wait_s > 0:
        raise TooBusy("rate limit exceeded for this client", wait_s)
    if guards.backlog.count(session) + len(items) > guards.max_backlog:
        raise TooBusy(
            f"backlog over {guards.max_backlog} articles; workers are catching up",
            BACKLOG_RETRY_AFTER_S,
        )

    accepted = record_articles(checked, session=session)
    if idempotency_key is not None:
        articles.remember_request(session, idempotency_key, body_hash, [a.id for a in accepted])
    session.commit()
    enqueue_accepted(accepted, queue=queue)
    return accepted


def _checked(item: NewArticle, policy: FetchPolicy) -> NewArticle:
    """The article with its URL normalised, or InvalidArticle if the URL must not be fetched."""
    if item.url is None:
        return item
    try:
        url = check_url_syntax(item.url, policy=policy)
    except URLRefused as refused:
        raise InvalidArticle(f"url refused: {refused.reason}") from refused
    return replace(item, url=url)


def _known_request(session: Session, key: str, body_hash: bytes) -> list[AcceptedArticle] | None:
    found = articles.find_request(session, key)
    if found is None:
        return None
    known_hash, article_ids = found
    if known_hash != body_hash:
        raise IdempotencyConflict("Idempotency-Key was already used with a different body")
    statuses = articles.statuses(session, article_ids)
    return [
        AcceptedArticle(i, statuses.get(i, ArticleStatus.QUEUED.value), needs_fetch=False)
        for i in article_ids
    ]


def record_articles(items: Sequence[NewArticle], *, session: Session) -> list[AcceptedArticle]:
    """Insert the rows in one statement; returns them in request order. The caller commits."""
    rows = []
    for a in items:
        # HTML wins over text when both are given: it carries the title and date metadata.
        if a.html is not None:
            content, kind = a.html, ContentKind.HTML.value
        elif a.text is not None:
            content, kind = a.text, ContentKind.TEXT.value
        else:
            content, kind = None, None
        rows.append(
            {
                "url": a.url,
                "title": a.title,
                "published_at": a.published_at,
                "source": a.source,
                "content": content.replace("\x00", "") if content is not None else None,
                "content_kind": kind,
                "status": ArticleStatus.QUEUED.value,
                "source_id": a.source_id,
                "feed_guid": a.feed_guid,
                "author": a.author,
            }
        )
    ids = articles.insert_articles(session, rows)
    return [
        AcceptedArticle(i, ArticleStatus.QUEUED.value, a.needs_fetch)
        for i, a in zip(ids, items, strict=True)
    ]


def enqueue_accepted(accepted: Sequence[AcceptedArticle], *, queue: TaskQueue) -> None:
    """Send after commit. If the broker is away the rows stay queued and the sweeper re-sends."""
    try:
        to_fetch = [a.id for a in accepted if a.needs_fetch]
        to_process = [a.id for a in accepted if not a.needs_fetch]
        if to_fetch:
            queue.send(to_fetch, needs_fetch=True)
        if to_process:
            queue.send(to_process, needs_fetch=False)
    except Exception:
        log.exception(
            "could not enqueue %d accepted articles; the sweeper will re-send them", len(accepted)
        )
