"""Accept work: record each article in PostgreSQL, commit, and only then enqueue it.

The row exists before its message does, so a message lost to a broker restart is re-sent by the
sweeper from PostgreSQL state; a failure to enqueue never loses an accepted article.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.models import Article, ArticleStatus, ContentKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewArticle:
    url: str | None = None
    text: str | None = None
    html: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    source: str | None = None

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


def record_articles(articles: Sequence[NewArticle], *, session: Session) -> list[AcceptedArticle]:
    """Insert the rows in one statement; returns them in request order. The caller commits."""
    if not articles:
        return []
    rows = []
    for a in articles:
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
            }
        )
    ids = session.scalars(
        insert(Article).returning(Article.id, sort_by_parameter_order=True), rows
    ).all()
    return [
        AcceptedArticle(int(i), ArticleStatus.QUEUED.value, a.needs_fetch)
        for i, a in zip(ids, articles, strict=True)
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
