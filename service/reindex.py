"""Rebuild the band index and every story assignment from what PostgreSQL already holds.

After a change of matching settings (thresholds, permutations, bands, features) the stored
signatures and stories no longer agree with the code. `newsdedup reindex` clears the derived
tables and processes every stored article again, in arrival order, from its stored content:
nothing is fetched again. Stop the workers first; a global advisory lock keeps two reindexes
from running at once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.dedup.repository import lock_key
from service.processing import SessionFactory, match_settings, process_article
from service.settings import Settings

REINDEX_LOCK = lock_key("maintenance", "reindex")


def count_stale_signatures(session: Session, settings: Settings) -> tuple[int, int]:
    """(signatures made under other matching settings, all signatures): when the first is not
    zero, `newsdedup reindex` brings the stories in line with the current settings."""
    current = json.dumps(match_settings(settings).to_json())
    row = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE scheme <> CAST(:current AS jsonb)), count(*) "
            "FROM article_signatures"
        ),
        {"current": current},
    ).one()
    return int(row[0]), int(row[1])


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
        got_lock = lock_session.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": REINDEX_LOCK}
        ).scalar()
        if not got_lock:
            raise RuntimeError("another reindex is running")
        try:
            with session_factory() as session:
                session.execute(
                    text(
                        "TRUNCATE lsh_bands, article_signatures, term_document_frequencies, "
                        "corpus_counters, source_lines"
                    )
                )
                session.execute(text("UPDATE stories SET canonical_article_id = NULL"))
                ids = [
                    int(i)
                    for i in session.execute(
                        text(
                            "UPDATE articles SET story_id = NULL, match_kind = NULL, "
                            "similarity = NULL, matched_article_id = NULL, features = NULL, "
                            "status = 'queued', error = NULL, updated_at = now() "
                            "WHERE content IS NOT NULL AND status IN ('done', 'failed') "
                            "RETURNING id"
                        )
                    ).scalars()
                ]
                session.execute(text("DELETE FROM stories"))
                session.commit()
            ids.sort()
            outcomes: Counter[str] = Counter()
            for done, article_id in enumerate(ids, start=1):
                result = process_article(
                    article_id, session_factory=session_factory, settings=settings
                )
                outcomes[result.detail or result.outcome] += 1
                if progress is not None:
                    progress(done, len(ids))
            with session_factory() as session:
                stories = int(session.execute(text("SELECT count(*) FROM stories")).scalar_one())
            return ReindexReport(len(ids), dict(outcomes), stories)
        finally:
            lock_session.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": REINDEX_LOCK})
