"""Helpers for driving the running service: HTTP, its database, its workers, a local page
server, and the one way the tests wait for something."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import psycopg
from celery import Celery
from sqlalchemy.engine import make_url

from service.redis_client import broker_url, redis_client
from tests.local_http import local_server, send_fixed, serving
from tests.waiting import poll_until

FINAL_STATUSES = ("done", "failed")
# The Celery queues (workers/celery_app.py) and kombu's hash of delivered, unacknowledged
# messages: all empty when no work is queued or in flight.
QUEUES = ("fetch", "process")
UNACKED_KEY = "unacked"


def synthetic_article(seed: int, words: int = 150) -> str:
    """A long enough article of made-up words, distinct per seed, for tests that need many
    unrelated stories."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "zu", "da", "fi"]
    vocabulary = ["".join(rng.choice(syllables) for _ in range(3)) for _ in range(400)]
    sentences = []
    for _ in range(words // 10):
        sentence = " ".join(rng.choice(vocabulary) for _ in range(10))
        sentences.append(sentence.capitalize() + ".")
    return f"Story {seed}: " + " ".join(sentences[:1]) + "\n\n" + " ".join(sentences[1:])


def edited_copy(text: str, seed: int, share: float = 0.05) -> str:
    """The same article with 5% of its words replaced, as a re-post with light edits."""
    rng = random.Random(seed)
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, int(len(words) * share))):
        words[i] = "edited"
    return " ".join(words)


# --- the database -----------------------------------------------------------------------------


def connect(database_url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[Any, ...]]:
    """A plain psycopg connection to the service's database (the URL may name SQLAlchemy's
    driver)."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, autocommit=autocommit)


def scalar(database_url: str, sql: str) -> int:
    with connect(database_url) as connection:
        row = connection.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


# --- the workers ------------------------------------------------------------------------------


@contextmanager
def celery_control(redis_url: str) -> Iterator[Celery]:
    """A Celery app on the service's broker, for remote control of its workers."""
    app = Celery(broker=broker_url(redis_url))
    try:
        yield app
    finally:
        app.close()


def queued_and_unacknowledged(redis_url: str) -> tuple[int, int]:
    """(messages waiting in the queues, messages delivered and not yet acknowledged). Every task
    is acks-late, so a running task's message counts as unacknowledged until it has finished,
    and so does a message a worker holds for a later time (a deferred fetch or poll)."""
    client = redis_client(redis_url)
    try:
        return sum(int(client.llen(queue)) for queue in QUEUES), int(client.hlen(UNACKED_KEY))
    finally:
        client.close()


@dataclass(frozen=True)
class WorkerTasks:
    running: list[dict[str, Any]]  # active or reserved: being run, or next in line
    deferred: list[dict[str, Any]]  # held for a later time (countdown / ETA)


def worker_tasks(app: Celery, *, nodes: int) -> WorkerTasks:
    """The tasks the workers run, hold reserved or hold for later, as `nodes` nodes report."""
    inspect = app.control.inspect(timeout=5.0, limit=nodes)
    answers = [inspect.active(), inspect.reserved(), inspect.scheduled()]
    for answer in answers:
        assert answer is not None and len(answer) >= nodes, f"workers did not answer: {answer}"
    active, reserved, scheduled = (
        [task for node_tasks in answer.values() for task in node_tasks] for answer in answers
    )
    return WorkerTasks(running=active + reserved, deferred=scheduled)


def wait_until_idle(redis_url: str, *, nodes: int = 1, timeout_s: float = 300) -> None:
    """Wait until no message is queued, the workers run nothing and hold nothing reserved, and
    the only unacknowledged messages are those held for a later time: nothing of an earlier
    test is still being processed. A deferred fetch or poll (a countdown of up to 15 minutes)
    is not waited for: ids are never reused, so when it runs it finds no row and does nothing."""

    def idle() -> bool:
        queued, unacknowledged = queued_and_unacknowledged(redis_url)
        if queued:
            return False
        with celery_control(redis_url) as app:
            tasks = worker_tasks(app, nodes=nodes)
        return not tasks.running and unacknowledged <= len(tasks.deferred)

    poll_until(idle, timeout_s=timeout_s, what="the workers to be idle")


# --- the API ----------------------------------------------------------------------------------


@dataclass
class ServiceClient:
    http: httpx.Client
    database_url: str

    def post(self, **article: Any) -> int:
        response = self.http.post("/articles", json=article)
        assert response.status_code == 202, response.text
        return int(response.json()["id"])

    def post_batch(self, articles: list[dict[str, Any]]) -> list[int]:
        response = self.http.post("/articles/batch", json={"articles": articles})
        assert response.status_code == 202, response.text
        return [int(a["id"]) for a in response.json()["articles"]]

    def article(self, article_id: int) -> dict[str, Any]:
        response = self.http.get(f"/articles/{article_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def wait_final(self, ids: Iterable[int], timeout_s: float = 120) -> dict[int, dict[str, Any]]:
        """Each article's record once it is done or failed."""
        pending = list(ids)
        final: dict[int, dict[str, Any]] = {}

        def all_final() -> bool:
            for article_id in list(pending):
                article = self.article(article_id)
                if article["status"] in FINAL_STATUSES:
                    final[article_id] = article
                    pending.remove(article_id)
            return not pending

        try:
            poll_until(all_final, timeout_s=timeout_s, what="articles to be done or failed")
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}; still pending: {pending}") from None
        return final


# --- a local page server ----------------------------------------------------------------------


Route = tuple[int, str, bytes] | Callable[[BaseHTTPRequestHandler], None]


class PageServer:
    """Serves fixed responses from 127.0.0.1 on a random port: path -> (status, type, body)."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        routes_ref = routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes_ref.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if callable(route):
                    route(self)
                    return
                send_fixed(self, *route)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = local_server(Handler)
        self._serving = serving(self.server)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PageServer:
        self._serving.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.__exit__(None, None, None)
