"""A database of a test module's own on the test run's PostgreSQL server, migrated to head: for
tests that call the domain directly and must not meet the shared stack's workers, sweeper or
scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.orm import Session, sessionmaker

from ops.migrations import migrate
from service.db import make_engine
from tests.integration.conftest import Backends, _with_database


@contextmanager
def own_database(backends: Backends, name: str) -> Iterator[sessionmaker[Session]]:
    maintenance = _with_database(backends.admin_database_url, "postgres").replace("+psycopg", "")
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(backends.admin_database_url, name)
    migrate(url)
    engine = make_engine(url)
    try:
        yield sessionmaker(bind=engine, expire_on_commit=False)
    finally:
        engine.dispose()
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
