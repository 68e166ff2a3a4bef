"""GET /metrics from a real scrape of the running service: the API and both worker pool
processes count (prometheus_client's multiprocess mode), parsed as Prometheus parses it.

Counters belong to the processes, not to the test's database, and the stack lives for the whole
test session, so each test reads how much they grew across its own work."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.helpers import ServiceClient
from tests.waiting import poll_until

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(service: ServiceClient) -> tuple[Samples, dict[str, str]]:
    """Every sample by (name, labels), and every family's type."""
    response = service.http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def scrape_until(
    service: ServiceClient, done: Callable[[Samples], bool], timeout_s: float = 30
) -> Samples:
    """Workers count an outcome just after committing it, so a client that saw the article done
    may scrape a moment before the count: poll until the condition holds."""

    def counted() -> Samples | None:
        samples, _ = scrape(service)
        return samples if done(samples) else None

    return poll_until(counted, timeout_s=timeout_s, what="the counts to reach the condition")


def test_seeds_count_five_articles_four_new_stories_one_rewrite(service: ServiceClient) -> None:
    before, _ = scrape(service)
    ids = [service.post(text=path.read_text(encoding="utf-8")) for path in SEEDS]
    service.wait_final(ids)

    after = scrape_until(
        service,
        lambda s: (
            total(s, "newsdedup_articles_done_total")
            - total(before, "newsdedup_articles_done_total")
            >= 5
        ),
    )

    done = total(after, "newsdedup_articles_done_total") - total(
        before, "newsdedup_articles_done_total"
    )
    assert done == 5
    assert grew(before, after, "newsdedup_articles_done_total", match_kind="canonical") == 4
    assert grew(before, after, "newsdedup_articles_done_total", match_kind="rewrite") == 1
    assert grew(before, after, "newsdedup_articles_done_total", match_kind="near_copy") == 0
    assert grew(before, after, "newsdedup_articles_done_total", match_kind="exact") == 0
    failed = total(after, "newsdedup_articles_failed_total") - total(
        before, "newsdedup_articles_failed_total"
    )
    assert failed == 0
    # Stage latencies, observed in the worker processes; each seed is embedded once.
    for stage in ("extract", "encode", "assign"):
        count = grew(before, after, "newsdedup_stage_duration_seconds_count", stage=stage)
        assert count == 5, stage
    # The one rewrite, by the signal that carried it, within one language.
    joins = total(after, "newsdedup_story_joins_total") - total(
        before, "newsdedup_story_joins_total"
    )
    assert joins == 1
    assert (
        sum(
            grew(before, after, "newsdedup_story_joins_total", signal=signal, languages="same")
            for signal in ("wording", "meaning")
        )
        == 1
    )


def test_failures_are_counted_by_the_kind_of_reason(service: ServiceClient) -> None:
    before, _ = scrape(service)
    service.wait_final([service.post(text="too short")])

    after = scrape_until(
        service,
        lambda s: grew(before, s, "newsdedup_articles_failed_total", reason="not_an_article") >= 1,
    )

    assert grew(before, after, "newsdedup_articles_failed_total", reason="not_an_article") == 1
    reasons = {
        dict(labels)["reason"]
        for (name, labels) in after
        if name == "newsdedup_articles_failed_total"
    }
    assert reasons <= {
        "fetch_failed",
        "not_an_article",
        "extraction_failed",
        "no_text",
        "nothing_to_process",
        "gave_up",
        "other",
    }


def _routes(samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float]) -> set[str]:
    return {
        dict(labels)["route"]
        for (name, labels) in samples
        if name == "newsdedup_http_requests_total"
    }


def test_requests_are_counted_per_route_template(service: ServiceClient) -> None:
    article_id = service.post(text="too short")
    service.wait_final([article_id])
    before, _ = scrape(service)
    for _ in range(3):
        assert service.http.get(f"/articles/{article_id}").status_code == 200
    assert service.http.get("/story/999999").status_code == 404

    after, types = scrape(service)

    assert types["newsdedup_http_requests"] == "counter"
    assert types["newsdedup_http_request_duration_seconds"] == "histogram"
    route = "/articles/{article_id}"
    assert grew(before, after, "newsdedup_http_requests_total", method="GET", route=route,
                status="200") == 3  # fmt: skip
    assert grew(before, after, "newsdedup_http_requests_total", method="GET",
                route="/story/{story_id}", status="404") == 1  # fmt: skip
    assert (
        grew(
            before,
            after,
            "newsdedup_http_request_duration_seconds_count",
            method="GET",
            route=route,
        )
        == 3
    )
    # Never a raw path: no label value names an id.
    assert not any(char.isdigit() for route in _routes(after) for char in route)


def test_backlog_and_queue_depth_are_read_at_scrape_time(service: ServiceClient) -> None:
    # An article accepted ten minutes ago and never sent: PostgreSQL's state, not an event.
    # Recently touched, so the sweeper leaves it alone until the test deletes it.
    url = service.database_url.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "INSERT INTO articles (status, content, content_kind, created_at, updated_at) "
            "VALUES ('queued', 'x', 'text', now() - interval '10 minutes', now()) RETURNING id"
        ).fetchone()
        assert row is not None
        try:
            samples, types = scrape(service)
        finally:
            connection.execute("DELETE FROM articles WHERE id = %s", (row[0],))

    assert types["newsdedup_backlog_articles"] == "gauge"
    assert value(samples, "newsdedup_backlog_articles", status="queued") == 1
    assert value(samples, "newsdedup_backlog_articles", status="processing") == 0
    assert 600 <= value(samples, "newsdedup_backlog_oldest_age_seconds") < 3600
    assert types["newsdedup_queue_messages"] == "gauge"
    for queue in ("fetch", "process"):
        assert ("newsdedup_queue_messages", frozenset({("queue", queue)})) in samples
        assert value(samples, "newsdedup_queue_messages", queue=queue) >= 0
    assert value(samples, "newsdedup_backend_up", backend="postgres") == 1
    assert value(samples, "newsdedup_backend_up", backend="redis") == 1
