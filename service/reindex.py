"""Rebuild the band index and every story assignment from what PostgreSQL already holds.

After a change of matching settings (thresholds, permutations, bands, features) the stored
signatures and stories no longer agree with the code. `newsdedup reindex` clears the derived
tables and processes every stored article again, in arrival order, from its stored content:
nothing is fetched again. Stop the workers first; a global advisory lock keeps two reindexes
from running at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.db import SessionFactory, lock_key, release_session_lock, try_session_lock
from service.dedup.assign import MatchSettings
from service.processing import process_article
from service.repositories import articles, band_index, sources, stories
from service.settings import Settings

REINDEX_LOCK = lock_key("maintenance", "reindex")


def count_stale_signatures(session: Session, settings: Settings) -> tuple[int, int]:
    """(signatures made under other matching settings, all signatures): when the first is not
    zero, `newsdedup reindex` brings the stories in line with the current settings."""
    return band_index.count_stale_signatures(
        session, MatchSettings.from_settings(settings).to_json()
    )


@dataclass(frozen=True)
class ReindexReport:
    articles: int
    outcomes: dict[str, int]
    stories: int


def reindex(
    *,
    session_factory: SessionFactory,
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
) -> ReindexReport:
    with session_factory() as lock_session:
        if not try_session_lock(lock_session, REINDEX_LOCK):
            raise RuntimeError("another reindex is running")
        try:
            with session_factory() as session:
                band_index.clear_index(session)
                sources.forget_learned_lines(session)
                ids = articles.requeue_all_for_reindex(session)
                stories.delete_all_stories(session)
                session.commit()
            outcomes: Counter[str] = Counter()
            for done, article_id in enumerate(ids, start=1):
                result = process_article(
                    article_id, session_factory=session_factory, settings=settings
                )
                outcomes[result.detail or result.outcome] += 1
                if progress is not None:
                    progress(done, len(ids))
            with session_factory() as session:
                story_count = stories.count_stories(session)
            return ReindexReport(len(ids), dict(outcomes), story_count)
        finally:
            release_session_lock(lock_session, REINDEX_LOCK)
