"""A news site on 127.0.0.1 for the sources tests: feeds, sitemaps, robots.txt and article pages,
with conditional GET as real servers do it, and an access log kept server-side (each request's
arrival time, path and conditional headers), which is what politeness is measured against."""

from __future__ import annotations

import gzip
import html
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.integration.helpers import ServiceClient, synthetic_article


@dataclass
class Doc:
    """A response. With an ``etag`` (or ``last_modified``) a matching conditional request gets
    a 304, unless ``ignore_conditional``: servers that never answer 304 exist."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ignore_conditional: bool = False


@dataclass(frozen=True)
class Hit:
    at: float  # time.monotonic() when the server read the request line
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None
    status: int


Route = Doc | Callable[[BaseHTTPRequestHandler], int]


class Site:
    """Serves ``routes`` (path -> Doc, or a handler returning the status it sent) and logs every
    request. Paths are matched with their query string."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                at = time.monotonic()
                status = site._answer(self)
                with site._lock:
                    site.hits.append(
                        Hit(
                            at,
                            self.path,
                            self.headers.get("If-None-Match"),
                            self.headers.get("If-Modified-Since"),
                            self.headers.get("User-Agent"),
                            status,
                        )
                    )

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer(self, handler: BaseHTTPRequestHandler) -> int:
        route = self.routes.get(handler.path)
        if route is None:
            route = Doc(b"not found", "text/plain", status=404)
        if callable(route):
            return route(handler)
        if not route.ignore_conditional and _matches(route, handler):
            handler.send_response(304)
            _validators(handler, route)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return 304
        handler.send_response(route.status)
        handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(route.body)))
        _validators(handler, route)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(route.body)
        return route.status

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def hits_on(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def paths(self) -> list[str]:
        with self._lock:
            return [h.path for h in self.hits]

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _matches(doc: Doc, handler: BaseHTTPRequestHandler) -> bool:
    if_none_match = handler.headers.get("If-None-Match")
    if doc.etag is not None and if_none_match is not None:
        return if_none_match == doc.etag
    if_modified_since = handler.headers.get("If-Modified-Since")
    return doc.last_modified is not None and if_modified_since == doc.last_modified


def _validators(handler: BaseHTTPRequestHandler, doc: Doc) -> None:
    if doc.etag is not None:
        handler.send_header("ETag", doc.etag)
    if doc.last_modified is not None:
        handler.send_header("Last-Modified", doc.last_modified)


# --- documents --------------------------------------------------------------------------

BASE_DATE = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    path: str
    title: str
    published: datetime
    guid: str


def items(count: int, *, prefix: str = "/news/", start: int = 0) -> list[Item]:
    """``count`` items, newest first as feeds list them, one hour apart."""
    found = [
        Item(
            f"{prefix}{n}",
            f"Report number {n} from the local desk",
            BASE_DATE + timedelta(hours=n),
            f"urn:test:{prefix}{n}",
        )
        for n in range(start, start + count)
    ]
    return list(reversed(found))


def rss(site: Site, entries: Iterable[Item], *, title: str = "Local Desk") -> bytes:
    body = "".join(
        f"<item><title>{html.escape(e.title)}</title><link>{site.url(e.path)}</link>"
        f'<guid isPermaLink="false">{e.guid}</guid>'
        f"<pubDate>{format_datetime(e.published)}</pubDate>"
        f"<author>desk@example.org (Ada Desk)</author></item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{site.base_url}/</link>{body}</channel></rss>"
    ).encode()


def atom(site: Site, entries: Iterable[Item], *, title: str = "Local Desk Atom") -> bytes:
    body = "".join(
        f"<entry><title>{html.escape(e.title)}</title>"
        f'<link rel="alternate" href="{site.url(e.path)}"/><id>{e.guid}</id>'
        f"<updated>{e.published.isoformat()}</updated>"
        f"<author><name>Ada Desk</name></author></entry>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:test:feed</id>"
        f"<updated>{BASE_DATE.isoformat()}</updated>{body}</feed>"
    ).encode()


def sitemap(site: Site, entries: Iterable[Item], *, news: bool = False) -> bytes:
    def entry(e: Item) -> str:
        extra = (
            f"<news:news><news:publication><news:name>Local Desk</news:name>"
            f"<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{e.published.isoformat()}</news:publication_date>"
            f"<news:title>{html.escape(e.title)}</news:title></news:news>"
            if news
            else f"<lastmod>{e.published.isoformat()}</lastmod>"
        )
        return f"<url><loc>{site.url(e.path)}</loc>{extra}</url>"

    namespace = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{namespace}>'
        + "".join(entry(e) for e in entries)
        + "</urlset>"
    ).encode()


def sitemap_index(site: Site, children: Iterable[tuple[str, datetime]]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(
            f"<sitemap><loc>{site.url(path)}</loc><lastmod>{when.isoformat()}</lastmod></sitemap>"
            for path, when in children
        )
        + "</sitemapindex>"
    ).encode()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def article_page(seed: int, *, title: str | None = None, head: str = "", text: str = "") -> bytes:
    """An article page whose text is distinct per seed (or ``text``, for copies)."""
    body = text or synthetic_article(seed)
    headline = title or body.split("\n")[0]
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n") if p.strip())
    return (
        f"<!doctype html><html lang='en'><head><title>{html.escape(headline)}</title>{head}"
        f"</head><body><nav><a href='/'>Home</a></nav><article><h1>{html.escape(headline)}</h1>"
        f"{paragraphs}</article><footer>Local Desk</footer></body></html>"
    ).encode()


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


# --- driving sources over the API --------------------------------------------------------

# Polls and fetches here take well under a second each; the deadline only bounds a failure.
DEADLINE_S = 60.0
POLL_EVERY_S = 0.1


def add_source(service: ServiceClient, url: str, **fields: Any) -> dict[str, Any]:
    response = service.http.post("/sources", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def source(service: ServiceClient, source_id: int) -> dict[str, Any]:
    response = service.http.get(f"/sources/{source_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def finished_polls(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The source's polls that have ended (a deferred poll is still running), oldest first."""
    return [f for f in reversed(found["fetches"]) if f["outcome"] != "deferred"]


def wait_for_polls(
    service: ServiceClient, source_id: int, count: int, *, timeout_s: float = DEADLINE_S
) -> dict[str, Any]:
    """The source once ``count`` of its polls have ended and it holds no claim."""
    deadline = time.monotonic() + timeout_s
    found = source(service, source_id)
    while time.monotonic() < deadline:
        found = source(service, source_id)
        if len(finished_polls(found)) >= count and not found["polling_now"]:
            return found
        time.sleep(POLL_EVERY_S)
    raise AssertionError(f"source {source_id} never finished {count} polls: {found}")


def poll_again(service: ServiceClient, source_id: int) -> dict[str, Any]:
    """Ask for a poll now and wait for it to end."""
    done = len(finished_polls(source(service, source_id)))
    response = service.http.post(f"/sources/{source_id}/poll")
    assert response.status_code == 202, response.text
    return wait_for_polls(service, source_id, done + 1)


def source_articles(service: ServiceClient, source_id: int) -> list[dict[str, Any]]:
    """Every article the source brought, by id, once each has reached a final state."""
    import psycopg

    with psycopg.connect(service.database_url.replace("+psycopg", "")) as connection:
        ids = [
            int(row[0])
            for row in connection.execute(
                "SELECT id FROM articles WHERE source_id = %s ORDER BY id", (source_id,)
            )
        ]
    final = service.wait_final(ids)
    return [final[i] for i in ids]
