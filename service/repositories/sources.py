"""SQL on sources: the lines each outlet repeats across its articles (learned boilerplate)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session


def known_boilerplate(
    session: Session, *, source: str, fingerprints: Iterable[int], min_articles: int
) -> set[int]:
    rows = session.execute(
        text(
            "SELECT fingerprint FROM source_lines WHERE source = :source "
            "AND fingerprint = ANY(CAST(:fps AS bigint[])) AND article_count >= :min"
        ),
        {"source": source, "fps": sorted(set(fingerprints)), "min": min_articles},
    ).all()
    return {int(r[0]) for r in rows}


def count_source_lines(session: Session, *, source: str, fingerprints: Iterable[int]) -> None:
    session.execute(
        text(
            "INSERT INTO source_lines (source, fingerprint, article_count) "
            "SELECT :source, f, 1 FROM unnest(CAST(:fps AS bigint[])) AS f ORDER BY f "
            "ON CONFLICT (source, fingerprint) DO UPDATE "
            "SET article_count = source_lines.article_count + 1"
        ),
        {"source": source, "fps": sorted(set(fingerprints))},
    )


def forget_learned_lines(session: Session) -> None:
    """For reindex: the lines are counted again as the articles are processed again."""
    session.execute(text("TRUNCATE source_lines"))
