"""What a fetched page says of itself reaches GET /articles/{id}: the final URL after redirects,
the canonical URL only when it is on the same site and not a home page, author, site name and
the language the page declares."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from tests.integration.helpers import ServiceClient
from tests.integration.sites import Doc, Site, article_page


def redirect_to(path: str) -> object:
    def handle(handler: BaseHTTPRequestHandler) -> int:
        handler.send_response(301)
        handler.send_header("Location", path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return 301

    return handle


def test_final_and_canonical_url_author_site_name_and_language_are_on_the_article(
    service: ServiceClient,
) -> None:
    head = (
        '<link rel="canonical" href="/story/1?utm_source=feed&id=7">'
        '<meta property="og:site_name" content="Local Desk">'
        '<meta name="author" content="Ada Desk">'
    )
    with Site() as site:
        site.routes["/go/1"] = redirect_to("/story/1")  # type: ignore[assignment]
        site.routes["/story/1"] = Doc(
            article_page(1, head=head).replace(b"lang='en'", b"lang='fr-FR'")
        )
        article_id = service.post(url=site.url("/go/1"))
        article = service.wait_final([article_id])[article_id]

    assert article["status"] == "done", article
    assert article["url"] == site.url("/go/1")
    assert article["final_url"] == site.url("/story/1")
    # Tracking parameters dropped, the one naming the article kept.
    assert article["canonical_url"] == site.url("/story/1?id=7")
    assert (article["author"], article["site_name"]) == ("Ada Desk", "Local Desk")
    assert article["page_language"] == "fr-fr"


def test_a_canonical_url_on_another_site_or_at_the_home_page_is_not_trusted(
    service: ServiceClient,
) -> None:
    with Site() as site:
        site.routes["/copied"] = Doc(
            article_page(2, head='<link rel="canonical" href="https://other.example/story/9">')
        )
        site.routes["/misconfigured"] = Doc(
            article_page(3, head='<meta property="og:url" content="/">')
        )
        ids = [service.post(url=site.url(path)) for path in ("/copied", "/misconfigured")]
        final = service.wait_final(ids)

    for article_id in ids:
        article = final[article_id]
        assert article["status"] == "done", article
        assert article["canonical_url"] is None
        assert article["final_url"] is None  # no redirect: the URL is the final URL
