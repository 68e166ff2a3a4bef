"""The read side: articles, stories and their members, as plain data for the API, pages and CLI.

A story's members carry the similarity they matched with (to `matched_article_id`, at the time
they joined), so listing stories costs two queries whatever the page size: no rescoring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.models import Article
from service.repositories import articles, stories
from service.repositories.stories import MemberRow, StoryRow


@dataclass(frozen=True)
class StoryMember:
    id: int
    title: str | None
    url: str | None
    # The score this member matched with, against matched_article_id (1.0 for exact re-posts,
    # None for the article that started the story).
    similarity: float | None
    match: str | None
    matched_article_id: int | None
    is_canonical: bool
    # Which outlet told it: the polled source that brought it, the name its page gives.
    source_id: int | None = None
    site_name: str | None = None


@dataclass(frozen=True)
class StoryView:
    id: int
    canonical_article_id: int | None
    size: int
    created_at: datetime
    articles: list[StoryMember]


def get_article(session: Session, article_id: int) -> Article | None:
    return articles.get_article(session, article_id)


def _view(story: StoryRow, members: list[MemberRow]) -> StoryView:
    canonical = story.canonical_article_id
    views = [
        StoryMember(
            id=m.id,
            title=m.title,
            url=m.url,
            similarity=m.similarity,
            match=m.match_kind,
            matched_article_id=m.matched_article_id,
            is_canonical=m.id == canonical,
            source_id=m.source_id,
            site_name=m.site_name,
        )
        for m in members
    ]
    # Canonical first, then in arrival order.
    views.sort(key=lambda m: (not m.is_canonical, m.id))
    return StoryView(story.id, canonical, story.size, story.created_at, views)


def get_story(session: Session, story_id: int) -> StoryView | None:
    story = stories.get_story(session, story_id)
    if story is None:
        return None
    return _view(story, stories.members_of(session, [story.id])[story.id])


def list_stories(
    session: Session, *, min_size: int = 1, limit: int = 50, before_id: int | None = None
) -> list[StoryView]:
    """Newest first; `before_id` is the cursor (story ids grow with time)."""
    rows = stories.list_stories(session, min_size=min_size, limit=limit, before_id=before_id)
    members = stories.members_of(session, [s.id for s in rows])
    return [_view(s, members[s.id]) for s in rows]


def outcome_counts(session: Session) -> dict[str, int]:
    return stories.outcome_counts(session)
