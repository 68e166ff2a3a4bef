"""The read side: articles, stories and their members, as plain data for the API and CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service.dedup import repository
from service.dedup.features import StoryFeatures
from service.dedup.scoring import IdfTable, StoryScorer
from service.models import Article, Story


@dataclass(frozen=True)
class StoryMember:
    id: int
    title: str | None
    url: str | None
    similarity: float | None
    match: str | None
    is_canonical: bool


@dataclass(frozen=True)
class StoryView:
    id: int
    canonical_article_id: int | None
    size: int
    created_at: datetime
    articles: list[StoryMember]


def get_article(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def _similarities_to_canonical(
    session: Session, canonical_id: int | None, features: dict[int, dict[str, Any] | None]
) -> dict[int, float]:
    """Each member's score against the canonical article, with today's corpus statistics: the
    canonical may have changed since a member matched (an older report arrived)."""
    canonical_json = features.get(canonical_id) if canonical_id is not None else None
    if canonical_json is None:
        return {}
    canonical = StoryFeatures.from_json(canonical_json)
    members = {i: StoryFeatures.from_json(f) for i, f in features.items() if f is not None}
    terms = set(canonical.term_weights).union(*(m.term_weights for m in members.values()))
    documents, frequencies = repository.document_frequencies(session, terms)
    scorer = StoryScorer(canonical, idf=IdfTable(documents, frequencies).__getitem__)
    return {i: scorer.score(m) for i, m in members.items()}


def _members(session: Session, story: Story) -> list[StoryMember]:
    rows = session.execute(
        select(Article.id, Article.title, Article.url, Article.match_kind, Article.features)
        .where(Article.story_id == story.id)
        .order_by(Article.id)
    ).all()
    similarities = _similarities_to_canonical(
        session, story.canonical_article_id, {r.id: r.features for r in rows}
    )
    members = [
        StoryMember(
            id=r.id,
            title=r.title,
            url=r.url,
            similarity=1.0 if r.id == story.canonical_article_id else similarities.get(r.id),
            match=r.match_kind,
            is_canonical=r.id == story.canonical_article_id,
        )
        for r in rows
    ]
    # Canonical first, then in arrival order.
    members.sort(key=lambda m: (not m.is_canonical, m.id))
    return members


def get_story(session: Session, story_id: int) -> StoryView | None:
    story = session.get(Story, story_id)
    if story is None:
        return None
    return StoryView(
        story.id, story.canonical_article_id, story.size, story.created_at, _members(session, story)
    )


def list_stories(
    session: Session, *, min_size: int = 1, limit: int = 50, before_id: int | None = None
) -> list[StoryView]:
    """Newest first; `before_id` is the cursor (story ids grow with time)."""
    query = select(Story).where(Story.size >= min_size).order_by(Story.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Story.id < before_id)
    stories = session.scalars(query).all()
    return [
        StoryView(s.id, s.canonical_article_id, s.size, s.created_at, _members(session, s))
        for s in stories
    ]


def outcome_counts(session: Session) -> dict[str, int]:
    """One counter per article outcome, from PostgreSQL so every worker's work is included:
    articles by status, done articles by how they matched (new story, exact, near copy, rewrite),
    failed articles by the kind of reason (the text before its first colon)."""
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
    counts["stories"] = int(session.execute(text("SELECT count(*) FROM stories")).scalar_one())
    return counts
