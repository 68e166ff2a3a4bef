"""SQL on stories: creating and growing them (the write side, under the dedup locks), and
reading them with their members (the read side) in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service.models import Article, Story
from service.repositories.articles import OUTLET_SQL


def create_story(session: Session, *, canonical_article_id: int) -> int:
    story_id = session.execute(
        text("INSERT INTO stories (canonical_article_id, size) VALUES (:a, 1) RETURNING id"),
        {"a": canonical_article_id},
    ).scalar_one()
    return int(story_id)


def join_story(
    session: Session, *, story_id: int, article_id: int, counts_as_variant: bool
) -> None:
    """Add a member; the canonical article becomes the earliest published (then earliest
    ingested) member, a rule that only changes when an older report arrives."""
    session.execute(
        text(
            "UPDATE stories SET size = size + :grow, updated_at = now(), "
            "canonical_article_id = ("
            "  SELECT id FROM articles WHERE story_id = :story OR id = :article "
            "  ORDER BY published_at ASC NULLS LAST, id ASC LIMIT 1"
            ") WHERE id = :story"
        ),
        {"grow": 1 if counts_as_variant else 0, "story": story_id, "article": article_id},
    )


def delete_all_stories(session: Session) -> None:
    """For reindex, after every article has been detached from its story."""
    session.execute(text("UPDATE stories SET canonical_article_id = NULL"))
    session.execute(text("DELETE FROM stories"))


def count_stories(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM stories")).scalar_one())


# --- the read side --------------------------------------------------------------------------


@dataclass(frozen=True)
class StoryRow:
    id: int
    canonical_article_id: int | None
    size: int
    created_at: datetime


@dataclass(frozen=True)
class MemberRow:
    story_id: int
    id: int
    title: str | None
    url: str | None
    match_kind: str | None
    similarity: float | None
    matched_article_id: int | None
    source_id: int | None = None  # the polled source that brought it
    site_name: str | None = None  # the outlet, as its page names itself


def get_story(session: Session, story_id: int) -> StoryRow | None:
    story = session.get(Story, story_id)
    if story is None:
        return None
    return StoryRow(story.id, story.canonical_article_id, story.size, story.created_at)


def list_stories(
    session: Session, *, min_size: int, limit: int, before_id: int | None
) -> list[StoryRow]:
    """Newest first; `before_id` is the cursor (story ids grow with time)."""
    query = select(Story).where(Story.size >= min_size).order_by(Story.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Story.id < before_id)
    return [
        StoryRow(s.id, s.canonical_article_id, s.size, s.created_at) for s in session.scalars(query)
    ]


def members_of(session: Session, story_ids: Sequence[int]) -> dict[int, list[MemberRow]]:
    """The members of several stories in one query, each story's in arrival order."""
    if not story_ids:
        return {}
    rows = session.execute(
        select(
            Article.story_id,
            Article.id,
            Article.title,
            Article.url,
            Article.match_kind,
            Article.similarity,
            Article.matched_article_id,
            Article.source_id,
            Article.site_name,
        )
        .where(Article.story_id.in_(story_ids))
        .order_by(Article.story_id, Article.id)
    ).all()
    members: dict[int, list[MemberRow]] = {i: [] for i in story_ids}
    for r in rows:
        member = MemberRow(
            story_id=int(r.story_id),
            id=r.id,
            title=r.title,
            url=r.url,
            match_kind=r.match_kind,
            similarity=r.similarity,
            matched_article_id=r.matched_article_id,
            source_id=r.source_id,
            site_name=r.site_name,
        )
        members[member.story_id].append(member)
    return members


def outcome_counts(session: Session) -> dict[str, int]:
    """One counter per article outcome: articles by status, done articles by how they matched
    (new story, exact, near copy, rewrite), failed articles by the kind of reason (the text
    before its first colon), and the number of stories."""
    counts: dict[str, int] = {}
    for prefix, sql in (
        ("articles_", "SELECT status, count(*) FROM articles GROUP BY status"),
        (
            "matched_",
            "SELECT match_kind, count(*) FROM articles WHERE status = 'done' GROUP BY match_kind",
        ),
        (
            "failed_",
            "SELECT split_part(error, ':', 1), count(*) FROM articles "
            "WHERE status = 'failed' GROUP BY 1",
        ),
    ):
        for key, value in session.execute(text(sql)).all():
            counts[prefix + str(key).replace(" ", "_")] = int(value)
    counts["stories"] = count_stories(session)
    return counts


# --- the read side for people: stories with their outlets, languages and dates ----------------


@dataclass(frozen=True)
class StorySummary:
    id: int
    size: int
    canonical_article_id: int | None
    title: str | None  # the canonical article's
    url: str | None  # the canonical article's
    outlets: list[str]
    languages: list[str]
    articles: int  # members, exact re-posts included
    # Publication dates where known, else when received (ArticleSummary.date).
    first_seen: datetime | None
    last_seen: datetime | None


def like_pattern(search: str) -> str:
    """An ILIKE pattern matching `search` anywhere, its own % and _ taken literally."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def story_summaries(
    session: Session,
    *,
    min_size: int,
    source: str | None,
    search: str | None,
    limit: int,
    before_id: int | None,
) -> list[StorySummary]:
    """Newest first, keyset-paged on the story id (`before_id`), so pages stay correct while new
    stories arrive. `source` keeps stories with an article from that outlet (case-insensitive),
    `search` those with an article whose title or URL contains it. Both filters probe a story's
    members through the story_id index; the search is a scan of those members, not an index."""
    rows = session.execute(
        text(  # the columns in StorySummary's order
            "SELECT s.id, s.size, s.canonical_article_id, c.title, c.url, m.outlets, "
            "m.languages, m.articles, m.first_seen, m.last_seen "
            "FROM stories s LEFT JOIN articles c ON c.id = s.canonical_article_id "
            "CROSS JOIN LATERAL ("
            f"  SELECT array_remove(array_agg(DISTINCT {OUTLET_SQL} ORDER BY {OUTLET_SQL}), NULL) "
            "  AS outlets, array_remove(array_agg(DISTINCT a.language ORDER BY a.language), NULL) "
            "  AS languages, "
            "  count(*) AS articles, "
            "  min(coalesce(a.published_at, a.created_at)) AS first_seen, "
            "  max(coalesce(a.published_at, a.created_at)) AS last_seen "
            "  FROM articles a WHERE a.story_id = s.id"
            ") m "
            "WHERE s.size >= :min_size "
            "AND (CAST(:before AS bigint) IS NULL OR s.id < :before) "
            "AND (CAST(:source AS text) IS NULL OR EXISTS ("
            f"  SELECT 1 FROM articles a WHERE a.story_id = s.id "
            f"  AND lower({OUTLET_SQL}) = lower(:source))) "
            "AND (CAST(:pattern AS text) IS NULL OR EXISTS ("
            "  SELECT 1 FROM articles a WHERE a.story_id = s.id "
            "  AND (a.title ILIKE :pattern OR a.url ILIKE :pattern))) "
            "ORDER BY s.id DESC LIMIT :limit"
        ),
        {
            "min_size": min_size,
            "before": before_id,
            "source": source,
            "pattern": like_pattern(search) if search else None,
            "limit": limit,
        },
    ).all()
    return [StorySummary(*r) for r in rows]
