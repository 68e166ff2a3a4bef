"""Metric names follow Prometheus' conventions and every label value comes from a bounded set."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase
from starlette.types import Receive, Scope, Send

from service import metrics
from service.api.instrumentation import UNMATCHED_ROUTE, RequestMetrics
from service.models import FetchOutcome
from service.repositories.articles import Backlog
from service.sources import views

# Labels whose values are unbounded: one series per article, URL or host would be a leak.
UNBOUNDED_LABELS = {"url", "host", "path", "article_id", "story_id", "id", "source", "error"}


def all_metrics() -> list[MetricWrapperBase]:
    return [m for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)]


def test_every_metric_is_named_by_the_conventions() -> None:
    found = all_metrics()
    assert len(found) >= 6
    for metric in found:
        name = metric._name
        assert name.startswith("newsdedup_"), name
        assert metric._documentation, f"{name} has no help text"
        assert not UNBOUNDED_LABELS & set(metric._labelnames), (name, metric._labelnames)
        if isinstance(metric, Counter):
            # prometheus_client keeps the base name and exposes it with _total.
            assert f"{name}_total" in REGISTRY._names_to_collectors, name
        if isinstance(metric, Histogram):
            assert name.endswith("_seconds"), f"{name}: a latency is in seconds, the base unit"


def test_failure_reasons_map_to_their_kind() -> None:
    assert metrics.failure_kind("not an article: cookie or consent wall") == "not_an_article"
    assert (
        metrics.failure_kind("fetch failed: url refused: private address 10.0.0.1")
        == "fetch_failed"
    )
    assert metrics.failure_kind("extraction failed: input is empty or not HTML") == (
        "extraction_failed"
    )
    assert metrics.failure_kind("no article text found") == "no_text"
    assert metrics.failure_kind("nothing to process: no url, text or html") == "nothing_to_process"
    assert metrics.failure_kind("gave up after 5 attempts: processing never finished") == (
        "gave_up"
    )
    assert metrics.failure_kind("Not An Article : paywall") == "not_an_article"


def test_any_other_reason_is_one_bounded_value() -> None:
    hostile = [
        "https://evil.example/a?b=c: refused",
        "host 203.0.113.7 said no",
        "",
        None,
        "x" * 10_000,
        "fetch failed",  # no colon: still its kind
    ]
    kinds = {metrics.failure_kind(reason) for reason in hostile}
    assert kinds == {"other", "fetch_failed"}


def _failed_label_values() -> set[str]:
    family = next(f for f in REGISTRY.collect() if f.name == "newsdedup_articles_failed")
    return {s.labels["reason"] for s in family.samples}


def test_recorded_failures_never_add_a_label_value() -> None:
    before = _failed_label_values()
    for n in range(50):
        metrics.record_failed(f"fetch failed: http {400 + n} from host{n}.example")
        metrics.record_failed(f"weird {n}: {n}")

    assert _failed_label_values() == before
    assert before == {*metrics.FAILURE_KINDS.values(), metrics.OTHER}


def _poll_label_values() -> set[str]:
    family = next(f for f in REGISTRY.collect() if f.name == "newsdedup_source_polls")
    return {s.labels["outcome"] for s in family.samples}


def test_poll_outcomes_are_the_fetch_log_s_and_every_one_exists_from_the_start() -> None:
    assert set(metrics.POLL_OUTCOMES) == {outcome.value for outcome in FetchOutcome}
    assert _poll_label_values() >= set(metrics.POLL_OUTCOMES)

    before = REGISTRY.get_sample_value("newsdedup_source_polls_total", {"outcome": "new_items"})
    metrics.record_poll("new_items")
    after = REGISTRY.get_sample_value("newsdedup_source_polls_total", {"outcome": "new_items"})
    assert after == (before or 0) + 1

    metrics.record_poll("https://evil.example/feed: weird")  # never a label value of its own
    assert _poll_label_values() <= {*metrics.POLL_OUTCOMES, metrics.OTHER}


def _state(sources: object) -> dict[str, dict[tuple[str, ...], float]]:
    """What a StateCollector reports: each family's samples by their label values."""

    def read_sources() -> dict[str, int]:
        if isinstance(sources, Exception):
            raise sources
        return sources  # type: ignore[return-value]

    collector = metrics.StateCollector(
        backlog=lambda: Backlog({"queued": 2}, 30.0),
        sources=read_sources,
        queue_depths=lambda: {"fetch": 1},
    )
    return {
        family.name: {tuple(s.labels.values()): s.value for s in family.samples}
        for family in collector.collect()
    }


def test_sources_by_status_are_read_at_scrape_time_every_status_present() -> None:
    assert metrics.SOURCE_STATUSES == views.STATUSES

    state = _state({"ok": 3, "failing": 1})

    assert state["newsdedup_sources"] == {
        ("new",): 0,
        ("ok",): 3,
        ("failing",): 1,
        ("stopped",): 0,
    }
    assert state["newsdedup_backend_up"][("postgres",)] == 1


def test_postgres_not_answering_leaves_out_its_gauges_and_says_so() -> None:
    state = _state(ConnectionError("postgres is away"))

    assert "newsdedup_sources" not in state
    assert "newsdedup_backlog_articles" not in state
    assert state["newsdedup_backend_up"] == {("postgres",): 0, ("redis",): 1}
    assert state["newsdedup_queue_messages"] == {("fetch",): 1}


def _requests(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "newsdedup_http_requests_total", {"method": "GET", "route": route, "status": status}
    )
    return value or 0.0


class RefuseEverything:
    """An inner middleware that answers before routing, as the body-size limit does."""

    def __init__(self, app: object) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": "too large"}, status_code=413)
        await response(scope, receive, send)


def _app(tmp_path: Path | None = None, *, refuse: bool = False) -> FastAPI:
    app = FastAPI()
    if tmp_path is not None:
        (tmp_path / "style.css").write_text("body {}")
        app.mount("/static", StaticFiles(directory=tmp_path), name="static")

    @app.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    if refuse:
        app.add_middleware(RefuseEverything)
    app.add_middleware(RequestMetrics)
    return app


def test_requests_are_labelled_by_route_template_never_by_raw_path() -> None:
    client = TestClient(_app())
    before = _requests("/things/{thing_id}", "200")

    for thing_id in (1, 2, 345):
        assert client.get(f"/things/{thing_id}").status_code == 200
    assert client.get("/no/such/page/42").status_code == 404

    assert _requests("/things/{thing_id}", "200") == before + 3
    assert _requests(UNMATCHED_ROUTE, "404") >= 1
    routes = {
        s.labels["route"]
        for f in REGISTRY.collect()
        if f.name == "newsdedup_http_requests"
        for s in f.samples
    }
    assert not any(char.isdigit() for route in routes for char in route), routes


def test_a_request_answered_before_routing_is_counted_without_its_path() -> None:
    client = TestClient(_app(refuse=True))
    before = _requests(UNMATCHED_ROUTE, "413")

    assert client.get("/things/7").status_code == 413
    assert client.get("/things/7").json() == {"detail": "too large"}  # the answer is intact

    assert _requests(UNMATCHED_ROUTE, "413") == before + 2


def test_files_of_a_mount_are_counted_by_its_prefix(tmp_path: Path) -> None:
    client = TestClient(_app(tmp_path))
    before = _requests("/static/{path}", "200")

    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/missing.css").status_code == 404

    assert _requests("/static/{path}", "200") == before + 1
    assert _requests("/static/{path}", "404") >= 1


def test_joins_are_counted_by_their_deciding_signal_and_vetoes_apart() -> None:
    def joins(signal: str, languages: str) -> float:
        sample = REGISTRY.get_sample_value(
            "newsdedup_story_joins_total", {"signal": signal, "languages": languages}
        )
        return sample or 0.0

    def vetoes() -> float:
        return REGISTRY.get_sample_value("newsdedup_attribution_vetoes_total") or 0.0

    before = (joins("meaning", "cross"), joins("wording", "same"), vetoes())

    metrics.record_decision(
        "rewrite", {"deciding_signal": "meaning (sentence encoder)", "cross_language": True}
    )
    metrics.record_decision("near_copy", {"deciding_signal": "wording (shared rare terms)"})
    metrics.record_decision("canonical", {"vetoed": "different original reporters"})
    metrics.record_decision("canonical", {"decided_by": "no candidate shares enough key terms"})
    metrics.record_decision("exact", {"decided_by": "same cleaned text"})

    after = (joins("meaning", "cross"), joins("wording", "same"), vetoes())
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
