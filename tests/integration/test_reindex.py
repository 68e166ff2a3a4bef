"""`reindex` rebuilds the band index and stories from stored content, fetching nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import sessionmaker

from service.db import make_engine
from service.reindex import count_stale_signatures, reindex
from service.settings import Settings
from tests.integration.helpers import ServiceClient

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))


def partition(service: ServiceClient, ids: list[int]) -> set[frozenset[int]]:
    stories: dict[int, set[int]] = {}
    for article_id in ids:
        stories.setdefault(service.article(article_id)["story_id"], set()).add(article_id)
    return {frozenset(members) for members in stories.values()}


def test_reindex_rebuilds_the_same_stories_from_stored_content(service: ServiceClient) -> None:
    ids = [service.post(text=p.read_text(encoding="utf-8")) for p in SEEDS]
    service.wait_final(ids)
    before = partition(service, ids)
    engine = make_engine(service.database_url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    settings = Settings(database_url=service.database_url)
    changed = Settings(database_url=service.database_url, same_story_threshold=0.7)
    try:
        report = reindex(session_factory=sessions, settings=settings)
        with sessions() as session:
            stale_after_a_change = count_stale_signatures(session, changed)
            stale_now = count_stale_signatures(session, settings)
    finally:
        engine.dispose()

    assert stale_after_a_change == (5, 5)
    assert stale_now == (0, 5)
    assert report.articles == 5
    assert report.stories == 4
    assert partition(service, ids) == before
    assert {service.article(i)["status"] for i in ids} == {"done"}
