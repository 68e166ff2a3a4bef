"""Adding, stopping and nudging sources: what the API and the CLI ask for.

Adding is idempotent: a URL that is already a source answers that source (restarted if it was
stopped), so a client may retry an add without making two sources poll one feed. A new source
is due at once; like every write here, the scheduler is nudged only after the commit, and if
the nudge is lost the next scheduler tick (each minute) finds the source due anyway.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from service.fetching import FetchPolicy, URLRefused, check_url_syntax
from service.models import SourceKind
from service.repositories import polled_sources as repo
from service.sources.schedule import PollBounds, first_poll
from service.sources.views import SourceView, get_source_view

log = logging.getLogger(__name__)


class PollScheduler(Protocol):
    """Looks for due sources now rather than at its next tick (Celery in production)."""

    def poll_due_sources(self) -> None: ...


class InvalidSource(ValueError):
    """A source the service refuses as given: a URL it must not fetch, an interval out of
    bounds."""


class SourceStopped(Exception):
    """The source was stopped: add it again to poll it."""


def add_source(
    url: str,
    *,
    kind: SourceKind = SourceKind.AUTO,
    poll_minutes: int | None = None,
    policy: FetchPolicy,
    bounds: PollBounds,
    scheduler: PollScheduler | None,
    session: Session,
) -> tuple[SourceView, bool]:
    """The source for ``url`` and whether it was created now. Raises InvalidSource."""
    try:
        checked = check_url_syntax(url, policy=policy)
    except URLRefused as refused:
        raise InvalidSource(f"url refused: {refused.reason}") from refused
    pinned = None
    if poll_minutes is not None:
        pinned = timedelta(minutes=poll_minutes)
        if not bounds.min_interval <= pinned <= bounds.max_interval:
            raise InvalidSource(
                f"poll_minutes must be between {bounds.min_interval.total_seconds() / 60:g} "
                f"and {bounds.max_interval.total_seconds() / 60:g}"
            )
    state = first_poll(now=datetime.now(UTC), bounds=bounds)
    source_id = repo.insert_source(
        session,
        url=checked,
        kind=kind.value,
        pinned_interval_s=round(pinned.total_seconds()) if pinned else None,
        interval_s=round((pinned or state.interval).total_seconds()),
        next_poll_at=state.next_poll_at,
    )
    created = source_id is not None
    if source_id is None:
        existing = repo.find_source_by_url(session, checked)
        assert existing is not None  # the insert conflicted on it
        source_id = existing.id
        repo.restart_source(session, source_id)
    session.commit()
    log.info("source %s %s: %s", source_id, "added" if created else "added again", checked)
    _nudge(scheduler)
    view = get_source_view(session, source_id)
    assert view is not None
    return view, created


def stop_source(source_id: int, *, session: Session) -> SourceView | None:
    """Stop polling; the source, its fetch log and its articles stay. None if no such source."""
    if not repo.stop_source(session, source_id):
        return None
    session.commit()
    log.info("source %s stopped", source_id)
    return get_source_view(session, source_id)


def poll_now(
    source_id: int, *, scheduler: PollScheduler | None, session: Session
) -> SourceView | None:
    """Make the source due now and nudge the scheduler. None if there is no such source;
    SourceStopped if it was stopped. A poll already running is left to finish."""
    if repo.make_due_now(session, source_id) is None:
        session.rollback()
        if repo.get_source(session, source_id) is None:
            return None
        raise SourceStopped("the source is stopped; add it again to poll it")
    session.commit()
    _nudge(scheduler)
    return get_source_view(session, source_id)


def _nudge(scheduler: PollScheduler | None) -> None:
    if scheduler is None:
        return
    try:
        scheduler.poll_due_sources()
    except Exception:
        log.exception("could not nudge the scheduler; its next tick will find the source due")
