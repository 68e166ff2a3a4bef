"""The two kinds of database session: the API's, which must not lose an accepted article, and
the workers', whose results the sweeper can redo and which may therefore commit asynchronously."""

from __future__ import annotations

from sqlalchemy import text

from service.db import make_engine


def _synchronous_commit(database_url: str, **options: bool) -> str:
    engine = make_engine(database_url, **options)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW synchronous_commit")).scalar())
    finally:
        engine.dispose()


def test_api_sessions_wait_for_the_log_flush(database_url: str) -> None:
    assert _synchronous_commit(database_url) == "on"


def test_worker_sessions_may_commit_without_waiting_for_the_log_flush(database_url: str) -> None:
    assert _synchronous_commit(database_url, synchronous_commit=False) == "off"
