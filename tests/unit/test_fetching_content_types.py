"""fetch_page asked for feeds, sitemaps or robots.txt instead of article pages, and the status
it reports on failure; against a real HTTP server on 127.0.0.1."""

import gzip
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from service.fetching import (
    FEEDS_AND_SITEMAPS,
    ROBOTS_TXT,
    FetchFailed,
    HTTPStatusFailed,
    fetch_page,
)
from tests.fetch_policies import local_policy
from tests.local_http import local_server, send_fixed, serving

LOCAL = local_policy(max_bytes=10_000)
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
GZIPPED_RSS = gzip.compress(RSS, mtime=0)  # fixed header time: the same bytes on every call

# path -> (status, Content-Type or None, body, extra headers)
RESPONSES: dict[str, tuple[int, str | None, bytes, dict[str, str]]] = {
    "/feed": (200, "application/rss+xml; charset=utf-8", RSS, {}),
    "/untyped-feed": (200, None, RSS, {}),
    "/sitemap.xml.gz": (200, "application/x-gzip", GZIPPED_RSS, {}),
    "/image": (200, "image/png", b"\x89PNG\r\n", {}),
    "/robots-html": (200, "text/html", b"<html><body>Welcome</body></html>", {}),
    "/busy": (503, "text/html", b"<html>busy</html>", {"Retry-After": "120"}),
    "/gone": (410, "text/html", b"<html>gone</html>", {}),
}


ACCEPT_HEADERS: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        status, content_type, body, headers = RESPONSES[self.path]
        ACCEPT_HEADERS.append(self.headers.get("Accept", ""))
        send_fixed(self, status, content_type, body, headers)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(local_server(_Handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()


def test_article_fetch_still_refuses_a_feed_type(base_url: str) -> None:
    with pytest.raises(FetchFailed, match="unsupported content type application/rss\\+xml"):
        fetch_page(f"{base_url}/feed", policy=LOCAL)


def test_feed_fetch_keeps_feed_types_and_asks_for_them(base_url: str) -> None:
    page = fetch_page(f"{base_url}/feed", policy=LOCAL, content_types=FEEDS_AND_SITEMAPS)
    assert (page.content_type, page.charset, page.body) == ("application/rss+xml", "utf-8", RSS)
    assert ACCEPT_HEADERS[-1].startswith("application/rss+xml,application/atom+xml")


def test_feed_fetch_keeps_gzip_file_undecoded_for_the_parser(base_url: str) -> None:
    # A .xml.gz file (no Content-Encoding) is the document itself: the sitemap parser inflates
    # it under its own cap.
    page = fetch_page(f"{base_url}/sitemap.xml.gz", policy=LOCAL, content_types=FEEDS_AND_SITEMAPS)
    assert page.body == GZIPPED_RSS


def test_feed_fetch_keeps_untyped_body_without_html_sniffing(base_url: str) -> None:
    page = fetch_page(f"{base_url}/untyped-feed", policy=LOCAL, content_types=FEEDS_AND_SITEMAPS)
    assert (page.content_type, page.body) == ("application/xml", RSS)


def test_feed_fetch_refuses_a_type_that_is_never_xml(base_url: str) -> None:
    with pytest.raises(FetchFailed, match="unsupported content type image/png"):
        fetch_page(f"{base_url}/image", policy=LOCAL, content_types=FEEDS_AND_SITEMAPS)


def test_robots_fetch_keeps_a_2xx_body_of_any_type(base_url: str) -> None:
    page = fetch_page(f"{base_url}/robots-html", policy=LOCAL, content_types=ROBOTS_TXT)
    assert page.content_type == "text/html"


def test_error_status_is_reported_with_its_code_and_retry_after(base_url: str) -> None:
    with pytest.raises(HTTPStatusFailed) as failed:
        fetch_page(f"{base_url}/busy", policy=LOCAL)
    assert (failed.value.status, failed.value.retry_after) == (503, "120")
    assert failed.value.reason == "HTTP 503"
    with pytest.raises(HTTPStatusFailed) as gone:
        fetch_page(f"{base_url}/gone", policy=LOCAL, content_types=ROBOTS_TXT)
    assert (gone.value.status, gone.value.retry_after) == (410, None)
