"""URL ingest from a local HTTP server: real pages, page chrome, and fetches that must fail."""

from __future__ import annotations

import html
from http.server import BaseHTTPRequestHandler

from tests.benchmark_pages import CTPOST, benchmark_page
from tests.integration.helpers import PageServer, Route, ServiceClient


def other_chrome(article_body: str) -> bytes:
    """The same article as another outlet would wrap it: other navigation, ads and footer."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article_body.split("\n") if p.strip())
    headline = "New SUVs and electric vehicles highlight L.A. auto show"
    return f"""<!doctype html><html><head><title>{headline} | Daily Wire Mirror</title></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/autos">Autos</a></nav>
<div class="promo">Subscribe to our newsletter for the best stories every morning</div>
<article><h1>{headline}</h1>{paragraphs}</article>
<aside>Trending now: ten cars you cannot miss this winter</aside>
<footer>© 2019 Daily Wire Mirror. All rights reserved. Contact us. Privacy policy.</footer>
</body></html>""".encode()


def redirect_to_metadata(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(302)
    handler.send_header("Location", "http://169.254.169.254/latest/meta-data/")
    handler.end_headers()


def test_same_article_under_two_urls_with_different_chrome_is_one_story(
    service: ServiceClient,
) -> None:
    # A news article of a few thousand characters from the extraction benchmark.
    page = benchmark_page(CTPOST)
    routes: dict[str, Route] = {
        "/original": (200, "text/html; charset=utf-8", page.html),
        "/mirror": (200, "text/html", other_chrome(page.article_body)),
    }
    with PageServer(routes) as server:
        ids = [
            service.post(url=server.base_url + "/original"),
            service.post(url=server.base_url + "/mirror"),
        ]
        final = service.wait_final(ids)

    assert [final[i]["status"] for i in ids] == ["done", "done"], final
    assert final[ids[0]]["story_id"] == final[ids[1]]["story_id"]
    # Two workers race; whichever finishes first is the canonical article.
    assert sorted(final[i]["match"] for i in ids) in (
        ["canonical", "near_copy"],
        ["canonical", "exact"],
    )
    assert "Subscribe to our newsletter" not in final[ids[1]]["text"]
    assert final[ids[0]]["title"] == "New SUVs and electric vehicles highlight L.A. Auto Show"


def test_failed_fetches_end_failed_with_their_reasons(service: ServiceClient) -> None:
    routes: dict[str, Route] = {
        "/report.pdf": (200, "application/pdf", b"%PDF-1.4 " + b"0" * 1000),
        "/huge": (
            200,
            "text/html",
            b"<html><body>" + b"<p>word </p>" * 400_000 + b"</body></html>",
        ),
        "/to-metadata": redirect_to_metadata,
    }
    with PageServer(routes) as server:
        ids = {
            name: service.post(url=server.base_url + path)
            for name, path in [
                ("missing", "/missing"),
                ("pdf", "/report.pdf"),
                ("huge", "/huge"),
                ("redirect", "/to-metadata"),
            ]
        }
        final = service.wait_final(ids.values())

    reasons = {name: final[i]["error"] for name, i in ids.items()}
    assert all(final[i]["status"] == "failed" for i in ids.values()), final
    assert "404" in reasons["missing"]
    assert "application/pdf" in reasons["pdf"]
    assert "exceeds" in reasons["huge"] or "too large" in reasons["huge"]
    assert "169.254.169.254" in reasons["redirect"]


def test_refused_urls_get_422_with_a_reason(service: ServiceClient) -> None:
    for url in [
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest",
        "http://user:pw@example.com/",
        "http://[fd00::1]/",
    ]:
        response = service.http.post("/articles", json={"url": url})
        assert response.status_code == 422, (url, response.text)
        assert "refused" in response.text


def test_post_accepts_html_directly(service: ServiceClient) -> None:
    page = benchmark_page(CTPOST)
    article_id = service.post(
        html=page.html.decode("utf-8", errors="replace"), url="https://www.ctpost.com/some-article"
    )
    article = service.wait_final([article_id])[article_id]

    assert article["status"] == "done"
    assert article["title"] == "New SUVs and electric vehicles highlight L.A. Auto Show"
    first_paragraph = next(p for p in page.article_body.split("\n") if p.strip())
    assert first_paragraph.strip() in article["text"]
