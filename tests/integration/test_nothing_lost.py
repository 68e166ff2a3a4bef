"""Nothing lost, nothing duplicated: concurrent near-duplicates, killed workers, client retries,
back-pressure. Real worker processes, real PostgreSQL and Redis, real signals."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator

import psutil
import psycopg
import pytest

from ops import REPO_ROOT
from ops.stack import service_environment, worker_command
from tests.integration.conftest import STACK_ENV, Stack
from tests.integration.helpers import ServiceClient, synthetic_article


def edited_copy(text: str, seed: int, share: float = 0.05) -> str:
    """The same article with 5% of its words replaced, as a re-post with light edits."""
    rng = random.Random(seed)
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, int(len(words) * share))):
        words[i] = "edited"
    return " ".join(words)


@pytest.fixture
def extra_workers(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """Two more worker processes beside the stack's two: four in all."""
    env = service_environment(stack.database_url, stack.redis_url, STACK_ENV)
    process = subprocess.Popen(worker_command(2, beat=False), env=env, cwd=REPO_ROOT)
    time.sleep(3)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


def story_sizes(database_url: str) -> Counter[int]:
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        rows = connection.execute("SELECT count(*) FROM articles GROUP BY story_id").fetchall()
    return Counter(int(r[0]) for r in rows)


def scalar(connection: psycopg.Connection[tuple[int]], sql: str) -> int:
    row = connection.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def integrity_problems(database_url: str) -> list[str]:
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        orphans = scalar(
            connection,
            "SELECT count(*) FROM stories s WHERE NOT EXISTS "
            "(SELECT 1 FROM articles a WHERE a.id = s.canonical_article_id AND a.story_id = s.id)",
        )
        done_without_story = scalar(
            connection, "SELECT count(*) FROM articles WHERE status = 'done' AND story_id IS NULL"
        )
        double_signatures = scalar(
            connection,
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
    service: ServiceClient, extra_workers: subprocess.Popen[bytes]
) -> None:
    originals = [synthetic_article(1000 + i) for i in range(200)]
    copies = [edited_copy(text, i) for i, text in enumerate(originals)]
    # Interleave so each pair is usually processed at the same moment by different workers.
    articles = [{"text": t} for pair in zip(originals, copies, strict=True) for t in pair]

    ids = service.post_batch(articles)
    final = service.wait_final(ids, timeout_s=300)

    assert all(a["status"] == "done" for a in final.values())
    assert story_sizes(service.database_url) == Counter({2: 200})
    assert integrity_problems(service.database_url) == []


def test_killing_a_worker_process_mid_run_loses_nothing(
    service: ServiceClient, stack: Stack
) -> None:
    ids: list[int] = []
    for start in range(0, 1000, 500):
        ids += service.post_batch(
            [{"text": synthetic_article(5000 + i)} for i in range(start, start + 500)]
        )
    time.sleep(2)
    worker_main = psutil.Process(stack.processes.processes[1].pid)
    children = worker_main.children(recursive=True)
    assert children, "the worker has no pool processes to kill"
    os.kill(children[0].pid, signal.SIGKILL)

    final = service.wait_final(ids, timeout_s=400)

    assert Counter(a["status"] for a in final.values()) == Counter({"done": 1000})
    assert integrity_problems(service.database_url) == []


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
    with psycopg.connect(service.database_url.replace("+psycopg", "")) as connection:
        assert scalar(connection, "SELECT count(*) FROM articles") == 4


def test_backlog_over_its_bound_gets_429_with_retry_after(service: ServiceClient) -> None:
    with psycopg.connect(service.database_url.replace("+psycopg", "")) as connection:
        # Pending rows without messages stand in for a backlog the workers have not reached.
        connection.execute(
            "INSERT INTO articles (status, content, content_kind) "
            "SELECT 'queued', 'x', 'text' FROM generate_series(1, 5000)"
        )

    response = service.http.post("/articles", json={"text": synthetic_article(1)})

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "backlog" in response.json()["detail"]


def test_a_client_posting_past_its_rate_gets_429_with_retry_after(service: ServiceClient) -> None:
    # Tiny texts: they fail fast as "too little text", so the workers are not loaded.
    batch = {"articles": [{"text": f"tiny {i}"} for i in range(1000)]}
    responses = []
    for _ in range(5):
        responses.append(service.http.post("/articles/batch", json=batch))
        if responses[-1].status_code == 429:
            break

    limited = responses[-1]
    assert limited.status_code == 429, [r.status_code for r in responses]
    assert "rate limit" in limited.json()["detail"]
    assert int(limited.headers["Retry-After"]) >= 1
    assert all(r.status_code == 202 for r in responses[:-1])
