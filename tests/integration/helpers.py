"""Helpers for driving the running service over HTTP, and a local page server."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

FINAL_STATUSES = ("done", "failed")


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
        pending = list(ids)
        final: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for article_id in list(pending):
                article = self.article(article_id)
                if article["status"] in FINAL_STATUSES:
                    final[article_id] = article
                    pending.remove(article_id)
            if pending:
                time.sleep(0.2)
        assert not pending, f"articles never reached a final state: {pending}"
        return final


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
                status, content_type, body = route
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
