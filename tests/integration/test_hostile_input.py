"""Hostile input, posted or served to the fetcher: each case ends in a clear 4xx, or in an
article that is `done` or `failed` with a meaningful reason, in bounded time, and the workers
keep working afterwards.

The stack runs with a 2 MiB fetch cap, a 3 MiB request body cap and a 10 s total fetch timeout
(see conftest.STACK_ENV).
"""

from __future__ import annotations

import gzip
import json
import random
import re
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from tests.integration.conftest import STACK_ENV
from tests.integration.helpers import PageServer, Route, ServiceClient, scalar, synthetic_article

FETCH_MAX_BYTES = int(STACK_ENV["NEWSDEDUP_FETCH_MAX_BYTES"])
MAX_BODY_BYTES = int(STACK_ENV["NEWSDEDUP_MAX_BODY_BYTES"])
FETCH_TOTAL_TIMEOUT_S = float(STACK_ENV["NEWSDEDUP_FETCH_TOTAL_TIMEOUT_S"])
# Queue latency and processing on a busy 2-core CI machine, on top of a fetch's own bound.
SLACK_S = 20.0
# C0 controls but newline and tab, DEL and C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def junk(seed: int, size: int) -> bytes:
    """Random bytes: NULs, control characters, invalid UTF-8 sequences, the lot."""
    return random.Random(seed).randbytes(size)


def wait_final(service: ServiceClient, article_id: int, seconds: float) -> dict[str, Any]:
    """The article's final state; fails unless it is reached within `seconds`."""
    return service.wait_final([article_id], timeout_s=seconds)[article_id]


def articles_recorded(service: ServiceClient) -> int:
    return scalar(service.database_url, "SELECT count(*) FROM articles")


def assert_failed_with_reason(article: dict[str, Any], *expected: str) -> str:
    assert article["status"] == "failed", article
    reason = article["error"]
    assert isinstance(reason, str) and reason.strip(), article
    # A reason names what went wrong, not just an exception class.
    assert not reason.rstrip().endswith("Error"), reason
    if expected:
        assert any(e in reason for e in expected), (expected, reason)
    return reason


def assert_worker_alive(service: ServiceClient) -> None:
    """A normal article posted now is processed to `done`."""
    article_id = service.post(text=synthetic_article(random.randrange(10**6)))
    final = wait_final(service, article_id, 60)
    assert final["status"] == "done", final


# --- posted bodies ----------------------------------------------------------------------------


def test_binary_junk_posted_as_text_and_as_html_ends_failed_with_a_reason(
    service: ServiceClient,
) -> None:
    # Bytes 0-255 read as Latin-1: every one becomes a character, JSON escapes the controls.
    posted = {
        "text": {"text": junk(1, 64 * 1024).decode("latin-1")},
        "html": {"html": junk(2, 64 * 1024).decode("latin-1")},
        "text-of-nuls": {"text": "\x00" * 10_000},
        "html-of-nuls": {"html": "<p>" + "\x00" * 10_000 + "</p>"},
    }
    ids = {name: service.post(title=name, **fields) for name, fields in posted.items()}
    final = service.wait_final(ids.values(), timeout_s=60)
    reasons = {name: assert_failed_with_reason(final[i]) for name, i in ids.items()}
    print(reasons)
    assert "binary or garbled" in reasons["text"]
    assert "not HTML" in reasons["html"] or "no article text" in reasons["html"]


def test_binary_junk_inside_real_markup_is_stored_as_text_without_control_characters(
    service: ServiceClient,
) -> None:
    """The HTML parser drops the control characters, and what is left is a text of random
    Latin-1 letters and symbols: no worse than a language we do not know, so it is stored like
    any article, and the worker lives on."""
    page = "<html><body><p>" + junk(3, 64 * 1024).decode("latin-1") + "</p></body></html>"
    final = wait_final(service, service.post(html=page), 60)
    assert final["status"] == "done", final
    assert final["text"], final
    assert not CONTROL_CHARACTERS.search(final["text"]), final["text"][:200]
    assert_worker_alive(service)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "nul \x00 in title"}, "title"),
        ({"source": "nul\x00source"}, "source"),
        ({"url": "https://example.com/a\x00b"}, "url"),
        ({"title": "\ud800 lone surrogate"}, "title"),
        ({"text": "lone surrogate \udfff in the text " * 10}, "text"),
        ({"html": "<p>lone surrogate \ud800</p>"}, "html"),
        ({"published_at": "0001-01-01T00:00:00+14:00"}, "published_at"),  # year 0 in UTC
        ({"published_at": "9999-12-31T23:59:59-14:00"}, "published_at"),  # year 10000 in UTC
    ],
    ids=[
        "nul-title",
        "nul-source",
        "nul-url",
        "surrogate-title",
        "surrogate-text",
        "surrogate-html",
        "date-before-year-1",
        "date-after-year-9999",
    ],
)
def test_values_postgresql_cannot_store_are_422_naming_the_field(
    service: ServiceClient, fields: dict[str, str], field: str
) -> None:
    """Each of these used to reach PostgreSQL and come back as 503 "database unavailable" (or
    500), or, for the dates, be stored as a row no one could read back."""
    article = {"text": synthetic_article(7), **fields}
    for path, body in [("/articles", article), ("/articles/batch", {"articles": [article]})]:
        response = service.http.post(
            path,
            # json.dumps escapes a lone surrogate as \\ud800, as a hostile client would send it.
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422, (path, response.status_code, response.text)
        errors = response.json()["detail"]
        assert any(field in error["loc"] for error in errors), errors
        assert all(error["msg"] for error in errors), errors
    # The API is fine, and nothing was recorded.
    assert service.http.get("/metrics").status_code == 200
    assert articles_recorded(service) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "caf\xe9 au lait, not UTF-8"}',  # Latin-1 bytes
        b'{"text": "\xff\xfe\xfd"}',  # never valid in UTF-8
        b'{"text": "\xed\xa0\x80 surrogate"}',  # an encoded surrogate
        b'{"text": "truncated \xe2\x82"}',  # a sequence cut short
        b'{"text": "nul \x00 raw in a JSON string"}',
    ],
    ids=["latin1", "ff-fe", "surrogate", "truncated", "raw-nul"],
)
def test_invalid_utf8_in_the_json_body_is_a_4xx_with_a_reason(
    service: ServiceClient, raw: bytes
) -> None:
    for path, body in [
        ("/articles", raw),
        ("/articles/batch", b'{"articles": [' + raw + b"]}"),
    ]:
        response = service.http.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert response.json()["detail"], response.text


def test_a_chunked_body_over_the_cap_without_content_length_is_413(
    service: ServiceClient,
) -> None:
    chunk = b"x" * 65536
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"text": "'
        # Twice the cap: the API must stop reading at the cap, not buffer it all.
        while sent < 2 * MAX_BODY_BYTES:
            sent += len(chunk)
            yield chunk
        yield b'"}'

    response = service.http.post(
        "/articles", content=body(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413, response.text
    assert f"exceeds {MAX_BODY_BYTES} bytes" in response.json()["detail"]
    # Nothing was recorded, and the API still answers.
    assert articles_recorded(service) == 0
    assert service.http.get("/healthz").status_code == 200


# --- HTML bombs -------------------------------------------------------------------------------


def deep_nesting_bomb(depth: int) -> str:
    article = "".join(f"<p>{line}</p>" for line in synthetic_article(11).split("\n"))
    return (
        "<html><head><title>Deep</title></head><body>"
        + "<div>" * depth
        + article
        + "</div>" * depth
        + "</body></html>"
    )


def huge_attribute_bomb(size: int) -> str:
    article = "".join(f"<p>{line}</p>" for line in synthetic_article(12).split("\n"))
    return (
        "<html><head><title>Attribute</title></head><body>"
        + f'<div data-x="{"a" * size}" class="{"b " * 1000}">'
        + f"<article>{article}</article></div></body></html>"
    )


NO_TEXT = ("failed", "no article text found")
NOT_HTML = ("failed", "extraction failed: input is empty or not HTML")


@pytest.mark.parametrize(
    ("page", "outcome"),
    [
        # The parser gives up on the nesting: no text, where a page without a bomb has some.
        pytest.param(deep_nesting_bomb(100_000), NO_TEXT, id="nesting-1e5"),
        # Under libxml2's 10 MB attribute limit: the article beside the attribute is found.
        pytest.param(
            huge_attribute_bomb(2_000_000),
            ("done", synthetic_article(12).split(".")[0]),
            id="attribute-2MB",
        ),
        pytest.param("<div>" * 300_000, NOT_HTML, id="unclosed-3e5"),
        pytest.param("<!--" + "-" * 1_000_000, NOT_HTML, id="unterminated-comment"),
        pytest.param(
            "<html><body>" + "<table><tr><td>" * 50_000 + "cell" + "</body></html>",
            NO_TEXT,
            id="tables-5e4",
        ),
    ],
)
def test_html_bombs_end_in_bounded_time_and_the_worker_survives(
    service: ServiceClient, page: str, outcome: tuple[str, str]
) -> None:
    """`outcome` is (status, what the error says) for a failure, (status, a sentence of the
    stored text) for an article."""
    assert len(json.dumps({"html": page})) < MAX_BODY_BYTES
    response = service.http.post("/articles", json={"html": page})
    assert response.status_code == 202, response.text
    final = wait_final(service, response.json()["id"], 60)
    status, says = outcome
    assert final["status"] == status, final
    if status == "failed":
        assert assert_failed_with_reason(final) == says
    else:
        assert says in final["text"], final
    assert_worker_alive(service)


# --- hostile servers --------------------------------------------------------------------------


def gzip_bomb(decoded_bytes: int) -> bytes:
    """A small gzip stream that inflates to `decoded_bytes` of HTML."""
    head = b"<html><body><p>" + b"boom " * 100 + b"</p>"
    return gzip.compress(head + b" " * (decoded_bytes - len(head)), compresslevel=9)


def serve_gzip(body: bytes) -> Route:
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return handler


def redirect_to(location: str) -> Route:
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handler


def trickle(*, headers_too: bool) -> Route:
    """One byte every 0.5 s, for up to a minute or until the client hangs up."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
        page = b"<html><body><p>" + b"slow " * 20_000
        stream = head + page if headers_too else page
        if not headers_too:
            h.wfile.write(head)
            h.wfile.flush()
        deadline = time.monotonic() + 60
        try:
            for i in range(len(stream)):
                if time.monotonic() > deadline:
                    break
                h.wfile.write(stream[i : i + 1])
                h.wfile.flush()
                time.sleep(0.5)
        except OSError:  # the fetcher gave up and closed the connection, as it should
            pass
        h.close_connection = True

    return handler


def test_hostile_servers_end_failed_with_reasons_in_bounded_time(
    service: ServiceClient,
) -> None:
    routes: dict[str, Route] = {
        # 1 MiB on the wire would be refused by Content-Length; this is ~50 KiB of gzip.
        "/gzip-bomb": serve_gzip(gzip_bomb(50 * FETCH_MAX_BYTES)),
        "/gzip-just-over": serve_gzip(gzip_bomb(FETCH_MAX_BYTES + 1)),
        "/loop-a": redirect_to("/loop-b"),
        "/loop-b": redirect_to("/loop-a"),
        "/self": redirect_to("/self"),
        "/trickle-body": trickle(headers_too=False),
        "/trickle-headers": trickle(headers_too=True),
        "/junk": (200, "text/html", junk(4, 100_000)),
    }
    # /chain/N -> /chain/N+1: never a loop, only too long.
    routes.update({f"/chain/{n}": redirect_to(f"/chain/{n + 1}") for n in range(20)})
    expected = {
        "/gzip-bomb": ("failed", ("exceeds", "too large")),
        "/gzip-just-over": ("failed", ("exceeds", "too large")),
        "/loop-a": ("failed", ("too many redirects",)),
        "/self": ("failed", ("too many redirects",)),
        "/chain/0": ("failed", ("too many redirects",)),
        "/trickle-body": ("failed", ("timed out",)),
        "/trickle-headers": ("failed", ("timed out",)),
        "/junk": ("failed", ()),
    }
    with PageServer(routes) as server:
        ids = {path: service.post(url=server.base_url + path) for path in expected}
        # Every fetch is bounded by the total timeout; the slack covers queueing behind the
        # other slow fetches on two worker processes.
        final = service.wait_final(ids.values(), timeout_s=2 * FETCH_TOTAL_TIMEOUT_S + SLACK_S)

    for path, (status, reasons) in expected.items():
        article = final[ids[path]]
        assert article["status"] == status, (path, article)
        reason = assert_failed_with_reason(article, *reasons)
        print(f"{path}: {reason}")
    assert str(FETCH_MAX_BYTES) in final[ids["/gzip-bomb"]]["error"]
    assert_worker_alive(service)


def test_a_trickling_server_fails_within_the_total_timeout(service: ServiceClient) -> None:
    with PageServer({"/slow": trickle(headers_too=False)}) as server:
        article_id = service.post(url=server.base_url + "/slow")
        final = wait_final(service, article_id, FETCH_TOTAL_TIMEOUT_S + SLACK_S)
    # Cut off by the total timeout: the read timeout alone would never fire, as a byte arrives
    # every 0.5 s, and it would say which read timed out.
    assert_failed_with_reason(final)
    assert final["error"] == (
        f"fetch failed: timed out: fetch took longer than {FETCH_TOTAL_TIMEOUT_S} s"
    )


def test_the_api_still_answers_after_hostile_input(service: ServiceClient) -> None:
    assert httpx.get(str(service.http.base_url) + "/healthz", timeout=10).status_code == 200
    assert_worker_alive(service)
