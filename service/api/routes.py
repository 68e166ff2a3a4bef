"""HTTP routes. Each validates, calls one service function, maps domain errors to codes."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from sqlalchemy.orm import Session

from service.api.schemas import (
    AcceptedOut,
    ArticleBatchIn,
    ArticleIn,
    ArticleOut,
    BatchAcceptedOut,
    CompareOut,
    ErrorOut,
    RequestErrorOut,
    SourceIn,
    SourceOut,
    SourcePageOut,
    StoryOut,
    StoryPageOut,
)
from service.db import get_session_factory, ping_database
from service.dedup.assign import MatchSettings
from service.ingest import IdempotencyConflict, InvalidArticle, NewArticle, accept_articles
from service.models import SourceKind
from service.redis_client import redis_client
from service.settings import Settings, get_settings
from service.sources import subscriptions, views
from service.sources.polling import PollSettings
from service.stories import compare as story_compare
from service.stories import queries

router = APIRouter()


def get_session() -> Iterator[Session]:
    session = get_session_factory()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

# Article and story ids are PostgreSQL bigint identities: an id outside 1..2^63-1 can name no
# row, and must be refused here (422) rather than overflow in PostgreSQL as a server error.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def _accept(
    items: list[ArticleIn],
    *,
    request: Request,
    session: Session,
    idempotency_key: str | None,
    request_body: str,
) -> list[AcceptedOut]:
    try:
        accepted = accept_articles(
            [NewArticle(**item.model_dump()) for item in items],
            client=request.client.host if request.client else "unknown",
            idempotency_key=idempotency_key,
            request_body=request_body.encode(),
            guards=request.app.state.ingest_guards,
            queue=request.app.state.task_queue,
            session=session,
        )
    except (InvalidArticle, IdempotencyConflict) as refused:
        raise HTTPException(422, str(refused)) from refused
    return [AcceptedOut(id=a.id, status=a.status) for a in accepted]


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retries with the same key and body get the same articles back.",
    ),
]
INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    # Starlette's answer to a body it cannot parse at all (e.g. not UTF-8) before validation.
    400: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": RequestErrorOut},
    429: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


@router.post(
    "/articles",
    status_code=202,
    response_model=AcceptedOut,
    responses=INGEST_RESPONSES,
    tags=["ingest"],
)
def post_article(
    item: ArticleIn,
    request: Request,
    session: SessionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AcceptedOut:
    """Accept one article: a URL to fetch, or text/HTML to process as given."""
    accepted = _accept(
        [item],
        request=request,
        session=session,
        idempotency_key=idempotency_key,
        request_body="single:" + item.model_dump_json(),
    )
    return accepted[0]


@router.post(
    "/articles/batch",
    status_code=202,
    response_model=BatchAcceptedOut,
    responses=INGEST_RESPONSES,
    tags=["ingest"],
)
def post_article_batch(
    batch: ArticleBatchIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> BatchAcceptedOut:
    """Accept up to 1,000 articles in one request; answers in request order."""
    if len(batch.articles) > settings.max_batch_articles:
        raise HTTPException(422, f"a batch holds at most {settings.max_batch_articles} articles")
    accepted = _accept(
        batch.articles,
        request=request,
        session=session,
        idempotency_key=idempotency_key,
        request_body="batch:" + batch.model_dump_json(),
    )
    return BatchAcceptedOut(articles=accepted)


@router.get(
    "/articles/{article_id}",
    response_model=ArticleOut,
    responses={404: {"model": ErrorOut}},
    tags=["read"],
)
def get_article(article_id: RowId, session: SessionDep) -> ArticleOut:
    article = queries.get_article(session, article_id)
    if article is None:
        raise HTTPException(404, "no such article")
    return ArticleOut(
        id=article.id,
        status=article.status,
        error=article.error,
        url=article.url,
        title=article.title,
        text=article.text,
        story_id=article.story_id,
        match=article.match_kind,
        similarity=article.similarity,
        matched_article_id=article.matched_article_id,
        evidence=article.match_evidence,
        published_at=article.published_at,
        language=article.language,
        source_id=article.source_id,
        feed_guid=article.feed_guid,
        final_url=article.final_url,
        canonical_url=article.canonical_url,
        author=article.author,
        site_name=article.site_name,
        page_language=article.page_language,
    )


@router.get(
    "/articles/{article_id}/compare/{other_id}",
    response_model=CompareOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    tags=["read"],
)
def compare_articles(
    article_id: RowId, other_id: RowId, session: SessionDep, settings: SettingsDep
) -> CompareOut:
    """How similar two processed articles are, whether they are one story, and why."""
    try:
        result = story_compare.compare_articles(
            session, article_id, other_id, settings=MatchSettings.from_settings(settings)
        )
    except story_compare.ArticleNotFound as missing:
        raise HTTPException(404, str(missing)) from missing
    except story_compare.ArticleNotProcessed as pending:
        raise HTTPException(409, str(pending)) from pending
    return CompareOut(
        similarity=result.similarity, same_story=result.same_story, evidence=result.evidence
    )


@router.get(
    "/stories/{story_id}",
    response_model=StoryOut,
    responses={404: {"model": ErrorOut}},
    tags=["read"],
)
def get_story(story_id: RowId, session: SessionDep) -> StoryOut:
    story = queries.get_story(session, story_id)
    if story is None:
        raise HTTPException(404, "no such story")
    return StoryOut.model_validate(story)


def _encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(str(row_id).encode()).decode()


def _decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        before_id = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError) as bad:
        raise HTTPException(422, "malformed cursor") from bad
    if not 1 <= before_id <= MAX_ROW_ID:  # we only hand out ids of real stories
        raise HTTPException(422, "malformed cursor")
    return before_id


@router.get(
    "/stories",
    response_model=StoryPageOut,
    responses={422: {"model": RequestErrorOut}},
    tags=["read"],
)
def list_stories(
    session: SessionDep,
    min_size: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> StoryPageOut:
    """Stories, newest first; pass next_cursor back as cursor for the next page."""
    stories = queries.list_stories(
        session, min_size=min_size, limit=limit, before_id=_decode_cursor(cursor)
    )
    next_cursor = None
    if len(stories) == limit:
        next_cursor = _encode_cursor(stories[-1].id)
    return StoryPageOut(
        stories=[StoryOut.model_validate(s) for s in stories], next_cursor=next_cursor
    )


# --- sources: feeds and sitemaps polled on a schedule ----------------------------------------


def subscribe(
    url: str,
    *,
    kind: SourceKind = SourceKind.AUTO,
    poll_minutes: int | None,
    request: Request,
    session: Session,
    settings: Settings,
) -> tuple[views.SourceView, bool]:
    """subscriptions.add_source with this app's fetch policy, poll bounds and scheduler, for
    this route and the sources page's form alike. Raises subscriptions.InvalidSource."""
    return subscriptions.add_source(
        url,
        kind=kind,
        poll_minutes=poll_minutes,
        policy=request.app.state.ingest_guards.fetch_policy,
        bounds=PollSettings.from_settings(settings).bounds,
        scheduler=request.app.state.poll_scheduler,
        session=session,
    )


@router.post(
    "/sources",
    status_code=201,
    response_model=SourceOut,
    responses={
        200: {"model": SourceOut},
        400: {"model": ErrorOut},
        413: {"model": ErrorOut},
        422: {"model": RequestErrorOut},
    },
    tags=["sources"],
)
def add_source(
    item: SourceIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> SourceOut:
    """Subscribe to a feed or sitemap: 201 with the new source, polled at once. A URL that is
    already a source answers 200 with that source (restarted if it was stopped)."""
    try:
        source, created = subscribe(
            item.url,
            kind=SourceKind(item.kind),
            poll_minutes=item.poll_minutes,
            request=request,
            session=session,
            settings=settings,
        )
    except subscriptions.InvalidSource as refused:
        raise HTTPException(422, str(refused)) from refused
    if not created:
        response.status_code = 200
    return SourceOut.model_validate(source)


@router.get(
    "/sources",
    response_model=SourcePageOut,
    responses={422: {"model": RequestErrorOut}},
    tags=["sources"],
)
def list_sources(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    include_stopped: bool = False,
) -> SourcePageOut:
    """Sources in the order they were added, each with its last few fetches; pass
    next_cursor back as cursor for the next page."""
    sources = views.list_source_views(
        session, limit=limit, after_id=_decode_cursor(cursor), include_stopped=include_stopped
    )
    next_cursor = _encode_cursor(sources[-1].id) if len(sources) == limit else None
    return SourcePageOut(
        sources=[SourceOut.model_validate(s) for s in sources], next_cursor=next_cursor
    )


@router.get(
    "/sources/{source_id}",
    response_model=SourceOut,
    responses={404: {"model": ErrorOut}},
    tags=["sources"],
)
def get_source(source_id: RowId, session: SessionDep) -> SourceOut:
    """A source: its status, its last fetches with their outcomes, its next poll."""
    source = views.get_source_view(session, source_id)
    if source is None:
        raise HTTPException(404, "no such source")
    return SourceOut.model_validate(source)


@router.post(
    "/sources/{source_id}/poll",
    status_code=202,
    response_model=SourceOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    tags=["sources"],
)
def poll_source_now(source_id: RowId, request: Request, session: SessionDep) -> SourceOut:
    """Poll now rather than at the next scheduled time (a poll already running finishes)."""
    try:
        source = subscriptions.poll_now(
            source_id, scheduler=request.app.state.poll_scheduler, session=session
        )
    except subscriptions.SourceStopped as stopped:
        raise HTTPException(409, str(stopped)) from stopped
    if source is None:
        raise HTTPException(404, "no such source")
    return SourceOut.model_validate(source)


@router.delete(
    "/sources/{source_id}",
    response_model=SourceOut,
    responses={404: {"model": ErrorOut}},
    tags=["sources"],
)
def stop_source(source_id: RowId, session: SessionDep) -> SourceOut:
    """Stop polling the source. Its articles, and the source with its fetch log, are kept."""
    source = subscriptions.stop_source(source_id, session=session)
    if source is None:
        raise HTTPException(404, "no such source")
    return SourceOut.model_validate(source)


@router.get("/healthz", tags=["ops"], responses={503: {"model": ErrorOut}})
def healthz(response: Response, session: SessionDep, settings: SettingsDep) -> dict[str, str]:
    """200 only when PostgreSQL and Redis both answer."""
    checks = {"postgres": "ok", "redis": "ok"}
    try:
        ping_database(session)
    except Exception as error:
        checks["postgres"] = f"unavailable: {type(error).__name__}"
    try:
        redis_client(settings.redis_url).ping()
    except Exception as error:
        checks["redis"] = f"unavailable: {type(error).__name__}"
    if any(v != "ok" for v in checks.values()):
        response.status_code = 503
    return checks


@router.get("/stats", tags=["ops"])
def stats(session: SessionDep) -> dict[str, int]:
    """Counts of every article outcome, from PostgreSQL: by status, by match kind, failures by
    reason. Prometheus metrics are at /metrics."""
    return queries.outcome_counts(session)
