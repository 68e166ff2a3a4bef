"""Conditional GET in the safe client, against a real server on 127.0.0.1: validators go out as
If-None-Match / If-Modified-Since, a 304 comes back as "not modified" with no body, and every
response's validators are reported so that the next request can send them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.fetching import (
    FEEDS_AND_SITEMAPS,
    HTTPStatusFailed,
    Validators,
    fetch_page,
)
from tests.fetch_policies import local_policy

POLICY = local_policy()
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v7"'
MODIFIED = "Tue, 01 Dec 2026 08:00:00 GMT"


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[tuple[str | None, str | None]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        etag, since = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        self.server.seen.append((etag, since))
        unchanged = etag == ETAG or (etag is None and since == MODIFIED)
        if self.path == "/always-304" or (self.path == "/feed.xml" and unchanged):
            self.send_response(304)
            self.send_header("ETag", ETAG)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.send_header("ETag", ETAG)
        self.send_header("Last-Modified", MODIFIED)
        self.end_headers()
        self.wfile.write(FEED)


@pytest.fixture
def server() -> Iterator[Server]:
    instance = Server()
    thread = threading.Thread(target=instance.serve_forever, daemon=True)
    thread.start()
    yield instance
    instance.shutdown()
    instance.server_close()


def test_a_plain_fetch_reports_the_validators_the_server_sent(server: Server) -> None:
    page = fetch_page(server.url("/feed.xml"), policy=POLICY, content_types=FEEDS_AND_SITEMAPS)

    assert page.status == 200 and not page.not_modified and page.body == FEED
    assert page.validators == Validators(etag=ETAG, last_modified=MODIFIED)
    assert server.seen == [(None, None)]


def test_validators_are_sent_back_and_an_unchanged_document_is_a_bodiless_304(
    server: Server,
) -> None:
    page = fetch_page(
        server.url("/feed.xml"),
        policy=POLICY,
        content_types=FEEDS_AND_SITEMAPS,
        validators=Validators(etag=ETAG, last_modified=MODIFIED),
    )

    assert page.not_modified and page.status == 304 and page.body == b""
    assert page.validators.etag == ETAG
    assert server.seen == [(ETAG, MODIFIED)]


def test_last_modified_alone_makes_the_request_conditional(server: Server) -> None:
    page = fetch_page(
        server.url("/feed.xml"),
        policy=POLICY,
        content_types=FEEDS_AND_SITEMAPS,
        validators=Validators(last_modified=MODIFIED),
    )

    assert page.not_modified
    assert server.seen == [(None, MODIFIED)]


def test_a_stale_etag_gets_the_new_body(server: Server) -> None:
    page = fetch_page(
        server.url("/feed.xml"),
        policy=POLICY,
        content_types=FEEDS_AND_SITEMAPS,
        validators=Validators(etag='"v6"'),
    )

    assert page.status == 200 and page.body == FEED


def test_a_304_to_a_request_that_was_not_conditional_is_a_failed_fetch(server: Server) -> None:
    with pytest.raises(HTTPStatusFailed) as failed:
        fetch_page(server.url("/always-304"), policy=POLICY, content_types=FEEDS_AND_SITEMAPS)
    assert failed.value.status == 304


def test_a_validator_that_is_not_ascii_is_left_out_rather_than_sent_mangled(
    server: Server,
) -> None:
    fetch_page(
        server.url("/feed.xml"),
        policy=POLICY,
        content_types=FEEDS_AND_SITEMAPS,
        validators=Validators(etag='"vé"', last_modified=MODIFIED),
    )

    assert server.seen == [(None, MODIFIED)]
