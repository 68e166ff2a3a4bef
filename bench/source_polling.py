"""Section 7: what polling one source costs, per poll of a 50-item RSS feed.

The poller runs in this process exactly as a worker runs it (``polling.poll_source`` after the
scheduler's claim, through the PoliteClient: robots.txt from Redis, the gate in Redis, the
SSRF-safe client), against embedded PostgreSQL and Redis; new articles' fetch messages are
published to Redis by the Celery task queue, with no worker consuming them. The feed is served
by a separate process, so this process's CPU is the poller's alone. Four kinds of poll:

- changed, 50 new items: parse, one known-URL query, 50 inserts, 50 messages;
- changed, all 50 known: parse and the known-URL query, nothing recorded;
- same bytes (a server that never answers 304): hash compared, nothing parsed;
- 304: a conditional GET answered "not modified".

Baselines in the same run: feedparser.parse on the same bytes, and a naive poll (httpx GET of
the same URL plus feedparser.parse), each in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds, percentile, process_tree

ITEMS = 50


@dataclass
class PollFigure:
    name: str
    polls: int
    wall_p50_ms: float
    wall_p99_ms: float
    cpu_ms: float  # this process, mean per poll
    postgres_cpu_ms: float  # our PostgreSQL cluster, mean per poll
    outcome: str


@dataclass
class PollingResult:
    figures: list[PollFigure]
    feed_bytes: int
    feedparser_cpu_ms: float
    naive_poll_wall_ms: float
    naive_poll_cpu_ms: float


def feed(variant: int, *, base: str, fresh_items: bool) -> bytes:
    """The 50-item feed of a variant: new item URLs per variant, or the same URLs with a
    variant-stamped channel description (a changed body whose items are all known)."""
    first = variant * ITEMS if fresh_items else 0
    start = datetime(2026, 12, 1, tzinfo=UTC)
    entries = "".join(
        f"<item><title>Report {n}: council votes on the harbour budget</title>"
        f"<link>{base}/news/{n}</link><guid isPermaLink='false'>urn:bench:{n}</guid>"
        f"<pubDate>{format_datetime(start + timedelta(minutes=n))}</pubDate>"
        f"<description>The council met on Tuesday to discuss item {n} of the agenda, "
        f"with a vote expected next week.</description></item>"
        for n in range(first + ITEMS - 1, first - 1, -1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench Desk</title><link>{base}/</link><description>v{variant}</description>"
        f"{entries}</channel></rss>"
    ).encode()


def _serve(port: Any, variant: Any, fresh: Any, conditional: Any) -> None:
    """The feed server, in its own process: /feed.xml of the current variant."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/feed.xml":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"{variant.value}-{fresh.value}"'
            if conditional.value and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            host = f"http://127.0.0.1:{port.value}"
            body = feed(variant.value, base=host, fresh_items=bool(fresh.value))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.value = server.server_address[1]
    server.serve_forever()


@dataclass
class _FeedServer:
    url: str
    variant: Synchronized[int]
    fresh: Synchronized[int]
    conditional: Synchronized[int]


@contextmanager
def feed_server() -> Iterator[_FeedServer]:
    context = multiprocessing.get_context("spawn")
    port, variant = context.Value("i", 0), context.Value("i", 0)
    fresh, conditional = context.Value("i", 1), context.Value("i", 1)
    process = context.Process(target=_serve, args=(port, variant, fresh, conditional))
    process.start()
    try:
        deadline = time.monotonic() + 30
        while not port.value and time.monotonic() < deadline:
            time.sleep(0.05)  # the child binds its port at start; a start-up wait, not a sync
        yield _FeedServer(f"http://127.0.0.1:{port.value}/feed.xml", variant, fresh, conditional)
    finally:
        process.terminate()
        process.join()


def run(polls: int) -> PollingResult:
    with tempfile.TemporaryDirectory(prefix="newsdedup-bench-polling-") as tmp:
        return _run(Path(tmp), polls)


def _run(data_dir: Path, polls: int) -> PollingResult:
    from ops.migrations import migrate
    from ops.stack import start_backends

    backends = start_backends(data_dir, None, None)
    try:
        migrate(backends.database_url)
        # The worker's own settings, read from the environment as a worker reads them; the
        # gate is opened (one local server, polled back to back: see bench/common.py).
        os.environ.update(
            {
                "NEWSDEDUP_DATABASE_URL": backends.database_url,
                "NEWSDEDUP_REDIS_URL": backends.redis_url,
                "NEWSDEDUP_FETCH_ALLOW_LOOPBACK": "true",
                "NEWSDEDUP_POLITENESS_MIN_INTERVAL_S": "0",
                "NEWSDEDUP_POLITENESS_MAX_IN_FLIGHT": "1000",
            }
        )
        postmaster = backends.handles[0].get_pid()
        with feed_server() as server:
            return _measure(server, polls, postmaster)
    finally:
        backends.close()


def _measure(server: _FeedServer, polls: int, postmaster: int) -> PollingResult:
    import feedparser
    import httpx

    from service.db import get_worker_session_factory
    from service.redis_client import redis_client
    from service.settings import get_settings
    from service.sources import polling, subscriptions
    from service.sources.polling import PollSettings
    from workers.tasks import CeleryTaskQueue

    settings = get_settings()
    factory = get_worker_session_factory()
    poll_settings = PollSettings.from_settings(settings)
    from service.fetching.polite import PoliteClient

    client = PoliteClient.from_settings(settings, redis_client(settings.redis_url))
    queue = CeleryTaskQueue()
    with factory() as session:
        view, _ = subscriptions.add_source(
            server.url,
            policy=poll_settings.policy,
            bounds=poll_settings.bounds,
            scheduler=None,
            session=session,
        )

    def one_poll() -> str:
        with factory() as session:
            subscriptions.poll_now(view.id, scheduler=None, session=session)
            [(source_id, token)] = polling.claim_due_sources(
                session, limit=1, lease_s=settings.source_poll_lease_s
            )
            session.commit()
        outcome = polling.poll_source(
            source_id,
            claim_token=token,
            session_factory=factory,
            client=client,
            settings=poll_settings,
            queue=queue,
        )
        return outcome.outcome

    def measured(name: str, prepare: Callable[[int], None]) -> PollFigure:
        postgres = process_tree(postmaster)
        walls, outcomes = [], set()
        cpu_before, pg_before = time.process_time(), cpu_seconds(postgres)
        for i in range(polls):
            prepare(i)
            began = time.perf_counter()
            outcomes.add(one_poll())
            walls.append((time.perf_counter() - began) * 1000)
        cpu = (time.process_time() - cpu_before) * 1000 / polls
        # Backends started during the loop are counted too (by the postmaster's tree now).
        pg = (cpu_seconds(process_tree(postmaster)) - pg_before) * 1000 / polls
        return PollFigure(
            name, polls, percentile(walls, 50), percentile(walls, 99), cpu, pg, "/".join(outcomes)
        )

    def variant(fresh: bool, conditional: bool, step: bool) -> Callable[[int], None]:
        def prepare(i: int) -> None:
            server.fresh.value, server.conditional.value = int(fresh), int(conditional)
            if step:
                server.variant.value += 1

        return prepare

    one_poll()  # warm up: robots.txt cached, connections pooled, first-use costs paid
    figures = [
        measured("changed, 50 new items", variant(fresh=True, conditional=True, step=True)),
        measured("changed, all 50 known", variant(fresh=False, conditional=True, step=True)),
        measured("same bytes (no 304)", variant(fresh=False, conditional=False, step=False)),
        measured("304 not modified", variant(fresh=False, conditional=True, step=False)),
    ]

    body = feed(1, base=server.url.rsplit("/", 1)[0], fresh_items=True)
    began = time.process_time()
    for _ in range(polls):
        feedparser.parse(body)
    parse_cpu = (time.process_time() - began) * 1000 / polls
    walls = []
    began = time.process_time()
    with httpx.Client() as http:
        for _ in range(polls):
            start = time.perf_counter()
            feedparser.parse(http.get(server.url).content)
            walls.append((time.perf_counter() - start) * 1000)
    naive_cpu = (time.process_time() - began) * 1000 / polls
    return PollingResult(figures, len(body), parse_cpu, percentile(walls, 50), naive_cpu)
