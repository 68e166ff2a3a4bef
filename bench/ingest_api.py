"""Section 5: the ingest API under 32 concurrent clients on loopback.

POST /articles and POST /articles/batch (100 articles a request), each for a fixed time, from
32 client threads (one httpx.Client each). The Celery workers are paused (SIGSTOP) meanwhile, so
the figure is what the API (one uvicorn process) accepts, not what it shares with processing;
on this 2-core machine the client threads share the CPU with the API and PostgreSQL.
The per-client rate limit is lifted (all clients are one loopback address).
Baseline: the same rows INSERTed straight into PostgreSQL by 32 psycopg connections (one row +
commit, or 100 rows + commit), no HTTP, no validation, no enqueueing.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import psycopg

from bench.common import percentile, running_stack
from bench.corpus import make_corpus

CLIENTS = 32
BATCH = 100


@dataclass
class IngestFigure:
    articles_per_s: float
    p99_ms: float
    errors: int
    error_kinds: dict[str, int]


@dataclass
class IngestResult:
    single: IngestFigure
    batch: IngestFigure
    base_single: IngestFigure
    base_batch: IngestFigure
    duration_s: float


def hammer(
    duration_s: float, make_client: Callable[[], object], call: Callable[[object, int], int]
) -> IngestFigure:
    """CLIENTS threads call `call(client, i)` (returns articles accepted) until time is up."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    accepted = [0] * CLIENTS
    errors = [0] * CLIENTS
    start = threading.Barrier(CLIENTS + 1)
    deadline = [0.0]
    kinds: Counter[str] = Counter()

    def worker(slot: int) -> None:
        client = make_client()
        start.wait()
        i = 0
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            try:
                accepted[slot] += call(client, slot * 1_000_000 + i)
            except httpx.HTTPStatusError as error:
                errors[slot] += 1
                kinds[str(error.response.status_code)] += 1
            except Exception as error:
                errors[slot] += 1
                kinds[type(error).__name__] += 1
            latencies[slot].append((time.perf_counter() - began) * 1000)
            i += 1
        close = getattr(client, "close", None)
        if close is not None:
            close()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(CLIENTS)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + duration_s
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return IngestFigure(
        articles_per_s=sum(accepted) / elapsed,
        p99_ms=percentile([x for per in latencies for x in per], 99),
        errors=sum(errors),
        error_kinds=dict(kinds),
    )


def run(duration_s: float = 10.0) -> IngestResult:
    corpus = make_corpus(400, 0.5)
    payloads = [a.payload() for a in corpus.articles]
    # The per-client rate limit would measure itself (all 32 clients are one loopback client).
    unlimited = {
        "NEWSDEDUP_RATE_LIMIT_ARTICLES_PER_S": "1000000000",
        "NEWSDEDUP_RATE_LIMIT_BURST_ARTICLES": "1000000000",
    }
    with running_stack(2, extra_env=unlimited) as stack:
        stack.pause_workers()
        try:

            def new_client() -> object:
                return httpx.Client(base_url=stack.base_url, timeout=60)

            def post_one(client: object, i: int) -> int:
                assert isinstance(client, httpx.Client)
                answer = client.post("/articles", json=payloads[i % len(payloads)])
                answer.raise_for_status()
                return 1

            def post_batch(client: object, i: int) -> int:
                assert isinstance(client, httpx.Client)
                first = (i * BATCH) % len(payloads)
                items = (payloads * 2)[first : first + BATCH]
                answer = client.post("/articles/batch", json={"articles": items})
                answer.raise_for_status()
                return len(answer.json()["articles"])

            single = hammer(duration_s, new_client, post_one)
            batch = hammer(duration_s, new_client, post_batch)

            insert = (
                "INSERT INTO articles (title, content, content_kind, source, published_at, "
                "status) VALUES (%s, %s, 'text', %s, %s, 'queued') RETURNING id"
            )

            def rows(i: int, count: int) -> list[tuple[str, str, str, str]]:
                return [
                    (p["title"], p["text"], p["source"], p["published_at"])
                    for p in (payloads[(i + k) % len(payloads)] for k in range(count))
                ]

            def new_connection() -> object:
                return psycopg.connect(stack.libpq_url)

            def insert_one(connection: object, i: int) -> int:
                assert isinstance(connection, psycopg.Connection)
                connection.execute(insert, rows(i, 1)[0]).fetchone()
                connection.commit()
                return 1

            def insert_batch(connection: object, i: int) -> int:
                assert isinstance(connection, psycopg.Connection)
                with connection.cursor() as cursor:
                    cursor.executemany(insert, rows(i * BATCH, BATCH), returning=True)
                connection.commit()
                return BATCH

            base_single = hammer(duration_s / 2, new_connection, insert_one)
            base_batch = hammer(duration_s / 2, new_connection, insert_batch)
        finally:
            stack.resume_workers()
    return IngestResult(single, batch, base_single, base_batch, duration_s)
