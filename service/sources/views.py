"""The read side of sources: a source with its status, its last fetches and its next poll, as
plain data for the API, the CLI and pages. A fixed number of queries whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from service.repositories import polled_sources as repo
from service.repositories.polled_sources import FetchRow, SourceArticleRow, SourceRow
from service.sources.schedule import PollState, status_text

# Fetches shown with one source, and with each source of a list: a day at the default
# interval on its own page, the last few in a list.
FETCHES_SHOWN = 20
FETCHES_SHOWN_IN_LISTS = 3
# Articles shown on a source's page: the newest; SourceView.articles counts them all.
ARTICLES_SHOWN = 50
# What SourceView.status says (repositories.polled_sources.count_by_status counts the same).
STATUSES = ("new", "ok", "failing", "stopped")


@dataclass(frozen=True)
class SourceView:
    id: int
    url: str
    kind: str  # as declared: auto, rss, atom, sitemap
    document_kind: str | None  # as found: rss, atom, sitemap, sitemap index
    title: str | None
    status: str  # new (never polled), ok, failing, stopped
    status_text: str  # "ok, next poll at ...", "failing since ...: HTTP 503, next try at ..."
    next_poll_at: datetime | None  # None once stopped
    interval_s: int
    interval_adapts: bool  # False when the user set poll_minutes
    polling_now: bool
    last_polled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    last_error: str | None
    created_at: datetime
    stopped_at: datetime | None
    articles: dict[str, int]  # articles this source brought, by status
    # Newest first: outcome (new_items, no_new_items, not_modified, unchanged, failed,
    # deferred), HTTP status, documents, items, new items, and why (detail).
    fetches: list[FetchRow]


def get_source_view(
    session: Session, source_id: int, *, fetches: int = FETCHES_SHOWN
) -> SourceView | None:
    source = repo.get_source(session, source_id)
    if source is None:
        return None
    return _views(session, [source], fetches=fetches)[0]


def list_source_views(
    session: Session,
    *,
    limit: int = 50,
    after_id: int | None = None,
    include_stopped: bool = False,
    fetches: int = FETCHES_SHOWN_IN_LISTS,
) -> list[SourceView]:
    """Sources in the order they were added; ``after_id`` is the cursor."""
    sources = repo.list_sources(
        session, limit=limit, after_id=after_id, include_stopped=include_stopped
    )
    return _views(session, sources, fetches=fetches)


def source_articles(
    session: Session, source_id: int, *, limit: int = ARTICLES_SHOWN
) -> list[SourceArticleRow]:
    """The newest articles the source brought, newest first (published, else received)."""
    return repo.recent_articles(session, source_id, limit=limit)


def count_by_status(session: Session) -> dict[str, int]:
    """How many sources have each status, every status present (for the metrics gauge)."""
    counts = repo.count_by_status(session)
    return {status: counts.get(status, 0) for status in STATUSES}


def _views(session: Session, sources: list[SourceRow], *, fetches: int) -> list[SourceView]:
    ids = [s.id for s in sources]
    logs = repo.recent_fetches(session, ids, per_source=fetches)
    counts = repo.article_counts(session, ids)
    now = datetime.now(UTC)
    return [_view(s, logs[s.id], counts[s.id], now) for s in sources]


def _view(
    source: SourceRow, fetches: list[FetchRow], articles: dict[str, int], now: datetime
) -> SourceView:
    state = PollState(
        interval=timedelta(seconds=source.interval_s),
        next_poll_at=source.next_poll_at,
        consecutive_failures=source.consecutive_failures,
        failing_since=source.failing_since,
        last_error=source.last_error,
    )
    if source.stopped_at is not None:
        status = "stopped"
        text = f"stopped {source.stopped_at.astimezone(UTC):%Y-%m-%d %H:%M UTC}; articles kept"
    else:
        status = "failing" if state.failing else "ok" if source.last_polled_at else "new"
        text = status_text(state)
    return SourceView(
        id=source.id,
        url=source.url,
        kind=source.kind,
        document_kind=source.document_kind,
        title=source.title,
        status=status,
        status_text=text,
        next_poll_at=None if source.stopped_at else source.next_poll_at,
        interval_s=source.interval_s,
        interval_adapts=source.pinned_interval_s is None,
        polling_now=source.lease_until is not None and source.lease_until > now,
        last_polled_at=source.last_polled_at,
        consecutive_failures=source.consecutive_failures,
        failing_since=source.failing_since,
        last_error=source.last_error,
        created_at=source.created_at,
        stopped_at=source.stopped_at,
        articles=articles,
        fetches=fetches,
    )
