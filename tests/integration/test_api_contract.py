"""Malformed requests get a 4xx with a reason; health and pagination behave."""

from __future__ import annotations

from tests.integration.helpers import ServiceClient, connect, synthetic_article


def test_empty_body_is_422(service: ServiceClient) -> None:
    response = service.http.post(
        "/articles", content=b"", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"]


def test_article_without_url_text_or_html_is_422_with_reason(service: ServiceClient) -> None:
    response = service.http.post("/articles", json={"title": "only a title"})
    assert response.status_code == 422
    assert "url, text or html" in response.text


def test_malformed_url_is_422(service: ServiceClient) -> None:
    response = service.http.post("/articles", json={"url": "not a url"})
    assert response.status_code == 422
    assert "refused" in response.text


def test_body_over_the_cap_is_413(service: ServiceClient) -> None:
    response = service.http.post("/articles", json={"text": "x" * (4 * 1024 * 1024)})
    assert response.status_code == 413
    assert "exceeds" in response.json()["detail"]


def test_batch_answers_in_request_order(service: ServiceClient) -> None:
    texts = [synthetic_article(i) for i in range(5)]
    sources = [f"outlet-{i}.example" for i in range(5)]
    ids = service.post_batch(
        [{"text": t, "source": s} for t, s in zip(texts, sources, strict=True)]
    )

    # The i-th id answered is the row holding the i-th article posted.
    with connect(service.database_url) as connection:
        rows = connection.execute(
            "SELECT id, content, source FROM articles WHERE id = ANY(%s)", (ids,)
        ).fetchall()
    stored = {article_id: (content, source) for article_id, content, source in rows}
    assert [stored[i] for i in ids] == list(zip(texts, sources, strict=True))


def test_unknown_article_and_story_are_404(service: ServiceClient) -> None:
    assert service.http.get("/articles/999999").status_code == 404
    assert service.http.get("/stories/999999").status_code == 404


def test_healthz_answers_when_postgres_and_redis_answer(service: ServiceClient) -> None:
    response = service.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"postgres": "ok", "redis": "ok"}


def test_openapi_docs_are_served(service: ServiceClient) -> None:
    assert service.http.get("/docs").status_code == 200
    paths = service.http.get("/openapi.json").json()["paths"]
    assert {"/articles", "/articles/batch", "/stories", "/healthz"} <= set(paths)


def test_stories_paginate_newest_first(service: ServiceClient) -> None:
    ids = service.post_batch([{"text": synthetic_article(100 + i)} for i in range(5)])
    stories = {article["story_id"] for article in service.wait_final(ids).values()}
    assert len(stories) == 5

    pages: list[list[int]] = []
    cursor = None
    while len(pages) < 5:
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = service.http.get("/stories", params=params).json()
        pages.append([story["id"] for story in page["stories"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # Story ids grow with time: newest first is descending ids, each story once.
    newest_first = sorted(stories, reverse=True)
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]
