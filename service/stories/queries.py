"""The read side: articles, stories and their members, as plain data for the API, pages and CLI.

A story's members carry the similarity they matched with (to `matched_article_id`, at the time
they joined), so listing stories costs two queries whatever the page size: no rescoring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.dedup.assign import MatchSettings
from service.models import Article
from service.repositories import articles, stories
from service.repositories.articles import ArticleDetail, ArticleSummary, Backlog
from service.repositories.stories import MemberRow, StoryRow, StorySummary
from service.stories import compare
from service.stories.compare import Comparison
from service.stories.passages import SharedPassages, shared_passages

__all__ = [
    "ArticleDetail",
    "ArticleSummary",
    "Backlog",
    "SideBySide",
    "StoryDetail",
    "StoryMember",
    "StorySummary",
    "StoryView",
    "TimelineEntry",
]


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


def backlog(session: Session) -> Backlog:
    """Articles accepted but not final, by status, and the age of the oldest."""
    return articles.pending_by_status(session)


# --- for the pages ----------------------------------------------------------------------------


def list_story_summaries(
    session: Session,
    *,
    min_size: int = 1,
    source: str | None = None,
    search: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[StorySummary]:
    """Stories newest first with their outlets, languages and dates; `before_id` is the cursor
    (story ids grow with time, so a page is the same whatever arrived since)."""
    return stories.story_summaries(
        session,
        min_size=min_size,
        source=source,
        search=search,
        limit=limit,
        before_id=before_id,
    )


@dataclass(frozen=True)
class TimelineEntry:
    article: ArticleSummary
    after_first: timedelta  # how long after the story's first appearance this one appeared


@dataclass(frozen=True)
class StoryDetail:
    id: int
    size: int
    created_at: datetime
    canonical_article_id: int | None
    articles: list[ArticleSummary]  # canonical first, then in arrival order

    @property
    def timeline(self) -> list[TimelineEntry]:
        """Every member in the order it appeared (ArticleSummary.date), with its delay."""
        ordered = sorted(self.articles, key=lambda a: (a.date, a.id))
        if not ordered:
            return []
        first = ordered[0].date
        return [TimelineEntry(a, a.date - first) for a in ordered]


def get_story_detail(session: Session, story_id: int) -> StoryDetail | None:
    story = stories.get_story(session, story_id)
    if story is None:
        return None
    members = articles.story_articles(session, story_id)
    members.sort(key=lambda m: (m.id != story.canonical_article_id, m.id))
    return StoryDetail(story.id, story.size, story.created_at, story.canonical_article_id, members)


def get_article_detail(session: Session, article_id: int) -> ArticleDetail | None:
    return articles.article_detail(session, article_id)


@dataclass(frozen=True)
class SideBySide:
    """Two articles for reading side by side: the score with its evidence, and the passages
    they share."""

    a: ArticleDetail
    b: ArticleDetail
    comparison: Comparison
    passages: SharedPassages


def compare_side_by_side(
    session: Session, a_id: int, b_id: int, *, settings: MatchSettings
) -> SideBySide:
    """Raises compare.ArticleNotFound or compare.ArticleNotProcessed, as compare_articles."""
    comparison = compare.compare_articles(session, a_id, b_id, settings=settings)
    a, b = articles.article_detail(session, a_id), articles.article_detail(session, b_id)
    if a is None or b is None:  # gone since compare_articles read it
        raise compare.ArticleNotFound(f"no article {a_id if a is None else b_id}")
    return SideBySide(a, b, comparison, shared_passages(a.text or "", b.text or ""))
