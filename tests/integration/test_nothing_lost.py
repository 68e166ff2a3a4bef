"""Nothing lost, nothing duplicated: concurrent near-duplicates, killed workers, client retries,
back-pressure. Real worker processes, real PostgreSQL and Redis, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from celery import Celery

from ops import REPO_ROOT
from ops.stack import LocalStack, service_environment, wait_for_workers, worker_command
from tests.integration.conftest import STACK_ENV
from tests.integration.helpers import (
    ServiceClient,
    celery_control,
    connect,
    edited_copy,
    scalar,
    synthetic_article,
)
from tests.waiting import poll_until
from workers.celery_app import PROCESS_QUEUE

# The stack's worker node and the extra one below.
WORKER_NODES = 2
PAIRS = 200
# Loopback, and not the 127.0.0.1 every other test posts from.
RATE_LIMITED_CLIENT = "127.0.0.2"


@pytest.fixture
def extra_workers(stack: LocalStack) -> Iterator[subprocess.Popen[bytes]]:
    """Two more worker processes beside the stack's two: four in all, consuming."""
    env = service_environment(stack.database_url, stack.redis_url, STACK_ENV)
    # A node name of its own, so remote control tells the two worker nodes apart.
    command = [*worker_command(2, beat=False), "--hostname", "extra@%h"]
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT)
    try:
        wait_for_workers(stack.redis_url, processes=4)
        yield process
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def consumption_paused(app: Celery, queue: str, *, nodes: int) -> Iterator[None]:
    """Every worker node stops taking messages from `queue`, and takes them again after."""
    replies = app.control.cancel_consumer(queue, reply=True, timeout=5.0, limit=nodes)
    assert len(replies) == nodes, f"not every worker stopped consuming: {replies}"
    try:
        yield
    finally:
        replies = app.control.add_consumer(queue, reply=True, timeout=5.0, limit=nodes)
        assert len(replies) == nodes, f"not every worker consumes again: {replies}"


def queued_messages(app: Celery, queue: str) -> int:
    with app.connection_for_read() as connection:
        return int(connection.default_channel.client.llen(queue))


def story_sizes(database_url: str) -> Counter[int]:
    with connect(database_url) as connection:
        rows = connection.execute("SELECT count(*) FROM articles GROUP BY story_id").fetchall()
    return Counter(int(r[0]) for r in rows)


def integrity_problems(database_url: str) -> list[str]:
    orphans = scalar(
        database_url,
        "SELECT count(*) FROM stories s WHERE NOT EXISTS "
        "(SELECT 1 FROM articles a WHERE a.id = s.canonical_article_id AND a.story_id = s.id)",
    )
    done_without_story = scalar(
        database_url, "SELECT count(*) FROM articles WHERE status = 'done' AND story_id IS NULL"
    )
    double_signatures = scalar(
        database_url,
        "SELECT count(*) FROM (SELECT article_id FROM article_signatures "
        "GROUP BY article_id HAVING count(*) > 1) d",
    )
    problems = []
    if orphans:
        problems.append(f"{orphans} stories lack their canonical article")
    if done_without_story:
        problems.append(f"{done_without_story} done articles have no story")
    if double_signatures:
        problems.append(f"{double_signatures} articles indexed twice")
    return problems


def test_four_workers_make_exactly_one_story_per_near_duplicate_pair(
    service: ServiceClient, stack: LocalStack, extra_workers: subprocess.Popen[bytes]
) -> None:
    originals = [synthetic_article(1000 + i) for i in range(PAIRS)]
    copies = [edited_copy(text, i) for i, text in enumerate(originals)]

    with (
        celery_control(stack.redis_url) as app,
        consumption_paused(app, PROCESS_QUEUE, nodes=WORKER_NODES),
    ):
        # One POST per article is one message per article (a batch would put a pair in one
        # message, and so in one process). Posted original, copy, original, copy... into a
        # paused queue, so that when the four pool processes start they take consecutive
        # messages at once: the two members of a pair meet in different processes.
        ids = [
            service.post(text=text) for pair in zip(originals, copies, strict=True) for text in pair
        ]
        poll_until(
            lambda: queued_messages(app, PROCESS_QUEUE) >= 2 * PAIRS,
            timeout_s=30,
            what=f"{2 * PAIRS} messages in the paused queue",
        )
    final = service.wait_final(ids, timeout_s=300)

    assert Counter(a["status"] for a in final.values()) == Counter({"done": 2 * PAIRS})
    assert story_sizes(service.database_url) == Counter({2: PAIRS})
    assert integrity_problems(service.database_url) == []


def busy_pool_process(app: Celery) -> int:
    """The pid of a pool process running a task now."""
    active = app.control.inspect(timeout=5.0).active() or {}
    pids = [task["worker_pid"] for tasks in active.values() for task in tasks]
    return pids[0] if pids else 0


def test_killing_a_worker_process_mid_task_loses_nothing(
    service: ServiceClient, stack: LocalStack
) -> None:
    ids: list[int] = []
    for start in range(0, 1000, 500):
        ids += service.post_batch(
            [{"text": synthetic_article(5000 + i)} for i in range(start, start + 500)]
        )
    with celery_control(stack.redis_url) as app:
        victim = poll_until(
            lambda: busy_pool_process(app), timeout_s=60, what="a pool process running a task"
        )
    os.kill(victim, signal.SIGKILL)

    final = service.wait_final(ids, timeout_s=400)

    assert Counter(a["status"] for a in final.values()) == Counter({"done": 1000})
    assert integrity_problems(service.database_url) == []
    # The killed process had work in hand; the worker replaced it and finished everything.
    assert victim not in wait_for_workers(stack.redis_url, processes=2)


def test_a_retried_batch_with_its_idempotency_key_creates_no_new_rows(
    service: ServiceClient,
) -> None:
    body = {"articles": [{"text": synthetic_article(9000 + i)} for i in range(3)]}
    headers = {"Idempotency-Key": "batch-42"}

    first = service.http.post("/articles/batch", json=body, headers=headers)
    retry = service.http.post("/articles/batch", json=body, headers=headers)
    other_body = service.http.post(
        "/articles/batch", json={"articles": [{"text": "different"}]}, headers=headers
    )
    single = [
        service.http.post(
            "/articles", json={"url": "https://example.com/x"}, headers={"Idempotency-Key": "one"}
        )
        for _ in range(2)
    ]

    assert first.status_code == retry.status_code == 202
    assert [a["id"] for a in first.json()["articles"]] == [
        a["id"] for a in retry.json()["articles"]
    ]
    assert other_body.status_code == 422
    assert single[0].json()["id"] == single[1].json()["id"]
    assert scalar(service.database_url, "SELECT count(*) FROM articles") == 4


def test_backlog_over_its_bound_gets_429_with_retry_after(service: ServiceClient) -> None:
    with connect(service.database_url) as connection:
        # Pending rows without messages stand in for a backlog the workers have not reached.
        connection.execute(
            "INSERT INTO articles (status, content, content_kind) "
            "SELECT 'queued', 'x', 'text' FROM generate_series(1, 5000)"
        )
    try:
        response = service.http.post("/articles", json={"text": synthetic_article(1)})
    finally:
        # Not left for the sweeper to find stale and send while a later test runs.
        with connect(service.database_url) as connection:
            connection.execute("DELETE FROM articles WHERE content = 'x'")

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "backlog" in response.json()["detail"]


def test_a_client_posting_past_its_rate_gets_429_with_retry_after(
    service: ServiceClient, stack: LocalStack
) -> None:
    # Tiny texts: they fail fast as "too little text", so the workers are not loaded.
    batch = {"articles": [{"text": f"tiny {i}"} for i in range(1000)]}
    responses = []
    # The API keeps a token bucket per client address for as long as it runs: this test posts
    # from an address of its own, so the bucket it empties is no other test's.
    transport = httpx.HTTPTransport(local_address=RATE_LIMITED_CLIENT)
    with httpx.Client(base_url=stack.api_url, transport=transport, timeout=30) as client:
        for _ in range(5):
            responses.append(client.post("/articles/batch", json=batch))
            if responses[-1].status_code == 429:
                break

    limited = responses[-1]
    assert limited.status_code == 429, [r.status_code for r in responses]
    assert "rate limit" in limited.json()["detail"]
    assert int(limited.headers["Retry-After"]) >= 1
    assert all(r.status_code == 202 for r in responses[:-1])
