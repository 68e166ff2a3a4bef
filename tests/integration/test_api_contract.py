"""Malformed requests get a 4xx with a reason; health and pagination behave."""

from __future__ import annotations

from tests.integration.helpers import ServiceClient, synthetic_article


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
    ids = service.post_batch([{"text": t} for t in texts])
    assert ids == sorted(ids)
    final = service.wait_final(ids)
    assert {final[i]["status"] for i in ids} <= {"done", "failed"}


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
    service.wait_final(ids)
    first = service.http.get("/stories", params={"limit": 2}).json()
    second = service.http.get(
        "/stories", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    first_ids = [s["id"] for s in first["stories"]]
    second_ids = [s["id"] for s in second["stories"]]
    assert first_ids == sorted(first_ids, reverse=True)
    assert max(second_ids) < min(first_ids)
